using System.Collections.Concurrent;
using System.Threading.Channels;

namespace NvmePS.Engine.Mctp;

/// <summary>
/// An MCTP "network" inside the process: responders registered by address answer exchanges directly. Behaves like
/// a tagged transport (each exchange sees only its own responses, several exchanges may run at once) and honours
/// the given <see cref="TimeProvider"/> for receive timeouts so tests can run on a fake clock.
/// </summary>
public sealed class InProcessMctpTransport : IMctpTransport, IMctpEventSource
{
    private readonly ConcurrentDictionary<MctpEndpointAddress, IMctpResponder> _endpoints = new();
    private readonly ConcurrentDictionary<Listener, MctpEndpointAddress> _listeners = new();
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _closed = new();

    public InProcessMctpTransport(TimeProvider? timeProvider = null, byte localEid = 8)
    {
        _time = timeProvider ?? TimeProvider.System;
        LocalEid = localEid;
    }

    /// <summary>The EID requests appear to come from.</summary>
    public byte LocalEid { get; }

    public string Name => "in-process";

    /// <summary>Makes <paramref name="responder"/> reachable at <paramref name="address"/>.</summary>
    public void Register(MctpEndpointAddress address, IMctpResponder responder) => _endpoints[address] = responder;

    public void Unregister(MctpEndpointAddress address) => _endpoints.TryRemove(address, out _);

    public ValueTask<IMctpExchange> OpenExchangeAsync(MctpEndpointAddress peer, byte messageType, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(_closed.IsCancellationRequested, this);
        if (!_endpoints.TryGetValue(peer, out var responder) &&
            !(peer.Network == 0 && TryFindAnyNetwork(peer.Eid, out responder)))
        {
            throw new NvmeConnectionException($"No MCTP route to {peer} (in-process network has no such endpoint).");
        }

        return ValueTask.FromResult<IMctpExchange>(new Exchange(this, peer, responder!));
    }

    private bool TryFindAnyNetwork(byte eid, out IMctpResponder? responder)
    {
        foreach (var kv in _endpoints)
        {
            if (kv.Key.Eid == eid)
            {
                responder = kv.Value;
                return true;
            }
        }

        responder = null;
        return false;
    }

    public ValueTask DisposeAsync()
    {
        _closed.Cancel();
        return ValueTask.CompletedTask;
    }

    public ValueTask<IMctpListener> ListenAsync(MctpEndpointAddress peer, byte messageType, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(_closed.IsCancellationRequested, this);
        var listener = new Listener(this, peer);
        _listeners[listener] = peer;
        return ValueTask.FromResult<IMctpListener>(listener);
    }

    /// <summary>The sender the endpoint at <paramref name="endpoint"/> uses for its own messages: every requester on
    /// this network is at <see cref="LocalEid"/>, and each listener for that endpoint gets a copy.</summary>
    public MctpUnsolicitedSender SenderFor(MctpEndpointAddress endpoint) => (destination, message, ct) =>
    {
        ct.ThrowIfCancellationRequested();
        foreach (var (listener, peer) in _listeners)
        {
            if (peer == endpoint || (peer.Network == 0 && peer.Eid == endpoint.Eid))
            {
                listener.Deliver(message.ToArray());
            }
        }

        return ValueTask.CompletedTask;
    };

    /// <summary>The next message of <paramref name="messages"/>, within <paramref name="timeout"/> on the network's clock.</summary>
    private static async ValueTask<int> ReadAsync(InProcessMctpTransport owner, Channel<byte[]> messages, MctpEndpointAddress peer, Memory<byte> buffer, TimeSpan timeout,
        CancellationToken cancellationToken, CancellationToken closed, string timeoutMessage)
    {
        using var timer = new CancellationTokenSource(timeout, owner._time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timer.Token, cancellationToken, closed);
        byte[] message;
        try
        {
            message = await messages.Reader.ReadAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timer.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new NvmeTimeoutException(timeoutMessage);
        }

        if (message.Length > buffer.Length)
        {
            throw new NvmeProtocolException($"MCTP message of {message.Length} bytes from {peer} exceeds the {buffer.Length}-byte receive buffer.");
        }

        message.CopyTo(buffer);
        return message.Length;
    }

    private sealed class Listener : IMctpListener
    {
        private readonly InProcessMctpTransport _owner;
        private readonly MctpEndpointAddress _peer;
        private readonly Channel<byte[]> _messages = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(64) { FullMode = BoundedChannelFullMode.DropOldest });

        public Listener(InProcessMctpTransport owner, MctpEndpointAddress peer)
        {
            _owner = owner;
            _peer = peer;
        }

        public void Deliver(byte[] message) => _messages.Writer.TryWrite(message);

        public ValueTask<int> ReceiveAsync(Memory<byte> buffer, TimeSpan timeout, CancellationToken cancellationToken) =>
            ReadAsync(_owner, _messages, _peer, buffer, timeout, cancellationToken, _owner._closed.Token, $"No message from {_peer} within {timeout.TotalMilliseconds:0} ms.");

        public ValueTask DisposeAsync()
        {
            _owner._listeners.TryRemove(this, out _);
            _messages.Writer.TryComplete();
            return ValueTask.CompletedTask;
        }
    }

    private sealed class Exchange : IMctpExchange
    {
        private readonly InProcessMctpTransport _owner;
        private readonly MctpEndpointAddress _peer;
        private readonly IMctpResponder _responder;
        private readonly Channel<byte[]> _responses = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(16) { FullMode = BoundedChannelFullMode.DropOldest });
        private readonly CancellationTokenSource _done;

        public Exchange(InProcessMctpTransport owner, MctpEndpointAddress peer, IMctpResponder responder)
        {
            _owner = owner;
            _peer = peer;
            _responder = responder;
            _done = CancellationTokenSource.CreateLinkedTokenSource(owner._closed.Token);
        }

        public bool HoldsTag => true;

        public ValueTask SendAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            byte[] copy = message.ToArray();
            var source = new MctpEndpointAddress(_peer.Network, _owner.LocalEid);
            var token = _done.Token;
            // The responder runs detached, like a device: it may answer later, or more than once (MPR).
            _ = Task.Run(async () =>
            {
                try
                {
                    await _responder.HandleAsync(source, copy, (resp, ct) =>
                    {
                        _responses.Writer.TryWrite(resp.ToArray());
                        return ValueTask.CompletedTask;
                    }, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                }
            }, CancellationToken.None);
            return ValueTask.CompletedTask;
        }

        public ValueTask<int> ReceiveAsync(Memory<byte> buffer, TimeSpan timeout, CancellationToken cancellationToken) =>
            ReadAsync(_owner, _responses, _peer, buffer, timeout, cancellationToken, _done.Token, $"No MCTP response from {_peer} within {timeout.TotalMilliseconds:0} ms.");

        public ValueTask DisposeAsync()
        {
            _done.Cancel();
            _done.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
