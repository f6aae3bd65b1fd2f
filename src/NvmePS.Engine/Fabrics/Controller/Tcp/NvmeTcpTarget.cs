using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using NvmePS.Engine.Fabrics.Tcp;

namespace NvmePS.Engine.Fabrics.Controller.Tcp;

/// <summary>
/// The NVMe/TCP target: listens on one or more endpoints and serves every connection as one queue of an
/// <see cref="NvmeTarget"/> association (ICReq/ICResp, Fabrics Connect, then commands with in-capsule data, R2T/H2CData
/// and C2HData). Many hosts and many commands per queue are served at once; a connection that breaks the protocol gets
/// a C2HTermReq and is closed without disturbing any other.
/// </summary>
/// <example>
/// <code>
/// using var target = new NvmeTarget();
/// var sub = target.AddSubsystem("nqn.2026-01.io.example:disk1");
/// sub.AllowHost("nqn.2014-08.org.nvmexpress:uuid:...");
/// sub.AddMemoryNamespace(1L &lt;&lt; 30);
/// await using var tcp = new NvmeTcpTarget(target);
/// var port = await tcp.ListenAsync(new IPEndPoint(IPAddress.Loopback, 4420));
/// </code>
/// </example>
public sealed class NvmeTcpTarget : IAsyncDisposable
{
    private readonly ConcurrentDictionary<long, NvmeTcpTargetConnection> _connections = new();
    private readonly Dictionary<IPAddress, int> _perHost = [];
    private readonly List<(Socket Listener, NvmeTargetPort Port, Task AcceptLoop)> _listeners = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly object _lock = new();
    private long _nextConnectionId;
    private long _acceptedTotal;
    private long _refusedTotal;
    private long _terminatedTotal;
    private long _faultedTotal;

    public NvmeTcpTarget(NvmeTarget target, bool allowHeaderDigest = true, bool allowDataDigest = true)
    {
        ArgumentNullException.ThrowIfNull(target);
        Target = target;
        AllowHeaderDigest = allowHeaderDigest;
        AllowDataDigest = allowDataDigest;
    }

    public NvmeTarget Target { get; }

    /// <summary>Grant header digests to hosts that ask for them.</summary>
    public bool AllowHeaderDigest { get; }

    /// <summary>Grant data digests to hosts that ask for them.</summary>
    public bool AllowDataDigest { get; }

    /// <summary>How long a new connection may take to send ICReq before it is closed.</summary>
    public TimeSpan InitializeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long an initialized connection may take to complete a Fabrics Connect before it is closed.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Connections currently open.</summary>
    public int ActiveConnections => _connections.Count;

    /// <summary>Connections accepted since start.</summary>
    public long AcceptedConnections => Interlocked.Read(ref _acceptedTotal);

    /// <summary>Connections closed at once because <see cref="NvmeTargetOptions.MaxConnections"/> or
    /// <see cref="NvmeTargetOptions.MaxConnectionsPerHost"/> was reached.</summary>
    public long RefusedConnections => Interlocked.Read(ref _refusedTotal);

    /// <summary>Connections ended by a protocol violation (after a C2HTermReq).</summary>
    public long ProtocolTerminations => Interlocked.Read(ref _terminatedTotal);

    /// <summary>Connections ended by an unexpected fault in the target (a bug, not a peer's doing); should stay 0.</summary>
    public long FaultedConnections => Interlocked.Read(ref _faultedTotal);

    /// <summary>The endpoints being listened on.</summary>
    public IReadOnlyList<IPEndPoint> LocalEndPoints
    {
        get
        {
            lock (_lock)
            {
                return [.. _listeners.Select(l => (IPEndPoint)l.Listener.LocalEndPoint!)];
            }
        }
    }

    /// <summary>Linux SOL_SOCKET and SO_REUSEADDR (asm-generic/socket.h).</summary>
    private const int LinuxSolSocket = 1;
    private const int LinuxSoReuseAddr = 2;

    /// <summary>
    /// Starts listening on <paramref name="endpoint"/> (port 0 picks a free port) and registers it as a port of the
    /// discovery log (<paramref name="discoveryOnly"/>: a port that serves only the discovery controller). Only loopback addresses are accepted unless <paramref name="allowNonLoopback"/>. A port another
    /// listener holds fails with <see cref="SocketException"/> AddressAlreadyInUse.
    /// </summary>
    public Task<NvmeTargetPort> ListenAsync(IPEndPoint endpoint, bool allowNonLoopback = false, int backlog = 128, bool discoveryOnly = false)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ObjectDisposedException.ThrowIf(_stopping.IsCancellationRequested, this);
        if (!allowNonLoopback && !IPAddress.IsLoopback(endpoint.Address))
        {
            throw new ArgumentException($"{endpoint.Address} is not a loopback address; pass allowNonLoopback to serve other networks.", nameof(endpoint));
        }

        var listener = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // Not SocketOptionName.ReuseAddress: on Linux .NET maps it to SO_REUSEADDR *and* SO_REUSEPORT, so a second
            // listener on the same port would bind silently and the kernel would split the connections between them.
            // Plain SO_REUSEADDR keeps restarting on a port with TIME_WAIT connections possible and still refuses a
            // second listener.
            if (OperatingSystem.IsLinux())
            {
                listener.SetRawSocketOption(LinuxSolSocket, LinuxSoReuseAddr, BitConverter.GetBytes(1));
            }

            listener.Bind(endpoint);
            listener.Listen(backlog);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            listener.Dispose();
            throw new SocketException((int)SocketError.AddressAlreadyInUse, $"Cannot listen on {endpoint}: the address is already in use (another listener holds this port).");
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        var local = (IPEndPoint)listener.LocalEndPoint!;
        var port = new NvmeTargetPort(Target.NextPortId(), TransportType.Tcp,
            local.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? AddressFamily.IPv6 : AddressFamily.IPv4,
            local.Address.ToString(), local.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), discoveryOnly);
        Target.AddPort(port);
        lock (_lock)
        {
            _listeners.Add((listener, port, AcceptLoopAsync(listener, port)));
        }

        return Task.FromResult(port);
    }

    private async Task AcceptLoopAsync(Socket listener, NvmeTargetPort port)
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                // A connection reset before accept completed: keep listening.
                continue;
            }

            var address = (socket.RemoteEndPoint as IPEndPoint)?.Address ?? IPAddress.None;
            if (_connections.Count >= Target.Options.MaxConnections || !TryCountHost(address))
            {
                Interlocked.Increment(ref _refusedTotal);
                socket.Close(0);
                continue;
            }

            Interlocked.Increment(ref _acceptedTotal);
            long id = Interlocked.Increment(ref _nextConnectionId);
            var connection = new NvmeTcpTargetConnection(this, socket, port, _stopping.Token);
            _connections[id] = connection;
            _ = RunConnectionAsync(id, connection, address);
        }
    }

    /// <summary>Counts one more connection from <paramref name="address"/>, unless it holds
    /// <see cref="NvmeTargetOptions.MaxConnectionsPerHost"/> already.</summary>
    private bool TryCountHost(IPAddress address)
    {
        lock (_perHost)
        {
            _perHost.TryGetValue(address, out int open);
            if (open >= Target.Options.MaxConnectionsPerHost)
            {
                return false;
            }

            _perHost[address] = open + 1;
            return true;
        }
    }

    private void UncountHost(IPAddress address)
    {
        lock (_perHost)
        {
            if (_perHost.TryGetValue(address, out int open) && open > 1)
            {
                _perHost[address] = open - 1;
            }
            else
            {
                _perHost.Remove(address);
            }
        }
    }

    /// <summary>Bytes of receive and send buffers the open connections hold now (idle ones give theirs back).</summary>
    internal long ConnectionBufferBytes => _connections.Values.Sum(c => (long)c.BufferBytes);

    /// <summary>Connections open at once from <paramref name="address"/>.</summary>
    public int ConnectionsFrom(IPAddress address)
    {
        lock (_perHost)
        {
            return _perHost.TryGetValue(address, out int open) ? open : 0;
        }
    }

    private async Task RunConnectionAsync(long id, NvmeTcpTargetConnection connection, IPAddress address)
    {
        try
        {
            bool protocolError = await connection.RunAsync().ConfigureAwait(false);
            if (protocolError)
            {
                Interlocked.Increment(ref _terminatedTotal);
            }
        }
#pragma warning disable CA1031 // One connection's unexpected fault must not reach the process; it is counted instead.
        catch (Exception)
        {
            Interlocked.Increment(ref _faultedTotal);
        }
#pragma warning restore CA1031
        finally
        {
            _connections.TryRemove(id, out _);
            UncountHost(address);
        }
    }

    /// <summary>Stops listening and closes every connection (their associations end).</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        _stopping.Cancel();
        (Socket Listener, NvmeTargetPort Port, Task AcceptLoop)[] listeners;
        lock (_lock)
        {
            listeners = [.. _listeners];
            _listeners.Clear();
        }

        foreach (var l in listeners)
        {
            l.Listener.Dispose();
            Target.RemovePort(l.Port.PortId);
        }

        foreach (var l in listeners)
        {
            await l.AcceptLoop.ConfigureAwait(false);
        }

        var running = _connections.Values.ToArray();
        foreach (var c in running)
        {
            c.Abort();
        }

        foreach (var c in running)
        {
            await c.Completion.ConfigureAwait(false);
        }

        _stopping.Dispose();
    }
}
