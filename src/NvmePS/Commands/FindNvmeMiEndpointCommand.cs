using System.Management.Automation;
using NvmePS.Engine.DBus;

namespace NvmePS.Commands;

/// <summary>Find-NvmeMiEndpoint: the NVMe-MI endpoints the MCTP daemon (mctpd) knows, read from D-Bus.</summary>
[Cmdlet(VerbsCommon.Find, "NvmeMiEndpoint")]
[OutputType(typeof(MctpEndpointInfo))]
public sealed class FindNvmeMiEndpointCommand : NvmeCmdlet
{
    /// <summary>Only endpoints on these MCTP networks.</summary>
    [Parameter(Position = 0)]
    public uint[] Network { get; set; } = Array.Empty<uint>();

    /// <summary>Only endpoints with these EIDs.</summary>
    [Parameter(Position = 1)]
    public byte[] Eid { get; set; } = Array.Empty<byte>();

    /// <summary>The D-Bus address (default: the system bus, honouring DBUS_SYSTEM_BUS_ADDRESS).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? BusAddress { get; set; }

    /// <summary>Wait for a matching endpoint to appear.</summary>
    [Parameter]
    public new SwitchParameter Wait { get; set; }

    /// <summary>How long -Wait waits (default 30 s).</summary>
    [Parameter]
    [ValidateRange(1, 86400)]
    public int TimeoutSec { get; set; } = 30;

    /// <summary>Also list endpoints without the NVMe-MI message type (and the daemon's local EIDs).</summary>
    [Parameter]
    public SwitchParameter IncludeAll { get; set; }

    protected override void ProcessRecord()
    {
        string target = BusAddress ?? MctpdClient.SystemBusAddress;
        try
        {
            using var client = base.Wait(MctpdClient.ConnectAsync(BusAddress, StopToken));
            if (Wait)
            {
                // Subscribed before the first read, so an endpoint added in between is not missed.
                base.Wait(client.WatchAsync(StopToken));
            }

            var started = DateTime.UtcNow;
            var deadline = started.AddSeconds(TimeoutSec);
            while (true)
            {
                MctpdTree tree = base.Wait(client.GetEndpointsAsync(StopToken));
                foreach (string skipped in tree.Skipped)
                {
                    WriteWarning($"mctpd published an endpoint this module cannot read: {skipped}");
                }

                var found = tree.Endpoints.Where(Matches).Select(e => MctpEndpointInfo.From(e, client.Address)).ToList();
                if (found.Count > 0 || !Wait)
                {
                    WriteVerbose($"{tree.Endpoints.Count} endpoint(s) on {client.Address}; {found.Count} match.");
                    if (Wait)
                    {
                        WriteProgress(new ProgressRecord(1, "Waiting for NVMe-MI endpoints", "Found") { RecordType = ProgressRecordType.Completed });
                    }

                    WriteObject(found, enumerateCollection: true);
                    return;
                }

                var now = DateTime.UtcNow;
                if (now >= deadline)
                {
                    WriteProgress(new ProgressRecord(1, "Waiting for NVMe-MI endpoints", "Timed out") { RecordType = ProgressRecordType.Completed });
                    ThrowNvmeError(new Engine.NvmeTimeoutException($"No matching NVMe-MI endpoint appeared on {client.Address} within {TimeoutSec} s ({tree.Endpoints.Count} endpoint(s) listed, none matching)."), target);
                }

                int elapsed = (int)(now - started).TotalSeconds;
                WriteProgress(new ProgressRecord(1, "Waiting for NVMe-MI endpoints", $"{tree.Endpoints.Count} endpoint(s) listed, none matching yet ({elapsed} of {TimeoutSec} s)")
                {
                    PercentComplete = Math.Min(99, elapsed * 100 / TimeoutSec),
                    SecondsRemaining = (int)(deadline - now).TotalSeconds,
                });
                // Woken early by the daemon's signals; the periodic re-read also covers a daemon that starts later.
                base.Wait(client.WaitForChangeAsync(TimeSpan.FromSeconds(Math.Min(1, (deadline - now).TotalSeconds)), StopToken));
            }
        }
        catch (Exception e) when (IsReportable(e))
        {
            ThrowNvmeError(e, target);
        }
    }

    private bool Matches(MctpdEndpoint e) =>
        (IncludeAll || (e.SupportsNvmeMi && !e.IsLocal)) && (Network.Length == 0 || Network.Contains(e.Network)) && (Eid.Length == 0 || Eid.Contains(e.Eid));
}
