namespace NvmePS.Engine.Fabrics.Tcp;

/// <summary>
/// A reader loop that owns a thread: each step receives and handles one PDU. Receives on the thread wait in the kernel
/// (<see cref="NvmeTcpQueuePair.BindReceiveThread"/>), so a PDU's arrival wakes this thread directly, with no epoll-thread
/// or thread-pool hand-off, and work the step completes inline (a host's command completion, a controller's read) runs
/// here too. A step that has to wait for something else (a send lock, say) finishes wherever that completes; the thread
/// waits for it, and the next step starts back on the thread.
/// </summary>
internal static class NvmeTcpReceiveThread
{
    // Steps run protocol code and the completions they trigger, not deep recursion.
    private const int StackSize = 512 * 1024;

    /// <summary>Starts the loop on a new background thread. <paramref name="step"/> returns false to end the loop; an
    /// exception ends it too. The task completes (or faults) when the loop has ended.</summary>
    public static Task Start(NvmeTcpQueuePair queuePair, Func<ValueTask<bool>> step, string name)
    {
        var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var bound = new ManualResetEventSlim();
        var thread = new Thread(() => Run(queuePair, step, ended, bound), StackSize)
        {
            IsBackground = true,
            Name = name,
        };
        // No ExecutionContext flows from whoever opened the connection into its reader.
        thread.UnsafeStart();
        // The bind may move the connection to a new socket object: nobody sends until it has.
        bound.Wait();
        return ended.Task;
    }

    private static void Run(NvmeTcpQueuePair queuePair, Func<ValueTask<bool>> step, TaskCompletionSource ended, ManualResetEventSlim bound)
    {
        try
        {
            try
            {
                queuePair.BindReceiveThread();
            }
            finally
            {
                bound.Set();
            }

            while (true)
            {
                var pending = step();
                bool more;
                if (pending.IsCompletedSuccessfully)
                {
                    more = pending.Result;
                }
                else
                {
                    // The step waits on something else: what this thread held back may be what it waits for.
                    queuePair.FlushHeldBack();
                    more = pending.AsTask().GetAwaiter().GetResult();
                }
                if (!more)
                {
                    break;
                }
            }

            // Answers still held back leave before the loop ends.
            queuePair.FlushHeldBack();
            ended.TrySetResult();
        }
        catch (Exception e)
        {
            queuePair.FlushHeldBack();
            ended.TrySetException(e);
        }
    }
}
