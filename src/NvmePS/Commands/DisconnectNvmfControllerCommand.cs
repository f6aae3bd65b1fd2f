using System.Management.Automation;

namespace NvmePS.Commands;

/// <summary>Disconnect-NvmfController: ends associations (normal shutdown, then the queues close).</summary>
[Cmdlet(VerbsCommunications.Disconnect, "NvmfController", DefaultParameterSetName = InputSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(NvmfController))]
public sealed class DisconnectNvmfControllerCommand : NvmeCmdlet
{
    private const string InputSet = "InputObject";
    private const string NqnSet = "SubsystemNqn";

    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = InputSet)]
    [ValidateNotNull]
    public NvmfController[] InputObject { get; set; } = Array.Empty<NvmfController>();

    /// <summary>Disconnects every controller of this session connected to these subsystems (wildcards allowed).</summary>
    [Parameter(Mandatory = true, ParameterSetName = NqnSet, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ConnectedNqnCompleter))]
    [ValidateNotNullOrEmpty]
    public string[] SubsystemNqn { get; set; } = Array.Empty<string>();

    [Parameter]
    [ValidateRange(1, 3600)]
    public int TimeoutSec { get; set; } = 10;

    /// <summary>Writes the disconnected controller objects.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
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
}
