using System.Net;
using System.Net.Sockets;

namespace NvmePS.Engine.Fabrics.Tcp;

/// <summary>
/// One NVMe/TCP connection (a queue pair's transport) for either role, over a connected socket: the ICReq/ICResp
/// exchange, validated PDU receive into pooled or caller buffers, serialized PDU send with digests, and
/// "termination request then close" on any violation (NVMe/TCP Transport 1.0 §3). The jobs are split as Kestrel splits
/// its connection: the handshake (.Handshake.cs), receive framing (.Receive.cs), and sending (<see cref="NvmeTcpPduSender"/>);
/// this file holds the connection's state and lifetime.
/// One reader at a time may call the receive methods; any number of tasks may send.
/// Cancelling a receive or a send that already started closes the connection: the byte stream cannot be resumed mid-PDU.
/// </summary>
public sealed partial class NvmeTcpQueuePair : IAsyncDisposable, IDisposable
{
    private const int MaxHeaderBytes = 128 + NvmeTcpCommonHeader.DigestSize;
    private const int InitialReceiveBufferSize = 4096;

    private Socket _socket;
    private readonly NvmeTcpQueueOptions _options;
    private readonly NvmeTcpPduSender _sender;
    private byte[] _rx;
    private int _rxStart;
    private int _rxEnd;
    private NvmeTcpNegotiated _negotiated;
    private NvmeTcpReceiveLimits _limits;
    // IdleTrimAfter in milliseconds (0: never), and whether the receive buffer is the small one an idle spell left.
    private readonly int _idleTrimMilliseconds;
    private bool _rxTrimmed;
    private int _pendingPadding;
    private int _pendingData;
    private bool _pendingDigest;
    private readonly byte[] _lastHeader = new byte[MaxHeaderBytes];
    private int _lastHeaderLength;
    private int _closed;
    private NvmeProtocolException? _terminal;
    private NvmeException? _abortReason;
    // Environment.TickCount64 (made odd, so never 0) when the PDU being received began; 0 between PDUs.
    private long _pduStartedAt;
    private readonly Timer? _pduWatchdog;
    // The managed thread whose receives block in the kernel (BindReceiveThread); 0 when every receive goes through the
    // socket engine.
    private int _receiveThreadId;
    private SafeSocketHandle? _receiveHandle;
    private CancellationToken _ownThreadToken;
    private CancellationTokenRegistration _ownThreadRegistration;

    private NvmeTcpQueuePair(Socket socket, bool isController, NvmeTcpQueueOptions options)
    {
        _socket = socket;
        _options = options;
        IsController = isController;
        socket.NoDelay = true;
        // Connection-lifetime buffers are plain arrays: an aborted socket call may still touch them after Dispose,
        // so they must never go back to a pool another connection draws from.
        // Enough for ICReq/ICResp; the full receive buffer comes with initialization (GrowReceiveBuffer), so a peer that
        // connects and never initializes costs a few KiB, not the connection's buffers.
        _rx = GC.AllocateUninitializedArray<byte>(InitialReceiveBufferSize);
        RemoteEndPoint = socket.RemoteEndPoint;
        LocalEndPoint = socket.LocalEndPoint;
        _idleTrimMilliseconds = options.IdleTrimAfter == Timeout.InfiniteTimeSpan || options.IdleTrimAfter <= TimeSpan.Zero
            ? 0
            : (int)Math.Clamp(options.IdleTrimAfter.TotalMilliseconds, 1, int.MaxValue);
        _sender = new NvmeTcpPduSender(socket, this, options.CoalesceLimit);
        if (options.PduTimeout > TimeSpan.Zero && options.PduTimeout != Timeout.InfiniteTimeSpan)
        {
            // One coarse timer per connection rather than a timer per PDU: the hot path only stamps the start and end.
            var period = TimeSpan.FromMilliseconds(Math.Clamp(options.PduTimeout.TotalMilliseconds / 4, 10, 1000));
            _pduWatchdog = new Timer(static s => ((NvmeTcpQueuePair)s!).CheckPduProgress(), this, period, period);
        }
    }

    /// <summary>After initialization: the receive buffer grows to its configured size, keeping bytes already buffered.</summary>
    private void GrowReceiveBuffer()
    {
        int size = Math.Max(_options.ReceiveBufferSize, InitialReceiveBufferSize);
        if (_rx.Length >= size)
        {
            return;
        }

        var grown = GC.AllocateUninitializedArray<byte>(size);
        _rx.AsSpan(_rxStart, _rxEnd - _rxStart).CopyTo(grown);
        _rxEnd -= _rxStart;
        _rxStart = 0;
        _rx = grown;
    }

    /// <summary>Bytes of receive and send buffers the connection holds now: about 256 KiB while in use, a few KiB before
    /// initialization and after <see cref="NvmeTcpQueueOptions.IdleTrimAfter"/> with nothing received.</summary>
    internal int BufferBytes => _rx.Length + _sender.BufferBytes;

    /// <summary>How long the PDU being received has been arriving; zero between PDUs.</summary>
    public TimeSpan ReceivingPduFor
    {
        get
        {
            long started = Volatile.Read(ref _pduStartedAt);
            return started == 0 ? TimeSpan.Zero : TimeSpan.FromMilliseconds(Math.Max(0, Environment.TickCount64 - started));
        }
    }

    private void MarkPduStart() => Volatile.Write(ref _pduStartedAt, Environment.TickCount64 | 1);

    private void MarkPduEndIfConsumed()
    {
        if (_pendingPadding + _pendingData == 0 && !_pendingDigest)
        {
            Volatile.Write(ref _pduStartedAt, 0);
        }
    }

    private void CheckPduProgress()
    {
        long started = Volatile.Read(ref _pduStartedAt);
        if (started != 0 && Environment.TickCount64 - started > (long)_options.PduTimeout.TotalMilliseconds)
        {
            Interlocked.CompareExchange(ref _abortReason, new NvmeTimeoutException(
                $"NVMe/TCP peer {RemoteEndPoint} began a PDU and did not finish it within {_options.PduTimeout.TotalSeconds:0.###} s; connection closed."), null);
            Abort();
        }
    }

    /// <summary>Closes the connection, recording why: operations cut short by the close report <paramref name="reason"/>.</summary>
    public void Abort(NvmeException reason)
    {
        Interlocked.CompareExchange(ref _abortReason, reason, null);
        Abort();
    }

    /// <summary>True on the controller side.</summary>
    public bool IsController { get; }

    /// <summary>What the ICReq/ICResp exchange settled.</summary>
    public NvmeTcpNegotiated Negotiated => _negotiated;

    /// <summary>The peer's address.</summary>
    public EndPoint? RemoteEndPoint { get; }

    /// <summary>This side's address and port, as bound when the connection was made.</summary>
    public EndPoint? LocalEndPoint { get; }

    /// <summary>Largest in-capsule data accepted per CapsuleCmd (controller). The controller may raise it for I/O queues ((IOCCSZ − 4) × 16).</summary>
    public int MaxInCapsuleData
    {
        get => _limits.MaxInCapsuleData;
        set => _limits = _limits with { MaxInCapsuleData = value };
    }

    /// <summary>Controller: the queue whose head each CapsuleResp reports, stamped as the PDU takes its place on the wire
    /// (completions built out of order would otherwise carry SQHD values that go backwards). Null on a host.</summary>
    internal INvmeSqHeadSource? SqHead { get; set; }

    /// <summary>Largest data accepted per C2HData PDU (host).</summary>
    public int MaxC2HData
    {
        get => _limits.MaxC2HData;
        set => _limits = _limits with { MaxC2HData = value };
    }

    /// <summary>The protocol violation that ended the connection (either side's termination request), if that is how it ended.
    /// Sends and receives cut short by that close report it too, rather than a bare connection error.</summary>
    public NvmeProtocolException? TerminationCause => Volatile.Read(ref _terminal);

    /// <summary>True once closed by either side.</summary>
    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    /// <summary>The header bytes (HLEN plus header digest) of the last PDU received, for a termination request's error data.</summary>
    public ReadOnlySpan<byte> LastHeader => _lastHeader.AsSpan(0, _lastHeaderLength);

    // ---------------------------------------------------------------- send

    /// <summary>Sends a CapsuleCmd with optional in-capsule data (the caller set SGL1 to match).</summary>
    public ValueTask SendCapsuleCommandAsync(NvmeCommand command, ReadOnlyMemory<byte> inCapsuleData, CancellationToken cancellationToken)
    {
        var layout = NvmeTcpPduLayout.Compute(CapsuleCmdPdu.HeaderLength, inCapsuleData.Length, _negotiated.HeaderDigest, _negotiated.DataDigest, _negotiated.H2CPdaBytes);
        return SendPduAsync(new NvmeTcpPduHeader(NvmeTcpPduType.CapsuleCmd, 0, command, default, default), layout, inCapsuleData, cancellationToken);
    }

    /// <summary>Sends a CapsuleResp.</summary>
    public ValueTask SendCapsuleResponseAsync(NvmeCompletion completion, CancellationToken cancellationToken)
    {
        var layout = NvmeTcpPduLayout.Compute(CapsuleRespPdu.HeaderLength, 0, _negotiated.HeaderDigest, false, 4);
        return SendPduAsync(new NvmeTcpPduHeader(NvmeTcpPduType.CapsuleResp, 0, default, completion, default), layout, default, cancellationToken);
    }

    /// <summary>Sends one H2CData PDU; DATAL is the data length. The caller keeps each PDU within MAXH2CDATA.</summary>
    public ValueTask SendH2CDataAsync(ushort cccid, ushort ttag, uint datao, ReadOnlyMemory<byte> data, bool last, CancellationToken cancellationToken)
    {
        var layout = NvmeTcpPduLayout.Compute(H2CDataPdu.HeaderLength, data.Length, _negotiated.HeaderDigest, _negotiated.DataDigest, _negotiated.H2CPdaBytes);
        var f = last ? NvmeTcpPduFlags.LastPdu : 0;
        return SendPduAsync(new NvmeTcpPduHeader(NvmeTcpPduType.H2CData, f, default, default, new NvmeTcpDataHeader(cccid, ttag, datao, (uint)data.Length)), layout, data, cancellationToken);
    }

    /// <summary>Sends one C2HData PDU. <paramref name="success"/> (no CapsuleResp follows) requires <paramref name="last"/>.</summary>
    public ValueTask SendC2HDataAsync(ushort cccid, uint datao, ReadOnlyMemory<byte> data, bool last, bool success, CancellationToken cancellationToken)
    {
        if (success && !last)
        {
            throw new ArgumentException("SUCCESS requires LAST_PDU.", nameof(success));
        }

        var layout = NvmeTcpPduLayout.Compute(C2HDataPdu.HeaderLength, data.Length, _negotiated.HeaderDigest, _negotiated.DataDigest, _negotiated.C2HPdaBytes);
        var f = (last ? NvmeTcpPduFlags.LastPdu : 0) | (success ? NvmeTcpPduFlags.Success : 0);
        return SendPduAsync(new NvmeTcpPduHeader(NvmeTcpPduType.C2HData, f, default, default, new NvmeTcpDataHeader(cccid, 0, datao, (uint)data.Length)), layout, data, cancellationToken);
    }

    /// <summary>Sends an R2T asking for <paramref name="r2tl"/> bytes at offset <paramref name="r2to"/>.</summary>
    public ValueTask SendR2TAsync(ushort cccid, ushort ttag, uint r2to, uint r2tl, CancellationToken cancellationToken)
    {
        var layout = NvmeTcpPduLayout.Compute(R2TPdu.HeaderLength, 0, _negotiated.HeaderDigest, false, 4);
        return SendPduAsync(new NvmeTcpPduHeader(NvmeTcpPduType.R2T, 0, default, default, new NvmeTcpDataHeader(cccid, ttag, r2to, r2tl)), layout, default, cancellationToken);
    }

    /// <summary>Sends raw bytes as they are (tests and the IC exchange).</summary>
    public ValueTask SendRawAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken) => _sender.SendRawAsync(bytes, cancellationToken);

    private ValueTask SendPduAsync(in NvmeTcpPduHeader header, in NvmeTcpPduLayout layout, ReadOnlyMemory<byte> data, CancellationToken cancellationToken) =>
        _sender.SendPduAsync(header, layout, data, cancellationToken);

    // ---------------------------------------------------------------- lifetime

    private NvmeProtocolException SetTerminal(NvmeProtocolException e)
    {
        Interlocked.CompareExchange(ref _terminal, e, null);
        return e;
    }

    /// <summary>The error for an operation cut short by the close: the protocol violation that caused it, if any.</summary>
    internal NvmeException Closed(string message, Exception? inner)
    {
        var t = Volatile.Read(ref _terminal);
        if (t is not null)
        {
            return new NvmeProtocolException(t.Message, t.FatalErrorStatus, t.FieldOffset, inner);
        }

        return Volatile.Read(ref _abortReason) switch
        {
            NvmeTimeoutException r => new NvmeTimeoutException(r.Message, inner),
            NvmeException r => new NvmeConnectionException(r.Message, inner),
            _ => new NvmeConnectionException(message, inner),
        };
    }

    /// <summary>Closes the socket at once (pending operations fail with <see cref="NvmeConnectionException"/>).</summary>
    public void Abort()
    {
        if (Interlocked.Exchange(ref _closed, 1) == 0)
        {
            _pduWatchdog?.Dispose();
            _ownThreadRegistration.Unregister();
            try
            {
                if (Volatile.Read(ref _receiveThreadId) != 0)
                {
                    // Wakes a receive thread blocked in poll(2) (recv then returns 0) and puts nothing on the wire.
                    _socket.Shutdown(SocketShutdown.Receive);
                }

                if (NvmeTcpWritableWaiter.Supported && Volatile.Read(ref _receiveHandle) is { } handle)
                {
                    // Ends a send waiting for room, before the descriptor's number can go to another socket.
                    NvmeTcpWritableWaiter.Cancel((int)handle.DangerousGetHandle());
                }
            }
            catch (SocketException)
            {
                // Not connected any more: nothing to wake.
            }
            catch (ObjectDisposedException)
            {
            }

            try
            {
                _socket.Close();
            }
            catch (SocketException)
            {
                // Already gone.
            }
        }
    }

    public void Dispose()
    {
        Abort();
        // Buffers are not returned to the pool: a task still inside a socket call may touch them after Abort.
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}
