using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using NvmePS.Engine.Fabrics;
using NvmePS.Engine.Fabrics.Host;
using NvmePS.Interop.Tests.Infrastructure;

namespace NvmePS.Interop.Tests.Fabrics;

/// <summary>
/// Our NVMe/TCP host against the Linux kernel's NVMe/TCP target (nvmet-tcp, configured through configfs, file-backed
/// namespace in tmpfs). Oracles: the target's backing file (what reached the media), configfs attributes, and
/// nvme-cli driving the kernel's own host against the same target.
/// </summary>
[Trait("Category", "Interop")]
public sealed class OurHostToNvmetTcpTests(ITestOutputHelper output)
{
    private const long NamespaceBytes = 64L << 20;

    private static NvmeHostAssociationParameters Params(bool hdgst = false, bool ddgst = false, bool noSqFlow = false) => new()
    {
        HostNqn = "nqn.2014-08.org.nvmexpress:uuid:6e766d65-7073-4000-8000-0000000000aa",
        HeaderDigest = hdgst,
        DataDigest = ddgst,
        DisableSqFlowControl = noSqFlow,
        IoQueueCount = 2,
        // nvmet-tcp reports MDTS 0 (no limit): allow its 4 MiB MAXH2CDATA as the largest transfer.
        UnlimitedMdtsTransferSize = 4 << 20,
        ConnectTimeout = TimeSpan.FromSeconds(30),
    };

    [InteropFact]
    public async Task Discovery_log_lists_the_subsystem_like_nvme_cli_sees_it()
    {
        using var target = new NvmetTarget(4440);
        target.AddFileNamespace(1, NamespaceBytes);
        target.Enable();
        using var second = new NvmetTarget(4440 + 100, "nqn.2014-08.org.nvmexpress:nvmeps-interop-second");
        second.AddFileNamespace(1, 1 << 20);
        File.CreateSymbolicLink($"{target.PortDir}/subsystems/{second.SubsystemNqn}", second.SubsystemDir);
        try
        {
            await using var disc = await NvmeHostAssociation.ConnectDiscoveryAsync(new IPEndPoint(IPAddress.Loopback, 4440), Params(), CancellationToken.None);
            var log = await disc.GetDiscoveryLogAsync(CancellationToken.None);
            var ours = log.Entries.Where(e => e.Subtype == DiscoverySubsystemType.Nvm)
                .Select(e => $"{e.Trtype}|{e.Traddr.Trim()}|{e.Trsvcid.Trim()}|{e.SubNqn}").OrderBy(x => x).ToArray();
            Assert.Contains($"Tcp|127.0.0.1|4440|{target.SubsystemNqn}", ours);
            Assert.Contains($"Tcp|127.0.0.1|4440|{second.SubsystemNqn}", ours);

            var cli = await Guest.RunAsync("nvme", ["discover", "-t", "tcp", "-a", "127.0.0.1", "-s", "4440", "-q", Params().HostNqn!, "-o", "json"]);
            Assert.True(cli.ExitCode == 0, cli.ToString());
            using var doc = JsonDocument.Parse(cli.StdOut);
            var theirs = doc.RootElement.GetProperty("records").EnumerateArray()
                .Where(r => r.GetProperty("subtype").GetString()!.Contains("nvme subsystem", StringComparison.Ordinal))
                .Select(r => $"Tcp|{r.GetProperty("traddr").GetString()!.Trim()}|{r.GetProperty("trsvcid").GetString()!.Trim()}|{r.GetProperty("subnqn").GetString()}")
                .OrderBy(x => x).ToArray();
            Assert.Equal(theirs, ours);
            Assert.Equal(log.NumberOfRecords, (ulong)doc.RootElement.GetProperty("records").GetArrayLength());
            output.WriteLine($"peer=Linux nvmet-tcp discovery controller 127.0.0.1:4440: our discovery log ({log.NumberOfRecords} records, genctr {log.GenerationCounter}) " +
                             $"equals nvme-cli's (kernel host) record for record: {string.Join("; ", ours)}");
        }
        finally
        {
            File.Delete($"{target.PortDir}/subsystems/{second.SubsystemNqn}");
        }
    }

    [InteropFact]
    public async Task Connect_identify_and_properties_match_configfs_and_the_kernel_host()
    {
        using var target = new NvmetTarget(4441);
        target.AddFileNamespace(1, NamespaceBytes);
        Guest.WriteAttr($"{target.SubsystemDir}/attr_model", "NvmePS interop nvmet");
        target.Enable();

        await using var a = await NvmeHostAssociation.ConnectAsync(new IPEndPoint(IPAddress.Loopback, 4441), target.SubsystemNqn, Params(), CancellationToken.None);
        var id = a.IdentifyController!;
        Assert.Equal(File.ReadAllText($"{target.SubsystemDir}/attr_serial").Trim(), id.Sn.Trim());
        Assert.Equal("NvmePS interop nvmet", id.Mn.Trim());
        Assert.Equal(a.Cntlid, id.Cntlid);
        var release = File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
        Assert.Equal(release[..Math.Min(8, release.Length)], id.Fr.Trim()); // nvmet reports UTS_RELEASE as FR
        var csts = await a.GetPropertyAsync(ControllerProperty.Csts, PropertySize.FourBytes, CancellationToken.None);
        Assert.Equal(1UL, csts & 1); // RDY
        var nsids = await a.Admin.GetAllActiveNamespaceIdsAsync();
        Assert.Equal(new uint[] { 1 }, nsids);
        var ns = await a.Admin.IdentifyNamespaceAsync(1);

        // nvmet's CAP as 6.1 builds it (drivers/nvme/target/core.c nvmet_init_cap): CSS NVM, TO 15 (7.5 s),
        // MQES = queue size - 1; VS as configfs reports it.
        Assert.True(a.Capabilities.Css != 0 && (a.Capabilities.Css & 1) == 1, $"CAP.CSS {a.Capabilities.Css}");
        Assert.Equal(15, a.Capabilities.To);
        Assert.Equal(File.ReadAllText($"{target.SubsystemDir}/attr_version").Trim(), $"{a.Version.Mjr}.{a.Version.Mnr}" + (a.Version.Ter != 0 ? $".{a.Version.Ter}" : ""));

        // The kernel host on the same subsystem gets its own controller; its Identify Controller (nvme-cli, binary)
        // must equal ours byte for byte except CNTLID.
        var raw = await a.Admin.IdentifyAsync(1);
        using var kh = KernelNvmeHost.Connect(4441, target.SubsystemNqn);
        var bin = Path.GetTempFileName();
        var r = await Guest.RunAsync("sh", ["-c", $"nvme id-ctrl /dev/{kh.Controller} -o binary > {bin}"]);
        Assert.True(r.ExitCode == 0, r.ToString());
        var theirs = await File.ReadAllBytesAsync(bin);
        Assert.Equal(4096, theirs.Length);
        var diffs = Enumerable.Range(0, 4096).Where(i => raw[i] != theirs[i] && i is not (78 or 79)).ToArray();
        Assert.True(diffs.Length == 0, $"Identify Controller differs at byte offsets {string.Join(',', diffs.Take(20))}");
        Assert.Equal(id.Sn.Trim(), kh.Attr("serial"));
        Assert.Equal(id.Mn.Trim(), kh.Attr("model"));
        Assert.Equal(id.Fr.Trim(), kh.Attr("firmware_rev"));
        Assert.NotEqual(a.Cntlid.ToString(System.Globalization.CultureInfo.InvariantCulture), kh.Attr("cntlid"));

        output.WriteLine($"peer=Linux nvmet-tcp 127.0.0.1:4441 ({target.SubsystemNqn}): CNTLID {a.Cntlid}, CAP 0x{a.Capabilities.Value:X16} (TO 15, CSS NVM), VS {a.Version} = configfs; " +
                         $"Identify Controller byte-identical (except CNTLID) to nvme-cli id-ctrl through the kernel host's controller {kh.Attr("cntlid")}; SN/MN/FR = configfs/sysfs; CSTS.RDY=1; " +
                         $"NSID list [1], NSZE {ns.Nsze} blocks");
    }

    public static TheoryData<bool, bool, bool> Variants => new()
    {
        { false, false, false },
        { true, true, false },
        { true, false, true },
        { false, true, true },
    };

    [InteropTheory]
    [MemberData(nameof(Variants))]
    public async Task Write_read_verify_across_in_capsule_r2t_and_multi_pdu_sizes(bool hdgst, bool ddgst, bool noSqFlow)
    {
        var mark = await Guest.KernelLogMark.NowAsync();
        var port = 4450 + (hdgst ? 1 : 0) + (ddgst ? 2 : 0) + (noSqFlow ? 4 : 0);
        using var target = new NvmetTarget(port);
        var backing = target.AddFileNamespace(1, NamespaceBytes);
        target.Enable();

        await using var a = await NvmeHostAssociation.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), target.SubsystemNqn, Params(hdgst, ddgst, noSqFlow), CancellationToken.None);
        var negotiated = a.IoQueues[0].Transport.Negotiated;
        Assert.Equal(hdgst, negotiated.HeaderDigest);
        Assert.Equal(ddgst, negotiated.DataDigest);
        Assert.Equal(!noSqFlow, a.IoQueues[0].SqFlowControl);
        var icd = a.IoInCapsuleDataSize;
        Assert.True(icd >= 4096, $"nvmet-tcp offers 16 KiB in-capsule data on I/O queues; association says {icd}");
        var maxH2C = (int)negotiated.MaxH2CData;

        // nvmet's file-backed namespace takes the file system's block size (4 KiB on tmpfs): ask, never assume.
        var bs = (await a.Admin.IdentifyNamespaceAsync(1)).BlockSize;
        Assert.True(bs >= 512, $"Identify Namespace gave block size {bs}");
        // Debian's 6.1 nvmet-tcp refuses any data SGL over its MAXH2CDATA (4 MiB) with Data SGL Length Invalid, so one
        // command cannot need more than one H2CData PDU from nvmet's R2T; the multi-PDU case is C2H (nvmet sends
        // one C2HData PDU per command) and our own split of H2C data at MAXH2CDATA is exercised against our controller.
        int[] sizes = [bs, icd, icd + bs, 1 << 20, Math.Min(a.MaxDataTransferSize, maxH2C)];
        var lba = 0UL;
        var report = new List<string>();
        foreach (var size in sizes.Distinct())
        {
            var data = RandomNumberGenerator.GetBytes(size);
            await a.WriteAsync(1, lba, size / bs, data, fua: false, CancellationToken.None);
            var back = new byte[size];
            await a.ReadAsync(1, lba, size / bs, back, CancellationToken.None);
            Assert.Equal(data, back);
            var media = new byte[size];
            using (var fs = new FileStream(backing, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
            {
                fs.Position = (long)lba * bs;
                fs.ReadExactly(media);
            }

            Assert.Equal(data, media);
            var path = size <= icd ? "in-capsule" : "R2T + H2CData";
            report.Add($"{size} B ({path})");
            lba += (ulong)(size / bs) + 8;
        }

        await a.FlushAsync(1, CancellationToken.None);
        Assert.Null(a.Failure);
        await a.DisconnectAsync(CancellationToken.None);
        Assert.Empty(await mark.ProblemsAsync());
        output.WriteLine($"peer=Linux nvmet-tcp 127.0.0.1:{port} [HDGST {(hdgst ? "on" : "off")}, DDGST {(ddgst ? "on" : "off")}, SQ flow control {(noSqFlow ? "off" : "on")}]: " +
                         $"random data written, read back identical and identical in nvmet's backing file for {string.Join(", ", report)}; " +
                         $"ICD {icd}, MAXH2CDATA {maxH2C}, MDTS-limited transfer {a.MaxDataTransferSize}; kernel log clean");
    }

    [InteropFact]
    public async Task Keep_alive_holds_the_association_for_over_a_minute_then_disconnect_closes_it()
    {
        var mark = await Guest.KernelLogMark.NowAsync();
        using var target = new NvmetTarget(4460);
        target.AddFileNamespace(1, NamespaceBytes);
        target.Enable();
        var p = Params() with { KeepAliveTimeout = TimeSpan.FromSeconds(10) };
        await using var a = await NvmeHostAssociation.ConnectAsync(new IPEndPoint(IPAddress.Loopback, 4460), target.SubsystemNqn, p, CancellationToken.None);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var bs = (await a.Admin.IdentifyNamespaceAsync(1)).BlockSize;
        var data = RandomNumberGenerator.GetBytes(bs);
        while (sw.Elapsed < TimeSpan.FromSeconds(65))
        {
            // Idle: only keep-alives cross the wire. nvmet tears the controller down after KATO without them.
            await Task.Delay(TimeSpan.FromSeconds(5));
            Assert.Null(a.Failure);
        }

        await a.WriteAsync(1, 100, 1, data, fua: true, CancellationToken.None);
        var back = new byte[bs];
        await a.ReadAsync(1, 100, 1, back, CancellationToken.None);
        Assert.Equal(data, back);
        var problems = await mark.ProblemsAsync();
        Assert.DoesNotContain(problems, l => l.Contains("keep-alive", StringComparison.OrdinalIgnoreCase));

        var before = await Established(4460);
        Assert.True(before >= 2, $"expected admin + I/O TCP connections to :4460, saw {before}");
        await a.DisconnectAsync(CancellationToken.None);
        Assert.True(await Guest.WaitUntilAsync(() => Established(4460).GetAwaiter().GetResult() == 0, TimeSpan.FromSeconds(10)),
            "TCP connections to nvmet remained after Disconnect");
        Assert.Empty(await mark.ProblemsAsync());
        output.WriteLine($"peer=Linux nvmet-tcp 127.0.0.1:4460: KATO 10 s, idle {sw.Elapsed.TotalSeconds:F0} s with keep-alives only, association alive " +
                         $"(no nvmet keep-alive expiry), one-block FUA write/read identical afterwards; Disconnect closed all {before} TCP connections");
    }

    private static async Task<int> Established(int port)
    {
        var r = await Guest.RunAsync("ss", ["-Htn", "state", "established", $"( dport = :{port} )"]);
        return r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
    }
}
