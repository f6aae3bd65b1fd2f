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

    /// <summary>Waits for the next AEM of a new generation and returns it; a retransmission of the last generation
    /// is acknowledged again (its acknowledgement was evidently lost) and skipped. With
    /// <paramref name="acknowledge"/> the AEM is acknowledged before it is returned.</summary>
    /// <exception cref="NvmeTimeoutException">No new AEM within <paramref name="timeout"/>.</exception>
    public async Task<NvmeMiAsyncEventMessage> ReceiveAsync(TimeSpan timeout, bool acknowledge = true, CancellationToken cancellationToken = default)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(NvmeMiCodec.MaxMessageSize + 64);
        try
        {
            long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
            while (true)
            {
                long left = Math.Max(1, deadline - Environment.TickCount64);
                int n = await _listener.ReceiveAsync(buffer, TimeSpan.FromMilliseconds(left), cancellationToken).ConfigureAwait(false);
                if (!AsyncEventMessageCodec.TryRead(buffer.AsSpan(0, n), out var aem, out string? error))
                {
                    Interlocked.Increment(ref _malformed);
                    LastError = error;
                    continue;
                }

                bool duplicate = aem!.Generation == _lastGeneration;
                if (duplicate)
                {
                    Interlocked.Increment(ref _duplicates);
                }

                if (acknowledge)
                {
                    await _endpoint.AcknowledgeAsyncEventAsync(cancellationToken).ConfigureAwait(false);
                }

                if (duplicate)
                {
                    continue;
                }

                _lastGeneration = aem.Generation;
                return aem;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public ValueTask DisposeAsync() => _listener.DisposeAsync();
}
