using System.Buffers;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using NvmePS.Engine.Admin;
using NvmePS.Engine.Fabrics.Tcp;

namespace NvmePS.Engine.Fabrics.Host;

/// <summary>
/// The host side of one NVMe/TCP queue pair (admin or I/O) with many commands in flight: CIDs from a slot table (never
/// FFFFh; a generation in the high bits catches stale completions), SQ flow control from SQHD when enabled, and one reader
/// task that demultiplexes CapsuleResp, C2HData (straight into the caller's buffer) and R2T (answered with H2CData no larger
/// than MAXH2CDATA). Any protocol violation by the controller gets an H2CTermReq, closes the queue and fails every command
/// on it with the same typed exception.
/// </summary>
public sealed partial class NvmeHostQueue : IAsyncDisposable
{
    /// <summary>What this queue's DH-HMAC-CHAP transaction used, or null when the controller did not ask for one.</summary>
    public Auth.DhchapOutcome? Authentication { get; internal set; }

    /// <summary>In-capsule data limit for Fabrics commands and for the admin queue (NVMe/TCP Transport 1.0 §3.3.3: 8 KiB).</summary>
    public const int AdminInCapsuleDataSize = 8192;

    private readonly NvmeTcpQueuePair _qp;
    private readonly Slot[] _slots;
    private readonly Stack<int> _free;
    private readonly int _slotBits;
    private readonly SemaphoreSlim _slotGate;
    private readonly SemaphoreSlim _sqSpace;
    private readonly object _sqLock = new();
    private readonly CancellationTokenSource _stop = new();
    private Task _reader = Task.CompletedTask;
    private int _sqTail;
    private int _sqHead;
    private Exception? _failure;
    private bool _connectPending = true;
    private long _staleSqhd;
    private long _sqAdvanced;

    /// <param name="queuePair">A connected queue pair (after ICReq/ICResp).</param>
    /// <param name="qid">Queue identifier (0 = admin).</param>
    /// <param name="queueSize">SQ entries; at most <paramref name="queueSize"/> − 1 commands are in flight.</param>
    public NvmeHostQueue(NvmeTcpQueuePair queuePair, ushort qid, int queueSize)
    {
        ArgumentNullException.ThrowIfNull(queuePair);
        if (queueSize < 2 || queueSize > 65536)
        {
            throw new ArgumentOutOfRangeException(nameof(queueSize), "An SQ has 2..65536 entries.");
        }

        _qp = queuePair;
        Qid = qid;
        QueueSize = queueSize;
        int capacity = queueSize - 1;
        _slotBits = Math.Max(1, 32 - System.Numerics.BitOperations.LeadingZeroCount((uint)(capacity - 1)));
        _slots = new Slot[capacity];
        _free = new Stack<int>(capacity);
        for (int i = capacity - 1; i >= 0; i--)
        {
            _slots[i] = new Slot(this, i);
            _free.Push(i);
        }

        // No maximum: Fail releases extra counts to wake waiters.
        _slotGate = new SemaphoreSlim(capacity);
        _sqSpace = new SemaphoreSlim(capacity);
        MaxInCapsuleData = AdminInCapsuleDataSize;
    }

    /// <summary>Queue identifier.</summary>
    public ushort Qid { get; }

    /// <summary>SQ entries (SQSIZE + 1).</summary>
    public int QueueSize { get; }

    /// <summary>The transport.</summary>
    public NvmeTcpQueuePair Transport => _qp;

    /// <summary>True while SQHD from completions gates submission (Connect did not disable SQ flow control).</summary>
    public bool SqFlowControl { get; private set; } = true;

    /// <summary>Completions whose SQHD was behind the head already reported (out-of-order completion); they free no
    /// submission queue entries.</summary>
    public long StaleSqhdCompletions
    {
        get
        {
            lock (_sqLock)
            {
                return _staleSqhd;
            }
        }
    }

    /// <summary>Largest write data sent in the capsule; larger writes wait for R2T. Fabrics commands always go in-capsule up to 8 KiB.</summary>
    public int MaxInCapsuleData { get; set; }

    /// <summary>The error that closed the queue, if it is closed.</summary>
    public Exception? Failure => Volatile.Read(ref _failure);

    /// <summary>Commands in flight.</summary>
    public int InFlight => _slots.Length - _slotGate.CurrentCount;

    /// <summary>Starts the reader task. Call once, before the first command.</summary>
    public void Start()
    {
        if (_reader == Task.CompletedTask)
        {
            _reader = NvmeTcpReceiveThread.Start(_qp, ReadOneAsync, $"NVMe/TCP host queue {Qid}").ContinueWith(
                t => OnReaderEnded(t.Exception?.InnerException), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }


    /// <summary>Submits a command and waits for its completion, which is returned whatever its status.
    /// The queue fills in CID, PSDT and SGL1. At most one of the data buffers is non-empty.
    /// Cancelling after submission abandons the command: the call ends with <see cref="OperationCanceledException"/>, the
    /// controller's answer is discarded, and <paramref name="dataFromController"/> is not written after the call ends.
    /// A completion resumes the awaiting caller on the queue's receive thread (no thread-pool hop): code that continues
    /// there must not block synchronously on another command of the same queue, or the queue waits on itself.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<NvmeCommandResult> ExecuteAsync(NvmeCommand command, ReadOnlyMemory<byte> dataToController, Memory<byte> dataFromController, CancellationToken cancellationToken)
    {
        if (!dataToController.IsEmpty && !dataFromController.IsEmpty)
        {
            throw new ArgumentException("A command moves data in one direction only.", nameof(dataFromController));
        }

        ThrowIfFailed();
        await _slotGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (SqFlowControl)
        {
            try
            {
                await _sqSpace.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                _slotGate.Release();
                throw;
            }
        }

        Slot slot;
        try
        {
            ThrowIfFailed();
            cancellationToken.ThrowIfCancellationRequested();
            slot = Rent();
        }
        catch
        {
            _slotGate.Release();
            if (SqFlowControl)
            {
                _sqSpace.Release();
            }

            throw;
        }

        bool fabrics = command.Opcode == FabricsCommand.Opcode;
        int icdLimit = fabrics ? Math.Max(MaxInCapsuleData, AdminInCapsuleDataSize) : MaxInCapsuleData;
        bool inCapsule = !dataToController.IsEmpty && dataToController.Length <= icdLimit;
        command.Cid = slot.Cid;
        command.Flags = (byte)((command.Flags & 0x3F) | FabricsCommand.SglFlags);
        var sgl = inCapsule
            ? SglDescriptor.InCapsule((uint)dataToController.Length)
            : SglDescriptor.Transport((uint)(dataToController.Length + dataFromController.Length));
        sgl.WriteTo(ref command);
        slot.Begin(dataToController, dataFromController, inCapsule);
        if (SqFlowControl)
        {
            lock (_sqLock)
            {
                _sqTail = (_sqTail + 1) % QueueSize;
            }
        }

        if (cancellationToken.CanBeCanceled)
        {
            slot.Registration = cancellationToken.UnsafeRegister(static s => ((Slot)s!).Cancel(), slot);
        }

        var pending = new ValueTask<NvmeCommandResult>(slot, slot.Version);
        // The send reads the caller's in-capsule data until it is written or copied: until then a cancellation cannot
        // end the call, so it fails the queue instead (Slot.Cancel), which ends the send at once.
        slot.BeginSend();
        try
        {
            await _qp.SendCapsuleCommandAsync(command, inCapsule ? dataToController : default, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Fail(e is NvmeException ? e : new NvmeConnectionException("NVMe/TCP send failed.", e));
        }
        finally
        {
            slot.EndSend();
        }

        return await pending.ConfigureAwait(false);
    }

    private void ThrowIfFailed()
    {
        var f = Volatile.Read(ref _failure);
        if (f is not null)
        {
            throw f is NvmeProtocolException p
                ? new NvmeProtocolException(p.Message, p.FatalErrorStatus, p.FieldOffset, p)
                : new NvmeConnectionException($"NVMe/TCP queue {Qid} is closed: {f.Message}", f);
        }
    }

    private Slot Rent()
    {
        lock (_free)
        {
            var s = _slots[_free.Pop()];
            s.NextGeneration(_slotBits);
            return s;
        }
    }

    private void Return(Slot slot)
    {
        lock (_free)
        {
            _free.Push(slot.Index);
        }

        _slotGate.Release();
    }

    private bool TryFind(ushort cid, out Slot slot)
    {
        int index = cid & ((1 << _slotBits) - 1);
        if (index < _slots.Length)
        {
            slot = _slots[index];
            if (slot.Cid == cid && slot.AwaitingWire)
            {
                return true;
            }
        }

        slot = null!;
        return false;
    }

    // ------------------------------------------------------------------ reader

    /// <summary>One step of the reader (on the queue's receive thread): the next PDU from the controller.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ReadOneAsync()
    {
        var h = await _qp.ReceiveHeaderAsync(_stop.Token).ConfigureAwait(false);
        switch (h.Type)
        {
            case NvmeTcpPduType.CapsuleResp:
                await OnResponseAsync(h).ConfigureAwait(false);
                break;
            case NvmeTcpPduType.C2HData:
                await OnC2HDataAsync(h).ConfigureAwait(false);
                break;
            case NvmeTcpPduType.R2T:
                await OnR2TAsync(h).ConfigureAwait(false);
                break;
            default:
                throw await _qp.TerminateAsync(NvmeTcpFatalErrorStatus.PduSequenceError, 0, $"unexpected {h.Type}").ConfigureAwait(false);
        }

        return true;
    }

    private void OnReaderEnded(Exception? e)
    {
        if (e is OperationCanceledException && _stop.IsCancellationRequested)
        {
            Fail(new NvmeConnectionException($"NVMe/TCP queue {Qid} closed."));
        }
        else if (e is not null)
        {
            Fail(e is NvmeException ? e : new NvmeConnectionException($"NVMe/TCP queue {Qid} failed: {e.Message}", e));
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask OnResponseAsync(NvmeTcpReceivedHeader h)
    {
        var cqe = h.Completion;
        if (!TryFind(cqe.Cid, out var slot))
        {
            throw await _qp.TerminateAsync(NvmeTcpFatalErrorStatus.InvalidPduHeaderField, CapsuleRespPdu.CqeOffset + NvmeCompletion.CidOffset,
                $"CapsuleResp for unknown CID {cqe.Cid:X4}h").ConfigureAwait(false);
        }

        if (slot.DataInProgress)
        {
            // C2HData without LAST_PDU was followed by the response: the data sequence is cut short (NVMe/TCP 1.0 §3.6.2.9).
            throw await _qp.TerminateAsync(NvmeTcpFatalErrorStatus.PduSequenceError, 0,
                $"CapsuleResp for CID {cqe.Cid:X4}h while its C2HData was still coming (no PDU with LAST_PDU)").ConfigureAwait(false);
        }

        if (_connectPending)
        {
            // The first command is Connect: SQHD FFFFh in its response means the controller disabled SQ flow control.
            _connectPending = false;
            if (cqe.Sqhd == 0xFFFF)
            {
                SqFlowControl = false;
            }
        }

        if (SqFlowControl)
        {
            // SQHD only ever moves the head forward. A controller that completes commands out of order may send a
            // completion carrying the head it read before one it already sent: a value the head has already passed is
            // stale and frees nothing. A value past the tail, or one the head never reached, is a violation.
            int released = 0;
            lock (_sqLock)
            {
                int inSq = (_sqTail - _sqHead + QueueSize) % QueueSize;
                int advance = (cqe.Sqhd - _sqHead + QueueSize) % QueueSize;
                int behind = (_sqHead - cqe.Sqhd + QueueSize) % QueueSize;
                if (cqe.Sqhd < QueueSize && advance <= inSq)
                {
                    released = advance;
                    _sqHead = cqe.Sqhd;
                    _sqAdvanced += advance;
                }
                else if (cqe.Sqhd < QueueSize && behind <= _sqAdvanced)
                {
                    _staleSqhd++;
                }
                else
                {
                    released = -1;
                }
            }

            if (released < 0)
            {
                throw await _qp.TerminateAsync(NvmeTcpFatalErrorStatus.InvalidPduHeaderField, CapsuleRespPdu.CqeOffset + NvmeCompletion.SqhdOffset,
                    $"SQHD {cqe.Sqhd} is outside the submitted entries").ConfigureAwait(false);
            }

            if (released > 0)
            {
                _sqSpace.Release(released);
            }
        }

        slot.Complete(cqe, slot.DataIn.IsEmpty ? slot.DataOut.Length : slot.Received);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask OnC2HDataAsync(NvmeTcpReceivedHeader h)
    {
        if (!TryFind(h.Cccid, out var slot))
        {
            throw await _qp.TerminateAsync(NvmeTcpFatalErrorStatus.InvalidPduHeaderField, C2HDataPdu.CccidOffset, $"C2HData for unknown CCCID {h.Cccid:X4}h").ConfigureAwait(false);
        }

        if (slot.DataIn.IsEmpty)
        {
            throw await _qp.TerminateAsync(NvmeTcpFatalErrorStatus.PduSequenceError, 0, $"C2HData for CID {h.Cccid:X4}h, which reads no data").ConfigureAwait(false);
        }

        if (h.Offset != (uint)slot.Received)
        {
            throw await _qp.TerminateAsync(NvmeTcpFatalErrorStatus.DataTransferOutOfRange, C2HDataPdu.DataoOffset, $"DATAO {h.Offset}, expected {slot.Received}").ConfigureAwait(false);
        }

        if ((ulong)h.Offset + h.Length > (ulong)slot.DataIn.Length)
        {
            throw await _qp.TerminateAsync(NvmeTcpFatalErrorStatus.DataTransferOutOfRange, C2HDataPdu.DatalOffset,
                $"data up to {(ulong)h.Offset + h.Length} for a {slot.DataIn.Length}-byte read").ConfigureAwait(false);
        }

        if (h.IsSuccess && SqFlowControl)
        {
            throw await _qp.TerminateAsync(NvmeTcpFatalErrorStatus.InvalidPduHeaderField, NvmeTcpCommonHeader.FlagsOffset, "SUCCESS flag with SQ flow control enabled").ConfigureAwait(false);
        }

        bool ok;
        if (slot.BeginReceive())
        {
            try
            {
                ok = await _qp.ReceiveDataAsync(slot.DataIn.Slice((int)h.Offset, (int)h.Length), _stop.Token).ConfigureAwait(false);
            }
            finally
            {
                slot.EndReceive((int)h.Length);
            }
        }
        else
        {
            // Abandoned or already failed: the data is read off the wire, never into the caller's memory.
            await _qp.SkipDataAsync(_stop.Token).ConfigureAwait(false);
            ok = true;
            slot.EndReceive((int)h.Length);
        }

        if (!ok)
        {
            slot.DigestError = true;
        }

        slot.DataInProgress = !h.IsLast;
        if (h.IsLast && h.IsSuccess)
        {
            // No CapsuleResp follows (NVMe/TCP Transport 1.0 §3.6.2.9).
            slot.Complete(NvmeCompletion.Create(slot.Cid, NvmeStatus.Success, sqhd: 0xFFFF, sqid: Qid), slot.Received);
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask OnR2TAsync(NvmeTcpReceivedHeader h)
    {
        if (!TryFind(h.Cccid, out var slot))
        {
            throw await _qp.TerminateAsync(NvmeTcpFatalErrorStatus.InvalidPduHeaderField, R2TPdu.CccidOffset, $"R2T for unknown CCCID {h.Cccid:X4}h").ConfigureAwait(false);
        }

        if (slot.DataOut.IsEmpty || slot.InCapsule)
        {
            throw await _qp.TerminateAsync(NvmeTcpFatalErrorStatus.PduSequenceError, 0, $"R2T for CID {h.Cccid:X4}h, which has no data waiting").ConfigureAwait(false);
        }

        if (h.Offset != slot.NextR2TOffset)
        {
            throw await _qp.TerminateAsync(NvmeTcpFatalErrorStatus.DataTransferOutOfRange, R2TPdu.R2toOffset, $"R2TO {h.Offset}, expected {slot.NextR2TOffset}").ConfigureAwait(false);
        }

        if ((ulong)h.Offset + h.Length > (ulong)slot.DataOut.Length)
        {
            throw await _qp.TerminateAsync(NvmeTcpFatalErrorStatus.DataTransferOutOfRange, R2TPdu.R2tlOffset,
                $"R2T up to {(ulong)h.Offset + h.Length} for a {slot.DataOut.Length}-byte write").ConfigureAwait(false);
        }

        if (Volatile.Read(ref slot.OutstandingR2T) > _qp.Negotiated.MaxR2T)
        {
            throw await _qp.TerminateAsync(NvmeTcpFatalErrorStatus.DataTransferLimitExceeded, 0,
                $"more than MAXR2T+1 = {_qp.Negotiated.MaxR2T + 1} R2Ts outstanding for CID {h.Cccid:X4}h").ConfigureAwait(false);
        }

        slot.BeginR2T(h.Offset + h.Length);
        // Sent off the reader so a full socket never stops completions from being read.
        _ = SendR2TDataAsync(slot, h.Ttag, h.Offset, h.Length);
    }

    private async Task SendR2TDataAsync(Slot slot, ushort ttag, uint offset, uint length)
    {
        bool issued = false;
        try
        {
            int chunk = (int)Math.Min(_qp.Negotiated.MaxH2CData, int.MaxValue);
            uint done = 0;
            while (done < length)
            {
                int n = (int)Math.Min((uint)chunk, length - done);
                bool last = done + (uint)n == length;
                if (last)
                {
                    slot.R2TDataIssued();
                    issued = true;
                }

                await _qp.SendH2CDataAsync(slot.Cid, ttag, offset + done, slot.DataOut.Slice((int)(offset + done), n), last, CancellationToken.None).ConfigureAwait(false);
                done += (uint)n;
            }
        }
        catch (Exception e)
        {
            Fail(e is NvmeException ? e : new NvmeConnectionException("NVMe/TCP H2CData send failed.", e));
        }
        finally
        {
            slot.EndR2T(issued);
        }
    }

    /// <summary>Called once when the queue fails, with the reason (the association fails its other queues).</summary>
    public Action<NvmeHostQueue, Exception>? Failed { get; set; }

    /// <summary>Closes the queue: every command in flight fails with <paramref name="reason"/>.</summary>
    internal void Fail(Exception reason)
    {
        if (Interlocked.CompareExchange(ref _failure, reason, null) is not null)
        {
            return;
        }

        // The association learns first: once this queue's connection closes, a caller's command may end at once (on the
        // receive thread), and by then the association and its other queues must already show the failure.
        Failed?.Invoke(this, reason);
        _qp.Abort(reason as NvmeException ?? new NvmeConnectionException(reason.Message, reason));
        _stop.Cancel();
        foreach (var s in _slots)
        {
            s.FailIfActive(reason);
        }

        // Wake submitters waiting for room; they see the failure.
        _slotGate.Release(Math.Max(1, _slots.Length - _slotGate.CurrentCount));
        _sqSpace.Release(Math.Max(1, _slots.Length - _sqSpace.CurrentCount));
    }

    /// <summary>A command cancelled while the queue has been receiving one PDU for this long closes the queue.</summary>
    internal static readonly TimeSpan StuckPduAge = TimeSpan.FromSeconds(1);

    /// <summary>How long a cancelled command waits for its half-transferred PDU to finish before the queue is closed.</summary>
    internal static readonly TimeSpan MidPduCancelGrace = TimeSpan.FromMilliseconds(500);

    /// <summary>A command was cancelled (its timeout or a stop) while one of its PDUs was half sent or half received,
    /// and the PDU did not finish within <see cref="MidPduCancelGrace"/>.
    /// The byte stream cannot resume mid-PDU, and the call cannot end while the socket may still touch the caller's
    /// memory, so the queue is closed: that ends the PDU at once, and every other command on it fails with this reason.</summary>
    private void FailMidPdu(ushort cid) =>
        Fail(new NvmeConnectionException(
            $"NVMe/TCP queue {Qid} was closed: command {cid:X4}h was cancelled (timeout or stop) in the middle of a PDU, " +
            "and a byte stream cannot be resumed mid-PDU."));

    /// <summary>Closes the connection and fails commands still in flight.</summary>
    public async ValueTask DisposeAsync()
    {
        Fail(new NvmeConnectionException($"NVMe/TCP queue {Qid} closed by the host."));
        try
        {
            await _reader.ConfigureAwait(false);
        }
        catch (Exception e) when (e is NvmeException or OperationCanceledException)
        {
            // Already reported to the commands.
        }

        await _qp.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>The next CID of slot <paramref name="index"/>: slot in the low <paramref name="slotBits"/> bits, a generation
    /// above them so a late completion for an earlier use of the slot is recognised; FFFFh is skipped.</summary>
    internal static ushort NextCid(ref int generation, int index, int slotBits)
    {
        int maxGen = 1 << (16 - slotBits);
        ushort cid;
        do
        {
            generation = (generation + 1) % maxGen;
            cid = (ushort)((generation << slotBits) | index);
        }
        while (cid == 0xFFFF);
        return cid;
    }
}
