using System.Buffers;
using NvmePS.Engine.Mctp;

namespace NvmePS.Engine.Mi;

/// <summary>
/// An endpoint's Asynchronous Event Messages as they arrive: each is validated (MIC, ROR clear, NMIMT 5, every length
/// of the occurrence list) and a retransmission of the generation already received is recognised. Malformed messages
/// are counted and skipped, never thrown at the caller: a bad AEM must not end a watch.
/// </summary>
public sealed class NvmeMiEventListener : IAsyncDisposable
{
    private readonly NvmeMiEndpoint _endpoint;
    private readonly IMctpListener _listener;
    private int _lastGeneration = -1;
    private long _lastDuplicateAck = long.MinValue / 2;
    private long _malformed;
    private long _duplicates;

    internal NvmeMiEventListener(NvmeMiEndpoint endpoint, IMctpListener listener)
    {
        _endpoint = endpoint;
        _listener = listener;
    }

    /// <summary>AEMs dropped because they failed validation.</summary>
    public long MalformedMessages => Interlocked.Read(ref _malformed);

    /// <summary>Retransmissions of a generation already received (the endpoint missed the acknowledgement).</summary>
    public long DuplicateMessages => Interlocked.Read(ref _duplicates);

    /// <summary>Records a generation the caller already has (from the occurrence list of an enable's response), so
    /// a retransmission of it is not reported again.</summary>
    public void MarkSeen(byte generation) => _lastGeneration = generation;

    /// <summary>The reason the last malformed AEM was dropped.</summary>
    public string? LastError { get; private set; }

    /// <summary>Why the last acknowledgement failed (the AEM was still returned), or null.</summary>
    public string? LastAcknowledgeError { get; private set; }

    /// <summary>
    /// Waits for the next AEM of a new generation and returns it, or null when none came within
    /// <paramref name="timeout"/> (malformed messages, oversized ones and retransmissions do not extend the wait).
    /// A retransmission of the last generation is acknowledged again, at most once a second (its acknowledgement was
    /// evidently lost), and skipped. With <paramref name="acknowledge"/> a new AEM is acknowledged before it is
    /// returned; a failed acknowledgement is recorded in <see cref="LastAcknowledgeError"/>, never thrown, so the
    /// AEM is not lost with it.
    /// </summary>
    public async Task<NvmeMiAsyncEventMessage?> TryReceiveAsync(TimeSpan timeout, bool acknowledge = true, CancellationToken cancellationToken = default)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(NvmeMiCodec.MaxMessageSize + 64);
        try
        {
            long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
            while (true)
            {
                long left = deadline - Environment.TickCount64;
                if (left <= 0)
                {
                    return null;
                }

                int n;
                try
                {
                    n = await _listener.ReceiveAsync(buffer, TimeSpan.FromMilliseconds(left), cancellationToken).ConfigureAwait(false);
                }
                catch (NvmeTimeoutException)
                {
                    return null;
                }
                catch (NvmeProtocolException e)
                {
                    // Too large for any AEM; the transport has consumed it.
                    Interlocked.Increment(ref _malformed);
                    LastError = e.Message;
                    continue;
                }

                if (!AsyncEventMessageCodec.TryRead(buffer.AsSpan(0, n), out var aem, out string? error))
                {
                    Interlocked.Increment(ref _malformed);
                    LastError = error;
                    continue;
                }

                if (aem!.Generation == _lastGeneration)
                {
                    Interlocked.Increment(ref _duplicates);
                    if (acknowledge && Environment.TickCount64 - _lastDuplicateAck >= 1000)
                    {
                        _lastDuplicateAck = Environment.TickCount64;
                        await TryAcknowledgeAsync(cancellationToken).ConfigureAwait(false);
                    }

                    continue;
                }

                _lastGeneration = aem.Generation;
                if (acknowledge)
                {
                    await TryAcknowledgeAsync(cancellationToken).ConfigureAwait(false);
                }

                return aem;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>As <see cref="TryReceiveAsync"/>, but no AEM within <paramref name="timeout"/> is an error.</summary>
    /// <exception cref="NvmeTimeoutException">No new AEM within <paramref name="timeout"/>.</exception>
    public async Task<NvmeMiAsyncEventMessage> ReceiveAsync(TimeSpan timeout, bool acknowledge = true, CancellationToken cancellationToken = default) =>
        await TryReceiveAsync(timeout, acknowledge, cancellationToken).ConfigureAwait(false)
            ?? throw new NvmeTimeoutException($"No new asynchronous event message from {_endpoint.Address} within {timeout.TotalMilliseconds:0} ms.");

    private async Task TryAcknowledgeAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _endpoint.AcknowledgeAsyncEventAsync(cancellationToken).ConfigureAwait(false);
            LastAcknowledgeError = null;
        }
        catch (NvmeException e)
        {
            LastAcknowledgeError = e.Message;
        }
    }

    public ValueTask DisposeAsync() => _listener.DisposeAsync();
}
