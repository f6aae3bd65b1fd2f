using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace NvmePS.Engine.Fabrics.Tcp;

/// <summary>Receive framing: headers validated by the shared validator, data in place or skipped, digests checked, and
/// the termination request a violation earns (NVMe/TCP Transport 1.0 §3.6, §3.7).</summary>
public sealed partial class NvmeTcpQueuePair
{
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
                await FillBetweenPdusAsync(cancellationToken).ConfigureAwait(false);
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
            await _sender.SendFinalAsync(pdu).ConfigureAwait(false);
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

    /// <summary>Waits for the next PDU's first bytes with nothing buffered. On the connection's own receive thread, a
    /// spell of <see cref="NvmeTcpQueueOptions.IdleTrimAfter"/> with nothing received gives the receive and send buffers
    /// back (about 256 KiB), so an idle connection holds a few KiB. Small ones serve keep-alives and lone commands; the
    /// full ones come back when more arrives, or is sent, than the small ones hold.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask FillBetweenPdusAsync(CancellationToken cancellationToken)
    {
        _rxStart = _rxEnd = 0;
        if (!OnReceiveThread || _idleTrimMilliseconds <= 0)
        {
            _rxEnd = await ReceiveSomeAsync(_rx, cancellationToken).ConfigureAwait(false);
            return;
        }

        while (true)
        {
            // Only while something is left to give back: a trimmed connection waits with no bound.
            bool trimmable = !_rxTrimmed || !_sender.Trimmed;
            int n = ReceiveOnOwnThread(_rx, cancellationToken, trimmable ? _idleTrimMilliseconds : 0);
            if (n > 0)
            {
                _rxEnd = n;
                if (_rxTrimmed && n == _rx.Length)
                {
                    // More than the small buffer holds arrived at once: busy again, so the full buffer comes back. A
                    // keep-alive or a lone command fits the small one and leaves the connection trimmed.
                    _rxTrimmed = false;
                    GrowReceiveBuffer();
                }

                return;
            }

            // Idle: nothing has arrived for IdleTrimAfter, and nothing is buffered.
            if (!_rxTrimmed)
            {
                _rx = GC.AllocateUninitializedArray<byte>(InitialReceiveBufferSize);
                _rxTrimmed = true;
            }

            await _sender.TrimIfIdleAsync(_idleTrimMilliseconds).ConfigureAwait(false);
        }
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

    /// <summary>Makes the calling thread this connection's receive thread: from now on the receive methods, when called on
    /// it, wait in the kernel (poll(2), then recv(2)) and complete synchronously, so a reader loop that owns a thread never
    /// leaves it and is woken by the kernel itself. Calls on other threads still go through the socket engine. A close
    /// (<see cref="Abort()"/>, a cancelled token) wakes the waiting thread.</summary>
    internal void BindReceiveThread()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        DetachFromSocketEngine();
        try
        {
            _receiveHandle = _socket.SafeHandle;
        }
        catch (ObjectDisposedException)
        {
            return;
        }

        Volatile.Write(ref _receiveThreadId, Environment.CurrentManagedThreadId);
        if (IsClosed)
        {
            // Closed before the bind was seen by Abort: make sure a receive does not wait for a wake-up that already passed.
            Volatile.Write(ref _receiveThreadId, 0);
        }
    }

    /// <summary>Moves the connection to a socket object the runtime's socket engine has never seen. The initialization
    /// used the engine's asynchronous calls, and a socket registered with its epoll stays registered: every arrival
    /// would still wake the epoll thread, which queues a thread-pool work item even with no operation pending (the
    /// profile in docs/performance.md). A duplicate of the descriptor, in a new Socket, is not registered. The engine's
    /// epoll registration belongs to the open file, so it is removed explicitly before the old Socket closes the old
    /// descriptor; the connection lives on in the duplicate.
    /// Called before anyone else uses the connection (the receive thread's start waits for it).</summary>
    private void DetachFromSocketEngine()
    {
        var old = _socket;
        int duplicate;
        try
        {
            var handle = old.SafeHandle;
            bool added = false;
            try
            {
                handle.DangerousAddRef(ref added);
                duplicate = NvmeTcpNative.Fcntl((int)handle.DangerousGetHandle(), NvmeTcpNative.FDupFdCloexec, 0);
            }
            finally
            {
                if (added)
                {
                    handle.DangerousRelease();
                }
            }
        }
        catch (ObjectDisposedException)
        {
            return;
        }

        if (duplicate < 0)
        {
            return;
        }

        Socket fresh;
        try
        {
            fresh = new Socket(new SafeSocketHandle(duplicate, ownsHandle: true));
        }
        catch (SocketException)
        {
            NvmeTcpNative.Close(duplicate);
            return;
        }

        Volatile.Write(ref _socket, fresh);
        _sender.UseSocket(fresh);
        ForgetEngineRegistration(old);
        old.Dispose();
        if (IsClosed)
        {
            // Closed while moving: Abort may have closed the old object only.
            fresh.Dispose();
        }
    }

    private static void ForgetEngineRegistration(Socket old)
    {
        try
        {
            var handle = old.SafeHandle;
            bool added = false;
            try
            {
                handle.DangerousAddRef(ref added);
                NvmeTcpNative.ForgetInEveryEpoll((int)handle.DangerousGetHandle());
            }
            finally
            {
                if (added)
                {
                    handle.DangerousRelease();
                }
            }
        }
        catch (ObjectDisposedException)
        {
            // Closed already: the close removed the registration only if no duplicate exists, but then nothing is left.
        }
    }

    /// <summary>True on the thread bound by <see cref="BindReceiveThread"/>.</summary>
    internal bool OnReceiveThread => Environment.CurrentManagedThreadId == Volatile.Read(ref _receiveThreadId);

    /// <summary>Writes the PDUs the receive thread held back; called on that thread before it waits for anything.</summary>
    internal void FlushHeldBack() => _sender.FlushHeldBack();

    /// <summary>One receive on the connection's own thread: the bytes read (at least one). With
    /// <paramref name="idleReturnMilliseconds"/> above 0 it returns 0 instead once that long has passed with nothing to
    /// read.</summary>
    private unsafe int ReceiveOnOwnThread(Span<byte> buffer, CancellationToken cancellationToken, int idleReturnMilliseconds = 0)
    {
        long idleSince = 0;
        if (cancellationToken.CanBeCanceled && cancellationToken != _ownThreadToken)
        {
            // A reader passes the same connection-lifetime token every time: register it once, not once per receive.
            _ownThreadRegistration.Unregister();
            _ownThreadToken = cancellationToken;
            _ownThreadRegistration = cancellationToken.UnsafeRegister(static s => ((NvmeTcpQueuePair)s!).Abort(), this);
        }

        nint n;
        int errno;
        try
        {
            while (true)
            {
                (n, errno) = WithHandle(buffer, 0, static (fd, b, _) =>
                {
                    fixed (byte* p = b)
                    {
                        nint r = NvmeTcpNative.Recv(fd, p, (nuint)b.Length, NvmeTcpNative.MsgDontwait);
                        return (r, r < 0 ? NvmeTcpNative.LastErrno : 0);
                    }
                });
                if (n > 0)
                {
                    return (int)n;
                }

                if (errno == NvmeTcpNative.EINTR)
                {
                    continue;
                }

                if (errno != NvmeTcpNative.EAGAIN || IsClosed)
                {
                    break;
                }

                // Nothing more to read for now: what this thread answered goes out before it waits. Not while holding
                // the handle: a failed send closes the socket, and closing waits for every reference to the handle.
                _sender.FlushHeldBack();
                int waitMilliseconds = 1000;
                if (idleReturnMilliseconds > 0)
                {
                    long now = Environment.TickCount64;
                    if (idleSince == 0)
                    {
                        idleSince = now;
                    }
                    else if (now - idleSince >= idleReturnMilliseconds)
                    {
                        return 0;
                    }

                    waitMilliseconds = (int)Math.Clamp(idleReturnMilliseconds - (now - idleSince), 1, 1000);
                }

                WithHandle(default, waitMilliseconds, static (fd, _, wait) =>
                {
                    var pfd = new NvmeTcpNative.PollFd { Fd = fd, Events = NvmeTcpNative.PollIn };
                    // Abort's shutdown wakes the poll; the bound is only a backstop against a missed wake-up.
                    return ((nint)NvmeTcpNative.Poll(&pfd, 1, wait), 0);
                });
            }
        }
        catch (ObjectDisposedException e)
        {
            cancellationToken.ThrowIfCancellationRequested();
            throw Closed($"NVMe/TCP connection to {RemoteEndPoint} is closed.", e);
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (IsClosed)
        {
            throw Closed($"NVMe/TCP connection to {RemoteEndPoint} is closed.", null);
        }

        Abort();
        throw n == 0
            ? Closed($"NVMe/TCP peer {RemoteEndPoint} closed the connection.", null)
            : Closed($"NVMe/TCP connection to {RemoteEndPoint} failed: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})", null);
    }

    /// <summary>True once the connection has left the socket engine (<see cref="BindReceiveThread"/>): sends use
    /// <see cref="TrySendNative"/> and <see cref="WaitWritableAsync"/>, so a full send buffer never registers the socket
    /// with the engine again (<see cref="NvmeTcpWritableWaiter"/>).</summary>
    internal bool SendsNatively => NvmeTcpWritableWaiter.Supported && Volatile.Read(ref _receiveHandle) is not null;

    /// <summary>One non-blocking send(2): the bytes taken, or 0 with <paramref name="wouldBlock"/> when the buffer is full.
    /// Throws the connection error otherwise.</summary>
    internal unsafe int TrySendNative(ReadOnlySpan<byte> bytes, out bool wouldBlock)
    {
        var span = System.Runtime.InteropServices.MemoryMarshal.CreateSpan(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(bytes), bytes.Length);
        wouldBlock = false;
        try
        {
            while (true)
            {
                var (n, errno) = WithHandle(span, 0, static (fd, b, _) =>
                {
                    fixed (byte* p = b)
                    {
                        nint r = NvmeTcpNative.Send(fd, p, (nuint)b.Length, NvmeTcpNative.MsgDontwait | NvmeTcpNative.MsgNosignal);
                        return (r, r < 0 ? NvmeTcpNative.LastErrno : 0);
                    }
                });
                if (n > 0)
                {
                    return (int)n;
                }

                if (errno == NvmeTcpNative.EINTR)
                {
                    continue;
                }

                if (IsClosed)
                {
                    throw Closed($"NVMe/TCP connection to {RemoteEndPoint} is closed.", null);
                }

                if (errno == NvmeTcpNative.EAGAIN)
                {
                    wouldBlock = true;
                    return 0;
                }

                Abort();
                throw Closed($"NVMe/TCP send to {RemoteEndPoint} failed: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})", null);
            }
        }
        catch (ObjectDisposedException e)
        {
            throw Closed($"NVMe/TCP connection to {RemoteEndPoint} is closed.", e);
        }
    }

    /// <summary>Waits until the socket can take more bytes, or the connection is closing (the next send then says so).
    /// Holds the descriptor meanwhile so its number cannot be reused; Abort ends the wait.</summary>
    internal async Task WaitWritableAsync()
    {
        var handle = _receiveHandle!;
        bool added = false;
        try
        {
            try
            {
                handle.DangerousAddRef(ref added);
            }
            catch (ObjectDisposedException e)
            {
                throw Closed($"NVMe/TCP connection to {RemoteEndPoint} is closed.", e);
            }

            int fd = (int)handle.DangerousGetHandle();
            var writable = NvmeTcpWritableWaiter.WaitAsync(fd);
            if (IsClosed)
            {
                // Abort may have run before the wait was registered: end it here.
                NvmeTcpWritableWaiter.Cancel(fd);
            }

            await writable.ConfigureAwait(false);
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    private delegate (nint Result, int Errno) HandleCall(int fd, Span<byte> buffer, int argument);

    /// <summary>Runs one system call on the socket's descriptor, holding a reference so the descriptor cannot be closed
    /// (and its number reused) meanwhile. Nothing that may close the socket runs inside.</summary>
    private (nint Result, int Errno) WithHandle(Span<byte> buffer, int argument, HandleCall call)
    {
        var handle = _receiveHandle!;
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return call((int)handle.DangerousGetHandle(), buffer, argument);
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    private ValueTask<int> ReceiveSomeAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (OnReceiveThread)
        {
            return new ValueTask<int>(ReceiveOnOwnThread(buffer.Span, cancellationToken));
        }

        return ReceiveThroughEngineAsync(buffer, cancellationToken);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> ReceiveThroughEngineAsync(Memory<byte> buffer, CancellationToken cancellationToken)
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
}
