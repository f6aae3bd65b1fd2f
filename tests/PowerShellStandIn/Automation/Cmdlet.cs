using System.Collections;
using System.Management.Automation.Host;

namespace System.Management.Automation.Internal
{
    /// <summary>Base of every command, as in PowerShell.</summary>
    public abstract class InternalCommand
    {
        internal InternalCommand()
        {
        }

        public CommandOrigin CommandOrigin => CommandOrigin.Runspace;
    }
}

namespace System.Management.Automation.Host
{
    /// <summary>Placeholder for the host type ICommandRuntime exposes; the stand-in host has no UI object.</summary>
    public abstract class PSHost
    {
    }
}

namespace System.Management.Automation
{
    using System.Management.Automation.Internal;

    public enum CommandOrigin
    {
        Runspace = 0,
        Internal = 1,
    }

    /// <summary>Why ShouldProcess answered as it did (PowerShell's values).</summary>
    [Flags]
    public enum ShouldProcessReason
    {
        None = 0,
        WhatIf = 1,
    }

    /// <summary>Where a cmdlet's writes go. The host in NvmePS.Testing implements it, as PowerShell's pipeline does.</summary>
    public interface ICommandRuntime
    {
        PSHost Host { get; }

        void WriteDebug(string text);

        void WriteError(ErrorRecord errorRecord);

        void WriteObject(object sendToPipeline);

        void WriteObject(object sendToPipeline, bool enumerateCollection);

        void WriteProgress(ProgressRecord progressRecord);

        void WriteProgress(long sourceId, ProgressRecord progressRecord);

        void WriteVerbose(string text);

        void WriteWarning(string text);

        void WriteCommandDetail(string text);

        bool ShouldProcess(string target);

        bool ShouldProcess(string target, string action);

        bool ShouldProcess(string verboseDescription, string verboseWarning, string caption);

        bool ShouldProcess(string verboseDescription, string verboseWarning, string caption, out ShouldProcessReason shouldProcessReason);

        bool ShouldContinue(string query, string caption);

        bool ShouldContinue(string query, string caption, ref bool yesToAll, ref bool noToAll);

        bool TransactionAvailable();

        void ThrowTerminatingError(ErrorRecord errorRecord);
    }

    public interface ICommandRuntime2 : ICommandRuntime
    {
        void WriteInformation(InformationRecord informationRecord);

        bool ShouldContinue(string query, string caption, bool hasSecurityImpact, ref bool yesToAll, ref bool noToAll);
    }

    /// <summary>A compiled cmdlet. Every Write*/Should* call goes to <see cref="CommandRuntime"/>, exactly as in
    /// PowerShell (where the pipeline processor installs its runtime there).</summary>
    public abstract class Cmdlet : InternalCommand
    {
        private volatile bool _stopping;

        protected Cmdlet()
        {
        }

        public ICommandRuntime CommandRuntime { get; set; } = null!;

        public bool Stopping => _stopping;

        public static HashSet<string> CommonParameters { get; } = new(StringComparer.OrdinalIgnoreCase)
        {
            "Verbose", "Debug", "ErrorAction", "WarningAction", "InformationAction", "ErrorVariable", "WarningVariable",
            "InformationVariable", "OutVariable", "OutBuffer", "PipelineVariable", "ProgressAction",
        };

        public static HashSet<string> OptionalCommonParameters { get; } = new(StringComparer.OrdinalIgnoreCase)
        {
            "WhatIf", "Confirm", "UseTransaction",
        };

        protected virtual void BeginProcessing()
        {
        }

        protected virtual void ProcessRecord()
        {
        }

        protected virtual void EndProcessing()
        {
        }

        protected virtual void StopProcessing()
        {
        }

        public virtual string GetResourceString(string baseName, string resourceId) =>
            throw new NotSupportedException("Resource strings are not used by NvmePS.");

        public IEnumerable Invoke() => throw new InvalidOperationException("Run cmdlets through NvmePS.Testing.CmdletHost.");

        public IEnumerable<T> Invoke<T>() => throw new InvalidOperationException("Run cmdlets through NvmePS.Testing.CmdletHost.");

        public void WriteObject(object sendToPipeline) => Runtime.WriteObject(sendToPipeline);

        public void WriteObject(object sendToPipeline, bool enumerateCollection) => Runtime.WriteObject(sendToPipeline, enumerateCollection);

        public void WriteError(ErrorRecord errorRecord)
        {
            ArgumentNullException.ThrowIfNull(errorRecord);
            Runtime.WriteError(errorRecord);
        }

        public void WriteVerbose(string text) => Runtime.WriteVerbose(text);

        public void WriteWarning(string text) => Runtime.WriteWarning(text);

        public void WriteDebug(string text) => Runtime.WriteDebug(text);

        public void WriteCommandDetail(string text) => Runtime.WriteCommandDetail(text);

        public void WriteProgress(ProgressRecord progressRecord)
        {
            ArgumentNullException.ThrowIfNull(progressRecord);
            Runtime.WriteProgress(progressRecord);
        }

        public void WriteInformation(InformationRecord informationRecord)
        {
            ArgumentNullException.ThrowIfNull(informationRecord);
            if (Runtime is ICommandRuntime2 r2)
            {
                r2.WriteInformation(informationRecord);
            }
        }

        public void WriteInformation(object messageData, string[] tags)
        {
            var record = new InformationRecord(messageData, GetType().Name);
            record.Tags.AddRange(tags ?? Array.Empty<string>());
            WriteInformation(record);
        }

        public bool ShouldProcess(string target) => Runtime.ShouldProcess(target);

        public bool ShouldProcess(string target, string action) => Runtime.ShouldProcess(target, action);

        public bool ShouldProcess(string verboseDescription, string verboseWarning, string caption) =>
            Runtime.ShouldProcess(verboseDescription, verboseWarning, caption);

        public bool ShouldProcess(string verboseDescription, string verboseWarning, string caption, out ShouldProcessReason shouldProcessReason) =>
            Runtime.ShouldProcess(verboseDescription, verboseWarning, caption, out shouldProcessReason);

        public bool ShouldContinue(string query, string caption) => Runtime.ShouldContinue(query, caption);

        public bool ShouldContinue(string query, string caption, ref bool yesToAll, ref bool noToAll) =>
            Runtime.ShouldContinue(query, caption, ref yesToAll, ref noToAll);

        public bool ShouldContinue(string query, string caption, bool hasSecurityImpact, ref bool yesToAll, ref bool noToAll) =>
            Runtime is ICommandRuntime2 r2
                ? r2.ShouldContinue(query, caption, hasSecurityImpact, ref yesToAll, ref noToAll)
                : Runtime.ShouldContinue(query, caption, ref yesToAll, ref noToAll);

        public bool TransactionAvailable() => false;

        public void ThrowTerminatingError(ErrorRecord errorRecord)
        {
            ArgumentNullException.ThrowIfNull(errorRecord);
            Runtime.ThrowTerminatingError(errorRecord);

            // PowerShell's runtime never returns from ThrowTerminatingError.
            throw new RuntimeException(errorRecord.ToString(), errorRecord.Exception, errorRecord);
        }

        // PowerShell throws NotImplementedException when a cmdlet runs outside a pipeline; so does the stand-in.
        private ICommandRuntime Runtime => CommandRuntime ?? throw new NotImplementedException("This cmdlet has no command runtime.");

        // Entry points for the stand-in host (PowerShell's pipeline processor calls these internally).
        internal void DoBeginProcessing() => BeginProcessing();

        internal void DoProcessRecord() => ProcessRecord();

        internal void DoEndProcessing() => EndProcessing();

        internal void DoStopProcessing()
        {
            _stopping = true;
            StopProcessing();
        }
    }

    /// <summary>A cmdlet with access to the session (parameter set, invocation, paths).</summary>
    public abstract class PSCmdlet : Cmdlet
    {
        protected PSCmdlet()
        {
        }

        public string ParameterSetName { get; internal set; } = "__AllParameterSets";

        public InvocationInfo MyInvocation { get; internal set; } = new InvocationInfo();

        public SessionState SessionState { get; internal set; } = new SessionState(Environment.CurrentDirectory);

        public PSHost Host => CommandRuntime.Host;

        public string GetUnresolvedProviderPathFromPSPath(string path) => SessionState.Path.GetUnresolvedProviderPathFromPSPath(path);

        public object? GetVariableValue(string name) => SessionState.GetVariable(name);

        public object? GetVariableValue(string name, object defaultValue) => SessionState.GetVariable(name) ?? defaultValue;
    }

    /// <summary>What the host knows about the running command.</summary>
    public class InvocationInfo
    {
        internal InvocationInfo()
        {
        }

        public Dictionary<string, object> BoundParameters { get; } = new(StringComparer.OrdinalIgnoreCase);

        public List<object> UnboundArguments { get; } = new();

        public string InvocationName { get; internal set; } = string.Empty;

        public bool ExpectingInput { get; internal set; }

        public int PipelineLength => 1;

        public int PipelinePosition => 1;

        public string Line => InvocationName;
    }

    /// <summary>Session state: the current location (for resolving relative paths) and variables.</summary>
    public class SessionState
    {
        private readonly Dictionary<string, object?> _variables = new(StringComparer.OrdinalIgnoreCase);

        public SessionState()
            : this(Environment.CurrentDirectory)
        {
        }

        internal SessionState(string currentDirectory)
        {
            Path = new PathIntrinsics(currentDirectory);
        }

        public PathIntrinsics Path { get; }

        internal object? GetVariable(string name) => _variables.TryGetValue(name, out var v) ? v : null;

        internal void SetVariable(string name, object? value) => _variables[name] = value;
    }

    /// <summary>Path resolution against the session's current location (the FileSystem provider only).</summary>
    public class PathIntrinsics
    {
        private readonly string _current;

        internal PathIntrinsics(string currentDirectory)
        {
            _current = currentDirectory;
        }

        public string GetUnresolvedProviderPathFromPSPath(string path)
        {
            ArgumentNullException.ThrowIfNull(path);
            const string FileSystemPrefix = "Microsoft.PowerShell.Core\\FileSystem::";
            if (path.StartsWith(FileSystemPrefix, StringComparison.OrdinalIgnoreCase))
            {
                path = path[FileSystemPrefix.Length..];
            }

            if (path == "~" || path.StartsWith("~/", StringComparison.Ordinal))
            {
                path = System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), path.Length > 2 ? path[2..] : string.Empty);
            }

            return System.IO.Path.GetFullPath(path, _current);
        }
    }

    /// <summary>The module being removed, passed to <see cref="IModuleAssemblyCleanup.OnRemove"/>.</summary>
    public sealed class PSModuleInfo
    {
        internal PSModuleInfo(string name)
        {
            Name = name;
        }

        public string Name { get; }
    }

    public interface IModuleAssemblyInitializer
    {
        void OnImport();
    }

    public interface IModuleAssemblyCleanup
    {
        void OnRemove(PSModuleInfo psModuleInfo);
    }
}
