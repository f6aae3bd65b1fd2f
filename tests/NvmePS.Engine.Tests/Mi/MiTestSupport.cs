using System.Buffers.Binary;
using NvmePS.Engine.Mctp;
using NvmePS.Engine.Mi;

namespace NvmePS.Engine.Tests.Mi;

/// <summary>A manually advanced clock: timers fire only when <see cref="Advance"/> passes their due time.</summary>
internal sealed class ManualTimeProvider : TimeProvider
{
    private readonly object _gate = new();
    private readonly List<ManualTimer> _timers = [];
    private long _ticks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp()
    {
        lock (_gate)
        {
            return _ticks;
        }
    }

    public override DateTimeOffset GetUtcNow() => new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddTicks(GetTimestamp());

    public TimeSpan Now => TimeSpan.FromTicks(GetTimestamp());

    public void Advance(TimeSpan by)
    {
        List<ManualTimer> due;
        lock (_gate)
        {
            _ticks += by.Ticks;
            due = _timers.Where(t => t.DueTicks <= _ticks).ToList();
            foreach (var t in due)
            {
                _timers.Remove(t);
            }
        }

        foreach (var t in due)
        {
            t.Fire();
        }
    }

    public int PendingTimers
    {
        get
        {
            lock (_gate)
            {
                return _timers.Count;
            }
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    private sealed class ManualTimer(ManualTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        public long DueTicks { get; private set; }

        public void Fire() => callback(state);

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (owner._gate)
            {
                owner._timers.Remove(this);
                if (dueTime == Timeout.InfiniteTimeSpan)
                {
                    return true;
                }

                DueTicks = owner._ticks + dueTime.Ticks;
                owner._timers.Add(this);
            }

            if (dueTime == TimeSpan.Zero)
            {
                owner.Advance(TimeSpan.Zero);
            }

            return true;
        }

        public void Dispose()
        {
            lock (owner._gate)
            {
                owner._timers.Remove(this);
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>
/// A transport whose peer follows a script: each receive either returns the next scripted message (after moving the
/// fake clock by the step's delay, which must fit the requested timeout) or times out. Records every send and every
/// requested receive timeout, so tests assert on the waits the endpoint chose.
/// </summary>
internal sealed class ScriptedTransport(ManualTimeProvider clock) : IMctpTransport
{
    public ManualTimeProvider Clock { get; } = clock;

    public Queue<(TimeSpan Delay, byte[]? Message)> Script { get; } = new();

    public List<byte[]> Sent { get; } = [];

    public List<TimeSpan> ReceiveTimeouts { get; } = [];

    public bool HoldsTag { get; set; } = true;

    public string Name => "scripted";

    public ValueTask<IMctpExchange> OpenExchangeAsync(MctpEndpointAddress peer, byte messageType, CancellationToken cancellationToken) =>
        ValueTask.FromResult<IMctpExchange>(new Exchange(this));

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private sealed class Exchange(ScriptedTransport owner) : IMctpExchange
    {
        public bool HoldsTag => owner.HoldsTag;

        public ValueTask SendAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
        {
            owner.Sent.Add(message.ToArray());
            return ValueTask.CompletedTask;
        }

        public ValueTask<int> ReceiveAsync(Memory<byte> buffer, TimeSpan timeout, CancellationToken cancellationToken)
        {
            owner.ReceiveTimeouts.Add(timeout);
            if (owner.Script.Count == 0)
            {
                owner.Clock.Advance(timeout);
                throw new NvmeTimeoutException("scripted peer is silent");
            }

            var (delay, message) = owner.Script.Dequeue();
            if (message is null || delay > timeout)
            {
                owner.Clock.Advance(timeout);
                throw new NvmeTimeoutException("scripted peer answered too late");
            }

            owner.Clock.Advance(delay);
            message.CopyTo(buffer);
            return ValueTask.FromResult(message.Length);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

/// <summary>Builders for response messages as an endpoint would send them.</summary>
internal static class Responses
{
    public static byte[] Mi(uint nmresp, byte[]? data = null, byte status = 0, byte csi = 0, NvmeMiMessageType type = NvmeMiMessageType.MiCommand)
    {
        data ??= [];
        byte[] r = new byte[8 + data.Length + 4];
        new NvmeMiMessageHeader(type, true, csi).WriteTo(r);
        r[4] = status;
        r[5] = (byte)nmresp;
        r[6] = (byte)(nmresp >> 8);
        r[7] = (byte)(nmresp >> 16);
        data.CopyTo(r, 8);
        NvmeMiMic.Append(r, 8 + data.Length);
        return r;
    }

    public static byte[] Mpr(ushort mprt, NvmeMiMessageType type = NvmeMiMessageType.MiCommand)
    {
        byte[] r = new byte[12];
        new NvmeMiMessageHeader(type, true).WriteTo(r);
        r[4] = 0x01;
        BinaryPrimitives.WriteUInt16LittleEndian(r.AsSpan(6), mprt);
        NvmeMiMic.Append(r, 8);
        return r;
    }

    public static byte[] Admin(uint cdw0, uint cdw1, uint cdw3, byte[]? data = null)
    {
        data ??= [];
        byte[] r = new byte[20 + data.Length + 4];
        new NvmeMiMessageHeader(NvmeMiMessageType.AdminCommand, true).WriteTo(r);
        BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(8), cdw0);
        BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(12), cdw1);
        BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(16), cdw3);
        data.CopyTo(r, 20);
        NvmeMiMic.Append(r, 20 + data.Length);
        return r;
    }

    /// <summary>Bit-at-a-time CRC-32C (reflected 0x82F63B78), independent of the engine's implementation.</summary>
    public static uint ReferenceCrc32C(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int i = 0; i < 8; i++)
            {
                crc = (crc >> 1) ^ ((crc & 1) != 0 ? 0x82F63B78u : 0);
            }
        }

        return ~crc;
    }

    public static string Hex(ReadOnlySpan<byte> b) => Convert.ToHexString(b);
}
