using System.Net;
using System.Net.Sockets;

namespace NvmePS.Engine.Tests.Fabrics.Oracle;

/// <summary>One chunk of bytes as it crossed the proxy: which connection, which direction, in global arrival order.</summary>
internal sealed record RecordedChunk(int Stream, bool FromHost, byte[] Bytes);

/// <summary>
/// A loopback TCP relay between our host and our controller that records every byte each side sends, in causal order
/// (a chunk is recorded before it is forwarded, so an answer is always recorded after what caused it). The recording is
/// turned into a pcap with synthetic TCP/IP framing for tshark: no capture privileges needed, and neither side is changed.
/// </summary>
internal sealed class RecordingProxy : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly IPEndPoint _target;
    private readonly List<RecordedChunk> _chunks = [];
    private readonly List<Task> _pumps = [];
    private readonly List<Socket> _sockets = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accept;
    private int _streams;

    public RecordingProxy(IPEndPoint target)
    {
        _target = target;
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(16);
        EndPoint = (IPEndPoint)_listener.LocalEndPoint!;
        _accept = AcceptLoopAsync();
    }

    /// <summary>Where the host connects.</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>A snapshot of what was recorded so far.</summary>
    public IReadOnlyList<RecordedChunk> Chunks
    {
        get
        {
            lock (_chunks)
            {
                return [.. _chunks];
            }
        }
    }

    /// <summary>Connections relayed so far.</summary>
    public int StreamCount => Volatile.Read(ref _streams);

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket host;
            try
            {
                host = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            var ctrl = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            host.NoDelay = true;
            try
            {
                await ctrl.ConnectAsync(_target, _stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException)
            {
                host.Dispose();
                ctrl.Dispose();
                continue;
            }

            int stream = Interlocked.Increment(ref _streams) - 1;
            lock (_sockets)
            {
                _sockets.Add(host);
                _sockets.Add(ctrl);
                _pumps.Add(PumpAsync(stream, true, host, ctrl));
                _pumps.Add(PumpAsync(stream, false, ctrl, host));
            }
        }
    }

    private async Task PumpAsync(int stream, bool fromHost, Socket from, Socket to)
    {
        byte[] buffer = new byte[60000];
        try
        {
            while (true)
            {
                int n = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (n == 0)
                {
                    break;
                }

                lock (_chunks)
                {
                    _chunks.Add(new RecordedChunk(stream, fromHost, buffer[..n]));
                }

                int sent = 0;
                while (sent < n)
                {
                    sent += await to.SendAsync(buffer.AsMemory(sent, n - sent), SocketFlags.None, _stop.Token);
                }
            }

            to.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            try
            {
                to.Close(0);
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Dispose();
        await _accept;
        Task[] pumps;
        lock (_sockets)
        {
            foreach (var s in _sockets)
            {
                s.Dispose();
            }

            pumps = [.. _pumps];
        }

        await Task.WhenAll(pumps);
        _stop.Dispose();
    }
}
