using System.Security.Cryptography;
using NvmePS.Interop.Tests.Infrastructure;

namespace NvmePS.Interop.Tests.Kernel;

/// <summary>
/// Kernel peers against each other, driven from .NET inside the VM: proves the harness (configfs, /dev/nvme-fabrics,
/// block devices, AF_MCTP and rtnetlink from P/Invoke) before any NvmePS engine code is involved.
/// </summary>
[Trait("Category", "Interop")]
public sealed class KernelPeerSanityTests(ITestOutputHelper output)
{
    [InteropTheory]
    [InlineData(4430, "")]
    [InlineData(4431, "hdr_digest,data_digest")]
    public async Task KernelHost_to_nvmet_tcp_write_then_read_back(int port, string options)
    {
        var mark = await Guest.KernelLogMark.NowAsync();
        using var target = new NvmetTarget(port);
        var backing = target.AddFileNamespace(1, 32 << 20);
        target.Enable();

        using (var host = KernelNvmeHost.Connect(port, target.SubsystemNqn, options))
        {
            Assert.Equal("tcp", host.Attr("transport"));
            Assert.Equal(target.SubsystemNqn, host.Attr("subsysnqn"));
            Assert.Equal("live", host.Attr("state"));
            var dev = await host.WaitForBlockDeviceAsync(1, TimeSpan.FromSeconds(10));

            var data = RandomNumberGenerator.GetBytes(3 << 20);
            var offsetMiB = RandomNumberGenerator.GetInt32(0, 28);
            var pattern = Path.GetTempFileName();
            await File.WriteAllBytesAsync(pattern, data);
            await Guest.RunCheckedAsync("dd", $"if={pattern}", $"of={dev}", "bs=1M", $"seek={offsetMiB}", "oflag=direct", "conv=fsync", "status=none");
            var readBack = Path.GetTempFileName();
            await Guest.RunCheckedAsync("dd", $"if={dev}", $"of={readBack}", "bs=1M", $"skip={offsetMiB}", "count=3", "iflag=direct", "status=none");
            Assert.Equal(data, await File.ReadAllBytesAsync(readBack));

            var media = new byte[data.Length];
            using (var fs = new FileStream(backing, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
            {
                fs.Position = (long)offsetMiB << 20;
                fs.ReadExactly(media);
            }

            Assert.Equal(data, media);
            output.WriteLine($"peer=Linux nvme-tcp host -> Linux nvmet-tcp 127.0.0.1:{port} [{(options.Length == 0 ? "no digests" : options)}]: " +
                             $"3 MiB random at {offsetMiB} MiB via {dev} read back identical; target's backing file identical");
        }

        Assert.Empty(await mark.ProblemsAsync());
    }

    [InteropFact]
    public void AfMctp_local_eids_on_lo_echo_from_dotnet()
    {
        // One EID: the kernel sources every message on lo from lo's first EID, so requester and responder share it.
        MctpNetlink.AddAddress("lo", 30);
        try
        {
            using var server = new RawMctpSocket();
            server.Bind(0x7E);
            using var client = new RawMctpSocket();
            var body = RandomNumberGenerator.GetBytes(700); // > the 68-byte baseline MTU: lo carries it whole
            client.SendTo(body, new RawMctpSocket.Address(0, 30, 0x7E, RawMctpSocket.TagOwner));

            var buf = new byte[4096];
            var (n, src) = server.ReceiveFrom(buf);
            Assert.Equal(body, buf.AsSpan(0, n).ToArray());
            Assert.Equal(0x7E, src.Type);
            Assert.True((src.Tag & RawMctpSocket.TagOwner) != 0, "request must carry TO");
            Assert.Equal(30, src.Eid);
            Assert.Equal(1u, src.Network);

            server.SendTo(buf.AsSpan(0, n), src with { Tag = (byte)(src.Tag & 0x07) });
            var (m, back) = client.ReceiveFrom(buf);
            Assert.Equal(body, buf.AsSpan(0, m).ToArray());
            Assert.Equal(30, back.Eid);
            Assert.Equal(0, back.Tag & RawMctpSocket.TagOwner);
            output.WriteLine($"peer=Linux AF_MCTP (lo, EID 30, net {src.Network}): 700-byte type-0x7E request and response byte-identical; src EID {src.Eid}, tag {src.Tag & 7}");
        }
        finally
        {
            MctpNetlink.RemoveAddress("lo", 30);
        }
    }

    [InteropFact]
    public async Task AfMctp_remote_eid_behind_tun_fragments_and_reassembles_by_mtu()
    {
        await using var tun = await MctpTunEndpoint.CreateAsync(
            "mctptun9", localEid: 50, remoteEid: 51, mtu: 68,
            handler: (src, msg, respond, ct) => respond(msg, ct)); // echo, fragmented by us on the way back
        using var client = new RawMctpSocket();
        var body = RandomNumberGenerator.GetBytes(499); // + type byte = 500 bytes = 8 packets of <= 64
        client.SendTo(body, new RawMctpSocket.Address(0, 51, 0x7E, RawMctpSocket.TagOwner));
        var buf = new byte[4096];
        var (n, src) = client.ReceiveFrom(buf);
        Assert.Equal(body, buf.AsSpan(0, n).ToArray());
        Assert.Equal(51, src.Eid);
        Assert.Equal(0x7E, src.Type);
        Assert.Equal(8, tun.PacketsIn);
        Assert.Equal(64, tun.MaxPayloadIn);
        Assert.Equal(8, tun.PacketsOut);
        output.WriteLine($"peer=Linux AF_MCTP -> TUN {tun.Name} (local EID 50, remote EID 51, MTU 68): 500-byte message " +
                         $"arrived as {tun.PacketsIn} kernel-fragmented packets (max payload {tun.MaxPayloadIn}), echo sent as " +
                         $"{tun.PacketsOut} packets, kernel-reassembled reply byte-identical");
    }
}
