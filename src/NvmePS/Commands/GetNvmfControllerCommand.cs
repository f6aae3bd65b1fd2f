using System.Management.Automation;

namespace NvmePS.Commands;

/// <summary>Get-NvmfController: the controllers this session connected with Connect-NvmfController and has not disconnected.</summary>
[Cmdlet(VerbsCommon.Get, "NvmfController")]
[OutputType(typeof(NvmfController))]
public sealed class GetNvmfControllerCommand : NvmeCmdlet
{
    /// <summary>Remoting's PSComputerName of piped input (hidden; <see cref="NvmeCmdlet.RefuseRemotedInput"/>).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true, DontShow = true)]
    public string? PSComputerName { get => RemotedFrom; set => RemotedFrom = value; }

    /// <summary>Only controllers of these subsystem NQNs (wildcards allowed).</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ConnectedNqnCompleter))]
    [ValidateNotNullOrEmpty]
    public string[] SubsystemNqn { get; set; } = Array.Empty<string>();

    /// <summary>Only controllers at these transport addresses (wildcards allowed).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[] TransportAddress { get; set; } = Array.Empty<string>();

    protected override void ProcessRecord()
    {
        if (RefuseRemotedInput("subsystem NQN", string.Join(", ", SubsystemNqn)))
        {
            return;
        }

        var nqns = SubsystemNqn.Select(p => new WildcardPattern(p, WildcardOptions.IgnoreCase)).ToList();
        var addresses = TransportAddress.Select(p => new WildcardPattern(p, WildcardOptions.IgnoreCase)).ToList();
        var found = NvmfSession.Current.Controllers
            .Where(c => nqns.Count == 0 || nqns.Any(w => w.IsMatch(c.SubsystemNqn)))
            .Where(c => addresses.Count == 0 || addresses.Any(w => w.IsMatch(c.TransportAddress) || w.IsMatch(c.Address)))
            .ToList();
        if (found.Count == 0)
        {
            foreach (string pattern in SubsystemNqn.Concat(TransportAddress).Where(p => !WildcardPattern.ContainsWildcardCharacters(p)))
            {
                WriteError(new ErrorRecord(new ItemNotFoundException($"No connected controller in this session matches {pattern}."), "NvmfControllerNotFound", ErrorCategory.ObjectNotFound, pattern));
            }
        }

        WriteObject(found, enumerateCollection: true);
    }
}
