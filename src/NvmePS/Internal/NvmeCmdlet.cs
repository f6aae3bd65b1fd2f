using System.Management.Automation;
using System.Net.Sockets;
using NvmePS.Engine;

namespace NvmePS.Commands;

/// <summary>
/// Base of NvmePS's cmdlets: one cancellation source per invocation that StopProcessing (Ctrl+C) cancels, a way to
/// wait for engine calls on the pipeline thread (PowerShell only accepts writes there), and the mapping from the
/// engine's typed exceptions to ErrorRecords with stable ErrorIds and categories.
/// </summary>
public abstract class NvmeCmdlet : PSCmdlet, IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private bool _disposed;

    /// <summary>The PSComputerName of a piped object that came through remoting. Cmdlets whose identities bind by property
    /// name (NQNs of this session's objects, MI network and EID, kernel device names, namespace IDs) bind it with a
    /// hidden PSComputerName parameter in those parameter sets only, and refuse input from another computer, whose
    /// names mean something there, not here (<see cref="RefuseRemotedInput"/>).</summary>
    protected string? RemotedFrom { get; set; }

    /// <summary>Cancelled when the pipeline stops.</summary>
    protected CancellationToken StopToken => _stop.Token;

    protected override void StopProcessing() => _stop.Cancel();

    /// <summary>A token cancelled on stop or after <paramref name="timeoutSec"/> seconds (0 or less: no timeout).</summary>
    protected CancellationTokenSource LinkedTimeout(int timeoutSec)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        if (timeoutSec > 0)
        {
            cts.CancelAfter(TimeSpan.FromSeconds(timeoutSec));
        }

        return cts;
    }

    /// <summary>Waits for an engine call on the pipeline thread. A cancellation caused by Ctrl+C stops the
    /// pipeline; one caused by a timeout becomes <see cref="NvmeTimeoutException"/>.</summary>
    protected T Wait<T>(Task<T> task)
    {
        ArgumentNullException.ThrowIfNull(task);
        try
        {
            return task.GetAwaiter().GetResult();
        }
        catch (OperationCanceledException e) when (_stop.IsCancellationRequested)
        {
            throw new PipelineStoppedException("The pipeline has been stopped.", e);
        }
        catch (OperationCanceledException e)
        {
            throw new NvmeTimeoutException("The operation did not complete within the time allowed (-TimeoutSec).", e);
        }
    }

    protected void Wait(Task task)
    {
        ArgumentNullException.ThrowIfNull(task);
        Wait(WrapVoid(task));
    }

    protected T Wait<T>(ValueTask<T> task) => Wait(task.AsTask());

    protected void Wait(ValueTask task) => Wait(task.AsTask());

    private static async Task<bool> WrapVoid(Task task)
    {
        await task.ConfigureAwait(false);
        return true;
    }

    /// <summary>True, after writing an error, when the piped object came from another computer through remoting: its
    /// <paramref name="what"/> names something on that computer, and must not act on this one's.</summary>
    protected bool RefuseRemotedInput(string what, object? target)
    {
        string? from = RemotedFrom;
        if (!RemotedInput.IsAnotherComputer(from))
        {
            return false;
        }

        WriteError(new ErrorRecord(
            new ArgumentException($"This input came from {from} through remoting: its {what} names something on {from}, not on this computer, so {MyInvocation.MyCommand.Name} does not act on it here. Run the command there, for example Invoke-Command -Session $session {{ ... }} with a session to {from}."),
            "RemotedInput", ErrorCategory.InvalidArgument, target));
        return true;
    }

    /// <summary>A non-terminating error for one item; the pipeline goes on.</summary>
    protected void WriteNvmeError(Exception exception, object? target) => WriteError(ErrorMapping.ToErrorRecord(exception, target));

    /// <summary>Ends the command with an error.</summary>
    protected void ThrowNvmeError(Exception exception, object? target) => ThrowTerminatingError(ErrorMapping.ToErrorRecord(exception, target));

    /// <summary>Ends the command with a module-level error (bad input the engine never saw).</summary>
    protected void ThrowInputError(string errorId, string message, ErrorCategory category, object? target) =>
        ThrowTerminatingError(new ErrorRecord(new ArgumentException(message), errorId, category, target));

    /// <summary>True for exceptions a cmdlet reports as an ErrorRecord rather than letting escape.</summary>
    protected static bool IsReportable(Exception e) => ErrorMapping.IsReportable(e);

    /// <summary>Re-reads a background operation's state with <paramref name="read"/> until <paramref name="running"/> says it
    /// ended, showing <paramref name="percent"/> as progress; the interval grows from 100 ms to 1 s. Runs on the pipeline
    /// thread, where WriteProgress must be called.</summary>
    protected T PollWithProgress<T>(T state, Func<CancellationToken, Task<T>> read, Func<T, bool> running, Func<T, double> percent,
        ProgressRecord progress, CancellationToken cancellationToken)
    {
        int delay = 100;
        while (running(state))
        {
            progress.PercentComplete = Math.Clamp((int)percent(state), 0, 100);
            WriteProgress(progress);
            if (cancellationToken.WaitHandle.WaitOne(delay))
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            delay = Math.Min(1000, delay * 2);
            state = Wait(read(cancellationToken));
        }

        progress.RecordType = ProgressRecordType.Completed;
        WriteProgress(progress);
        return state;
    }

    /// <summary>ShouldProcess for a destructive (ConfirmImpact High) change: it prompts, unless <paramref name="force"/>
    /// is set and -Confirm was not asked for explicitly. -WhatIf still only describes the change.</summary>
    protected bool ShouldProcessDestructive(string target, string action, bool force)
    {
        if (force && !MyInvocation.BoundParameters.ContainsKey("Confirm") && !WhatIfRequested())
        {
            return true;
        }

        return ShouldProcess(target, action);
    }

    private bool WhatIfRequested() => MyInvocation.BoundParameters.TryGetValue("WhatIf", out object? w)
        ? w is SwitchParameter { IsPresent: true }
        : GetVariableValue("WhatIfPreference") is true or SwitchParameter { IsPresent: true };

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (!_disposed && disposing)
        {
            _stop.Dispose();
        }

        _disposed = true;
    }
}

/// <summary>Engine exception → ErrorRecord. ErrorIds are stable: scripts match on FullyQualifiedErrorId.</summary>
public static class ErrorMapping
{
    public const string UnexpectedErrorId = "NvmeUnexpectedError";

    /// <summary>PowerShell category for an engine error kind (protocol → ProtocolError, NVMe status → DeviceError,
    /// connection → ConnectionError, timeout → OperationTimeout).</summary>
    public static ErrorCategory CategoryOf(NvmeErrorKind kind) => kind switch
    {
        NvmeErrorKind.Protocol => ErrorCategory.ProtocolError,
        NvmeErrorKind.DeviceStatus => ErrorCategory.DeviceError,
        NvmeErrorKind.Connection => ErrorCategory.ConnectionError,
        NvmeErrorKind.Timeout => ErrorCategory.OperationTimeout,
        NvmeErrorKind.Authentication => ErrorCategory.AuthenticationError,
        _ => ErrorCategory.NotSpecified,
    };

    internal static bool IsReportable(Exception e) =>
        e is NvmeException or IOException or SocketException or UnauthorizedAccessException or ArgumentException
            or InvalidOperationException or ObjectDisposedException or TimeoutException or FormatException or OverflowException;

    public static ErrorRecord ToErrorRecord(Exception exception, object? target)
    {
        ArgumentNullException.ThrowIfNull(exception);
        // A -Path file's failure is classed by its cause, except that an IOException there is the file's, not a socket's.
        bool aboutAFile = exception is BlockTransfer.PathFileException { InnerException: not null };
        Exception cause = aboutAFile ? exception.InnerException! : exception;
        var (id, category) = cause switch
        {
            NvmeException n => (n.ErrorId, CategoryOf(n.Kind)),
            FileNotFoundException or DirectoryNotFoundException => ("NvmeFileNotFound", ErrorCategory.ObjectNotFound),
            UnauthorizedAccessException => ("NvmePermissionDenied", ErrorCategory.PermissionDenied),
            IOException when aboutAFile => ("NvmeFileError", ErrorCategory.WriteError),
            SocketException or IOException => ("NvmeConnectionError", ErrorCategory.ConnectionError),
            TimeoutException => ("NvmeTimeout", ErrorCategory.OperationTimeout),
            ObjectDisposedException => ("NvmeObjectClosed", ErrorCategory.ResourceUnavailable),
            ArgumentException or FormatException or OverflowException => ("NvmeInvalidArgument", ErrorCategory.InvalidArgument),
            InvalidOperationException => ("NvmeInvalidOperation", ErrorCategory.InvalidOperation),
            _ => (UnexpectedErrorId, ErrorCategory.NotSpecified),
        };
        if (exception is NvmePS.Engine.DBus.MctpdException { Failure: NvmePS.Engine.DBus.MctpdFailure.AccessDenied })
        {
            category = ErrorCategory.PermissionDenied;
        }

        if (exception is NvmePS.Engine.Kernel.NvmeKernelException k)
        {
            category = k.Failure switch
            {
                NvmePS.Engine.Kernel.NvmeKernelFailure.PermissionDenied => ErrorCategory.PermissionDenied,
                NvmePS.Engine.Kernel.NvmeKernelFailure.NotFound => ErrorCategory.ObjectNotFound,
                NvmePS.Engine.Kernel.NvmeKernelFailure.Unavailable => ErrorCategory.NotInstalled,
                NvmePS.Engine.Kernel.NvmeKernelFailure.AlreadyExists => ErrorCategory.ResourceExists,
                NvmePS.Engine.Kernel.NvmeKernelFailure.Busy => ErrorCategory.ResourceBusy,
                _ => ErrorCategory.InvalidOperation,
            };
        }

        var record = new ErrorRecord(exception, id, category, target);
        if (exception is ArgumentException { ParamName: not null } a)
        {
            // The engine's argument name means nothing to someone who typed a cmdlet parameter: say the rest.
            record.ErrorDetails = new ErrorDetails(ArgumentMessages.WithoutArgumentName(a));
        }

        if (exception is NvmeStatusException s)
        {
            record.ErrorDetails = new ErrorDetails(s.Message)
            {
                RecommendedAction = s.Status.Dnr
                    ? "The controller marked the error Do Not Retry; change the command before sending it again."
                    : "The command may succeed if retried.",
            };
        }

        return record;
    }
}
