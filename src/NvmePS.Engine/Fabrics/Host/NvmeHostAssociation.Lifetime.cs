using NvmePS.Engine.Admin;

namespace NvmePS.Engine.Fabrics.Host;

/// <summary>Keep-alive, association failure and disposal.</summary>
public sealed partial class NvmeHostAssociation
{
    private async Task KeepAliveLoopAsync()
    {
        var interval = Parameters.KeepAliveTimeout / 2;
        var token = _lifetime.Token;
        try
        {
            while (!token.IsCancellationRequested)
            {
                await Task.Delay(interval, token).ConfigureAwait(false);
                using var deadline = CancellationTokenSource.CreateLinkedTokenSource(token);
                deadline.CancelAfter(Parameters.KeepAliveTimeout);
                try
                {
                    var r = await AdminQueue.ExecuteAsync(NvmeAdminCommands.KeepAlive(), default, default, deadline.Token).ConfigureAwait(false);
                    ThrowIfError(r.Completion, NvmeCommandContext.Admin, "Keep Alive");
                }
                catch (OperationCanceledException) when (!token.IsCancellationRequested)
                {
                    throw new NvmeTimeoutException($"Keep Alive got no answer within KATO ({Parameters.KeepAliveTimeout.TotalSeconds:0.#} s).");
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Closing.
        }
        catch (Exception e)
        {
            // The controller is gone or broken: end the whole association so every caller learns it.
            var reason = e is NvmeException ? e : new NvmeConnectionException("Keep Alive failed.", e);
            // I/O queues first, so none reports the close that failing the admin queue causes instead of this reason.
            foreach (var q in IoQueues)
            {
                q.Fail(reason);
            }

            AdminQueue.Fail(reason);
        }
    }

    /// <summary>Ends the association: I/O queues closed, normal shutdown (CC.SHN) when the controller was enabled, admin queue closed.</summary>
    public async Task DisconnectAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _lifetime.Cancel();
        await AwaitQuietly(_keepAlive).ConfigureAwait(false);
        foreach (var q in IoQueues)
        {
            await q.DisposeAsync().ConfigureAwait(false);
        }

        try
        {
            if (Parameters.EnableController && AdminQueue.Failure is null)
            {
                await ShutdownAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            await AdminQueue.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task CloseAsync(bool shutdown)
    {
        if (shutdown)
        {
            await DisconnectAsync(CancellationToken.None).ConfigureAwait(false);
            return;
        }

        Interlocked.Exchange(ref _disposed, 1);
        _lifetime.Cancel();
        await AwaitQuietly(_keepAlive).ConfigureAwait(false);
        foreach (var q in IoQueues)
        {
            await q.DisposeAsync().ConfigureAwait(false);
        }

        await AdminQueue.DisposeAsync().ConfigureAwait(false);
    }

    private static async Task AwaitQuietly(Task t)
    {
        try
        {
            await t.ConfigureAwait(false);
        }
        catch (Exception e) when (e is NvmeException or OperationCanceledException)
        {
            // Reported elsewhere.
        }
    }

    /// <summary>Disconnects; a failed shutdown is not raised (use <see cref="DisconnectAsync"/> to see it).</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            using var cts = new CancellationTokenSource(Parameters.ShutdownTimeout + TimeSpan.FromSeconds(1));
            await DisconnectAsync(cts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NvmeException or OperationCanceledException)
        {
            // Best effort.
        }

        _lifetime.Dispose();
    }
}
