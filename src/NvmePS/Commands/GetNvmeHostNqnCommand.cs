using System.Management.Automation;
using NvmePS.Engine.Fabrics.Host;

namespace NvmePS.Commands;

/// <summary>Get-NvmeHostNqn: the host identity Connect-NvmfController and Get-NvmfDiscoveryLog present when no
/// -HostNqn or -HostId is given, and where it comes from.</summary>
[Cmdlet(VerbsCommon.Get, "NvmeHostNqn")]
[OutputType(typeof(NvmeHostIdentityInfo))]
public sealed class GetNvmeHostNqnCommand : NvmeCmdlet
{
    /// <summary>Where hostnqn and hostid are looked for (nvme-cli's /etc/nvme by default).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string ConfigDirectory { get; set; } = NvmeHostIdentity.DefaultConfigDirectory;

    protected override void EndProcessing()
    {
        string dir = GetUnresolvedProviderPathFromPSPath(ConfigDirectory);
        var identity = NvmeHostIdentity.Resolve(null, null, dir, out string source);
        WriteObject(new NvmeHostIdentityInfo { HostNqn = identity.HostNqn, HostId = identity.HostId, Source = source });
    }
}
