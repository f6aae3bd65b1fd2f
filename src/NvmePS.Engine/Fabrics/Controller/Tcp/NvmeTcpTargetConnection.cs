using System.Buffers;
using System.Net.Sockets;
using NvmePS.Engine.Admin;
using NvmePS.Engine.Fabrics.Tcp;

namespace NvmePS.Engine.Fabrics.Controller.Tcp;

/// <summary>
/// The controller role of one NVMe/TCP connection: one reader loop receives PDUs in order (capsules, H2CData), while
/// each accepted command runs on its own and sends its C2HData and CapsuleResp when done, so many commands are in
/// flight per queue. Data buffers come from <see cref="ArrayPool{T}"/> and are sized from the already-validated SGL.
/// </summary>
internal sealed class NvmeTcpTargetConnection
{
    /// <summary>In-capsule DATA limit of the Admin queue and of Fabrics commands: 8 KiB of data after the 64-byte SQE
    /// (NVMe/TCP 1.0; Linux nvme-tcp.h NVME_TCP_ADMIN_CCSZ = SZ_8K, capsule = SQE + 8 KiB), the size hosts send.</summary>
    public const int AdminInCapsuleData = 8192;

    /// <summary>Offset of SGL1 LENGTH in a CapsuleCmd PDU header: CH (8) + DPTR (24) + 8.</summary>
    public const int SglLengthFieldOffset = CapsuleCmdPdu.SqeOffset + NvmeCommand.DptrOffset + SglDescriptor.LengthOffset;

    /// <summary>Offset of the SGL1 identifier (descriptor type) in a CapsuleCmd PDU header.</summary>
    public const int SglIdentifierFieldOffset = CapsuleCmdPdu.SqeOffset + NvmeCommand.DptrOffset + SglDescriptor.IdentifierOffset;


    private const int C2HChunk = 128 * 1024;

    private readonly NvmeTcpTarget _owner;
    private readonly Socket _socket;
    private readonly NvmeTargetPort _port;
    private readonly CancellationTokenSource _cts;
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    // R2T state: the reader accepts H2CData, and a task that frees buffer budget may issue a deferred R2T, so both
    // go through _writeLock.
    private readonly object _writeLock = new();
    private readonly NvmeTcpR2TTracker _r2t = new();
    private readonly Dictionary<ushort, PendingWrite> _writes = [];
    private readonly Queue<(NvmeCommand Command, int Length)> _deferredWrites = new();
    private readonly Queue<(NvmeCommand Command, int Length)> _deferredReads = new();
    private long _buffered;
    private int _deferredCount;
    private bool _closing;
    private NvmeTcpQueuePair? _qp;

    /// <summary>Bytes of receive and send buffers the connection holds now.</summary>
    internal int BufferBytes => Volatile.Read(ref _qp)?.BufferBytes ?? 0;
    private NvmeControllerQueue? _queue;
    private int _running;
    private CancellationTokenRegistration _queueClosedRegistration;

    // Reused (under _writeLock) once the write is dispatched: no allocation per R2T write.
    private readonly Stack<PendingWrite> _freeWrites = new();

    private sealed class PendingWrite
    {
        public NvmeCommand Command { get; private set; }
        public byte[] Buffer { get; private set; } = [];
        public int Length { get; private set; }
        public bool DigestFailed { get; set; }

        public PendingWrite Begin(NvmeCommand command, byte[] buffer, int length)
        {
            Command = command;
            Buffer = buffer;
            Length = length;
            DigestFailed = false;
            return this;
        }
    }

    /// <summary>Under <see cref="_writeLock"/>.</summary>
    private PendingWrite NewWrite(NvmeCommand command, byte[] buffer, int length) =>
        (_freeWrites.Count > 0 ? _freeWrites.Pop() : new PendingWrite()).Begin(command, buffer, length);

    public NvmeTcpTargetConnection(NvmeTcpTarget owner, Socket socket, NvmeTargetPort port, CancellationToken stopping)
    {
        _owner = owner;
        _socket = socket;
        _port = port;
        _cts = CancellationTokenSource.CreateLinkedTokenSource(stopping);
    }

    /// <summary>Completes when the connection has been torn down.</summary>
    public Task Completion => _completion.Task;

    private NvmeTargetOptions Options => _owner.Target.Options;

    public void Abort()
    {
        try
        {
            _cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }

        _qp?.Abort();
        try
        {
            _socket.Close(0);
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>Serves the connection until it closes; true when it ended because of a protocol violation.</summary>
    public async Task<bool> RunAsync()
    {
        bool protocolError = false;
        try
        {
            var queueOptions = new NvmeTcpQueueOptions
            {
                HeaderDigest = _owner.AllowHeaderDigest,
                DataDigest = _owner.AllowDataDigest,
                Pda = Options.Cpda,
                MaxH2CData = (uint)Options.MaxH2CData,
                MaxInCapsuleData = Math.Max(AdminInCapsuleData, Options.InCapsuleDataSize),
                IdleTrimAfter = Options.IdleTrimAfter,
            };

            using (var init = CancellationTokenSource.CreateLinkedTokenSource(_cts.Token))
            {
                // A peer that never sends ICReq does not hold a connection slot forever.
                init.CancelAfter(_owner.InitializeTimeout);
                _qp = await NvmeTcpQueuePair.AcceptAsync(_socket, queueOptions, init.Token).ConfigureAwait(false);
            }

            var ct = _cts.Token;
            // A peer that initializes but never connects a queue does not hold a connection slot forever.
            using var connectDeadline = new Timer(static s =>
            {
                var c = (NvmeTcpTargetConnection)s!;
                if (Volatile.Read(ref c._queue) is null)
                {
                    c.Abort();
                }
            }, this, _owner.ConnectTimeout, Timeout.InfiniteTimeSpan);
            // Until Connect succeeds the connection is served from the thread pool: a peer that never connects costs no thread.
            while (!ct.IsCancellationRequested && Volatile.Read(ref _queue) is null)
            {
                await ReceiveOneAsync(ct).ConfigureAwait(false);
            }

            if (!ct.IsCancellationRequested)
            {
                // A connected queue gets its own receive thread: commands arrive and in-memory reads and writes complete
                // on it without a hand-off per PDU.
                await NvmeTcpReceiveThread.Start(_qp, () => ReceiveOneAsync(ct), $"NVMe/TCP target queue {_queue!.Qid}").ConfigureAwait(false);
            }
        }
        catch (NvmeProtocolException)
        {
            // The queue pair already sent the termination request (or the host sent one) and closed the socket.
            protocolError = true;
        }
        catch (Exception e) when (e is NvmeConnectionException or OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // The host went away, the association ended, or the target is stopping.
        }
        finally
        {
            Cleanup();
        }

        return protocolError;
    }

    /// <summary>Receives and handles the next PDU from the host; false once the connection is stopping.</summary>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ReceiveOneAsync(CancellationToken ct)
    {
        if (ct.IsCancellationRequested)
        {
            return false;
        }

        var qp = _qp!;
        var header = await qp.ReceiveHeaderAsync(ct).ConfigureAwait(false);
        switch (header.Type)
        {
            case NvmeTcpPduType.CapsuleCmd:
                if (_queue is null)
                {
                    await OnConnectCapsuleAsync(header, ct).ConfigureAwait(false);
                }
                else
                {
                    await OnCapsuleAsync(header, ct).ConfigureAwait(false);
                }

                break;

            case NvmeTcpPduType.H2CData:
                await OnH2CDataAsync(header, ct).ConfigureAwait(false);
                break;

            default:
                // The validator admits only host-to-controller types after initialization; anything else is out of sequence.
                throw await qp.TerminateAsync(NvmeTcpFatalErrorStatus.PduSequenceError, NvmeTcpCommonHeader.PduTypeOffset,
                    $"unexpected {header.Type}").ConfigureAwait(false);
        }

        return true;
    }

    private void Cleanup()
    {
        Abort();
        _queueClosedRegistration.Dispose();
        lock (_writeLock)
        {
            _closing = true;
            foreach (var w in _writes.Values)
            {
                ArrayPool<byte>.Shared.Return(w.Buffer);
            }

            _writes.Clear();
            _deferredWrites.Clear();
            _deferredReads.Clear();
        }

        // Losing the admin queue ends the association; losing an I/O queue only frees its QID.
        _queue?.Dispose();
        _qp?.Dispose();
        _cts.Dispose();
        _completion.TrySetResult();
    }

    // ---------------------------------------------------------------- Connect

    private async Task OnConnectCapsuleAsync(NvmeTcpReceivedHeader header, CancellationToken ct)
    {
        var qp = _qp!;
        var sqe = header.Command;
        int icLen = header.DataLength;
        var sgl = SglDescriptor.FromCommand(sqe);
        await CheckCapsuleSglAsync(sgl, icLen).ConfigureAwait(false);

        if (!ConnectCommand.TryRead(sqe, out _))
        {
            // Nothing but Connect before the queue is connected.
            await qp.SkipDataAsync(ct).ConfigureAwait(false);
            await qp.SendCapsuleResponseAsync(NvmeCompletion.Create(sqe.Cid, NvmeStatus.Generic(NvmeStatusNames.CommandSequenceError)), ct).ConfigureAwait(false);
            return;
        }

        if (!sgl.IsInCapsule || icLen == 0)
        {
            // Connect data travels in the capsule (hosts never ask for an R2T for it).
            await qp.SkipDataAsync(ct).ConfigureAwait(false);
            await qp.SendCapsuleResponseAsync(NvmeCompletion.Create(sqe.Cid, NvmeStatus.Generic(NvmeStatusNames.SglDescriptorTypeInvalid)), ct).ConfigureAwait(false);
            return;
        }

        byte[] data = ArrayPool<byte>.Shared.Rent(icLen);
        try
        {
            if (!await qp.ReceiveDataAsync(data.AsMemory(0, icLen), ct).ConfigureAwait(false))
            {
                await qp.SendCapsuleResponseAsync(NvmeCompletion.Create(sqe.Cid, NvmeStatus.Generic(NvmeStatusNames.TransientTransportError, dnr: false)), ct).ConfigureAwait(false);
                return;
            }

            var cqe = _owner.Target.Connect(sqe, data.AsSpan(0, icLen), _port, out var queue);
            if (queue is not null)
            {
                Volatile.Write(ref _queue, queue);
                qp.SqHead = queue;
                qp.MaxInCapsuleData = queue.IsAdmin ? AdminInCapsuleData : Options.InCapsuleDataSize;
                // The association ended, a reset deleted this I/O queue, or the target stops: close the connection.
                _queueClosedRegistration = queue.Closed.Register(static s => ((NvmeTcpTargetConnection)s!).Abort(), this);
            }

            await qp.SendCapsuleResponseAsync(cqe, ct).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(data);
        }
    }

    /// <summary>The SGL must describe exactly the in-capsule data that came with the capsule, or the PDU is malformed.</summary>
    private ValueTask CheckCapsuleSglAsync(SglDescriptor sgl, int icLen)
    {
        if (icLen > 0 && !sgl.IsInCapsule)
        {
            return TerminateAsync(NvmeTcpFatalErrorStatus.InvalidPduHeaderField, SglIdentifierFieldOffset,
                $"{icLen} bytes of in-capsule data but SGL1 is of type {sgl.Identifier:X2}h");
        }

        if (sgl.IsInCapsule && sgl.Length != (uint)icLen)
        {
            return TerminateAsync(NvmeTcpFatalErrorStatus.InvalidPduHeaderField, SglLengthFieldOffset,
                $"SGL1 length {sgl.Length} but the capsule carries {icLen} data bytes");
        }

        return ValueTask.CompletedTask;
    }

    private async ValueTask TerminateAsync(NvmeTcpFatalErrorStatus fes, int fieldOffset, string reason) =>
        throw await _qp!.TerminateAsync(fes, fieldOffset, reason).ConfigureAwait(false);

    // ---------------------------------------------------------------- commands

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask OnCapsuleAsync(NvmeTcpReceivedHeader header, CancellationToken ct)
    {
        var qp = _qp!;
        var queue = _queue!;
        var sqe = header.Command;
        int icLen = header.DataLength;
        var sgl = SglDescriptor.FromCommand(sqe);
        await CheckCapsuleSglAsync(sgl, icLen).ConfigureAwait(false);

        var direction = NvmeControllerQueue.DataDirectionOf(sqe);
        int length = (int)Math.Min(sgl.Length, int.MaxValue);
        var transportStatus = NvmeStatus.Success;
        if (Volatile.Read(ref _running) >= 2 * queue.Size)
        {
            // The host ignores the queue size; refuse rather than queue without bound (nvmet allows 2 × SQ size too).
            transportStatus = NvmeStatus.Generic(NvmeStatusNames.CommandSequenceError, dnr: false);
        }
        else if (sqe.Psdt != 1)
        {
            // Fabrics commands use SGLs (PSDT 01b), never PRPs.
            transportStatus = NvmeStatus.Generic(NvmeStatusNames.InvalidFieldInCommand);
        }
        else if (length > 0)
        {
            if (sgl.IsInCapsule)
            {
                if (sgl.Address != 0)
                {
                    transportStatus = NvmeStatus.Generic(NvmeStatusNames.SglOffsetInvalid);
                }
                else if (direction != NvmeDataDirection.HostToController)
                {
                    transportStatus = NvmeStatus.Generic(NvmeStatusNames.InvalidFieldInCommand);
                }
            }
            else if (!sgl.IsTransport)
            {
                transportStatus = NvmeStatus.Generic(NvmeStatusNames.SglDescriptorTypeInvalid);
            }
            else if (direction is not (NvmeDataDirection.HostToController or NvmeDataDirection.ControllerToHost))
            {
                transportStatus = NvmeStatus.Generic(NvmeStatusNames.DataSglLengthInvalid);
            }
        }

        var status = queue.Begin(sqe, length, transportStatus);
        if (!status.IsSuccess)
        {
            await qp.SkipDataAsync(ct).ConfigureAwait(false);
            await qp.SendCapsuleResponseAsync(queue.Reject(sqe.Cid, status), ct).ConfigureAwait(false);
            return;
        }

        Interlocked.Increment(ref _running);
        if (direction == NvmeDataDirection.HostToController && length > 0)
        {
            if (sgl.IsInCapsule)
            {
                // In-capsule data is at most 8 KiB and already on the wire: take it regardless of the budget.
                byte[] buffer = RentCounted(length);
                bool intact = await qp.ReceiveDataAsync(buffer.AsMemory(0, length), ct).ConfigureAwait(false);
                if (!intact)
                {
                    await FailAsync(sqe, buffer, length, NvmeStatus.Generic(NvmeStatusNames.TransientTransportError, dnr: false)).ConfigureAwait(false);
                    return;
                }

                _ = ExecuteAndRespondAsync(sqe, buffer, length, NvmeDataDirection.HostToController);
            }
            else
            {
                // Larger writes: one R2T asks for the data (the host splits it into H2CData PDUs ≤ MAXH2CDATA), deferred
                // while this connection's buffers are at their limit.
                ushort ttag = 0;
                bool now;
                lock (_writeLock)
                {
                    now = _deferredWrites.Count == 0 && FitsBudget(length);
                    if (now)
                    {
                        _writes[sqe.Cid] = NewWrite(sqe, RentCounted(length), length);
                        ttag = _r2t.Register(sqe.Cid, 0, (uint)length);
                    }
                    else
                    {
                        _deferredWrites.Enqueue((sqe, length));
                        Interlocked.Increment(ref _deferredCount);
                    }
                }

                if (now)
                {
                    await qp.SendR2TAsync(sqe.Cid, ttag, 0, (uint)length, ct).ConfigureAwait(false);
                }
                else
                {
                    // Budget freed between the check and the enqueue would otherwise go unnoticed.
                    _ = IssueDeferredAsync();
                }
            }
        }
        else if (direction == NvmeDataDirection.ControllerToHost && length > 0)
        {
            // A read waits for buffer space off the reader: the reader must stay free to take the H2CData that
            // completes pending writes and so frees that space (blocking it here could deadlock the connection).
            byte[]? buffer = null;
            lock (_writeLock)
            {
                if (_deferredReads.Count == 0 && FitsBudget(length))
                {
                    buffer = RentCounted(length);
                }
                else
                {
                    _deferredReads.Enqueue((sqe, length));
                    Interlocked.Increment(ref _deferredCount);
                }
            }

            if (buffer is not null)
            {
                _ = ExecuteAndRespondAsync(sqe, buffer, length, NvmeDataDirection.ControllerToHost);
            }
            else
            {
                _ = IssueDeferredAsync();
            }
        }
        else
        {
            _ = ExecuteAndRespondAsync(sqe, null, 0, NvmeDataDirection.None);
        }
    }

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask OnH2CDataAsync(NvmeTcpReceivedHeader header, CancellationToken ct)
    {
        var qp = _qp!;
        bool accepted, complete;
        NvmeTcpDataError error;
        PendingWrite? write = null;
        lock (_writeLock)
        {
            accepted = _r2t.TryAccept(header, out complete, out error);
            if (accepted)
            {
                write = _writes[header.Cccid];
                if (complete)
                {
                    _writes.Remove(header.Cccid);
                }
            }
        }

        if (!accepted)
        {
            throw await qp.TerminateAsync(error.Fes, error.FieldOffset, error.Reason).ConfigureAwait(false);
        }

        // Only this reader touches the write's buffer until the command is dispatched.
        bool intact = await qp.ReceiveDataAsync(write!.Buffer.AsMemory((int)header.Offset, header.DataLength), ct).ConfigureAwait(false);
        if (!intact)
        {
            // A data digest error spoils the command, not the connection (NVMe/TCP 1.0 §3.6.2.x): Transient Transport Error.
            write.DigestFailed = true;
        }

        if (complete)
        {
            var (command, buffer, length, failed) = (write.Command, write.Buffer, write.Length, write.DigestFailed);
            lock (_writeLock)
            {
                _freeWrites.Push(write);
            }

            if (failed)
            {
                await FailAsync(command, buffer, length, NvmeStatus.Generic(NvmeStatusNames.TransientTransportError, dnr: false)).ConfigureAwait(false);
            }
            else
            {
                _ = ExecuteAndRespondAsync(command, buffer, length, NvmeDataDirection.HostToController);
            }
        }
    }

    private async Task FailAsync(NvmeCommand sqe, byte[]? buffer, int length, NvmeStatus status)
    {
        try
        {
            await _qp!.SendCapsuleResponseAsync(_queue!.Fail(sqe, status), _cts.Token).ConfigureAwait(false);
        }
        finally
        {
            if (buffer is not null)
            {
                ReturnCounted(buffer, length);
            }

            Interlocked.Decrement(ref _running);
        }
    }

    // ---------------------------------------------------------------- buffer budget

    private int Budget => Options.MaxBufferedBytesPerConnection;

    /// <summary>True when <paramref name="length"/> more bytes fit (one transfer always fits when nothing is buffered).</summary>
    private bool FitsBudget(int length)
    {
        long buffered = Volatile.Read(ref _buffered);
        return buffered == 0 || buffered + length <= Budget;
    }

    private byte[] RentCounted(int length)
    {
        Interlocked.Add(ref _buffered, length);
        return ArrayPool<byte>.Shared.Rent(length);
    }

    private void ReturnCounted(byte[] buffer, int length)
    {
        ArrayPool<byte>.Shared.Return(buffer);
        Interlocked.Add(ref _buffered, -length);
        if (Volatile.Read(ref _deferredCount) > 0)
        {
            _ = IssueDeferredAsync();
        }
    }

    /// <summary>Starts deferred writes (their R2Ts) and reads that now fit the budget; callable from any thread.</summary>
    private async Task IssueDeferredAsync()
    {
        while (true)
        {
            NvmeCommand sqe;
            int length;
            ushort ttag = 0;
            byte[] buffer;
            bool isWrite;
            lock (_writeLock)
            {
                if (_closing)
                {
                    return;
                }

                if (_deferredWrites.Count > 0 && FitsBudget(_deferredWrites.Peek().Length))
                {
                    (sqe, length) = _deferredWrites.Dequeue();
                    isWrite = true;
                    buffer = RentCounted(length);
                    _writes[sqe.Cid] = NewWrite(sqe, buffer, length);
                    ttag = _r2t.Register(sqe.Cid, 0, (uint)length);
                }
                else if (_deferredReads.Count > 0 && FitsBudget(_deferredReads.Peek().Length))
                {
                    (sqe, length) = _deferredReads.Dequeue();
                    isWrite = false;
                    buffer = RentCounted(length);
                }
                else
                {
                    return;
                }

                Interlocked.Decrement(ref _deferredCount);
            }

            if (!isWrite)
            {
                // On the thread pool: run inline, a chain of reads completing synchronously would nest on this stack.
                var (c, b, l) = (sqe, buffer, length);
                _ = Task.Run(() => ExecuteAndRespondAsync(c, b, l, NvmeDataDirection.ControllerToHost));
                continue;
            }

            try
            {
                await _qp!.SendR2TAsync(sqe.Cid, ttag, 0, (uint)length, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is NvmeConnectionException or NvmeProtocolException or ObjectDisposedException or SocketException or OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task ExecuteAndRespondAsync(NvmeCommand sqe, byte[]? buffer, int length, NvmeDataDirection direction)
    {
        var qp = _qp!;
        var queue = _queue!;
        CancellationToken ct;
        try
        {
            ct = _cts.Token;
        }
        catch (ObjectDisposedException)
        {
            ct = new CancellationToken(true);
        }

        try
        {
            ReadOnlyMemory<byte> dataIn = direction == NvmeDataDirection.HostToController ? buffer.AsMemory(0, length) : default;
            Memory<byte> dataOut = direction == NvmeDataDirection.ControllerToHost ? buffer.AsMemory(0, length) : default;
            var result = await queue.ExecuteAsync(sqe, dataIn, dataOut, ct).ConfigureAwait(false);
            if (NvmeController.IsDisconnect(sqe) && result.Completion.IsSuccess)
            {
                queue.ReleaseIoQueueIdentifier();
            }
            if (direction == NvmeDataDirection.ControllerToHost && result.Completion.IsSuccess)
            {
                // Never send pooled bytes the command did not produce.
                if (result.BytesTransferred < length)
                {
                    dataOut.Span[Math.Max(result.BytesTransferred, 0)..].Clear();
                }

                bool successFlag = Options.UseC2HSuccessFlag && queue.SqFlowControlDisabled;
                // C2HData PDUs are kept to MAXH2CDATA as well (at most 128 KiB): hosts accept any size, small ones pipeline better.
                int chunk = Math.Min(C2HChunk, Options.MaxH2CData);
                for (int offset = 0; offset < length; offset += chunk)
                {
                    int n = Math.Min(chunk, length - offset);
                    bool last = offset + n == length;
                    await qp.SendC2HDataAsync(sqe.Cid, (uint)offset, dataOut.Slice(offset, n), last, last && successFlag, ct).ConfigureAwait(false);
                }

                if (!successFlag)
                {
                    await qp.SendCapsuleResponseAsync(result.Completion, ct).ConfigureAwait(false);
                }
            }
            else
            {
                await qp.SendCapsuleResponseAsync(result.Completion, ct).ConfigureAwait(false);
            }

            if ((NvmeController.IsDisconnect(sqe) && result.Completion.IsSuccess) || queue.Authentication?.CloseRequested == true)
            {
                // Disconnect deletes this I/O queue once its completion is out (the receive thread may have held it back);
                // so does a failed authentication once its AUTH_Failure1 is out, as nvmet ends such a controller.
                qp.FlushHeldBack();
                Abort();
            }
        }
        catch (Exception e) when (e is NvmeConnectionException or NvmeProtocolException or OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // The connection is gone (a send cut short by a termination reports the NvmeProtocolException that ended it);
            // the reader's cleanup ends the queue. This task is fire-and-forget, so nothing may escape it.
        }
        finally
        {
            if (buffer is not null)
            {
                ReturnCounted(buffer, length);
            }

            Interlocked.Decrement(ref _running);
        }
    }
}
