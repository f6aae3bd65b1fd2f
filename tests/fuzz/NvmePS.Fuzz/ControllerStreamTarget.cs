using System.Net;
using System.Net.Sockets;
using NvmePS.Engine.Fabrics;
using NvmePS.Engine.Fabrics.Controller;
using NvmePS.Engine.Fabrics.Controller.Tcp;

namespace NvmePS.Fuzz;

/// <summary>The controller's whole state machine: each input is everything a host sends on one connection (ICReq,
/// Connect, commands, data PDUs in any order), written to a real loopback socket of an in-process target, which must
/// answer and close as the specification says. Invariants: the target closes the connection once the host stops
/// sending (nothing waits forever), no connection ends in an exception the target did not expect, and the target keeps
/// accepting connections afterwards.</summary>
public sealed class ControllerStreamTarget : FuzzTarget
{
    public const string TargetName = "controller-stream";
    public const string SubsystemNqn = "nqn.2024-01.io.nvmeps:fuzz";
    public const string HostNqn = "nqn.2024-01.io.nvmeps:fuzz-host";

    private readonly NvmeTarget _target;
    private readonly NvmeTcpTarget _tcp;
    private readonly IPEndPoint _endpoint;
    private readonly byte[] _drain = new byte[64 * 1024];

    public ControllerStreamTarget()
    {
        (_target, _tcp, _endpoint) = StartTarget();
    }

    public const string Summary = "the controller's state machine, fed whole host byte streams over loopback TCP";

    public const int MaxInputLength = 65536;

    internal IPEndPoint Endpoint => _endpoint;

    /// <summary>The target every stream target and the seed recorder use: one subsystem with a 1 MiB memory namespace,
    /// open to any host, and short deadlines so an unfinished PDU or Connect ends quickly.</summary>
    internal static (NvmeTarget Target, NvmeTcpTarget Tcp, IPEndPoint Endpoint) StartTarget()
    {
        var target = new NvmeTarget(new NvmeTargetOptions { MaxH2CData = 16 * 1024, SanitizeTime = TimeSpan.FromMilliseconds(50), SelfTestShortTime = TimeSpan.FromMilliseconds(50) });
        var subsystem = target.AddSubsystem(SubsystemNqn, allowAnyHost: true);
        subsystem.AddMemoryNamespace(1 << 20, 512);
        var tcp = new NvmeTcpTarget(target) { InitializeTimeout = TimeSpan.FromSeconds(2), ConnectTimeout = TimeSpan.FromSeconds(2) };
        tcp.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0)).GetAwaiter().GetResult();
        return (target, tcp, tcp.LocalEndPoints[0]);
    }

    public override void Run(ReadOnlySpan<byte> input)
    {
        long terminations = _tcp.ProtocolTerminations, faults = _tcp.FaultedConnections;
        Send(input);

        // The target counts a connection that ended in an exception it did not expect (and keeps serving the
        // others): for the fuzzer that is a finding, read once the connection is gone.
        // Yielding, not sleeping: the connection is normally gone microseconds after its socket closed.
        long started = Environment.TickCount64;
        while (_tcp.ActiveConnections != 0)
        {
            if (Environment.TickCount64 - started > HangBound.TotalMilliseconds)
            {
                throw new FuzzHangException($"the target still held the connection {HangBound.TotalSeconds:0} s after closing it");
            }

            Thread.Yield();
        }

        Check(_tcp.FaultedConnections == faults, "a connection ended in an unexpected exception (NvmeTcpTarget.FaultedConnections)");
        if (Verbose)
        {
            Console.Error.WriteLine($"  target: {_tcp.ProtocolTerminations - terminations} protocol termination(s), {_tcp.FaultedConnections - faults} faulted connection(s)");
        }
    }

    private void Send(ReadOnlySpan<byte> input)
    {
        using var socket = new Socket(System.Net.Sockets.AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        socket.Connect(_endpoint);
        try
        {
            socket.Send(input);
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException)
        {
            // The target closed first (a termination request, then close): what it sent is still read below.
        }

        // Everything the target says until it closes; past the bound, the target was left waiting.
        socket.ReceiveTimeout = (int)HangBound.TotalMilliseconds;
        try
        {
            while (socket.Receive(_drain) > 0)
            {
            }
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut || e.SocketErrorCode == SocketError.WouldBlock)
        {
            throw new FuzzHangException($"the target kept the connection open {HangBound.TotalSeconds:0} s after the host stopped sending");
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _tcp.DisposeAsync().AsTask().GetAwaiter().GetResult();
            _target.Dispose();
        }
    }
}
