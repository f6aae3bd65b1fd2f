using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using NvmePS.Engine.Fabrics.Controller;
using NvmePS.Engine.Fabrics.Controller.Tcp;
using NvmePS.Interop.Tests.Infrastructure;

namespace NvmePS.Interop.Tests.Fabrics;

/// <summary>
/// The Linux kernel's NVMe/TCP host (nvme-tcp, through /dev/nvme-fabrics and nvme-cli) against our controller.
/// Oracles: our namespace's backing file (what reached the media), fio's own verify, the kernel's sysfs view of the
/// controller, and the kernel log (no errors or warnings).
/// </summary>
[Trait("Category", "Interop")]
public sealed class KernelHostToOurControllerTests(ITestOutputHelper output)
{
    private const long NamespaceBytes = 64L << 20;
    private const string Nqn = "nqn.2014-08.org.nvmexpress:nvmeps-our-controller";

    private sealed class OurTarget : IAsyncDisposable
    {
        public required NvmeTarget Target { get; init; }
        public required NvmeTcpTarget Tcp { get; init; }
        public required NvmeSubsystem Subsystem { get; init; }
        public required string Backing { get; init; }
        public required int Port { get; init; }

        public static async Task<OurTarget> StartAsync(int port)
        {
            var backing = $"/tmp/our-controller-{port}.img";
            File.Delete(backing);
            var target = new NvmeTarget(new NvmeTargetOptions { ModelNumber = "NvmePS interop target" });
            var subsystem = target.AddSubsystem(Nqn, serialNumber: $"NVMEPSIOP{port}", allowAnyHost: true);
            subsystem.AddFileNamespace(backing, NamespaceBytes, blockSize: 512, nsid: 1);
            var tcp = new NvmeTcpTarget(target);
            await tcp.ListenAsync(new IPEndPoint(IPAddress.Loopback, port));
            return new OurTarget { Target = target, Tcp = tcp, Subsystem = subsystem, Backing = backing, Port = port };
        }

        public async ValueTask DisposeAsync()
        {
            await Tcp.DisposeAsync();
            Target.Dispose();
            File.Delete(Backing);
        }
    }

    [InteropFact]
    public async Task Nvme_cli_discovery_through_the_kernel_host_lists_our_subsystem()
    {
        var mark = await Guest.KernelLogMark.NowAsync();
        await using var t = await OurTarget.StartAsync(4470);
        var cli = await Guest.RunAsync("nvme", ["discover", "-t", "tcp", "-a", "127.0.0.1", "-s", "4470", "-q", KernelNvmeHost.HostNqn, "-o", "json"]);
        Assert.True(cli.ExitCode == 0, cli.ToString());
        using var doc = JsonDocument.Parse(cli.StdOut);
        var rec = doc.RootElement.GetProperty("records").EnumerateArray()
            .Single(r => r.GetProperty("subnqn").GetString() == Nqn);
        Assert.Equal("tcp", rec.GetProperty("trtype").GetString());
        Assert.Equal("127.0.0.1", rec.GetProperty("traddr").GetString()!.Trim());
        Assert.Equal("4470", rec.GetProperty("trsvcid").GetString()!.Trim());
        Assert.Empty(await mark.ProblemsAsync());
        output.WriteLine($"peer=Linux nvme-tcp host (nvme-cli discover, discovery NQN) -> our controller 127.0.0.1:4470: " +
                         $"{doc.RootElement.GetProperty("records").GetArrayLength()} record(s), ours: tcp 127.0.0.1:4470 {Nqn}; kernel log clean");
    }

    [InteropTheory]
    [InlineData(4471, "")]
    [InlineData(4472, "hdr_digest,data_digest")]
    [InlineData(4473, "hdr_digest")]
    public async Task Kernel_host_connects_writes_and_reads_back_through_the_block_device(int port, string options)
    {
        var mark = await Guest.KernelLogMark.NowAsync();
        await using var t = await OurTarget.StartAsync(port);
        string dev;
        var label = options.Length == 0 ? "no digests" : options;
        using (var kh = KernelNvmeHost.Connect(port, Nqn, options))
        {
            Assert.Equal("live", kh.Attr("state"));
            Assert.Equal(Nqn, kh.Attr("subsysnqn"));
            Assert.Equal($"NVMEPSIOP{port}", kh.Attr("serial"));
            Assert.Equal("NvmePS interop target", kh.Attr("model"));
            Assert.Equal("tcp", kh.Attr("transport"));
            dev = await kh.WaitForBlockDeviceAsync(1, TimeSpan.FromSeconds(15));
            var sectors = long.Parse(File.ReadAllText($"/sys/block/{Path.GetFileName(dev)}/size").Trim(), CultureInfo.InvariantCulture);
            Assert.Equal(NamespaceBytes / 512, sectors);

            // dd: 4 MiB random at a random MiB offset, O_DIRECT both ways, compared with the read-back and our media.
            var data = RandomNumberGenerator.GetBytes(4 << 20);
            var off = RandomNumberGenerator.GetInt32(0, 40);
            var pattern = Path.GetTempFileName();
            await File.WriteAllBytesAsync(pattern, data);
            await Guest.RunCheckedAsync("dd", $"if={pattern}", $"of={dev}", "bs=1M", $"seek={off}", "oflag=direct", "conv=fsync", "status=none");
            var back = Path.GetTempFileName();
            await Guest.RunCheckedAsync("dd", $"if={dev}", $"of={back}", "bs=1M", $"skip={off}", "count=4", "iflag=direct", "status=none");
            Assert.Equal(data, await File.ReadAllBytesAsync(back));
            var media = new byte[data.Length];
            using (var fs = new FileStream(t.Backing, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
            {
                fs.Position = (long)off << 20;
                fs.ReadExactly(media);
            }

            Assert.Equal(data, media);

            // fio: random 4 KiB writes at QD 16 with crc32c verify headers, then fio reads them all back and checks.
            var fio = await Guest.RunAsync("fio", ["--name=verify", $"--filename={dev}", "--rw=randwrite", "--bs=4k", "--size=8M", "--offset=48M",
                "--direct=1", "--ioengine=libaio", "--iodepth=16", "--verify=crc32c", "--do_verify=1", "--verify_fatal=1", "--output-format=json"],
                TimeSpan.FromMinutes(5));
            Assert.True(fio.ExitCode == 0, fio.ToString());
            using var fj = JsonDocument.Parse(fio.StdOut[fio.StdOut.IndexOf('{', StringComparison.Ordinal)..]);
            var job = fj.RootElement.GetProperty("jobs")[0];
            Assert.Equal(0, job.GetProperty("error").GetInt32());
            var written = job.GetProperty("write").GetProperty("io_bytes").GetInt64();
            var verified = job.GetProperty("read").GetProperty("io_bytes").GetInt64();
            Assert.Equal(8L << 20, written);
            Assert.Equal(8L << 20, verified);

            output.WriteLine($"peer=Linux nvme-tcp host [{label}] -> our controller 127.0.0.1:{port}: {kh.Controller} live, {dev} {sectors} sectors; " +
                             $"SN/MN/subsysnqn in sysfs equal ours; dd 4 MiB random at {off} MiB O_DIRECT read back identical and identical in our backing file; " +
                             $"fio randwrite 4k QD16 8 MiB + crc32c verify of {verified} bytes passed");
        }

        Assert.True(await Guest.WaitUntilAsync(() => !File.Exists(dev), TimeSpan.FromSeconds(10)), $"{dev} still present after delete_controller");
        Assert.True(await Guest.WaitUntilAsync(() => t.Tcp.ActiveConnections == 0, TimeSpan.FromSeconds(10)),
            $"our target still has {t.Tcp.ActiveConnections} connection(s) after the kernel host disconnected");
        Assert.Equal(0, t.Tcp.ProtocolTerminations);
        Assert.Equal(0, t.Tcp.FaultedConnections);
        Assert.Empty(await mark.ProblemsAsync());
    }
}
