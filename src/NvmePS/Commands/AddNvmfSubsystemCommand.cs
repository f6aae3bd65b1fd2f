using System.Management.Automation;
using NvmePS.Engine.Fabrics.Controller;

namespace NvmePS.Commands;

/// <summary>Add-NvmfSubsystem: serves one more NVM subsystem on a running session target's port, as nvmet and
/// nvmf_tgt serve several subsystems on one port. Writes the target.</summary>
[Cmdlet(VerbsCommon.Add, "NvmfSubsystem", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(NvmfTarget))]
public sealed class AddNvmfSubsystemCommand : NvmeCmdlet
{
    /// <summary>The target (from Start-NvmfTarget or Get-NvmfTarget) that gains the subsystem.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    [Alias("Target")]
    [ValidateNotNull]
    [LiveObject]
    public NvmfTarget InputObject { get; set; } = null!;

    /// <summary>The new subsystem's NQN; unique in the session.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string SubsystemNqn { get; set; } = string.Empty;

    /// <summary>The new subsystem's namespaces, in Start-NvmfTarget's spec form.</summary>
    [Parameter(Position = 1)]
    [ValidateNotNullOrEmpty]
    public string[] Namespace { get; set; } = { "memory:64MB" };

    /// <summary>Host NQNs allowed to connect to the new subsystem; when none are given, any host may.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[] AllowedHostNqn { get; set; } = Array.Empty<string>();

    /// <summary>Allowed hosts with the DH-HMAC-CHAP key each must authenticate with: NvmfAllowedHost objects or
    /// hashtables (HostNqn, DhchapSecret, DhchapControllerSecret, DhchapHash, DhchapGroup); a plain NQN needs no key.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public NvmfAllowedHost[] AllowedHost { get; set; } = Array.Empty<NvmfAllowedHost>();

    /// <summary>Bytes of NVM, held in memory, from which hosts may create namespaces with Namespace Management.
    /// 0, the default, offers no Namespace Management.</summary>
    [Parameter]
    [ValidateRange(0, long.MaxValue)]
    public long Capacity { get; set; }

    protected override void ProcessRecord()
    {
        if (!InputObject.IsRunning)
        {
            ThrowTerminatingError(new ErrorRecord(new InvalidOperationException($"The target {InputObject} has been stopped."),
                "NvmfTargetStopped", ErrorCategory.InvalidOperation, InputObject));
        }

        if (NvmfSession.Current.SubsystemNqnInUse(SubsystemNqn) is { } inUse)
        {
            ThrowTerminatingError(inUse);
        }

        List<NvmeNamespaceSpec> specs = NamespaceSpecs.Resolve(this, Namespace);
        if (!ShouldProcess($"{SubsystemNqn} on {InputObject.Listen}", $"Add NVM subsystem with {specs.Count} namespace(s)"))
        {
            return;
        }

        try
        {
            var (hosts, keys) = DhchapArguments.ResolveAllowedHosts(this, AllowedHostNqn, AllowedHost);
            InputObject.HostObject.AddSubsystem(SubsystemNqn, specs, hosts, keys).NamespaceCapacity = Capacity;
        }
        catch (Exception e) when (IsReportable(e))
        {
            ThrowNvmeError(e, SubsystemNqn);
        }

        WriteObject(InputObject);
    }
}
