using System.Management.Automation;
using NvmePS.Engine.Kernel;

namespace NvmePS.Commands;

/// <summary>Get-NvmeDevice: the NVMe controllers the Linux kernel owns (local PCIe drives and kernel-connected fabrics
/// controllers) with their namespaces, from sysfs, as `nvme list` shows them. Reading sysfs needs no root; the Admin
/// cmdlets that take these objects do.</summary>
[Cmdlet(VerbsCommon.Get, "NvmeDevice")]
[OutputType(typeof(NvmeKernelController))]
public sealed class GetNvmeDeviceCommand : NvmeCmdlet
{
    /// <summary>Remoting's PSComputerName of piped input (hidden; <see cref="NvmeCmdlet.RefuseRemotedInput"/>).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, DontShow = true)]
    public string? PSComputerName { get => RemotedFrom; set => RemotedFrom = value; }

    /// <summary>Controller names (nvme0, nvme1, ...); wildcards allowed.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(KernelControllerCompleter))]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = Array.Empty<string>();

    /// <summary>Only controllers on these transports: pcie, tcp, rdma, fc, loop.</summary>
    [Parameter]
    [ValidateSet("pcie", "tcp", "rdma", "fc", "loop")]
    public string[] Transport { get; set; } = Array.Empty<string>();

    protected override void ProcessRecord()
    {
        if (RefuseRemotedInput("device name", string.Join(", ", Name)))
        {
            return;
        }

        var sysfs = NvmeKernelSysfs.Default;
        var all = sysfs.List();
        if (all.Count == 0)
        {
            WriteVerbose($"{sysfs.ClassDirectory} lists no controller: no NVMe drive, or the nvme driver is not loaded.");
        }

        var chosen = all.Where(c => Transport.Length == 0 || Transport.Contains(c.Transport, StringComparer.OrdinalIgnoreCase));
        if (Name.Length > 0)
        {
            var matched = new List<NvmeKernelControllerInfo>();
            foreach (string pattern in Name)
            {
                var wildcard = new WildcardPattern(pattern, WildcardOptions.IgnoreCase);
                var found = chosen.Where(c => wildcard.IsMatch(c.Name)).ToList();
                if (found.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(pattern))
                {
                    WriteError(new ErrorRecord(
                        new ItemNotFoundException($"The kernel has no NVMe controller {pattern} ({sysfs.ClassDirectory})."),
                        NvmeKernelException.DeviceNotFoundId, ErrorCategory.ObjectNotFound, pattern));
                }

                matched.AddRange(found.Where(f => !matched.Contains(f)));
            }

            chosen = matched;
        }

        foreach (var c in chosen)
        {
            WriteObject(new NvmeKernelController(c, sysfs));
        }
    }
}
