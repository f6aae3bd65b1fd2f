using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace NvmePS.Engine.Fabrics.Tcp;

/// <summary>A received PDU header, decoded. Only the fields of its <see cref="Type"/> are meaningful.</summary>
public readonly record struct NvmeTcpReceivedHeader(
    NvmeTcpPduType Type,
    NvmeTcpPduFlags Flags,
    NvmeTcpPduLayout Layout,
    NvmeCommand Command,
    NvmeCompletion Completion,
    ushort Cccid,
    ushort Ttag,
    uint Offset,
    uint Length)
{
    /// <summary>Bytes of data that follow (excluding padding and digest).</summary>
    public int DataLength => Layout.DataLength;

    public bool IsLast => (Flags & NvmeTcpPduFlags.LastPdu) != 0;

    public bool IsSuccess => (Flags & NvmeTcpPduFlags.Success) != 0;

    public H2CDataPdu H2CData => new(Cccid, Ttag, Offset, Length);

    public C2HDataPdu C2HData => new(Cccid, Offset, Length);

    public R2TPdu R2T => new(Cccid, Ttag, Offset, Length);
}

/// <summary>A received PDU with its data in a pooled buffer; dispose to return the buffer.</summary>
public sealed class NvmeTcpReceivedPdu : IDisposable
{
    private byte[]? _buffer;

    internal NvmeTcpReceivedPdu(NvmeTcpReceivedHeader header, byte[]? buffer, bool dataDigestOk)
    {
        Header = header;
        _buffer = buffer;
        DataDigestOk = dataDigestOk;
    }

    public NvmeTcpReceivedHeader Header { get; }

    /// <summary>False when the data digest did not match (the data is suspect; see <see cref="NvmeTcpQueuePair.ReceiveDataAsync"/>).</summary>
    public bool DataDigestOk { get; }

    /// <summary>The PDU data (empty when none).</summary>
    public ReadOnlyMemory<byte> Data => _buffer is null ? ReadOnlyMemory<byte>.Empty : _buffer.AsMemory(0, Header.DataLength);

    public void Dispose()
    {
        var b = Interlocked.Exchange(ref _buffer, null);
        if (b is not null)
        {
            ArrayPool<byte>.Shared.Return(b);
        }
    }
}

/// <summary>
/// One NVMe/TCP connection (a queue pair's transport) for either role, over a connected socket: the ICReq/ICResp
/// exchange, validated PDU receive into pooled or caller buffers, serialized PDU send with digests, and
/// "termination request then close" on any violation (NVMe/TCP Transport 1.0 §3).
/// One reader at a time may call the receive methods; any number of tasks may send.
/// Cancelling a receive or a send that already started closes the connection: the byte stream cannot be resumed mid-PDU.
/// </summary>
public sealed class NvmeTcpQueuePair : IAsyncDisposable, IDisposable
{
    private const int MaxHeaderBytes = 128 + NvmeTcpCommonHeader.DigestSize;

    private readonly Socket _socket;
    private readonly NvmeTcpQueueOptions _options;
    // The socket's write side has one owner at a time (whoever holds _sendLock). Small PDUs submitted while it is owned are
    // appended whole to _pending and written by the owner before it lets go, so concurrent completions and capsules leave
    // in few large writes instead of one system call each. _pendingLock guards _pending and the release of _sendLock.
    private const int AppendLimit = 16 * 1024 + 256;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly object _pendingLock = new();
    private byte[] _pending;
    private byte[] _flushing;
    private int _pendingLength;
    private TaskCompletionSource? _pendingWritten;
    private readonly byte[] _rx;
    private readonly byte[] _tx;
    private readonly byte[] _digest = new byte[NvmeTcpCommonHeader.DigestSize];
    private int _rxStart;
    private int _rxEnd;
    private NvmeTcpNegotiated _negotiated;
    private NvmeTcpReceiveLimits _limits;
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

    private NvmeTcpQueuePair(Socket socket, bool isController, NvmeTcpQueueOptions options)
    {
        _socket = socket;
        _options = options;
        IsController = isController;
        socket.NoDelay = true;
        // Connection-lifetime buffers are plain arrays: an aborted socket call may still touch them after Dispose,
        // so they must never go back to a pool another connection draws from.
        _rx = GC.AllocateUninitializedArray<byte>(Math.Max(options.ReceiveBufferSize, 4096));
        _tx = GC.AllocateUninitializedArray<byte>(Math.Max(options.CoalesceLimit, 4096) + 256);
        _pending = GC.AllocateUninitializedArray<byte>(Math.Max(options.CoalesceLimit, AppendLimit));
        _flushing = GC.AllocateUninitializedArray<byte>(_pending.Length);
        RemoteEndPoint = socket.RemoteEndPoint;
        if (options.PduTimeout > TimeSpan.Zero && options.PduTimeout != Timeout.InfiniteTimeSpan)
        {
            // One coarse timer per connection rather than a timer per PDU: the hot path only stamps the start and end.
            var period = TimeSpan.FromMilliseconds(Math.Clamp(options.PduTimeout.TotalMilliseconds / 4, 10, 1000));
            _pduWatchdog = new Timer(static s => ((NvmeTcpQueuePair)s!).CheckPduProgress(), this, period, period);
        }
    }

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

    /// <summary>Largest in-capsule data accepted per CapsuleCmd (controller). The controller may raise it for I/O queues ((IOCCSZ − 4) × 16).</summary>
    public int MaxInCapsuleData
    {
        get => _limits.MaxInCapsuleData;
        set => _limits = _limits with { MaxInCapsuleData = value };
    }

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

    /// <summary>Host side: sends ICReq, reads and checks ICResp (PFV 0, no digest the host did not ask for, CPDA ≤ 31,
    /// MAXH2CDATA ≥ 4096 and a multiple of 4). A violation sends H2CTermReq and throws <see cref="NvmeProtocolException"/>;
    /// a closed or reset connection throws <see cref="NvmeConnectionException"/>.</summary>
    public static async Task<NvmeTcpQueuePair> ConnectAsync(Socket socket, NvmeTcpQueueOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Pda > IcReqPdu.MaxPda)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "HPDA must be 0..31.");
        }

        var qp = new NvmeTcpQueuePair(socket, isController: false, options);
        try
        {
            qp._limits = new NvmeTcpReceiveLimits(false, false, false, false, 4, 0, 0, options.MaxC2HData);
            var icreq = new IcReqPdu(0, options.Pda, options.HeaderDigest, options.DataDigest, options.MaxR2T);
            byte[] b = new byte[IcReqPdu.Size];
            icreq.Write(b);
            await qp.SendRawAsync(b, cancellationToken).ConfigureAwait(false);

            var header = await qp.ReceiveHeaderAsync(cancellationToken).ConfigureAwait(false);
            if (header.Type != NvmeTcpPduType.ICResp)
            {
                throw await qp.TerminateAsync(NvmeTcpFatalErrorStatus.PduSequenceError, 0, $"expected ICResp, received {header.Type}").ConfigureAwait(false);
            }

            IcRespPdu.TryRead(qp.LastHeader, out var icresp);
            if ((icresp.HeaderDigest && !options.HeaderDigest) || (icresp.DataDigest && !options.DataDigest))
            {
                throw await qp.TerminateAsync(NvmeTcpFatalErrorStatus.UnsupportedParameter, IcRespPdu.DgstOffset, "the controller enabled a digest the host did not ask for").ConfigureAwait(false);
            }

            qp._negotiated = new NvmeTcpNegotiated(icresp.HeaderDigest, icresp.DataDigest, options.Pda, icresp.Cpda, options.MaxR2T, icresp.Maxh2cdata);
            qp._limits = new NvmeTcpReceiveLimits(false, true, icresp.HeaderDigest, icresp.DataDigest,
                qp._negotiated.C2HPdaBytes, 0, 0, options.MaxC2HData);
            return qp;
        }
        catch
        {
            qp.Dispose();
            throw;
        }
    }

    /// <summary>Controller side: reads and checks ICReq, answers ICResp (digests enabled when asked for and allowed).
    /// A bad ICReq gets C2HTermReq and <see cref="NvmeProtocolException"/>.</summary>
    public static async Task<NvmeTcpQueuePair> AcceptAsync(Socket socket, NvmeTcpQueueOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(options);
        if (options.MaxH2CData < IcRespPdu.MinMaxh2cdata || options.MaxH2CData % 4 != 0 || options.Pda > IcReqPdu.MaxPda)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "MAXH2CDATA must be ≥ 4096 and a multiple of 4; CPDA 0..31.");
        }

        var qp = new NvmeTcpQueuePair(socket, isController: true, options);
        try
        {
            qp._limits = new NvmeTcpReceiveLimits(true, false, false, false, 4, 0, 0, 0);
            await qp.ReceiveHeaderAsync(cancellationToken).ConfigureAwait(false);
            IcReqPdu.TryRead(qp.LastHeader, out var icreq);
            bool hd = icreq.HeaderDigest && options.HeaderDigest;
            bool dd = icreq.DataDigest && options.DataDigest;
            var icresp = new IcRespPdu(0, options.Pda, hd, dd, options.MaxH2CData);
            byte[] b = new byte[IcRespPdu.Size];
            icresp.Write(b);
            qp._negotiated = new NvmeTcpNegotiated(hd, dd, icreq.Hpda, options.Pda, icreq.Maxr2t, options.MaxH2CData);
            qp._limits = new NvmeTcpReceiveLimits(true, true, hd, dd, qp._negotiated.H2CPdaBytes,
                options.MaxInCapsuleData, (int)Math.Min(options.MaxH2CData, int.MaxValue), 0);
            await qp.SendRawAsync(b, cancellationToken).ConfigureAwait(false);
            return qp;
        }
        catch
        {
            qp.Dispose();
            throw;
        }
    }

    // ---------------------------------------------------------------- receive

    /// <summary>Receives and validates the next PDU header. Unconsumed data of the previous PDU is skipped first.
    /// A termination request from the peer closes the connection and throws <see cref="NvmeProtocolException"/>
    /// carrying the peer's FES and FEI.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<NvmeTcpReceivedHeader> ReceiveHeaderAsync(CancellationToken cancellationToken)
    {
        if (_pendingPadding + _pendingData > 0 || _pendingDigest)
        {
            await SkipDataAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            if (_rxEnd == _rxStart)
            {
                // Idle between PDUs: not bounded by the PDU deadline.
                await FillAsync(1, cancellationToken).ConfigureAwait(false);
            }

            MarkPduStart();
            await FillAsync(NvmeTcpCommonHeader.Size, cancellationToken).ConfigureAwait(false);
            var check = NvmeTcpPduValidator.Validate(_rx.AsSpan(_rxStart, NvmeTcpCommonHeader.Size), _limits);
            if (check.Outcome == NvmeTcpValidationOutcome.NeedMoreHeader)
            {
                await FillAsync(check.HeaderBytesNeeded, cancellationToken).ConfigureAwait(false);
                check = NvmeTcpPduValidator.Validate(_rx.AsSpan(_rxStart, check.HeaderBytesNeeded), _limits);
            }

            switch (check.Outcome)
            {
                case NvmeTcpValidationOutcome.Fatal:
                    {
                        var ex = SetTerminal(check.ToException(IsController ? "NVMe/TCP host sent a bad PDU" : "NVMe/TCP controller sent a bad PDU"));
                        await ReportAsync(check).ConfigureAwait(false);
                        throw ex;
                    }

                case NvmeTcpValidationOutcome.CloseWithoutReply:
                    {
                        var ex = SetTerminal(new NvmeProtocolException("NVMe/TCP peer sent a malformed termination request; connection closed."));
                        Abort();
                        throw ex;
                    }
            }

            int hl = check.HeaderBytesNeeded;
            _rx.AsSpan(_rxStart, hl).CopyTo(_lastHeader);
            _lastHeaderLength = hl;
            _rxStart += hl;
            var layout = check.Layout;
            _pendingPadding = layout.Padding;
            _pendingData = layout.DataLength;
            _pendingDigest = layout.DataDigest && layout.DataLength > 0;
            MarkPduEndIfConsumed();
            var h = _lastHeader.AsSpan(0, hl);
            var type = check.Header.PduType;
            switch (type)
            {
                case NvmeTcpPduType.H2CTermReq:
                case NvmeTcpPduType.C2HTermReq:
                    {
                        TermReqPdu.TryRead(h, out var term);
                        var ex = SetTerminal(new NvmeProtocolException(
                            $"NVMe/TCP {(IsController ? "host" : "controller")} terminated the connection: FES {(int)term.Fes:X2}h ({term.Fes}), FEI {term.Fei}",
                            (byte)term.Fes, term.Fei));
                        await SkipDataAsync(cancellationToken).ConfigureAwait(false);
                        Abort();
                        throw ex;
                    }

                case NvmeTcpPduType.CapsuleCmd:
                    CapsuleCmdPdu.TryRead(h, out var sqe);
                    return new NvmeTcpReceivedHeader(type, check.Header.Flags, layout, sqe, default, 0, 0, 0, 0);
                case NvmeTcpPduType.CapsuleResp:
                    CapsuleRespPdu.TryRead(h, out var cqe);
                    return new NvmeTcpReceivedHeader(type, check.Header.Flags, layout, default, cqe, cqe.Cid, 0, 0, 0);
                case NvmeTcpPduType.H2CData:
                case NvmeTcpPduType.R2T:
                    H2CDataPdu.TryRead(h, out var d);
                    return new NvmeTcpReceivedHeader(type, check.Header.Flags, layout, default, default, d.Cccid, d.Ttag, d.Datao, d.Datal);
                case NvmeTcpPduType.C2HData:
                    C2HDataPdu.TryRead(h, out var c);
                    return new NvmeTcpReceivedHeader(type, check.Header.Flags, layout, default, default, c.Cccid, 0, c.Datao, c.Datal);
                default:
                    return new NvmeTcpReceivedHeader(type, check.Header.Flags, layout, default, default, 0, 0, 0, 0);
            }
        }
        catch (OperationCanceledException)
        {
            Abort();
            throw;
        }
    }

    /// <summary>Reads the current PDU's data into <paramref name="destination"/> (exactly <see cref="NvmeTcpReceivedHeader.DataLength"/>
    /// bytes) and checks the data digest. Returns false on a data digest mismatch: the data is suspect, the stream is intact,
    /// and the role decides (NVMe/TCP: the controller completes the command with Transient Transport Error; the host fails it).</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<bool> ReceiveDataAsync(Memory<byte> destination, CancellationToken cancellationToken)
    {
        if (destination.Length != _pendingData)
        {
            throw new ArgumentException($"The PDU carries {_pendingData} data bytes; the destination has {destination.Length}.", nameof(destination));
        }

        try
        {
            await DiscardAsync(_pendingPadding, cancellationToken).ConfigureAwait(false);
            _pendingPadding = 0;
            await ReadExactAsync(destination, cancellationToken).ConfigureAwait(false);
            _pendingData = 0;
            bool digestOk = await CheckDataDigestAsync(destination, cancellationToken).ConfigureAwait(false);
            MarkPduEndIfConsumed();
            return digestOk;
        }
        catch (OperationCanceledException)
        {
            Abort();
            throw;
        }
    }

    /// <summary>Discards the current PDU's padding, data and digest.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask SkipDataAsync(CancellationToken cancellationToken)
    {
        try
        {
            await DiscardAsync(_pendingPadding + _pendingData + (_pendingDigest ? NvmeTcpCommonHeader.DigestSize : 0), cancellationToken).ConfigureAwait(false);
            _pendingPadding = _pendingData = 0;
            _pendingDigest = false;
            MarkPduEndIfConsumed();
        }
        catch (OperationCanceledException)
        {
            Abort();
            throw;
        }
    }

    /// <summary>Receives the next PDU with its data in a pooled buffer (return it by disposing the result). The data length
    /// was checked against the negotiated limits before the buffer was rented.</summary>
    public async ValueTask<NvmeTcpReceivedPdu> ReceivePduAsync(CancellationToken cancellationToken)
    {
        var header = await ReceiveHeaderAsync(cancellationToken).ConfigureAwait(false);
        if (header.DataLength == 0)
        {
            await SkipDataAsync(cancellationToken).ConfigureAwait(false);
            return new NvmeTcpReceivedPdu(header, null, true);
        }

        byte[] data = ArrayPool<byte>.Shared.Rent(header.DataLength);
        try
        {
            bool ok = await ReceiveDataAsync(data.AsMemory(0, header.DataLength), cancellationToken).ConfigureAwait(false);
            return new NvmeTcpReceivedPdu(header, data, ok);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(data);
            throw;
        }
    }

    /// <summary>Sends a termination request for the last received PDU (its header as error data), closes the connection and
    /// returns the exception for the caller to throw. Use it for violations only the role can see (unknown CCCID or TTAG,
    /// DATAO out of order, data beyond the command, data without R2T...).</summary>
    public async Task<NvmeProtocolException> TerminateAsync(NvmeTcpFatalErrorStatus fes, int fieldOffset, string reason)
    {
        var check = new NvmeTcpPduCheck(NvmeTcpValidationOutcome.Fatal, default, default, 0, fes, fieldOffset, reason);
        var ex = SetTerminal(check.ToException(IsController ? "NVMe/TCP host violated the protocol" : "NVMe/TCP controller violated the protocol"));
        byte[] pdu = new byte[TermReqPdu.MaxPduSize];
        // The error data is the PDU HEADER (HLEN bytes: CH + PSH); HDGST is a separate section (NVMe/TCP 1.0 §3.6.1).
        int hlen = _lastHeaderLength > NvmeTcpCommonHeader.HlenOffset ? Math.Min(_lastHeader[NvmeTcpCommonHeader.HlenOffset], _lastHeaderLength) : _lastHeaderLength;
        int n = TermReqPdu.Write(pdu, IsController, fes, check.Fei, _lastHeader.AsSpan(0, Math.Min(hlen, TermReqPdu.MaxErrorData)));
        await SendTermAndCloseAsync(pdu.AsMemory(0, n)).ConfigureAwait(false);
        return ex;
    }

    private async Task ReportAsync(NvmeTcpPduCheck check)
    {
        // The error data is the offending header; make sure its bytes arrived (bounded wait: a peer that sent less is not waited for).
        int want = check.ErrorDataLength;
        if (_rxEnd - _rxStart < want)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
            try
            {
                await FillAsync(want, cts.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or NvmeConnectionException)
            {
                // Send what is there.
            }
        }

        byte[] pdu = new byte[TermReqPdu.MaxPduSize];
        int have = Math.Min(want, _rxEnd - _rxStart);
        int n = TermReqPdu.Write(pdu, IsController, check.Fes, check.Fei, _rx.AsSpan(_rxStart, have));
        await SendTermAndCloseAsync(pdu.AsMemory(0, n)).ConfigureAwait(false);
    }

    private async Task SendTermAndCloseAsync(ReadOnlyMemory<byte> pdu)
    {
        if (!IsClosed)
        {
            try
            {
                // Do not cut into a PDU another task is sending; give up after a short wait.
                if (await _sendLock.WaitAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false))
                {
                    try
                    {
                        // PDUs queued before this point were written by the previous owner; nothing may follow the termination.
                        await SendAllAsync(pdu, CancellationToken.None).ConfigureAwait(false);
                        _socket.Shutdown(SocketShutdown.Send);
                    }
                    finally
                    {
                        TaskCompletionSource? dropped;
                        lock (_pendingLock)
                        {
                            dropped = _pendingWritten;
                            _pendingWritten = null;
                            _pendingLength = 0;
                            _sendLock.Release();
                        }

                        dropped?.TrySetException(Closed("NVMe/TCP connection terminated before the PDU was sent.", null));
                    }
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or NvmeConnectionException)
            {
                // The peer may already be gone.
            }
        }

        Abort();
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> CheckDataDigestAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        if (!_pendingDigest)
        {
            return true;
        }

        await FillAsync(NvmeTcpCommonHeader.DigestSize, cancellationToken).ConfigureAwait(false);
        uint received = BinaryPrimitives.ReadUInt32LittleEndian(_rx.AsSpan(_rxStart));
        _rxStart += NvmeTcpCommonHeader.DigestSize;
        _pendingDigest = false;
        return received == Crc32C.Compute(data.Span);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask FillAsync(int count, CancellationToken cancellationToken)
    {
        if (_rxEnd - _rxStart >= count)
        {
            return;
        }

        if (_rxStart > 0 && _rx.Length - _rxStart < count)
        {
            Buffer.BlockCopy(_rx, _rxStart, _rx, 0, _rxEnd - _rxStart);
            _rxEnd -= _rxStart;
            _rxStart = 0;
        }

        while (_rxEnd - _rxStart < count)
        {
            int n = await ReceiveSomeAsync(_rx.AsMemory(_rxEnd), cancellationToken).ConfigureAwait(false);
            _rxEnd += n;
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask ReadExactAsync(Memory<byte> destination, CancellationToken cancellationToken)
    {
        int buffered = Math.Min(_rxEnd - _rxStart, destination.Length);
        _rx.AsSpan(_rxStart, buffered).CopyTo(destination.Span);
        _rxStart += buffered;
        int done = buffered;
        while (done < destination.Length)
        {
            int remaining = destination.Length - done;
            if (remaining >= _rx.Length / 2)
            {
                // Large data lands directly in the caller's memory.
                done += await ReceiveSomeAsync(destination[done..], cancellationToken).ConfigureAwait(false);
            }
            else
            {
                _rxStart = _rxEnd = 0;
                _rxEnd = await ReceiveSomeAsync(_rx, cancellationToken).ConfigureAwait(false);
                int take = Math.Min(_rxEnd, remaining);
                _rx.AsSpan(0, take).CopyTo(destination.Span[done..]);
                _rxStart = take;
                done += take;
            }
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask DiscardAsync(int count, CancellationToken cancellationToken)
    {
        while (count > 0)
        {
            if (_rxEnd == _rxStart)
            {
                _rxStart = _rxEnd = 0;
                _rxEnd = await ReceiveSomeAsync(_rx, cancellationToken).ConfigureAwait(false);
            }

            int take = Math.Min(count, _rxEnd - _rxStart);
            _rxStart += take;
            count -= take;
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> ReceiveSomeAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        int n;
        try
        {
            n = await _socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            Abort();
            throw Closed($"NVMe/TCP connection to {RemoteEndPoint} failed: {e.SocketErrorCode}", e);
        }
        catch (ObjectDisposedException e)
        {
            throw Closed($"NVMe/TCP connection to {RemoteEndPoint} is closed.", e);
        }

        if (n == 0)
        {
            Abort();
            throw Closed($"NVMe/TCP peer {RemoteEndPoint} closed the connection.", null);
        }

        return n;
    }

    // ---------------------------------------------------------------- send

    /// <summary>Sends a CapsuleCmd with optional in-capsule data (the caller set SGL1 to match).</summary>
    public ValueTask SendCapsuleCommandAsync(NvmeCommand command, ReadOnlyMemory<byte> inCapsuleData, CancellationToken cancellationToken)
    {
        var layout = NvmeTcpPduLayout.Compute(CapsuleCmdPdu.HeaderLength, inCapsuleData.Length, _negotiated.HeaderDigest, _negotiated.DataDigest, _negotiated.H2CPdaBytes);
        return SendPduAsync(new PduHeader(NvmeTcpPduType.CapsuleCmd, 0, command, default, default), layout, inCapsuleData, cancellationToken);
    }

    /// <summary>Sends a CapsuleResp.</summary>
    public ValueTask SendCapsuleResponseAsync(NvmeCompletion completion, CancellationToken cancellationToken)
    {
        var layout = NvmeTcpPduLayout.Compute(CapsuleRespPdu.HeaderLength, 0, _negotiated.HeaderDigest, false, 4);
        return SendPduAsync(new PduHeader(NvmeTcpPduType.CapsuleResp, 0, default, completion, default), layout, default, cancellationToken);
    }

    /// <summary>Sends one H2CData PDU; DATAL is the data length. The caller keeps each PDU within MAXH2CDATA.</summary>
    public ValueTask SendH2CDataAsync(ushort cccid, ushort ttag, uint datao, ReadOnlyMemory<byte> data, bool last, CancellationToken cancellationToken)
    {
        var layout = NvmeTcpPduLayout.Compute(H2CDataPdu.HeaderLength, data.Length, _negotiated.HeaderDigest, _negotiated.DataDigest, _negotiated.H2CPdaBytes);
        var f = last ? NvmeTcpPduFlags.LastPdu : 0;
        return SendPduAsync(new PduHeader(NvmeTcpPduType.H2CData, f, default, default, new R2TPdu(cccid, ttag, datao, (uint)data.Length)), layout, data, cancellationToken);
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
        return SendPduAsync(new PduHeader(NvmeTcpPduType.C2HData, f, default, default, new R2TPdu(cccid, 0, datao, (uint)data.Length)), layout, data, cancellationToken);
    }

    /// <summary>Sends an R2T asking for <paramref name="r2tl"/> bytes at offset <paramref name="r2to"/>.</summary>
    public ValueTask SendR2TAsync(ushort cccid, ushort ttag, uint r2to, uint r2tl, CancellationToken cancellationToken)
    {
        var layout = NvmeTcpPduLayout.Compute(R2TPdu.HeaderLength, 0, _negotiated.HeaderDigest, false, 4);
        return SendPduAsync(new PduHeader(NvmeTcpPduType.R2T, 0, default, default, new R2TPdu(cccid, ttag, r2to, r2tl)), layout, default, cancellationToken);
    }

    /// <summary>Sends raw bytes as they are (tests and the IC exchange).</summary>
    public async ValueTask SendRawAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await SendAllAsync(bytes, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await ReleaseSendAsync().ConfigureAwait(false);
        }
    }

    private readonly record struct PduHeader(NvmeTcpPduType Type, NvmeTcpPduFlags Flags, NvmeCommand Command, NvmeCompletion Completion, R2TPdu Data);

    private ValueTask SendPduAsync(PduHeader h, NvmeTcpPduLayout layout, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        bool owner;
        lock (_pendingLock)
        {
            if (IsClosed)
            {
                throw Closed($"NVMe/TCP connection to {RemoteEndPoint} is closed.", null);
            }

            owner = _sendLock.Wait(0);
            if (!owner && layout.Plen <= AppendLimit && _pending.Length - _pendingLength >= layout.Plen)
            {
                // The owner writes it before releasing the socket (release happens under this lock). The caller's send
                // completes when that write did, as a direct send would: one shared completion per batch.
                WritePdu(_pending.AsSpan(_pendingLength), h, layout, data.Span);
                _pendingLength += layout.Plen;
                _pendingWritten ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                return new ValueTask(_pendingWritten.Task);
            }
        }

        return SendOwnedAsync(h, layout, data, owner, cancellationToken);
    }

    private void WritePdu(Span<byte> destination, in PduHeader h, in NvmeTcpPduLayout layout, ReadOnlySpan<byte> data)
    {
        int prefix = WriteHeader(destination, h, layout);
        if (!data.IsEmpty)
        {
            data.CopyTo(destination[prefix..]);
            if (layout.DataDigest)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(destination[(prefix + data.Length)..], Crc32C.Compute(data));
            }
        }
    }

    /// <summary>Writes what other tasks queued meanwhile, then gives up the socket.</summary>
    private async ValueTask ReleaseSendAsync()
    {
        while (true)
        {
            byte[] buffer;
            int length;
            TaskCompletionSource? written;
            lock (_pendingLock)
            {
                written = _pendingWritten;
                _pendingWritten = null;
                if (_pendingLength == 0 || IsClosed)
                {
                    _pendingLength = 0;
                    _sendLock.Release();
                    written?.TrySetException(Closed($"NVMe/TCP connection to {RemoteEndPoint} closed before the PDU was sent.", null));
                    return;
                }

                buffer = _pending;
                length = _pendingLength;
                _pending = _flushing;
                _flushing = buffer;
                _pendingLength = 0;
            }

            try
            {
                await SendAllAsync(buffer.AsMemory(0, length), CancellationToken.None).ConfigureAwait(false);
                written?.TrySetResult();
            }
            catch (Exception e)
            {
                TaskCompletionSource? later;
                lock (_pendingLock)
                {
                    later = _pendingWritten;
                    _pendingWritten = null;
                    _pendingLength = 0;
                    _sendLock.Release();
                }

                written?.TrySetException(e);
                later?.TrySetException(e);
                throw;
            }
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendOwnedAsync(PduHeader h, NvmeTcpPduLayout layout, ReadOnlyMemory<byte> data, bool owner, CancellationToken cancellationToken)
    {
        if (!owner)
        {
            await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        if (IsClosed)
        {
            await ReleaseSendAsync().ConfigureAwait(false);
            throw Closed($"NVMe/TCP connection to {RemoteEndPoint} is closed.", null);
        }

        CancellationTokenRegistration reg = default;
        try
        {
            if (cancellationToken.CanBeCanceled)
            {
                // Once bytes go out, cancellation can only close the connection.
                reg = cancellationToken.UnsafeRegister(static s => ((NvmeTcpQueuePair)s!).Abort(), this);
            }

            int prefix = WriteHeader(_tx, h, layout);
            int plen = layout.Plen;
            if (plen <= _tx.Length)
            {
                if (!data.IsEmpty)
                {
                    data.Span.CopyTo(_tx.AsSpan(prefix));
                    if (layout.DataDigest)
                    {
                        BinaryPrimitives.WriteUInt32LittleEndian(_tx.AsSpan(prefix + data.Length), Crc32C.Compute(data.Span));
                    }
                }

                await SendAllAsync(_tx.AsMemory(0, plen), CancellationToken.None).ConfigureAwait(false);
            }
            else
            {
                await SendAllAsync(_tx.AsMemory(0, prefix), CancellationToken.None).ConfigureAwait(false);
                await SendAllAsync(data, CancellationToken.None).ConfigureAwait(false);
                if (layout.DataDigest)
                {
                    BinaryPrimitives.WriteUInt32LittleEndian(_digest, Crc32C.Compute(data.Span));
                    await SendAllAsync(_digest, CancellationToken.None).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            await reg.DisposeAsync().ConfigureAwait(false);
            await ReleaseSendAsync().ConfigureAwait(false);
        }

        cancellationToken.ThrowIfCancellationRequested();
    }

    private static int WriteHeader(Span<byte> span, in PduHeader h, in NvmeTcpPduLayout layout)
    {
        var flags = h.Flags | NvmeTcpPduWriter.DigestFlags(layout);
        switch (h.Type)
        {
            case NvmeTcpPduType.CapsuleCmd:
                CapsuleCmdPdu.WriteHeader(span, h.Command, flags, (byte)layout.Pdo, (uint)layout.Plen);
                break;
            case NvmeTcpPduType.CapsuleResp:
                CapsuleRespPdu.WriteHeader(span, h.Completion, flags, (uint)layout.Plen);
                break;
            case NvmeTcpPduType.H2CData:
                new H2CDataPdu(h.Data.Cccid, h.Data.Ttag, h.Data.R2to, h.Data.R2tl).WriteHeader(span, flags, (byte)layout.Pdo, (uint)layout.Plen);
                break;
            case NvmeTcpPduType.C2HData:
                new C2HDataPdu(h.Data.Cccid, h.Data.R2to, h.Data.R2tl).WriteHeader(span, flags, (byte)layout.Pdo, (uint)layout.Plen);
                break;
            case NvmeTcpPduType.R2T:
                h.Data.WriteHeader(span, flags, (uint)layout.Plen);
                break;
        }

        return NvmeTcpPduWriter.CompletePrefix(span, layout);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendAllAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        try
        {
            while (!bytes.IsEmpty)
            {
                int n = await _socket.SendAsync(bytes, SocketFlags.None, cancellationToken).ConfigureAwait(false);
                bytes = bytes[n..];
            }
        }
        catch (SocketException e)
        {
            Abort();
            throw Closed($"NVMe/TCP send to {RemoteEndPoint} failed: {e.SocketErrorCode}", e);
        }
        catch (ObjectDisposedException e)
        {
            throw Closed($"NVMe/TCP connection to {RemoteEndPoint} is closed.", e);
        }
    }

    // ---------------------------------------------------------------- lifetime

    private NvmeProtocolException SetTerminal(NvmeProtocolException e)
    {
        Interlocked.CompareExchange(ref _terminal, e, null);
        return e;
    }

    /// <summary>The error for an operation cut short by the close: the protocol violation that caused it, if any.</summary>
    private NvmeException Closed(string message, Exception? inner)
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
