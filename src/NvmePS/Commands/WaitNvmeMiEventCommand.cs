using System.Management.Automation;
using NvmePS.Engine;
using NvmePS.Engine.Mi;
using NvmePS.Engine.Mi.Simulator;

namespace NvmePS.Commands;

/// <summary>Wait-NvmeMiEvent: enables an endpoint's asynchronous events, waits for its Asynchronous Event Messages
/// and writes each occurrence, acknowledging each AEM; restores the event enables when it ends.</summary>
[Cmdlet(VerbsLifecycle.Wait, "NvmeMiEvent", DefaultParameterSetName = ConnectionSet)]
[OutputType(typeof(NvmeMiAsyncEvent))]
public sealed class WaitNvmeMiEventCommand : NvmeMiEndpointCmdlet
{
    /// <summary>The event identifiers to enable (default: every event the endpoint supports).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public byte[] EventId { get; set; } = Array.Empty<byte>();

    /// <summary>Return after this many occurrences (0: until -TimeoutSec or Ctrl+C).</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int Count { get; set; } = 1;

    /// <summary>Stop waiting after this many seconds (0: no limit).</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int TimeoutSec { get; set; }

    /// <summary>AERD: how long the endpoint waits before it resends an AEM that was not acknowledged, in seconds.</summary>
    [Parameter]
    [ValidateRange(0.0, 25.5)]
    public double RetryDelaySec { get; set; }

    /// <summary>Leave the events enabled when the command ends (the endpoint keeps sending AEMs to this host).</summary>
    [Parameter]
    public SwitchParameter KeepEnabled { get; set; }

    protected override void ProcessRecord()
    {
        if (ResolveConnection() is not { } c)
        {
            return;
        }

        NvmeMiEventListener listener;
        try
        {
            listener = Wait(c.Endpoint.ListenForAsyncEventsAsync(StopToken));
        }
        catch (NotSupportedException e)
        {
            WriteError(new ErrorRecord(e, "NvmeMiEventsNotSupported", ErrorCategory.NotImplemented, c));
            return;
        }
        catch (Exception e) when (IsReportable(e))
        {
            WriteNvmeError(e, c);
            return;
        }

        try
        {
            bool restore = false;
            IReadOnlyList<AsyncEventItem> before = [];
            try
            {
                before = Wait(c.Endpoint.GetAsyncEventsAsync(StopToken));
                var unknown = EventId.Where(id => before.All(e => e.Id != id)).ToList();
                if (unknown.Count > 0)
                {
                    WriteError(new ErrorRecord(new ArgumentException($"{c.Name} does not support event(s) {string.Join(", ", unknown.Select(i => $"0x{i:X2}"))}; it supports {string.Join(", ", before.Select(e => $"0x{e.Id:X2}"))}."),
                        "NvmeMiEventNotSupported", ErrorCategory.InvalidArgument, unknown.ToArray()));
                    return;
                }

                var enabledBefore = before.Where(e => e.Enabled).Select(e => $"0x{e.Id:X2}").ToList();
                if (enabledBefore.Count > 0)
                {
                    // Enabling makes this host the AEM destination; restoring would keep it so after it stops listening.
                    WriteWarning($"{c.Name} already had event(s) {string.Join(", ", enabledBefore)} enabled, perhaps for another requester; its AEMs now come to this host, and the enables are left as they are when the command ends.");
                }

                byte[] ids = EventId.Length > 0 ? EventId : before.Select(e => e.Id).ToArray();
                // Set before the request goes out: Ctrl+C while it is in flight may stop the wait after the endpoint
                // has enabled the events, and turning off events that were all off is harmless if it had not.
                restore = !KeepEnabled && enabledBefore.Count == 0;
                var pending = Wait(c.Endpoint.SetAsyncEventsAsync(ids.Select(id => new AsyncEventItem(id, true)).ToList(), new AsyncEventSettings((byte)Math.Round(RetryDelaySec * 10)), StopToken));
                WriteVerbose($"Enabled event(s) {string.Join(", ", ids.Select(i => $"0x{i:X2}"))} on {c.Name}; waiting{(TimeoutSec > 0 ? $" up to {TimeoutSec} s" : string.Empty)}.");
                int written = 0;
                if (pending is { Occurrences.Count: > 0 })
                {
                    // Occurrences the endpoint still held from while nobody listened: reported first, then acknowledged.
                    written = Write(c, pending);
                    listener.MarkSeen(pending.Generation);
                    Wait(c.Endpoint.AcknowledgeAsyncEventAsync(StopToken));
                }

                Receive(c, listener, written);
            }
            catch (Exception e) when (IsReportable(e))
            {
                WriteNvmeError(e, c);
            }
            finally
            {
                if (restore)
                {
                    Restore(c, before);
                }
            }
        }
        finally
        {
            // Whatever happened above, Ctrl+C included: an AF_MCTP listener holds a bound socket.
            listener.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private void Receive(NvmeMiConnection c, NvmeMiEventListener listener, int written)
    {
        var started = DateTime.UtcNow;
        var progress = new ProgressRecord(3, $"Waiting for asynchronous events from {c.Name}", "Waiting");
        while (Count == 0 || written < Count)
        {
            TimeSpan elapsed = DateTime.UtcNow - started;
            if (TimeoutSec > 0 && elapsed.TotalSeconds >= TimeoutSec)
            {
                WriteVerbose($"No more events from {c.Name} within {TimeoutSec} s.");
                break;
            }

            progress.StatusDescription = $"{written} event(s) so far, {elapsed.TotalSeconds:0} s";
            WriteProgress(progress);
            TimeSpan slice = TimeSpan.FromSeconds(1);
            if (TimeoutSec > 0 && TimeSpan.FromSeconds(TimeoutSec) - elapsed < slice)
            {
                slice = TimeSpan.FromSeconds(TimeoutSec) - elapsed;
            }

            // A slice with no AEM returns null: the progress is updated and the wait goes on.
            if (Wait(listener.TryReceiveAsync(slice > TimeSpan.Zero ? slice : TimeSpan.FromMilliseconds(1), acknowledge: true, StopToken)) is not { } aem)
            {
                continue;
            }

            written += Write(c, aem);
            if (listener.LastAcknowledgeError is { } ackError)
            {
                WriteWarning($"The AEM of generation {aem.Generation} from {c.Name} was not acknowledged ({ackError}); the endpoint may send it again.");
            }
        }

        if (listener.MalformedMessages > 0)
        {
            WriteWarning($"{listener.MalformedMessages} malformed AEM(s) from {c.Name} were dropped; the last: {listener.LastError}");
        }

        progress.RecordType = ProgressRecordType.Completed;
        WriteProgress(progress);
    }

    private int Write(NvmeMiConnection c, NvmeMiAsyncEventMessage aem)
    {
        bool simulated = c.Transport is "Simulated" || NvmfSession.Current.Simulators.Any(s => s.Network == c.Network && s.Eid == c.Eid);
        foreach (var o in aem.Occurrences)
        {
            WriteObject(new NvmeMiAsyncEvent
            {
                TimeStamp = DateTime.Now,
                EndpointName = c.Name,
                Network = c.Network,
                Eid = c.Eid,
                Generation = aem.Generation,
                EventId = o.Id,
                ControllerInfo = o.ControllerInfo,
                ScopeInfo = o.ScopeInfo,
                SpecificInfo = o.SpecificInfo,
                VendorInfo = o.VendorInfo,
                SimulatorEvent = simulated && Enum.IsDefined((SimulatorAsyncEvent)o.Id) ? ((SimulatorAsyncEvent)o.Id).ToString() : string.Empty,
            });
        }

        return aem.Occurrences.Count;
    }

    /// <summary>Turns the events off again (they were all off before this command).</summary>
    private void Restore(NvmeMiConnection c, IReadOnlyList<AsyncEventItem> before)
    {
        try
        {
            // A fresh token: after Ctrl+C the endpoint must still stop sending AEMs to a host that stopped listening.
            using var cts = new CancellationTokenSource(c.Endpoint.Options.Timeout * 2);
            c.Endpoint.SetAsyncEventsAsync(before.Select(e => e with { Enabled = false }).ToList(), default, cts.Token).GetAwaiter().GetResult();
        }
        catch (Exception e) when (IsReportable(e) || e is OperationCanceledException)
        {
            WriteWarning($"Could not restore the event enables of {c.Name}: {e.Message}");
        }
    }
}
