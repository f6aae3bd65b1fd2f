using System.Net.Sockets;
using NvmePS.Engine.Mctp;

namespace NvmePS.Engine.Tests.Mctp;

public sealed class MctpSocketStructTests
{
    [Fact]
    public void SockaddrMctp_is_12_bytes_laid_out_as_uapi_mctp_h()
    {
        byte[] b = new byte[SockaddrMctp.Size];
        new SockaddrMctp(0x01020304, 0x1D, 0x84, SockaddrMctp.TagOwner | SockaddrMctp.TagPrealloc | 3).WriteTo(b);
        // family 45 LE, pad, network LE, eid, type, tag, pad
        Assert.Equal("2D000000" + "04030201" + "1D" + "84" + "1B" + "00", Convert.ToHexString(b));
        Assert.True(SockaddrMctp.TryRead(b, out var back));
        Assert.Equal(new SockaddrMctp(0x01020304, 0x1D, 0x84, 0x1B), back);
        b[0] = 1; // AF_UNIX: not ours
        Assert.False(SockaddrMctp.TryRead(b, out _));
        Assert.False(SockaddrMctp.TryRead(b.AsSpan(0, 11), out _));
    }

    [Fact]
    public void SockaddrMctpExt_is_52_bytes_with_ifindex_halen_and_haddr()
    {
        byte[] b = new byte[SockaddrMctpExt.Size];
        new SockaddrMctpExt(new SockaddrMctp(1, 9, 4, 8), 7, [0x1D, 0x2E]).WriteTo(b);
        Assert.Equal("2D000000010000000904080007000000" + "02000000" + "1D2E" + new string('0', 60), Convert.ToHexString(b));
        Assert.True(SockaddrMctpExt.TryRead(b, out var back));
        Assert.Equal(7, back.InterfaceIndex);
        Assert.Equal(new byte[] { 0x1D, 0x2E }, back.HardwareAddress);
        b[16] = 33; // halen beyond MAX_ADDR_LEN
        Assert.False(SockaddrMctpExt.TryRead(b, out _));
    }

    [Fact]
    public void Tag_control_structs_and_ioctl_numbers_match_mctp_h()
    {
        byte[] v1 = new byte[MctpIocTagCtl.Size];
        new MctpIocTagCtl(0x1D, 0x1A, 0x0000).WriteTo(v1);
        Assert.Equal("1D1A0000", Convert.ToHexString(v1));

        byte[] v2 = new byte[MctpIocTagCtl2.Size];
        new MctpIocTagCtl2(0x00000002, 0x1D, 0x08, 0, 0x19).WriteTo(v2);
        // net u32, peer_addr, local_addr, flags u16, tag, 3 bytes padding (struct alignment 4)
        Assert.Equal("02000000" + "1D" + "08" + "0000" + "19" + "000000", Convert.ToHexString(v2));
        Assert.Equal(new MctpIocTagCtl2(2, 0x1D, 8, 0, 0x19), MctpIocTagCtl2.Read(v2));

        // SIOCPROTOPRIVATE (0x89E0) + 0..3
        Assert.Equal(0x89E0u, MctpIoctl.SiocMctpAllocTag);
        Assert.Equal(0x89E1u, MctpIoctl.SiocMctpDropTag);
        Assert.Equal(0x89E2u, MctpIoctl.SiocMctpAllocTag2);
        Assert.Equal(0x89E3u, MctpIoctl.SiocMctpDropTag2);
    }

    [Fact]
    public async Task AfMctp_without_kernel_support_fails_with_a_clear_error()
    {
        if (AfMctpTransport.IsSupported())
        {
            // A kernel with MCTP: opening an exchange must work (the kernel-VM issue exercises the rest).
            await using var t = new AfMctpTransport();
            await using var x = await t.OpenExchangeAsync(new MctpEndpointAddress(0, 9), 4, CancellationToken.None);
            return;
        }

        await using var transport = new AfMctpTransport();
        var ex = await Assert.ThrowsAsync<NvmeConnectionException>(async () => await transport.OpenExchangeAsync(new MctpEndpointAddress(1, 9), 4, CancellationToken.None));
        Assert.Contains("EAFNOSUPPORT", ex.Message, StringComparison.Ordinal);
        Assert.Contains("demux", ex.Message, StringComparison.Ordinal);
        var direct = await Assert.ThrowsAsync<NvmeConnectionException>(async () => await transport.OpenDirectExchangeAsync(new MctpEndpointAddress(1, 9), 3, [0x1D], 4, CancellationToken.None));
        Assert.Contains("EAFNOSUPPORT", direct.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => { _ = transport.OpenDirectExchangeAsync(new MctpEndpointAddress(1, 9), 3, new byte[33], 4, CancellationToken.None); });
        var host = Assert.Throws<NvmeConnectionException>(() => AfMctpResponderHost.Start(new EchoResponder()));
        Assert.Contains("AF_MCTP", host.Message, StringComparison.Ordinal);
    }

    internal sealed class EchoResponder : IMctpResponder
    {
        public async ValueTask HandleAsync(MctpEndpointAddress source, ReadOnlyMemory<byte> request, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> respond, CancellationToken cancellationToken)
        {
            byte[] r = request.ToArray();
            r[^1] ^= 0xFF; // a recognisable transformation
            await respond(r, cancellationToken);
        }
    }
}

/// <summary>The demux protocol over a real AF_UNIX SOCK_SEQPACKET socket (abstract namespace).</summary>
public sealed class MctpDemuxTests
{
    private static string UniqueName() => $"nvmeps-test-{Guid.NewGuid():N}";

    [Fact]
    public async Task Client_and_daemon_exchange_messages_framed_with_the_eid()
    {
        string name = UniqueName();
        await using var daemon = MctpDemuxDaemon.Start(name, localEid: 8);
        daemon.AttachEndpoint(0x1D, new MctpSocketStructTests.EchoResponder());
        await using var client = await MctpDemuxTransport.ConnectAsync(name);
        await using var x = await client.OpenExchangeAsync(new MctpEndpointAddress(0, 0x1D), 4, CancellationToken.None);
        await x.SendAsync(new byte[] { 0x84, 0x01, 0x02, 0x03 }, CancellationToken.None);
        byte[] buf = new byte[64];
        int n = await x.ReceiveAsync(buf, TimeSpan.FromSeconds(10), CancellationToken.None);
        Assert.Equal("840102FC", Convert.ToHexString(buf, 0, n));
    }

    [Fact]
    public async Task Raw_client_sees_the_exact_wire_format_and_registration_matches_the_whole_type_byte()
    {
        string name = UniqueName();
        await using var daemon = MctpDemuxDaemon.Start(name, localEid: 8);
        daemon.AttachEndpoint(0x1D, new MctpSocketStructTests.EchoResponder());

        using var withIc = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        await withIc.ConnectAsync(MctpDemuxProtocol.EndPoint(name));
        await withIc.SendAsync(new byte[] { 0x84 }); // registration: one byte
        using var withoutIc = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        await withoutIc.ConnectAsync(MctpDemuxProtocol.EndPoint(name));
        await withoutIc.SendAsync(new byte[] { 0x04 });

        // [destination EID][message]
        await withIc.SendAsync(new byte[] { 0x1D, 0x84, 0xAA, 0x00 });
        byte[] buf = new byte[64];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        int n = await withIc.ReceiveAsync(buf, SocketFlags.None, cts.Token);
        Assert.Equal("1D84AAFF", Convert.ToHexString(buf, 0, n)); // [source EID][message]

        // The client that registered 0x04 never sees a message whose first byte is 0x84.
        withoutIc.ReceiveTimeout = 200;
        Assert.Throws<SocketException>(() => withoutIc.Receive(buf));
    }

    [Fact]
    public async Task Message_to_the_daemon_eid_loops_back_to_clients_of_that_type()
    {
        string name = UniqueName();
        await using var daemon = MctpDemuxDaemon.Start(name, localEid: 8);
        using var other = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        await other.ConnectAsync(MctpDemuxProtocol.EndPoint(name));
        await other.SendAsync(new byte[] { 0x85 });
        await using var a = await MctpDemuxTransport.ConnectAsync(name, registeredType: 0x85);
        await NvmePS.Engine.Tests.Mi.SimulatorMiCommandTests.WaitFor(() => daemon.CountRegistered(0x85) == 2);
        await using var x = await a.OpenExchangeAsync(new MctpEndpointAddress(0, 8), 5, CancellationToken.None);
        await x.SendAsync(new byte[] { 0x85, 0x10, 0x20 }, CancellationToken.None);

        byte[] buf = new byte[16];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        int n = await other.ReceiveAsync(buf, SocketFlags.None, cts.Token);
        Assert.Equal("08851020", Convert.ToHexString(buf, 0, n)); // [daemon EID][message] to every client of the type

        // The sender gets its own message back too; the transport recognises and skips it.
        await Assert.ThrowsAsync<NvmeTimeoutException>(async () => await x.ReceiveAsync(buf, TimeSpan.FromMilliseconds(200), CancellationToken.None));
    }

    [Fact]
    public async Task Unknown_eid_times_out_and_missing_daemon_is_a_connection_error()
    {
        string name = UniqueName();
        await using (var daemon = MctpDemuxDaemon.Start(name))
        {
            await using var client = await MctpDemuxTransport.ConnectAsync(name);
            await using var x = await client.OpenExchangeAsync(new MctpEndpointAddress(0, 0x42), 4, CancellationToken.None);
            await x.SendAsync(new byte[] { 0x84, 0x00, 0x00, 0x00 }, CancellationToken.None);
            await Assert.ThrowsAsync<NvmeTimeoutException>(async () => await x.ReceiveAsync(new byte[64], TimeSpan.FromMilliseconds(200), CancellationToken.None));
        }

        var ex = await Assert.ThrowsAsync<NvmeConnectionException>(() => MctpDemuxTransport.ConnectAsync(UniqueName()));
        Assert.Contains("demux daemon", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Type_zero_registration_is_refused()
    {
        string name = UniqueName();
        await using var daemon = MctpDemuxDaemon.Start(name);
        using var s = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        await s.ConnectAsync(MctpDemuxProtocol.EndPoint(name));
        await s.SendAsync(new byte[] { 0x00 });
        byte[] buf = new byte[4];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        int n = await s.ReceiveAsync(buf, SocketFlags.None, cts.Token);
        Assert.Equal(0, n); // the daemon closed the connection
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => MctpDemuxTransport.ConnectAsync(name, registeredType: 0));
    }
}

public sealed class InProcessTransportTests
{
    [Fact]
    public async Task Unregistered_endpoint_is_no_route_and_timeouts_follow_the_time_provider()
    {
        await using var t = new InProcessMctpTransport();
        var ex = await Assert.ThrowsAsync<NvmeConnectionException>(async () => await t.OpenExchangeAsync(new MctpEndpointAddress(1, 9), 4, CancellationToken.None));
        Assert.Contains("No MCTP route", ex.Message, StringComparison.Ordinal);

        var clock = new NvmePS.Engine.Tests.Mi.ManualTimeProvider();
        await using var t2 = new InProcessMctpTransport(clock);
        t2.Register(new MctpEndpointAddress(1, 9), new SilentResponder());
        await using var x = await t2.OpenExchangeAsync(new MctpEndpointAddress(1, 9), 4, CancellationToken.None);
        await x.SendAsync(new byte[] { 0x84 }, CancellationToken.None);
        var receive = x.ReceiveAsync(new byte[8], TimeSpan.FromSeconds(30), CancellationToken.None).AsTask();
        await Task.Delay(20);
        Assert.False(receive.IsCompleted);
        clock.Advance(TimeSpan.FromSeconds(30));
        await Assert.ThrowsAsync<NvmeTimeoutException>(() => receive.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    private sealed class SilentResponder : IMctpResponder
    {
        public ValueTask HandleAsync(MctpEndpointAddress source, ReadOnlyMemory<byte> request, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> respond, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}

public sealed class MctpDemuxIsolationTests
{
    [Fact]
    public async Task A_client_that_stops_reading_is_dropped_and_others_keep_working()
    {
        string name = $"nvmeps-test-{Guid.NewGuid():N}";
        await using var daemon = MctpDemuxDaemon.Start(name, localEid: 8);
        daemon.AttachEndpoint(0x1D, new MctpSocketStructTests.EchoResponder());
        using var stuck = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        await stuck.ConnectAsync(MctpDemuxProtocol.EndPoint(name));
        await stuck.SendAsync(new byte[] { 0x84 }); // registers, then never reads
        await using var good = await MctpDemuxTransport.ConnectAsync(name);
        await NvmePS.Engine.Tests.Mi.SimulatorMiCommandTests.WaitFor(() => daemon.CountRegistered(0x84) == 2);

        byte[] message = new byte[1024];
        message[0] = 0x84;
        byte[] buf = new byte[2048];
        for (int i = 0; i < 2000 && daemon.ClientCount > 1; i++)
        {
            await using var x = await good.OpenExchangeAsync(new MctpEndpointAddress(0, 0x1D), 4, CancellationToken.None);
            await x.SendAsync(message, CancellationToken.None);
            Assert.Equal(1024, await x.ReceiveAsync(buf, TimeSpan.FromSeconds(10), CancellationToken.None));
        }

        Assert.Equal(1, daemon.ClientCount); // the stuck client was dropped once its queue filled
        await using var last = await good.OpenExchangeAsync(new MctpEndpointAddress(0, 0x1D), 4, CancellationToken.None);
        await last.SendAsync(message, CancellationToken.None);
        Assert.Equal(1024, await last.ReceiveAsync(buf, TimeSpan.FromSeconds(10), CancellationToken.None));
    }
}
