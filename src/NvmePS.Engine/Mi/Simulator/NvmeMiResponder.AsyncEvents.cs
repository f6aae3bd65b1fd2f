using System.Buffers.Binary;
using NvmePS.Engine.Mctp;

namespace NvmePS.Engine.Mi.Simulator;

/// <summary>
/// The simulated endpoint's Asynchronous Event Messages (NVMe-MI 2.0 §4.1.3, §5.1.4). A Configuration Set
/// (Asynchronous Event) with enables makes its sender the AEM destination; the endpoint then watches its state every
/// <see cref="AsyncEventPollInterval"/>, turns each change of an enabled event into an occurrence, and sends all
/// unacknowledged occurrences in an AEM with a new 5-bit generation number. An unacknowledged AEM is sent again
/// (same generation) every AERD × 100 ms, at least every second, up to <see cref="AsyncEventRetries"/> times. A
/// Configuration Set (Asynchronous Event) with an empty enable list from the destination acknowledges it.
/// The event identifiers are the simulator's own (see <see cref="SimulatorAsyncEvent"/>).
/// </summary>
public sealed partial class NvmeMiResponder
{
    /// <summary>How often the simulated endpoint looks for changes of the enabled events.</summary>
    public static readonly TimeSpan AsyncEventPollInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>Retransmissions of an unacknowledged AEM before the endpoint gives up on it.</summary>
    public const int AsyncEventRetries = 3;

    private readonly object _aeGate = new();
    private readonly List<AsyncEventOccurrence> _aePending = [];
    private MctpEndpointAddress? _aeDestination;
    private AsyncEventSettings _aeSettings;
    private ITimer? _aeTimer;
    private (byte CriticalWarning, bool OverTemperature, ushort Status, ushort TemperatureKelvin) _aeLast;
    private AsyncEventOccurrence[] _aeLastSent = [];
    private byte _aeGeneration;
    private int _aeRetriesLeft;
    private long _aeSentAt;
    private long _aeMessagesSent;
    private long _aeAcknowledged;
    private long _aePolls;

    /// <summary>How the endpoint's transport sends a message on the endpoint's own initiative; without one, AEMs are
    /// queued but never leave.</summary>
    public MctpUnsolicitedSender? UnsolicitedSender { get; set; }

    /// <summary>AEMs sent, retransmissions included.</summary>
    public long AsyncEventMessagesSent => Interlocked.Read(ref _aeMessagesSent);

    /// <summary>The event state in one line, for diagnostics.</summary>
    public string AsyncEventState
    {
        get
        {
            lock (_aeGate)
            {
                return $"destination {(_aeDestination?.ToString() ?? "none")}, baseline {_aeLast}, {_aePending.Count} pending, generation {_aeGeneration}, " +
                       $"enabled {string.Join(",", Subsystem.AsyncEvents.Where(e => e.Enabled).Select(e => e.Id))}, timer {(_aeTimer is null ? "off" : "on")}";
            }
        }
    }

    /// <summary>Times the endpoint looked for event changes.</summary>
    public long AsyncEventPolls => Interlocked.Read(ref _aePolls);

    /// <summary>Acknowledgements received from the destination.</summary>
    public long AsyncEventsAcknowledged => Interlocked.Read(ref _aeAcknowledged);

    /// <summary>Where AEMs go (the requester that enabled them), or null.</summary>
    public MctpEndpointAddress? AsyncEventDestination
    {
        get
        {
            lock (_aeGate)
            {
                return _aeDestination;
            }
        }
    }

    /// <summary>Called under Subsystem.Gate from Configuration Set (Asynchronous Event). Returns the response data:
    /// the occurrence list still unacknowledged (none after an acknowledgement). Enabling again, by the same requester
    /// while events are on, keeps what is pending and the change baseline.</summary>
    private byte[] ConfigureAsyncEvents(AsyncEventSettings settings, bool acknowledgement, MctpEndpointAddress source)
    {
        var snapshot = AsyncEventSnapshot();
        lock (_aeGate)
        {
            if (acknowledgement)
            {
                if (_aeDestination == source && _aeLastSent.Length > 0)
                {
                    // Only what the acknowledged AEM carried: an occurrence raised (or replaced) since goes out in the
                    // next generation.
                    _aePending.RemoveAll(o => _aeLastSent.Any(sent => ReferenceEquals(sent, o)));
                    _aeLastSent = [];
                    Interlocked.Increment(ref _aeAcknowledged);
                }
            }
            else
            {
                _aeSettings = settings;
                bool any = Subsystem.AsyncEvents.Any(e => e.Enabled);
                bool continuing = any && _aeDestination == source && _aeTimer is not null;
                _aeDestination = any ? source : null;
                if (!continuing)
                {
                    // Newly enabled (or by a new requester): changes count from now.
                    _aePending.Clear();
                    _aeLastSent = [];
                    _aeLast = snapshot;
                }

                if (any && _aeTimer is null)
                {
                    // One-shot, re-armed after each poll: polls never overlap, however slow one is.
                    var self = new System.Runtime.CompilerServices.StrongBox<ITimer?>();
                    self.Value = _time.CreateTimer(_ => PollAndRearm(self), null, AsyncEventPollInterval, Timeout.InfiniteTimeSpan);
                    _aeTimer = self.Value;
                }
                else if (!any)
                {
                    _aeTimer?.Dispose();
                    _aeTimer = null;
                    _aePending.Clear();
                }
            }

            // The response lists what is still unacknowledged: occurrences the requester may have missed while it was
            // not listening arrive with the enable.
            byte[] list = new byte[AsyncEventOccurrenceList.EncodedLength(_aePending)];
            AsyncEventOccurrenceList.Write(list, _aeGeneration, _aePending);
            return list;
        }
    }

    /// <summary>Called under Subsystem.Gate.</summary>
    private (byte CriticalWarning, bool OverTemperature, ushort Status, ushort TemperatureKelvin) AsyncEventSnapshot()
    {
        var smart = Subsystem.ComputeSmart();
        return (smart.CriticalWarning, smart.TemperatureKelvin >= Subsystem.TemperatureThresholdKelvin,
            (ushort)(Subsystem.CompositeStatus() & (CompositeControllerStatus.Ready | CompositeControllerStatus.ControllerFatalStatus)), smart.TemperatureKelvin);
    }

    private void PollAndRearm(System.Runtime.CompilerServices.StrongBox<ITimer?> self)
    {
        lock (_aeGate)
        {
            if (!ReferenceEquals(_aeTimer, self.Value))
            {
                return; // a timer disabled (or replaced) while this callback was queued
            }
        }

        try
        {
            PollAsyncEvents();
        }
        finally
        {
            lock (_aeGate)
            {
                // Only this poll's own timer is re-armed, so polls never overlap.
                if (ReferenceEquals(_aeTimer, self.Value))
                {
                    _aeTimer?.Change(AsyncEventPollInterval, Timeout.InfiniteTimeSpan);
                }
            }
        }
    }

    private void PollAsyncEvents()
    {
        Interlocked.Increment(ref _aePolls);
        (byte CriticalWarning, bool OverTemperature, ushort Status, ushort TemperatureKelvin) now;
        HashSet<byte> enabled;
        lock (Subsystem.Gate)
        {
            now = AsyncEventSnapshot();
            enabled = Subsystem.AsyncEvents.Where(e => e.Enabled).Select(e => e.Id).ToHashSet();
        }

        byte[]? aem = null;
        MctpEndpointAddress destination;
        lock (_aeGate)
        {
            if (_aeDestination is not { } d)
            {
                return;
            }

            destination = d;
            bool added = false;
            if (now.CriticalWarning != _aeLast.CriticalWarning && enabled.Contains((byte)SimulatorAsyncEvent.CriticalWarningChanged))
            {
                added |= Occur(new AsyncEventOccurrence((byte)SimulatorAsyncEvent.CriticalWarningChanged, 0, 0, [now.CriticalWarning], []));
            }

            if (now.OverTemperature != _aeLast.OverTemperature && enabled.Contains((byte)SimulatorAsyncEvent.TemperatureThresholdCrossed))
            {
                byte[] info = new byte[3];
                BinaryPrimitives.WriteUInt16LittleEndian(info, now.TemperatureKelvin);
                info[2] = (byte)(now.OverTemperature ? 1 : 0);
                added |= Occur(new AsyncEventOccurrence((byte)SimulatorAsyncEvent.TemperatureThresholdCrossed, 0, 0, info, []));
            }

            if (now.Status != _aeLast.Status && enabled.Contains((byte)SimulatorAsyncEvent.ControllerStatusChanged))
            {
                byte[] info = new byte[2];
                BinaryPrimitives.WriteUInt16LittleEndian(info, now.Status);
                added |= Occur(new AsyncEventOccurrence((byte)SimulatorAsyncEvent.ControllerStatusChanged, 0, 0, info, []));
            }

            _aeLast = now;
            long nowTicks = _time.GetTimestamp();
            TimeSpan retryAfter = TimeSpan.FromMilliseconds(Math.Max(1000, _aeSettings.RetryDelay100Ms * 100));
            if (added)
            {
                _aeGeneration = (byte)((_aeGeneration + 1) % AsyncEventOccurrenceList.GenerationModulus);
                _aeRetriesLeft = AsyncEventRetries;
            }
            else if (_aePending.Count == 0 || _aeRetriesLeft == 0 || _time.GetElapsedTime(_aeSentAt, nowTicks) < retryAfter)
            {
                return;
            }
            else
            {
                _aeRetriesLeft--;
            }

            aem = new byte[AsyncEventMessageCodec.EncodedLength(_aePending)];
            AsyncEventMessageCodec.Write(aem, _aeGeneration, _aePending);
            _aeLastSent = [.. _aePending];
            _aeSentAt = nowTicks;
        }

        if (UnsolicitedSender is { } send)
        {
            Interlocked.Increment(ref _aeMessagesSent);
            _ = SendAemAsync(send, destination, aem);
        }
    }

    private static async Task SendAemAsync(MctpUnsolicitedSender send, MctpEndpointAddress destination, byte[] aem)
    {
        try
        {
            await send(destination, aem, CancellationToken.None).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A requester that went away must not stop the device; it retries, then gives up.
        catch (Exception)
        {
        }
#pragma warning restore CA1031
    }

    /// <summary>Adds or replaces (same AEOI, AEOCIDI, AESSI) a pending occurrence.</summary>
    private bool Occur(AsyncEventOccurrence occurrence)
    {
        _aePending.RemoveAll(o => o.Identity == occurrence.Identity);
        _aePending.Add(occurrence);
        return true;
    }

    /// <summary>Stops watching for events (the host is stopping).</summary>
    public void StopAsyncEvents()
    {
        lock (_aeGate)
        {
            _aeTimer?.Dispose();
            _aeTimer = null;
            _aeDestination = null;
        }
    }
}

/// <summary>The simulated endpoint's asynchronous event identifiers and what each occurrence's AEOSI holds.</summary>
public enum SimulatorAsyncEvent : byte
{
    /// <summary>The SMART Critical Warning byte changed; AEOSI is the new byte.</summary>
    CriticalWarningChanged = 0x01,

    /// <summary>The composite temperature crossed the over-temperature threshold; AEOSI is the temperature in kelvin
    /// (u16) and 1 when now above, 0 when back below.</summary>
    TemperatureThresholdCrossed = 0x02,

    /// <summary>The composite controller status (Ready, Controller Fatal) changed; AEOSI is the new status (u16).</summary>
    ControllerStatusChanged = 0x03,
}
