using System.Net.Sockets;

namespace NvmePS.Engine.Mctp;

/// <summary>
/// The client protocol of OpenBMC libmctp's demux daemon (utils/mctp-demux-daemon.c): an AF_UNIX SOCK_SEQPACKET
/// socket, by default the abstract name "mctp-mux". The first packet a client sends is one byte, the message type
/// it registers for; after that every packet is [EID][MCTP message], in both directions (destination EID when the
/// client sends, source EID when the daemon delivers).
/// The daemon forwards a received message to clients whose registered byte equals the message's whole first byte,
/// IC bit included — so an NVMe-MI client must register 0x84 (type 4 with IC), not 4, or it never sees a response.
/// The protocol has no tags: responses are matched by source EID and type, one exchange at a time per connection.
/// </summary>
public static class MctpDemuxProtocol
{
    /// <summary>The daemon's default socket name (abstract namespace).</summary>
    public const string DefaultSocketName = "mctp-mux";

    /// <summary>Largest packet this implementation accepts: an NVMe-MI message (4224 bytes) plus EID and slack.</summary>
    public const int MaxPacket = 8192;

    /// <summary>An endpoint for <paramref name="name"/>: abstract unless it contains '/', a leading '@' also means abstract.</summary>
    public static UnixDomainSocketEndPoint EndPoint(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.Contains('/', StringComparison.Ordinal))
        {
            return new UnixDomainSocketEndPoint(name);
        }

        return new UnixDomainSocketEndPoint("\0" + name.TrimStart('@'));
    }
}

/// <summary>MCTP over the libmctp demux daemon (OpenBMC's userspace MCTP stack).</summary>
public sealed class MctpDemuxTransport : IMctpTransport, IMctpEventSource
{
    private readonly Socket _socket;
    private readonly SemaphoreSlim _exchangeLock = new(1, 1);
    private readonly string _socketName;

    private MctpDemuxTransport(Socket socket, string socketName, byte registeredType)
    {
        _socket = socket;
        _socketName = socketName;
        RegisteredType = registeredType;
    }

    /// <summary>The byte this connection registered with the daemon.</summary>
    public byte RegisteredType { get; }

    public string Name => $"mctp-demux @{_socketName}";

    /// <summary>Connects to the daemon and registers for <paramref name="registeredType"/> (default 0x84: NVMe-MI with IC).</summary>
    public static async Task<MctpDemuxTransport> ConnectAsync(string socketName = MctpDemuxProtocol.DefaultSocketName, byte registeredType = MctpMessageTypes.NvmeManagement | MctpMessageTypes.IntegrityCheck, CancellationToken cancellationToken = default)
    {
        if (registeredType == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(registeredType), "The daemon treats type 0 as a protocol error and closes the connection.");
        }

        var socket = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(MctpDemuxProtocol.EndPoint(socketName), cancellationToken).ConfigureAwait(false);
            await socket.SendAsync(new[] { registeredType }, SocketFlags.None, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new NvmeConnectionException($"Cannot connect to the MCTP demux daemon at '{socketName}': {ex.Message}", ex);
        }

        return new MctpDemuxTransport(socket, socketName, registeredType);
    }

    public async ValueTask<IMctpExchange> OpenExchangeAsync(MctpEndpointAddress peer, byte messageType, CancellationToken cancellationToken)
    {
        // The demux protocol has no tags: one exchange per connection at a time.
        await _exchangeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        DrainStale();
        return new Exchange(this, peer);
    }

    /// <summary>Without tags a late response (after a timeout, or a Replay) would be taken for the next one's; drop
    /// whatever is queued before a new exchange starts.</summary>
    private void DrainStale()
    {
        byte[] scratch = System.Buffers.ArrayPool<byte>.Shared.Rent(MctpDemuxProtocol.MaxPacket + 1);
        try
        {
            for (int i = 0; i < 64 && _socket.Available > 0; i++)
            {
                _socket.Receive(scratch, SocketFlags.None);
            }
        }
        catch (SocketException)
        {
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        _exchangeLock.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>A second connection to the daemon, registered for the same type: the daemon gives every client of a
    /// type every message of it, so the listener keeps the peer's own messages (ROR clear: NVMe-MI requests, such as
    /// AEMs) and skips the rest, while this connection's exchanges skip the AEMs.</summary>
    public async ValueTask<IMctpListener> ListenAsync(MctpEndpointAddress peer, byte messageType, CancellationToken cancellationToken)
    {
        var connection = await ConnectAsync(_socketName, RegisteredType, cancellationToken).ConfigureAwait(false);
        return new Listener(connection, peer);
    }

    private delegate bool PacketFilter(ReadOnlySpan<byte> packet);

    /// <summary>The next message from <paramref name="peerEid"/> that <paramref name="accept"/> takes (it sees the whole
    /// packet, EID first), copied into <paramref name="buffer"/> without the EID: its length, or the timeout (the
    /// caller did not cancel) or connection error a requester reports.</summary>
    private static async ValueTask<int> ReceiveFromAsync(Socket socket, byte peerEid, Memory<byte> buffer, TimeSpan timeout, CancellationToken cancellationToken,
        PacketFilter accept, string timeoutMessage)
    {
        byte[] packet = System.Buffers.ArrayPool<byte>.Shared.Rent(MctpDemuxProtocol.MaxPacket + 1);
        try
        {
            using var timer = new CancellationTokenSource(timeout);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(timer.Token, cancellationToken);
            while (true)
            {
                int n;
                try
                {
                    n = await socket.ReceiveAsync(packet.AsMemory(0, MctpDemuxProtocol.MaxPacket + 1), SocketFlags.None, linked.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (timer.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    throw new NvmeTimeoutException(timeoutMessage);
                }
                catch (SocketException ex)
                {
                    throw new NvmeConnectionException($"Receive from the MCTP demux daemon failed: {ex.Message}", ex);
                }

                if (n == 0)
                {
                    throw new NvmeConnectionException("The MCTP demux daemon closed the connection.");
                }

                if (n > MctpDemuxProtocol.MaxPacket)
                {
                    throw new NvmeProtocolException($"Demux packet larger than {MctpDemuxProtocol.MaxPacket} bytes.");
                }

                // Broadcast semantics: other endpoints' messages of our type reach us too; skip them.
                if (n < 2 || packet[0] != peerEid || !accept(packet.AsSpan(0, n)))
                {
                    continue;
                }

                int length = n - 1;
                if (length > buffer.Length)
                {
                    throw new NvmeProtocolException($"MCTP message of {length} bytes from EID {peerEid} exceeds the {buffer.Length}-byte receive buffer.");
                }

                packet.AsSpan(1, length).CopyTo(buffer.Span);
                return length;
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(packet);
        }
    }

    private sealed class Listener(MctpDemuxTransport connection, MctpEndpointAddress peer) : IMctpListener
    {
        // The peer's own NVMe-MI requests only (ROR clear): responses to anyone's commands are skipped.
        public ValueTask<int> ReceiveAsync(Memory<byte> buffer, TimeSpan timeout, CancellationToken cancellationToken) =>
            ReceiveFromAsync(connection._socket, peer.Eid, buffer, timeout, cancellationToken, packet => packet.Length >= 3 && (packet[2] & 0x80) == 0,
                $"No message from EID {peer.Eid} via the demux daemon within {timeout.TotalMilliseconds:0} ms.");

        public ValueTask DisposeAsync() => connection.DisposeAsync();
    }

    private sealed class Exchange : IMctpExchange
    {
        private readonly MctpDemuxTransport _owner;
        private readonly MctpEndpointAddress _peer;
        private byte[]? _sent;
        private int _disposed;

        public Exchange(MctpDemuxTransport owner, MctpEndpointAddress peer)
        {
            _owner = owner;
            _peer = peer;
        }

        public bool HoldsTag => true;

        // The daemon forwards each message to every client registered for the type (libmctp rx_message).
        public bool IsShared => true;

        public async ValueTask SendAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
        {
            byte[] packet = new byte[message.Length + 1];
            packet[0] = _peer.Eid;
            message.CopyTo(packet.AsMemory(1));
            _sent = packet;
            try
            {
                int sent = await _owner._socket.SendAsync(packet, SocketFlags.None, cancellationToken).ConfigureAwait(false);
                if (sent != packet.Length)
                {
                    throw new NvmeConnectionException($"Short send to the MCTP demux daemon ({sent} of {packet.Length} bytes).");
                }
            }
            catch (SocketException ex)
            {
                throw new NvmeConnectionException($"Send to the MCTP demux daemon failed: {ex.Message}", ex);
            }
        }

        // A message to the daemon's own EID is looped back to every client of its type, ours included: skip our own
        // request when it comes back.
        public ValueTask<int> ReceiveAsync(Memory<byte> buffer, TimeSpan timeout, CancellationToken cancellationToken) =>
            ReceiveFromAsync(_owner._socket, _peer.Eid, buffer, timeout, cancellationToken, packet => _sent is null || !packet.SequenceEqual(_sent),
                $"No MCTP response from EID {_peer.Eid} via the demux daemon within {timeout.TotalMilliseconds:0} ms.");

        public ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                _owner._exchangeLock.Release();
            }

            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>
/// The device side of the demux protocol: connects to a (real or compatible) demux daemon as a client, registers for
/// a message type, and answers the requests it receives — for an endpoint living behind an OpenBMC daemon, for
/// example the simulator answering at the daemon's own EID. Messages it cannot use (responses, its own looped-back
/// answers) are left to the responder, which drops what is not a request.
/// </summary>
public sealed class MctpDemuxResponderClient : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly MctpResponderDispatcher _dispatcher;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly Task _loop;

    private MctpDemuxResponderClient(Socket socket, IMctpResponder responder, int maxInFlight)
    {
        _socket = socket;
        _dispatcher = new MctpResponderDispatcher(responder, maxInFlight);
        _loop = Task.Run(Run);
    }

    /// <summary>The per-request dispatcher (in-flight count, dropped requests).</summary>
    public MctpResponderDispatcher Dispatcher => _dispatcher;

    /// <summary>Connects to <paramref name="socketName"/>, registers <paramref name="registeredType"/> and starts answering.</summary>
    public static async Task<MctpDemuxResponderClient> ConnectAsync(IMctpResponder responder, string socketName = MctpDemuxProtocol.DefaultSocketName, byte registeredType = MctpMessageTypes.NvmeManagement | MctpMessageTypes.IntegrityCheck, CancellationToken cancellationToken = default,
        int maxInFlight = MctpResponderDispatcher.DefaultMaxInFlight)
    {
        ArgumentNullException.ThrowIfNull(responder);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxInFlight, 1);
        var socket = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(MctpDemuxProtocol.EndPoint(socketName), cancellationToken).ConfigureAwait(false);
            await socket.SendAsync(new[] { registeredType }, SocketFlags.None, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new NvmeConnectionException($"Cannot connect to the MCTP demux daemon at '{socketName}': {ex.Message}", ex);
        }

        return new MctpDemuxResponderClient(socket, responder, maxInFlight);
    }

    private async Task Run()
    {
        byte[] buf = new byte[MctpDemuxProtocol.MaxPacket + 1];
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                int n = await _socket.ReceiveAsync(buf.AsMemory(), SocketFlags.None, _stop.Token).ConfigureAwait(false);
                if (n <= 0)
                {
                    return;
                }

                if (n < 2 || n > MctpDemuxProtocol.MaxPacket)
                {
                    continue;
                }

                byte source = buf[0];
                byte[] message = buf.AsSpan(1, n - 1).ToArray();
                // Concurrent and bounded, like a device: a slow command must not stop control primitives (Abort,
                // Get State) or other requesters; past the bound the request is discarded (review O-1).
                _dispatcher.TryDispatch(new MctpEndpointAddress(0, source), message, (resp, ct) => RespondAsync(source, resp, ct));
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async ValueTask RespondAsync(byte source, ReadOnlyMemory<byte> resp, CancellationToken ct)
    {
        byte[] packet = new byte[resp.Length + 1];
        packet[0] = source;
        resp.CopyTo(packet.AsMemory(1));
        await _sendLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            await _socket.SendAsync(packet, SocketFlags.None, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // The daemon went away; the requester times out, as it would on a real bus.
        }
        finally
        {
            _sendLock.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _dispatcher.DisposeAsync().ConfigureAwait(false);
        _socket.Dispose();
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }
}

/// <summary>
/// A daemon-compatible server for the demux protocol: accepts clients on the socket name, takes their type
/// registration, and routes [EID][message] packets. Endpoints "on the bus" behind it are local responders (the
/// simulator); a packet to the daemon's own EID is looped back to clients registered for its type, like the C daemon.
/// </summary>
public sealed class MctpDemuxDaemon : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly Dictionary<byte, IMctpResponder> _endpoints = new();
    private readonly List<Client> _clients = new();
    private readonly object _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;

    private MctpDemuxDaemon(Socket listener, string socketName, byte localEid)
    {
        _listener = listener;
        SocketName = socketName;
        LocalEid = localEid;
        _acceptLoop = Task.Run(AcceptLoop);
    }

    public string SocketName { get; }

    public byte LocalEid { get; }

    /// <summary>Number of connected clients (for tests and status).</summary>
    public int ClientCount
    {
        get
        {
            lock (_gate)
            {
                return _clients.Count;
            }
        }
    }

    /// <summary>Clients whose registration for <paramref name="type"/> the daemon has processed. The protocol has no
    /// acknowledgement, so a message sent before a client's registration is processed does not reach it.</summary>
    public int CountRegistered(byte type)
    {
        lock (_gate)
        {
            return _clients.Count(c => c.Type == type);
        }
    }

    /// <summary>Binds the socket name (abstract unless it contains '/') and starts serving.</summary>
    public static MctpDemuxDaemon Start(string socketName = MctpDemuxProtocol.DefaultSocketName, byte localEid = 8)
    {
        var listener = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        try
        {
            listener.Bind(MctpDemuxProtocol.EndPoint(socketName));
            listener.Listen(16);
        }
        catch (SocketException ex)
        {
            listener.Dispose();
            throw new NvmeConnectionException($"Cannot bind the MCTP demux socket '{socketName}': {ex.Message}", ex);
        }

        return new MctpDemuxDaemon(listener, socketName, localEid);
    }

    /// <summary>How the endpoint attached at <paramref name="eid"/> sends its own messages (AEMs): the daemon forwards
    /// them, as from <paramref name="eid"/>, to every client registered for the type, as rx_message does.</summary>
    public MctpUnsolicitedSender SenderFor(byte eid) => (destination, message, ct) => DeliverAsync(eid, message.ToArray());

    /// <summary>Puts an endpoint with <paramref name="eid"/> on the daemon's bus.</summary>
    public void AttachEndpoint(byte eid, IMctpResponder responder)
    {
        if (eid == LocalEid)
        {
            throw new ArgumentException("That EID is the daemon's own.", nameof(eid));
        }

        lock (_gate)
        {
            _endpoints[eid] = responder;
        }
    }

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket s;
            try
            {
                s = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            var client = new Client(s);
            lock (_gate)
            {
                _clients.Add(client);
            }

            _ = Task.Run(() => ClientLoop(client));
        }
    }

    private async Task ClientLoop(Client client)
    {
        byte[] buf = new byte[MctpDemuxProtocol.MaxPacket + 1];
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                int n = await client.Socket.ReceiveAsync(buf.AsMemory(), SocketFlags.None, _stop.Token).ConfigureAwait(false);
                if (n <= 0 || n > MctpDemuxProtocol.MaxPacket)
                {
                    return;
                }

                if (client.Type == 0)
                {
                    if (buf[0] == 0)
                    {
                        return; // type 0 is refused, as in the C daemon
                    }

                    client.Type = buf[0];
                    continue;
                }

                if (n < 2)
                {
                    continue;
                }

                byte eid = buf[0];
                byte[] message = buf.AsSpan(1, n - 1).ToArray();
                if (eid == LocalEid)
                {
                    await DeliverAsync(eid, message).ConfigureAwait(false);
                    continue;
                }

                IMctpResponder? responder;
                lock (_gate)
                {
                    _endpoints.TryGetValue(eid, out responder);
                }

                if (responder is null)
                {
                    continue; // the C daemon's tx_message fails quietly too: the client times out
                }

                _ = Task.Run(async () =>
                {
                    try
                    {
                        await responder.HandleAsync(new MctpEndpointAddress(0, LocalEid), message,
                            (resp, ct) => DeliverAsync(eid, resp.ToArray()), _stop.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                    }
                });
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            Remove(client);
        }
    }

    /// <summary>rx_message: forward [source EID][message] to every client registered for the message's first byte.</summary>
    private ValueTask DeliverAsync(byte sourceEid, byte[] message)
    {
        if (message.Length < 2)
        {
            return ValueTask.CompletedTask;
        }

        byte[] packet = new byte[message.Length + 1];
        packet[0] = sourceEid;
        message.CopyTo(packet, 1);
        Client[] targets;
        lock (_gate)
        {
            targets = _clients.Where(c => c.Type == message[0]).ToArray();
        }

        foreach (var c in targets)
        {
            if (!c.TrySend(packet))
            {
                Remove(c);
            }
        }

        return ValueTask.CompletedTask;
    }

    private void Remove(Client client)
    {
        lock (_gate)
        {
            _clients.Remove(client);
        }

        client.Socket.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        try
        {
            await _acceptLoop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        Client[] all;
        lock (_gate)
        {
            all = _clients.ToArray();
            _clients.Clear();
        }

        foreach (var c in all)
        {
            c.Socket.Dispose();
        }

        _stop.Dispose();
    }

    private sealed class Client
    {
        private readonly object _sendLock = new();
        private byte _type;

        public Client(Socket socket)
        {
            Socket = socket;
            // As the C daemon (accept4 SOCK_NONBLOCK): a client that stops reading is dropped, never waited for.
            Socket.Blocking = false;
        }

        public Socket Socket { get; }

        public byte Type
        {
            get => Volatile.Read(ref _type);
            set => Volatile.Write(ref _type, value);
        }

        /// <summary>Sends without blocking; false when the client's queue is full or the socket failed.</summary>
        public bool TrySend(byte[] packet)
        {
            lock (_sendLock)
            {
                try
                {
                    return Socket.Send(packet, SocketFlags.None, out var error) == packet.Length && error == SocketError.Success;
                }
                catch (ObjectDisposedException)
                {
                    return false;
                }
            }
        }
    }
}
