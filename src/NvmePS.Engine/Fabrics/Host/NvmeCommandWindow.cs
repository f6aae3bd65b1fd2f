using NvmePS.Engine.Admin;

namespace NvmePS.Engine.Fabrics.Host;

/// <summary>
/// Raw commands submitted back to back on an association's queues without waiting for each completion, and their
/// results taken back in submission order. At most QueueSize - 1 stay outstanding (a full NVMe queue keeps one slot
/// empty, Base Specification 2.0 §3.3.1.1), so the submitter drains the oldest first when <see cref="IsFull"/>.
/// Used by Send-NvmfCommand for pipeline input. Not thread-safe: one submitter.
/// </summary>
/// <typeparam name="TState">What the caller keeps with each command (queue id, opcode, …).</typeparam>
public sealed class NvmeCommandWindow<TState>
{
    private readonly Queue<(Task<NvmeCommandResult> Task, byte[] Buffer, TState State)> _inFlight = new();

    /// <summary>Commands submitted and not yet taken back.</summary>
    public int Count => _inFlight.Count;

    /// <summary>The queue <paramref name="queueId"/> names: 0 the admin queue, 1..n the I/O queues; null if none.</summary>
    public static NvmeHostQueue? SelectQueue(NvmeHostAssociation host, int queueId)
    {
        ArgumentNullException.ThrowIfNull(host);
        var io = host.IoQueues;
        return queueId == 0 ? host.AdminQueue : queueId > 0 && queueId <= io.Count ? io[queueId - 1] : null;
    }

    /// <summary>True when one more command on <paramref name="queue"/> would exceed its depth less one.</summary>
    public bool IsFull(NvmeHostQueue queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        return _inFlight.Count >= Math.Max(1, queue.QueueSize - 1);
    }

    /// <summary>Starts <paramref name="command"/> on <paramref name="queue"/>: data to the controller, or a buffer of
    /// <paramref name="dataLength"/> bytes for data from it (a command moves data one way only).</summary>
    public void Submit(NvmeHostQueue queue, NvmeCommand command, ReadOnlyMemory<byte> dataToController, int dataLength, TState state, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentOutOfRangeException.ThrowIfNegative(dataLength);
        if (dataToController.Length > 0 && dataLength > 0)
        {
            throw new ArgumentException("A command moves data in one direction: give data to the controller or a length to read, not both.");
        }

        if (IsFull(queue))
        {
            throw new InvalidOperationException("The window is full; take the oldest result first.");
        }

        byte[] buffer = dataLength > 0 ? new byte[dataLength] : Array.Empty<byte>();
        _inFlight.Enqueue((queue.ExecuteAsync(command, dataToController, buffer, cancellationToken).AsTask(), buffer, state));
    }

    /// <summary>The oldest command's completion task, the data it returned (filled when the task completes) and its state.</summary>
    public bool TryTakeOldest(out Task<NvmeCommandResult> result, out byte[] data, out TState state)
    {
        if (_inFlight.TryDequeue(out var item))
        {
            (result, data, state) = item;
            return true;
        }

        result = null!;
        data = Array.Empty<byte>();
        state = default!;
        return false;
    }
}
