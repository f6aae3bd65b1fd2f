namespace NvmePS.Engine.Mctp;

/// <summary>
/// Runs a responder's handlers concurrently, one task per request, like a device that keeps receiving while a slow
/// command is processed (NVMe-MI 1.2 §4.2: Abort and Get State for a busy slot, and other requesters' commands, must
/// still be served). The number of requests in flight is bounded: past <see cref="MaxInFlight"/> a request is
/// discarded, as a device discards a message it has no buffer for, and the requester times out. Shared by the
/// AF_MCTP and demux-client responder hosts, so one test over the demux socket covers both.
/// </summary>
public sealed class MctpResponderDispatcher : IAsyncDisposable
{
    /// <summary>Default bound: far above what two command slots plus control primitives need, low enough that a
    /// flood cannot grow tasks and buffers without limit.</summary>
    public const int DefaultMaxInFlight = 64;

    private readonly IMctpResponder _responder;
    private readonly CancellationTokenSource _stop = new();
    private readonly object _gate = new();
    private readonly HashSet<Task> _inFlight = [];
    private long _dropped;
    private long _faults;

    public MctpResponderDispatcher(IMctpResponder responder, int maxInFlight = DefaultMaxInFlight)
    {
        ArgumentNullException.ThrowIfNull(responder);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxInFlight, 1);
        _responder = responder;
        MaxInFlight = maxInFlight;
    }

    /// <summary>Most handlers running at once.</summary>
    public int MaxInFlight { get; }

    /// <summary>Handlers running now.</summary>
    public int InFlight
    {
        get
        {
            lock (_gate)
            {
                return _inFlight.Count;
            }
        }
    }

    /// <summary>Requests discarded because <see cref="MaxInFlight"/> handlers were already running.</summary>
    public long DroppedRequests => Interlocked.Read(ref _dropped);

    /// <summary>Handlers that ended with an exception other than cancellation (a responder or transport fault).</summary>
    public long Faults => Interlocked.Read(ref _faults);

    /// <summary>Starts a handler for <paramref name="request"/> without waiting for it. Returns false, and drops the
    /// request, when the bound is reached or the dispatcher is stopping.</summary>
    public bool TryDispatch(MctpEndpointAddress source, byte[] request, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> respond)
    {
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task task;
        lock (_gate)
        {
            if (_stop.IsCancellationRequested || _inFlight.Count >= MaxInFlight)
            {
                Interlocked.Increment(ref _dropped);
                return false;
            }

            // Registered before it runs, so a fast handler cannot finish before it is counted.
            task = RunAsync(start.Task, source, request, respond);
            _inFlight.Add(task);
        }

        _ = task.ContinueWith(Forget, this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        start.SetResult();
        return true;
    }

    private async Task RunAsync(Task start, MctpEndpointAddress source, byte[] request, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> respond)
    {
        await start.ConfigureAwait(false);
        try
        {
            await Task.Yield(); // off the receive loop's thread
            await _responder.HandleAsync(source, request, respond, _stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception)
        {
            // One bad request must not take the host down or surface as an unobserved task exception.
            Interlocked.Increment(ref _faults);
        }
    }

    private static void Forget(Task task, object? state)
    {
        var self = (MctpResponderDispatcher)state!;
        lock (self._gate)
        {
            self._inFlight.Remove(task);
        }
    }

    /// <summary>Cancels the handlers still running and waits for them.</summary>
    public async ValueTask DisposeAsync()
    {
        Task[] pending;
        lock (_gate)
        {
            _stop.Cancel();
            pending = [.. _inFlight];
        }

        try
        {
            await Task.WhenAll(pending).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Handler outcomes are counted in Faults; nothing more to report on shutdown.
        }

        _stop.Dispose();
    }
}
