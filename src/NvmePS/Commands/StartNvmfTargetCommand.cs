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

    /// <summary>Namespaces in the engine's spec form: "memory:SIZE", "file:PATH" or a path, with ",size=", ",bs=",
    /// ",nsid=", ",ro"; a comma inside a path is written twice.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[] Namespace { get; set; } = { "memory:64MB" };

    /// <summary>Host NQNs allowed to connect; when none are given, any host may.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[] AllowedHostNqn { get; set; } = Array.Empty<string>();

    /// <summary>Also serve the discovery controller alone on this address:port (8009 by convention).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? DiscoveryListen { get; set; }

    /// <summary>Listen on a non-loopback address (the engine refuses otherwise).</summary>
    [Parameter]
    public SwitchParameter AllowNonLoopback { get; set; }

    protected override void EndProcessing()
    {
        IPEndPoint listen;
        IPEndPoint? discovery = null;
        try
        {
            listen = NvmeEndpoint.Parse(Listen, NvmeEndpoint.IoPort);
        }
        catch (FormatException e)
        {
            ThrowTerminatingError(new ErrorRecord(e, "InvalidTargetArgument", ErrorCategory.InvalidArgument, Listen));
            return;
        }

        if (DiscoveryListen is not null)
        {
            try
            {
                discovery = NvmeEndpoint.Parse(DiscoveryListen, NvmeEndpoint.DiscoveryPort);
            }
            catch (FormatException e)
            {
                ThrowTerminatingError(new ErrorRecord(e, "InvalidTargetArgument", ErrorCategory.InvalidArgument, DiscoveryListen));
                return;
            }
        }

        List<NvmeNamespaceSpec> specs = NamespaceSpecs.Resolve(this, Namespace);
        string nqn = SubsystemNqn.Length > 0 ? SubsystemNqn : NvmeTargetHost.NewSubsystemNqn();

        if (NvmfSession.Current.SubsystemNqnInUse(nqn) is { } inUse)
        {
            ThrowTerminatingError(inUse);
        }

        // Two targets of this session never split one port's connections (see NvmeTargetHost.SharesPortWith).
        foreach (var endPoint in discovery is null ? [listen] : new[] { listen, discovery })
        {
            if (NvmfSession.Current.Targets.FirstOrDefault(t => t.HostObject.SharesPortWith(endPoint)) is { } busy)
            {
                ThrowTerminatingError(new ErrorRecord(new InvalidOperationException($"Port {endPoint.Port} is already served by the target of {busy.SubsystemNqn} on {busy.Listen}."),
                    "NvmfTargetPortInUse", ErrorCategory.ResourceBusy, busy));
            }
        }

        if (discovery is not null && discovery.Port != 0 && discovery.Port == listen.Port)
        {
            ThrowTerminatingError(new ErrorRecord(new ArgumentException("-DiscoveryListen needs a port of its own; the discovery controller already answers on -Listen."),
                "InvalidTargetArgument", ErrorCategory.InvalidArgument, DiscoveryListen));
        }

        if (!ShouldProcess($"{nqn} on {listen}", $"Start NVMe/TCP target with {specs.Count} namespace(s)"))
        {
            return;
        }

        NvmeTargetHost? host = null;
        try
        {
            host = Wait(NvmeTargetHost.StartAsync(listen, nqn, specs, AllowedHostNqn, AllowNonLoopback));
            if (discovery is not null)
            {
                Wait(host.ListenDiscoveryAsync(discovery, AllowNonLoopback));
            }
        }
        catch (Exception e) when (IsReportable(e))
        {
            if (host is not null)
            {
                Wait(host.DisposeAsync());
            }

            ThrowNvmeError(e, nqn);
            return;
        }

        var target = new NvmfTarget(host);
        NvmfSession.Current.Add(target);
        WriteVerbose($"Listening on {target.Listen}; discovery controller on the same port{(target.DiscoveryListen is { } d ? " and on " + d : string.Empty)}.");
        WriteObject(target);
    }
}
