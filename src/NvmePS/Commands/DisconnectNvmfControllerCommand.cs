using System.Management.Automation;
using NvmePS.Engine.Kernel;

namespace NvmePS.Commands;

/// <summary>Disconnect-NvmfController: ends associations (normal shutdown, then the queues close), of this session's
/// host or of the kernel's (delete_controller in sysfs).</summary>
[Cmdlet(VerbsCommunications.Disconnect, "NvmfController", DefaultParameterSetName = InputSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(NvmfController), ParameterSetName = new[] { InputSet, NqnSet })]
[OutputType(typeof(NvmeKernelController), ParameterSetName = new[] { KernelSet })]
public sealed class DisconnectNvmfControllerCommand : NvmeCmdlet
{
    private const string InputSet = "InputObject";
    private const string NqnSet = "SubsystemNqn";
    private const string KernelSet = "Kernel";

    /// <summary>Remoting's PSComputerName of piped input (hidden; <see cref="NvmeCmdlet.RefuseRemotedInput"/>).</summary>
    [Parameter(ParameterSetName = NqnSet, ValueFromPipelineByPropertyName = true, DontShow = true)]
    public string? PSComputerName { get => RemotedFrom; set => RemotedFrom = value; }

    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = InputSet)]
    [ValidateNotNull]
    [LiveObject]
    public NvmfController[] InputObject { get; set; } = Array.Empty<NvmfController>();

    /// <summary>Disconnects every controller of this session connected to these subsystems (wildcards allowed).</summary>
    [Parameter(Mandatory = true, ParameterSetName = NqnSet, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ConnectedNqnCompleter))]
    [ValidateNotNullOrEmpty]
    public string[] SubsystemNqn { get; set; } = Array.Empty<string>();

    /// <summary>Kernel controllers (Get-NvmeDevice, Connect-NvmfController -Kernel) to delete.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = KernelSet)]
    [ValidateNotNull]
    public NvmeKernelController[] KernelController { get; set; } = Array.Empty<NvmeKernelController>();

    /// <summary>Disconnect a kernel controller even when one of its block devices is mounted.</summary>
    [Parameter(ParameterSetName = KernelSet)]
    public SwitchParameter Force { get; set; }

    [Parameter]
    [ValidateRange(1, 3600)]
    public int TimeoutSec { get; set; } = 10;

    /// <summary>Writes the disconnected controller objects.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        if (RefuseRemotedInput("subsystem NQN", string.Join(", ", SubsystemNqn)))
        {
            return;
        }

        if (ParameterSetName == KernelSet)
        {
            foreach (NvmeKernelController k in KernelController)
            {
                DisconnectKernel(k);
            }

            return;
        }

        IEnumerable<NvmfController> controllers = InputObject;
        if (ParameterSetName == NqnSet)
        {
            var list = new List<NvmfController>();
            foreach (string pattern in SubsystemNqn)
            {
                var wildcard = new WildcardPattern(pattern, WildcardOptions.IgnoreCase);
                var found = NvmfSession.Current.Controllers.Where(c => wildcard.IsMatch(c.SubsystemNqn)).ToList();
                if (found.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(pattern))
                {
                    WriteError(new ErrorRecord(new ItemNotFoundException($"No controller of this session is connected to {pattern}."), "NvmfControllerNotFound", ErrorCategory.ObjectNotFound, pattern));
                }

                list.AddRange(found);
            }

            controllers = list;
        }

        foreach (NvmfController c in controllers)
        {
            if (!ShouldProcess(c.Name, "Disconnect"))
            {
                continue;
            }

            using var cts = LinkedTimeout(TimeoutSec);
            try
            {
                c.MarkClosed();
                NvmfSession.Current.Remove(c);
                Wait(c.Host.DisconnectAsync(cts.Token));
            }
            catch (Exception e) when (IsReportable(e))
            {
                // The association is closed either way; the error says the shutdown was not clean.
                WriteNvmeError(e, c);
            }

            if (PassThru)
            {
                WriteObject(c);
            }
        }
    }

    private void DisconnectKernel(NvmeKernelController k)
    {
        if (k.Transport == "pcie")
        {
            WriteError(new ErrorRecord(new InvalidOperationException($"{k.Name} is a local PCIe controller; only fabrics controllers can be disconnected."),
                "NvmeKernelNotFabrics", ErrorCategory.InvalidOperation, k));
            return;
        }

        var mounted = ProcMounts.SourcesOn(k.Namespaces.Select(n => n.BlockDevice));
        if (mounted.Count > 0 && !Force)
        {
            WriteError(new ErrorRecord(new InvalidOperationException($"{k.Name} has mounted block devices ({string.Join(", ", mounted)}); unmount them, or use -Force."),
                "NvmeKernelDeviceInUse", ErrorCategory.ResourceBusy, k));
            return;
        }

        if (!ShouldProcess($"{k.Name} ({k.SubsystemNqn} at {k.Address})", "Disconnect the kernel's NVMe host (delete_controller)"))
        {
            return;
        }

        using var cts = LinkedTimeout(TimeoutSec);
        try
        {
            Wait(new NvmeKernelFabrics().DisconnectAsync(k.Name, TimeSpan.FromSeconds(TimeoutSec), cts.Token));
        }
        catch (Exception e) when (IsReportable(e))
        {
            WriteNvmeError(e, k);
            return;
        }

        if (PassThru)
        {
            WriteObject(k);
        }
    }
}
