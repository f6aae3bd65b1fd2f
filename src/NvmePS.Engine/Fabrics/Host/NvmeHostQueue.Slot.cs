using System.Buffers;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using NvmePS.Engine.Admin;
using NvmePS.Engine.Fabrics.Tcp;

namespace NvmePS.Engine.Fabrics.Host;

public sealed partial class NvmeHostQueue
{
    /// <summary>One command in flight; reused (no allocation per command). Freed when both the caller has its result and
    /// the wire is done with it (completion received and any H2CData sent).</summary>
    private sealed class Slot : IValueTaskSource<NvmeCommandResult>
    {
        private readonly NvmeHostQueue _queue;
        private ManualResetValueTaskSourceCore<NvmeCommandResult> _core;
        private int _generation;
        private int _refs;
        private bool _resultSet;
        private bool _wireDone;
        private bool _receiving;
        private bool _cancelPending;
        private bool _abandoned;
        private Exception? _deferredFailure;
        private byte[]? _ownedOut;

        public Slot(NvmeHostQueue queue, int index)
        {
            _queue = queue;
            Index = index;
            _core.RunContinuationsAsynchronously = true;
        }

        public int Index { get; }

        public ushort Cid { get; private set; } = 0xFFFF;

        public short Version => _core.Version;

        public bool IsActive { get; private set; }

        public bool AwaitingWire
        {
            get
            {
                lock (this)
                {
                    return IsActive && !_wireDone;
                }
            }
        }

        public ReadOnlyMemory<byte> DataOut { get; private set; }

        public Memory<byte> DataIn { get; private set; }

        public bool InCapsule { get; private set; }

        public int Received { get; private set; }

        public uint NextR2TOffset { get; set; }

        /// <summary>R2Ts whose H2CData is being sent (changed under the slot lock).</summary>
        public int OutstandingR2T;

        private int _sending;

        public bool DigestError { get; set; }

        /// <summary>C2HData arrived without LAST_PDU: more data for this command must come before its response.</summary>
        public bool DataInProgress { get; set; }

        public CancellationTokenRegistration Registration { get; set; }

        public void NextGeneration(int slotBits) => Cid = NextCid(ref _generation, Index, slotBits);

        public void Begin(ReadOnlyMemory<byte> dataOut, Memory<byte> dataIn, bool inCapsule)
        {
            lock (this)
            {
                _core.Reset();
                _core.RunContinuationsAsynchronously = true;
                DataOut = dataOut;
                DataIn = dataIn;
                InCapsule = inCapsule;
                Received = 0;
                NextR2TOffset = 0;
                OutstandingR2T = 0;
                _sending = 0;
                DigestError = false;
                DataInProgress = false;
                _deferredFailure = null;
                _refs = 2;
                _resultSet = _wireDone = _receiving = _cancelPending = _abandoned = false;
                IsActive = true;
            }
        }

        public void AddRef() => Interlocked.Increment(ref _refs);

        public void Release()
        {
            if (Interlocked.Decrement(ref _refs) == 0)
            {
                byte[]? owned;
                lock (this)
                {
                    IsActive = false;
                    DataOut = default;
                    DataIn = default;
                    owned = _ownedOut;
                    _ownedOut = null;
                }

                if (owned is not null)
                {
                    ArrayPool<byte>.Shared.Return(owned);
                }

                _queue.Return(this);
            }
        }

        /// <summary>True when data may be written into the caller's buffer now.</summary>
        public bool BeginReceive()
        {
            lock (this)
            {
                if (_abandoned || _resultSet)
                {
                    return false;
                }

                _receiving = true;
                return true;
            }
        }

        /// <summary>Ends a data PDU; <paramref name="bytes"/> count toward the next expected DATAO even when skipped.</summary>
        public void EndReceive(int bytes)
        {
            lock (this)
            {
                _receiving = false;
                Received += bytes;
            }

            FinishDeferred();
        }

        /// <summary>The capsule's send starts reading <see cref="DataOut"/> (in-capsule data).</summary>
        public void BeginSend()
        {
            lock (this)
            {
                _sending++;
            }

            AddRef();
        }

        public void EndSend()
        {
            lock (this)
            {
                _sending--;
            }

            FinishDeferred();
            Release();
        }

        /// <summary>After a PDU stopped using the caller's memory: ends the call with the cancellation (first) or the queue
        /// failure that waited for it.</summary>
        private void FinishDeferred()
        {
            Exception? deliver = null;
            lock (this)
            {
                if (TryAbandonLocked())
                {
                    deliver = new OperationCanceledException("The command was abandoned by its caller.");
                }
                else if (_deferredFailure is not null && !_resultSet && !_receiving && _sending == 0)
                {
                    deliver = _deferredFailure;
                    _resultSet = true;
                }
            }

            if (deliver is not null)
            {
                _core.SetException(deliver);
            }
        }

        /// <summary>Starts answering an R2T whose data ends at <paramref name="nextOffset"/>: from now until
        /// <see cref="EndR2T"/> a send may read <see cref="DataOut"/>, so a cancellation waits for it.</summary>
        public void BeginR2T(uint nextOffset)
        {
            lock (this)
            {
                NextR2TOffset = nextOffset;
                _sending++;
                OutstandingR2T++;
            }

            AddRef();
        }

        /// <summary>The R2T's last H2CData is about to be handed to the socket. From here on the controller may have all the
        /// data and legitimately send its next R2T, possibly before this send's completion runs, so the R2T stops counting
        /// toward MAXR2T now rather than after the send completes (which raced with the reader).</summary>
        public void R2TDataIssued()
        {
            lock (this)
            {
                OutstandingR2T--;
            }
        }

        /// <summary>Ends an R2T's H2CData sends; finishes a cancellation that waited for them.</summary>
        public void EndR2T(bool issued)
        {
            lock (this)
            {
                _sending--;
                if (!issued)
                {
                    OutstandingR2T--;
                }
            }

            FinishDeferred();
            Release();
        }

        public void Cancel()
        {
            bool abandoned;
            lock (this)
            {
                if (!IsActive || _resultSet)
                {
                    return;
                }

                _cancelPending = true;
                abandoned = TryAbandonLocked();
            }

            ushort cid = Cid;
            if (abandoned)
            {
                _core.SetException(new OperationCanceledException("The command was abandoned by its caller."));
                // A PDU (for any command) stuck half-received means nothing more will arrive on this queue: close it
                // now rather than let every later command wait out its own timeout.
                if (_queue._qp.ReceivingPduFor >= StuckPduAge)
                {
                    _queue.FailMidPdu(cid);
                }

                return;
            }

            // Data is being written into, or sent from, the caller's memory. A working controller finishes that PDU
            // within milliseconds, and the call then ends in FinishDeferred with the queue intact. One that stalls or
            // drips may never finish it: after a short grace the queue is closed, which ends the PDU at once.
            _ = Task.Delay(MidPduCancelGrace).ContinueWith(_ => FailQueueIfStillWaiting(cid), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        }

        private void FailQueueIfStillWaiting(ushort cid)
        {
            lock (this)
            {
                if (!IsActive || Cid != cid || _resultSet || !_cancelPending)
                {
                    return;
                }
            }

            _queue.FailMidPdu(cid);
        }

        /// <summary>Under the lock: abandons the command when a cancellation is pending and no PDU is using the caller's
        /// memory. The caller's write data that later R2Ts may still ask for is copied into a pooled buffer first: once the
        /// call returns, the caller may reuse its buffer, and the controller must not receive those new contents as this
        /// command's data (NVMe/TCP gives no way to retract a command once the capsule is sent).</summary>
        private bool TryAbandonLocked()
        {
            if (!_cancelPending || _resultSet || _receiving || _sending > 0)
            {
                return false;
            }

            if (!InCapsule && !_wireDone && _ownedOut is null && NextR2TOffset < (uint)DataOut.Length)
            {
                // Only [NextR2TOffset..] can still be asked for: R2Ts must arrive in order (checked in OnR2TAsync).
                var owned = ArrayPool<byte>.Shared.Rent(DataOut.Length);
                int from = (int)NextR2TOffset;
                DataOut.Span[from..].CopyTo(owned.AsSpan(from));
                _ownedOut = owned;
                DataOut = owned.AsMemory(0, DataOut.Length);
            }

            _abandoned = true;
            _resultSet = true;
            return true;
        }

        public void Complete(NvmeCompletion cqe, int bytes)
        {
            bool deliver;
            lock (this)
            {
                if (_wireDone)
                {
                    return;
                }

                _wireDone = true;
                deliver = !_resultSet;
                _resultSet = true;
            }

            if (deliver)
            {
                // The reader's own completion resumes the caller right here, on the receive thread: no hand-off to the
                // thread pool per command. Every other way a call ends (cancel, failure) still resumes it elsewhere.
                _core.RunContinuationsAsynchronously = false;
                if (DigestError)
                {
                    _core.SetException(new NvmeProtocolException($"Data digest mismatch in C2HData for CID {Cid:X4}h; the data read is not trustworthy."));
                }
                else
                {
                    _core.SetResult(new NvmeCommandResult(cqe, bytes));
                }
            }

            Registration.Dispose();
            Release();
        }

        public void FailIfActive(Exception reason)
        {
            bool deliver;
            lock (this)
            {
                if (!IsActive || _wireDone)
                {
                    return;
                }

                _wireDone = true;
                if (_receiving || _sending > 0)
                {
                    // A socket call may still touch the caller's memory; it ends soon (the socket is closed) and
                    // FinishDeferred delivers this then.
                    _deferredFailure ??= reason;
                    deliver = false;
                }
                else
                {
                    deliver = !_resultSet;
                    _resultSet = true;
                }
            }

            if (deliver)
            {
                _core.SetException(reason);
            }

            Release();
        }

        public NvmeCommandResult GetResult(short token)
        {
            try
            {
                return _core.GetResult(token);
            }
            finally
            {
                Registration.Dispose();
                Release();
            }
        }

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }
}
