using System.Management.Automation;
using System.Net;
using NvmePS.Engine.Fabrics;
using NvmePS.Engine.Fabrics.Controller;

namespace NvmePS.Commands;

/// <summary>Start-NvmfTarget: runs the engine's NVMe/TCP controller in this session.</summary>
[Cmdlet(VerbsLifecycle.Start, "NvmfTarget", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(NvmfTarget))]
public sealed class StartNvmfTargetCommand : NvmeCmdlet
{
    /// <summary>address:port to listen on; port 0 picks a free port.</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Listen { get; set; } = "127.0.0.1:4420";

    [Parameter(Position = 1)]
    [ValidateNotNullOrEmpty]
    public string SubsystemNqn { get; set; } = string.Empty;

    /// <summary>Namespaces in the engine's spec form: "memory:SIZE" or a file path, with ",size=", ",bs=", ",nsid=", ",ro".</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[] Namespace { get; set; } = { "memory:64MB" };

    /// <summary>Host NQNs allowed to connect; when none are given, any host may.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[] AllowedHostNqn { get; set; } = Array.Empty<string>();

    /// <summary>Listen on a non-loopback address (the engine refuses otherwise).</summary>
    [Parameter]
    public SwitchParameter AllowNonLoopback { get; set; }

    protected override void EndProcessing()
    {
        IPEndPoint listen;
        List<NvmeNamespaceSpec> specs;
        try
        {
            listen = NvmeEndpoint.Parse(Listen, NvmeEndpoint.IoPort);
            specs = Namespace.Select(NvmeNamespaceSpec.Parse).Select(s => s.IsMemory ? s : s with { Path = GetUnresolvedProviderPathFromPSPath(s.Path!) }).ToList();
        }
        catch (FormatException e)
        {
            ThrowTerminatingError(new ErrorRecord(e, "InvalidTargetArgument", ErrorCategory.InvalidArgument, Listen));
            return;
        }

        string nqn = SubsystemNqn.Length > 0 ? SubsystemNqn : NvmeTargetHost.NewSubsystemNqn();
        try
        {
            NvmeTargetHost.ValidateNamespaces(specs);
        }
        catch (FileNotFoundException e)
        {
            ThrowTerminatingError(new ErrorRecord(e, "NamespaceFileNotFound", ErrorCategory.ObjectNotFound, e.FileName));
        }

        // Two targets of this session never split one port's connections (see NvmeTargetHost.SharesPortWith).
        if (NvmfSession.Current.Targets.FirstOrDefault(t => t.HostObject.SharesPortWith(listen)) is { } busy)
        {
            ThrowTerminatingError(new ErrorRecord(new InvalidOperationException($"Port {listen.Port} is already served by the target of {busy.SubsystemNqn}."),
                "NvmfTargetPortInUse", ErrorCategory.ResourceBusy, busy));
        }

        if (!ShouldProcess($"{nqn} on {listen}", $"Start NVMe/TCP target with {specs.Count} namespace(s)"))
        {
            return;
        }

        try
        {
            var host = Wait(NvmeTargetHost.StartAsync(listen, nqn, specs, AllowedHostNqn, AllowNonLoopback));
            var target = new NvmfTarget(host);
            NvmfSession.Current.Add(target);
            WriteVerbose($"Listening on {target.Listen}; discovery controller on the same port.");
            WriteObject(target);
        }
        catch (Exception e) when (IsReportable(e))
        {
            ThrowNvmeError(e, nqn);
        }
    }
}
