using System.Management.Automation;
using System.Net;
using NvmePS.Engine.Fabrics;
using NvmePS.Engine.Fabrics.Controller;
using NvmePS.Shared;

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
            listen = EndpointSpec.Parse(Listen, 4420);
            specs = Namespace.Select(NvmeNamespaceSpec.Parse).Select(s => s.IsMemory ? s : s with { Path = GetUnresolvedProviderPathFromPSPath(s.Path!) }).ToList();
        }
        catch (FormatException e)
        {
            ThrowTerminatingError(new ErrorRecord(e, "InvalidTargetArgument", ErrorCategory.InvalidArgument, Listen));
            return;
        }

        string nqn = SubsystemNqn.Length > 0 ? SubsystemNqn : Nqn.FromUuid(Guid.NewGuid());
        // A file without ",size=" must exist already (with a size the engine creates or extends it).
        foreach (var spec in specs.Where(s => !s.IsMemory && s.Size is null && !File.Exists(s.Path)))
        {
            ThrowTerminatingError(new ErrorRecord(new FileNotFoundException($"Namespace file '{spec.Path}' does not exist; create it first or give a size ('{spec.Path},size=1G').", spec.Path),
                "NamespaceFileNotFound", ErrorCategory.ObjectNotFound, spec.Path));
        }

        // The engine's listener sets SO_REUSEADDR, which on Linux also lets a second socket share the port; refuse
        // that within the session so two targets never split one port's connections.
        if (listen.Port != 0 && NvmfSession.Targets.FirstOrDefault(t => t.Port == listen.Port && (t.Address == listen.Address.ToString() || listen.Address.Equals(IPAddress.Any) || listen.Address.Equals(IPAddress.IPv6Any))) is { } busy)
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
            var host = Wait(TargetHost.StartAsync(listen, nqn, specs, AllowedHostNqn, AllowNonLoopback));
            var target = new NvmfTarget(host);
            NvmfSession.Add(target);
            WriteVerbose($"Listening on {target.Listen}; discovery controller on the same port.");
            WriteObject(target);
        }
        catch (Exception e) when (IsReportable(e))
        {
            ThrowNvmeError(e, nqn);
        }
    }
}
