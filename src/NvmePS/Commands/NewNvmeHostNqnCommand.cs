using System.Management.Automation;
using NvmePS.Engine.Fabrics.Host;

namespace NvmePS.Commands;

/// <summary>New-NvmeHostNqn: a host NQN and HOSTID as `nvme gen-hostnqn` makes them (from the machine's UUID, or
/// random), written to /etc/nvme only with -Persist.</summary>
[Cmdlet(VerbsCommon.New, "NvmeHostNqn", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(NvmeHostIdentityInfo))]
public sealed class NewNvmeHostNqnCommand : NvmeCmdlet
{
    /// <summary>A random UUID instead of the machine's.</summary>
    [Parameter]
    public SwitchParameter Random { get; set; }

    /// <summary>Write hostnqn and hostid to -ConfigDirectory, replacing the host's identity for every NVMe tool.</summary>
    [Parameter]
    public SwitchParameter Persist { get; set; }

    /// <summary>Where -Persist writes (nvme-cli's /etc/nvme by default).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string ConfigDirectory { get; set; } = NvmeHostIdentity.DefaultConfigDirectory;

    protected override void EndProcessing()
    {
        var identity = NvmeHostIdentity.Generate(Random);
        string source = Random || MachineIdentity.Read() is not { } machine ? "random" : machine.Source;
        string? persistedTo = null;
        if (Persist)
        {
            string dir = GetUnresolvedProviderPathFromPSPath(ConfigDirectory);
            string current = NvmeHostIdentity.Resolve(null, null, dir).HostNqn;
            if (!ShouldProcess(dir, $"Write host NQN {identity.HostNqn} and host ID {identity.HostId} (the host NQN now in use is {current})"))
            {
                return;
            }

            try
            {
                identity.Persist(dir);
                persistedTo = dir;
            }
            catch (Exception e) when (IsReportable(e))
            {
                ThrowNvmeError(e, dir);
            }
        }

        WriteObject(new NvmeHostIdentityInfo { HostNqn = identity.HostNqn, HostId = identity.HostId, Source = source, PersistedTo = persistedTo });
    }
}
