using System.Buffers.Binary;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace NvmePS.Engine.Fabrics.Tcp;

/// <summary>
/// The send side of a queue pair (Kestrel's output writer, for NVMe/TCP): the socket's write side has one owner at a
/// time, whoever holds the send lock. Small PDUs submitted while it is owned are written whole into a pending buffer
/// and sent by the owner before it lets go, so concurrent completions and capsules leave in few large writes instead of
/// one system call each. Every PDU is laid out by <see cref="NvmeTcpPduWriter"/>. The queue pair owns the connection's
/// state: this asks it whether it is closed, and for the error of an operation the close cut short.
/// PDUs sent by the connection's receive thread are held back (corked) and written in one go when that thread has
/// nothing more to read, just before it waits: a burst of commands answered inline leaves in one system call, not
/// one or two per command. Whoever takes the socket next writes held-back bytes first, so the order of PDUs holds.
/// </summary>
internal sealed class NvmeTcpPduSender
{
    private const int AppendLimit = 16 * 1024 + 256;

    private Socket _socket;
    private readonly NvmeTcpQueuePair _owner;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    // Guards _pending, _pendingLength, _pendingWritten and the release of _sendLock.
    private readonly object _pendingLock = new();
    // Allocated at the first PDU (EnsureBuffersLocked): a connection that never gets past initialization costs none.
    private byte[] _pending = [];
    private byte[] _flushing = [];
    private int _pendingLength;
    private TaskCompletionSource? _pendingWritten;
    private byte[] _tx = [];
    // Environment.TickCount64 at the last PDU submitted: TrimIfIdleAsync leaves a sender that is in use alone.
    private long _lastSendTick;
    // After a trim the buffers come back small (a keep-alive or a completion needs no more), and full size with the
    // first PDU that does not fit: an idle association's keep-alives do not reallocate 200 KiB each time.
    private bool _small;
    private const int SmallBufferSize = 4096;
    private readonly int _coalesceLimit;
    // Bytes of large data copied next to the header and next to the data digest.
    private const int RideAlong = 4096;

    public NvmeTcpPduSender(Socket socket, NvmeTcpQueuePair owner, int coalesceLimit)
    {
        _socket = socket;
        _owner = owner;
        // Connection-lifetime buffers are plain arrays: an aborted socket call may still touch them after Dispose,
        // so they must never go back to a pool another connection draws from.
        _coalesceLimit = coalesceLimit;
    }

    private string Peer => $"NVMe/TCP connection to {_owner.RemoteEndPoint}";

    /// <summary>The queue pair moved the connection to a new socket object (before anyone sends on it).</summary>
    internal void UseSocket(Socket socket) => Volatile.Write(ref _socket, socket);

    /// <summary>Under <see cref="_pendingLock"/>: the send buffers exist from the first PDU on.</summary>
    private void EnsureBuffersLocked()
    {
        if (_tx.Length != 0)
        {
            return;
        }

        // Connection-lifetime buffers are plain arrays: an aborted socket call may still touch them after Dispose,
        // so they must never go back to a pool another connection draws from.
        if (_small)
        {
            _pending = GC.AllocateUninitializedArray<byte>(SmallBufferSize);
            _flushing = GC.AllocateUninitializedArray<byte>(SmallBufferSize);
            _tx = GC.AllocateUninitializedArray<byte>(SmallBufferSize + 256);
            return;
        }

        _pending = GC.AllocateUninitializedArray<byte>(Math.Max(_coalesceLimit, AppendLimit));
        _flushing = GC.AllocateUninitializedArray<byte>(_pending.Length);
        _tx = GC.AllocateUninitializedArray<byte>(Math.Max(_coalesceLimit, 4096) + 256);
    }

    /// <summary>With the send lock held, under <see cref="_pendingLock"/>: small buffers become full ones, keeping what
    /// is queued. Nobody else touches <see cref="_tx"/> or <see cref="_flushing"/> while the send lock is held.</summary>
    private void GrowLocked()
    {
        byte[] queued = _pending;
        _small = false;
        _tx = [];
        EnsureBuffersLocked();
        queued.AsSpan(0, _pendingLength).CopyTo(_pending);
    }

    /// <summary>True after a trim until a large PDU brings full-size buffers back.</summary>
    internal bool Trimmed => Volatile.Read(ref _small);

    /// <summary>Bytes of send buffers the connection holds now (0 before the first PDU and right after a trim).</summary>
    internal int BufferBytes
    {
        get
        {
            lock (_pendingLock)
            {
                return _pending.Length + _flushing.Length + _tx.Length;
            }
        }
    }

    /// <summary>Gives the send buffers back when nothing has been sent for <paramref name="idleMilliseconds"/> and nothing is
    /// queued; the next PDU allocates small ones, and the first large PDU full ones. Dropped, not pooled: an aborted
    /// socket call may still touch them. Leaves a sender that is in use, or already trimmed, alone.</summary>
    internal async ValueTask TrimIfIdleAsync(long idleMilliseconds)
    {
        if (Volatile.Read(ref _tx).Length == 0 || Volatile.Read(ref _small) || !_sendLock.Wait(0))
        {
            return;
        }

        lock (_pendingLock)
        {
            if (!_small && _pendingLength == 0 && Environment.TickCount64 - Volatile.Read(ref _lastSendTick) >= idleMilliseconds)
            {
                _pending = _flushing = _tx = [];
                _small = true;
            }
        }

        // PDUs queued while this held the socket are written before it lets go, as for any owner.
        await ReleaseSendAsync().ConfigureAwait(false);
    }

    /// <summary>Sends one PDU; completes when its bytes are written (alone, or in the batch it joined).</summary>
    public ValueTask SendPduAsync(NvmeTcpPduHeader h, NvmeTcpPduLayout layout, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        Volatile.Write(ref _lastSendTick, Environment.TickCount64);

        bool owner;
        lock (_pendingLock)
        {
            if (_owner.IsClosed)
            {
                throw _owner.Closed($"{Peer} is closed.", null);
            }

            EnsureBuffersLocked();
            if (_owner.OnReceiveThread && layout.Plen <= AppendLimit && _pending.Length - _pendingLength >= layout.Plen)
            {
                // Corked: the receive thread flushes before it waits (FlushHeldBack), or the next owner writes it first.
                NvmeTcpPduWriter.WritePdu(_pending.AsSpan(_pendingLength), StampLocked(h), layout, data.Span);
                _pendingLength += layout.Plen;
                return ValueTask.CompletedTask;
            }

            owner = _sendLock.Wait(0);
            if (!owner && layout.Plen <= AppendLimit && _pending.Length - _pendingLength >= layout.Plen)
            {
                // The owner writes it before releasing the socket (release happens under this lock). The caller's send
                // completes when that write did, as a direct send would: one shared completion per batch.
                NvmeTcpPduWriter.WritePdu(_pending.AsSpan(_pendingLength), StampLocked(h), layout, data.Span);
                _pendingLength += layout.Plen;
                _pendingWritten ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                return new ValueTask(_pendingWritten.Task);
            }
        }

        return SendOwnedAsync(h, layout, data, owner, cancellationToken);
    }

    /// <summary>Sends bytes as they are (tests and the IC exchange).</summary>
    public async ValueTask SendRawAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await WriteHeldBackAsync(default).ConfigureAwait(false);
            await SendAllAsync(bytes, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await ReleaseSendAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Sends a termination request and shuts the write side: nothing queued after it is sent.</summary>
    public async Task SendFinalAsync(ReadOnlyMemory<byte> pdu)
    {
        try
        {
            // Do not cut into a PDU another task is sending; give up after a short wait.
            if (await _sendLock.WaitAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false))
            {
                try
                {
                    // PDUs queued before this point were written by the previous owner (or are held back by the receive
                    // thread, and go first); nothing may follow the termination.
                    await WriteHeldBackAsync(default).ConfigureAwait(false);
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

                    dropped?.TrySetException(_owner.Closed("NVMe/TCP connection terminated before the PDU was sent.", null));
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or NvmeConnectionException)
        {
            // The peer may already be gone.
        }
    }

    /// <summary>On the receive thread, before it waits: writes the PDUs it held back. If another task owns the socket, that
    /// owner writes them before it lets go. A failed write closes the connection (the receive then reports it).</summary>
    public void FlushHeldBack()
    {
        lock (_pendingLock)
        {
            if (_pendingLength == 0 || !_sendLock.Wait(0))
            {
                return;
            }
        }

        try
        {
            var release = ReleaseSendAsync();
            if (release.IsCompletedSuccessfully)
            {
                release.GetAwaiter().GetResult();
            }
            else
            {
                release.AsTask().GetAwaiter().GetResult();
            }
        }
        catch (Exception e) when (e is NvmeException or SocketException or ObjectDisposedException)
        {
            // SendAllAsync closed the connection; the receive that follows reports why.
        }
    }

    /// <summary>Under <see cref="_pendingLock"/>, with the send lock held: takes the pending bytes and the completion of the
    /// tasks waiting for them, and gives the other buffer to PDUs queued while these are written.</summary>
    private (byte[] Buffer, int Length, TaskCompletionSource? Written) TakePendingLocked()
    {
        var taken = (_pending, _pendingLength, _pendingWritten);
        _pendingWritten = null;
        _pending = _flushing;
        _flushing = taken._pending;
        _pendingLength = 0;
        return taken;
    }

    /// <summary>With the send lock held: writes the PDUs queued so far (held back by the receive thread, or queued while
    /// the socket was owned), which go before the owner's <paramref name="h"/> (default when it sends raw bytes).
    /// Its place on the wire is fixed here, under the same lock as every queued PDU's, so it returns
    /// <paramref name="h"/> stamped (<see cref="StampLocked"/>): anything queued later is stamped later and leaves after it.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<NvmeTcpPduHeader> WriteHeldBackAsync(NvmeTcpPduHeader h)
    {
        byte[] buffer;
        int length;
        TaskCompletionSource? written;
        lock (_pendingLock)
        {
            h = StampLocked(h);
            if (_pendingLength == 0)
            {
                return h;
            }

            (buffer, length, written) = TakePendingLocked();
        }

        try
        {
            await SendAllAsync(buffer.AsMemory(0, length), CancellationToken.None).ConfigureAwait(false);
            written?.TrySetResult();
            return h;
        }
        catch (Exception e)
        {
            written?.TrySetException(e);
            throw;
        }
    }

    /// <summary>Under <see cref="_pendingLock"/>, where a PDU's place on the wire is fixed: a controller's CapsuleResp
    /// reports the queue's head of this moment. Every PDU takes its place under this lock in the order it leaves, and
    /// the head only moves forward, so the SQHD values on the wire never go back.</summary>
    private NvmeTcpPduHeader StampLocked(in NvmeTcpPduHeader h) =>
        h.Type == NvmeTcpPduType.CapsuleResp && _owner.SqHead is { } head
            ? h with { Completion = h.Completion with { Sqhd = head.Sqhd } }
            : h;

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
                if (_pendingLength == 0 || _owner.IsClosed)
                {
                    written = _pendingWritten;
                    _pendingWritten = null;
                    _pendingLength = 0;
                    _sendLock.Release();
                    written?.TrySetException(_owner.Closed($"{Peer} closed before the PDU was sent.", null));
                    return;
                }

                (buffer, length, written) = TakePendingLocked();
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
    private async ValueTask SendOwnedAsync(NvmeTcpPduHeader h, NvmeTcpPduLayout layout, ReadOnlyMemory<byte> data, bool owner, CancellationToken cancellationToken)
    {
        if (!owner)
        {
            await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        if (_owner.IsClosed)
        {
            await ReleaseSendAsync().ConfigureAwait(false);
            throw _owner.Closed($"{Peer} is closed.", null);
        }

        CancellationTokenRegistration reg = default;
        try
        {
            if (cancellationToken.CanBeCanceled)
            {
                // Once bytes go out, cancellation can only close the connection.
                reg = cancellationToken.UnsafeRegister(static s => ((NvmeTcpQueuePair)s!).Abort(), _owner);
            }

            h = await WriteHeldBackAsync(h).ConfigureAwait(false);
            if (_tx.Length == 0 || (_small && layout.Plen > SmallBufferSize))
            {
                // Trimmed after this PDU was submitted (it waited for the socket), or busy again after a trim.
                lock (_pendingLock)
                {
                    if (_small && layout.Plen > SmallBufferSize)
                    {
                        GrowLocked();
                    }
                    else
                    {
                        EnsureBuffersLocked();
                    }
                }
            }

            int plen = layout.Plen;
            if (plen <= _tx.Length)
            {
                NvmeTcpPduWriter.WritePdu(_tx, h, layout, data.Span);
                await SendAllAsync(_tx.AsMemory(0, plen), CancellationToken.None).ConfigureAwait(false);
            }
            else
            {
                // Large data goes from the caller's buffer, not through a copy. The header and the digest each carry a few
                // KiB of copied data with them, so neither leaves as a tiny segment of its own (one more send, packet and
                // wake-up at the peer per PDU).
                int prefix = NvmeTcpPduWriter.WriteHeader(_tx, h, layout);
                int head = Math.Min(data.Length, Math.Min(RideAlong, _tx.Length - prefix));
                data.Span[..head].CopyTo(_tx.AsSpan(prefix));
                await SendAllAsync(_tx.AsMemory(0, prefix + head), CancellationToken.None).ConfigureAwait(false);
                if (layout.DataDigest)
                {
                    uint digest = Crc32C.Compute(data.Span);
                    int tail = Math.Min(data.Length - head, RideAlong);
                    await SendAllAsync(data[head..^tail], CancellationToken.None).ConfigureAwait(false);
                    data.Span[^tail..].CopyTo(_tx);
                    BinaryPrimitives.WriteUInt32LittleEndian(_tx.AsSpan(tail), digest);
                    await SendAllAsync(_tx.AsMemory(0, tail + NvmeTcpCommonHeader.DigestSize), CancellationToken.None).ConfigureAwait(false);
                }
                else
                {
                    await SendAllAsync(data[head..], CancellationToken.None).ConfigureAwait(false);
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

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendAllAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        if (_owner.SendsNatively)
        {
            while (!bytes.IsEmpty)
            {
                int sent = _owner.TrySendNative(bytes.Span, out bool wouldBlock);
                if (wouldBlock)
                {
                    await _owner.WaitWritableAsync().ConfigureAwait(false);
                }

                bytes = bytes[sent..];
            }

            return;
        }

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
            _owner.Abort();
            throw _owner.Closed($"NVMe/TCP send to {_owner.RemoteEndPoint} failed: {e.SocketErrorCode}", e);
        }
        catch (ObjectDisposedException e)
        {
            throw _owner.Closed($"{Peer} is closed.", e);
        }
    }
}
