using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using NvmePS.Engine;
using NvmePS.Engine.Admin;
using NvmePS.Engine.Fabrics.Controller;
using NvmePS.Engine.Fabrics.Controller.Tcp;
using NvmePS.Engine.Kernel;
using NvmePS.Interop.Tests.Infrastructure;

namespace NvmePS.Interop.Tests.Kernel;

/// <summary>
/// The kernel as the third transport, against the real 6.1 kernel in the VM: the passthrough ioctls on the guest's
/// local PCIe drive (qemu's nvme device, nvme0), the kernel host's connect through /dev/nvme-fabrics to our userspace
/// target and to nvmet configured by the engine through configfs. Oracles: Debian's nvme-cli 2.3 (an independent client
/// of the same ioctls), dd with O_DIRECT through the block devices, the targets' backing files, sysfs and configfs as
/// they were before.
/// </summary>
[Trait("Category", "Interop")]
public sealed partial class KernelTransportInVmTests(ITestOutputHelper output)
{
    private const string HostNqn = KernelNvmeHost.HostNqn;

    private static NvmeAdminClient LocalAdmin(out NvmeKernelControllerInfo info)
    {
        info = NvmeKernelSysfs.Default.List().Single(c => c.Transport == "pcie");
        return new NvmeAdminClient(new NvmeKernelAdminTransport(info.DevicePath, info.MaxDataTransferSize));
    }

    private static async Task<JsonElement> NvmeCliJsonAsync(params string[] args)
    {
        var r = await Guest.RunAsync("nvme", [.. args, "-o", "json"]);
        Assert.True(r.ExitCode == 0, r.ToString());
        return JsonDocument.Parse(r.StdOut).RootElement.Clone();
    }

    [GeneratedRegex(@"value:\s*0x([0-9a-fA-F]+)")]
    private static partial Regex FeatureValue();

    [GeneratedRegex(@"\(0x([0-9a-fA-F]+)\)")]
    private static partial Regex CliStatus();

    [InteropFact]
    public async Task Local_pcie_drive_lists_identifies_and_reports_SMART_and_features_as_nvme_cli_does()
    {
        var mark = await Guest.KernelLogMark.NowAsync();
        var admin = LocalAdmin(out var info);
        Assert.Equal(("nvme0", "/dev/nvme0", "QEMU NVMe Ctrl", "NVMEPS-PCI-0001", "live"), (info.Name, info.DevicePath, info.Model, info.SerialNumber, info.State));
        Assert.Matches(@"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$", info.Address);

        // `nvme list`: the same drive and namespace.
        var list = (await NvmeCliJsonAsync("list")).GetProperty("Devices").EnumerateArray().Single(d => d.GetProperty("DevicePath").GetString() == "/dev/nvme0n1");
        var ns = Assert.Single(info.Namespaces);
        Assert.Equal(("/dev/nvme0n1", 1u), (ns.BlockDevice, ns.NamespaceId));
        Assert.Equal(list.GetProperty("PhysicalSize").GetInt64(), ns.SizeBytes);
        Assert.Equal(list.GetProperty("SectorSize").GetInt32(), ns.LogicalBlockSize);
        Assert.Equal(list.GetProperty("SerialNumber").GetString()!.Trim(), info.SerialNumber);
        Assert.Equal(list.GetProperty("Firmware").GetString()!.Trim(), info.FirmwareRevision);

        // Identify Controller through NVME_IOCTL_ADMIN64_CMD, field by field against `nvme id-ctrl`.
        var id = await admin.IdentifyControllerAsync();
        var cli = await NvmeCliJsonAsync("id-ctrl", "/dev/nvme0");
        Assert.Equal(cli.GetProperty("vid").GetInt32(), id.Vid);
        Assert.Equal(cli.GetProperty("ssvid").GetInt32(), id.Ssvid);
        Assert.Equal(cli.GetProperty("sn").GetString()!.Trim(), id.Sn.Trim());
        Assert.Equal(cli.GetProperty("mn").GetString()!.Trim(), id.Mn.Trim());
        Assert.Equal(cli.GetProperty("fr").GetString()!.Trim(), id.Fr.Trim());
        Assert.Equal(cli.GetProperty("ieee").GetUInt32(), id.Ieee);
        Assert.Equal(cli.GetProperty("mdts").GetInt32(), id.Mdts);
        Assert.Equal(cli.GetProperty("cntlid").GetInt32(), id.Cntlid);
        Assert.Equal(cli.GetProperty("ver").GetUInt32(), id.Ver);
        Assert.Equal(cli.GetProperty("oacs").GetInt32(), id.Oacs);
        Assert.Equal(cli.GetProperty("oaes").GetUInt32(), id.Oaes);
        Assert.Equal(cli.GetProperty("wctemp").GetInt32(), id.Wctemp);
        Assert.Equal(cli.GetProperty("cctemp").GetInt32(), id.Cctemp);
        Assert.Equal(cli.GetProperty("cntrltype").GetInt32(), id.Cntrltype);
        Assert.Equal(cli.GetProperty("nn").GetUInt32(), id.Nn);

        // SMART / Health (log 02h) against `nvme smart-log`.
        var smart = await admin.GetSmartLogAsync();
        var sl = await NvmeCliJsonAsync("smart-log", "/dev/nvme0");
        Assert.Equal(sl.GetProperty("critical_warning").GetInt32(), (int)smart.CriticalWarning);
        Assert.Equal(sl.GetProperty("temperature").GetInt32(), smart.CompositeTemperature);
        Assert.Equal(sl.GetProperty("avail_spare").GetInt32(), smart.AvailableSpare);
        Assert.Equal(sl.GetProperty("spare_thresh").GetInt32(), smart.AvailableSpareThreshold);
        Assert.Equal(sl.GetProperty("percent_used").GetInt32(), smart.PercentageUsed);
        Assert.Equal(Counter(sl, "power_cycles"), (decimal)smart.PowerCycles);
        Assert.Equal(Counter(sl, "power_on_hours"), (decimal)smart.PowerOnHours);
        Assert.Equal(Counter(sl, "unsafe_shutdowns"), (decimal)smart.UnsafeShutdowns);
        Assert.Equal(Counter(sl, "media_errors"), (decimal)smart.MediaErrors);

        // Features: Number of Queues and the temperature threshold as nvme get-feature reads them; a set is read back by it.
        uint queues = await admin.GetFeatureAsync(0x07);
        Assert.Equal(queues, await CliFeatureAsync(0x07));
        uint before = await admin.GetFeatureAsync(0x04);
        Assert.Equal(before, await CliFeatureAsync(0x04));
        await admin.SetFeatureAsync(0x04, 343); // 70 °C over-temperature threshold, composite sensor
        Assert.Equal(343u, await CliFeatureAsync(0x04) & 0xFFFF);
        await admin.SetFeatureAsync(0x04, before & 0xFFFF);
        Assert.Equal(before, await CliFeatureAsync(0x04));

        // An NVMe error status comes back as the ioctl's positive return: the same status nvme-cli reports.
        var bad = await admin.ExecuteRawAsync(new NvmeCommand { Opcode = NvmeAdminOpcode.GetLogPage, Nsid = 0xFFFFFFFF, Cdw10 = 0x00FF_00EF }, default, new byte[1024]);
        Assert.False(bad.Completion.IsSuccess);
        var cliBad = await Guest.RunAsync("nvme", ["get-log", "/dev/nvme0", "--log-id=0xef", "--log-len=1024"]);
        var cliStatus = CliStatus().Match(cliBad.StdOut + cliBad.StdErr);
        Assert.True(cliStatus.Success, cliBad.ToString());
        Assert.Equal(int.Parse(cliStatus.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture), bad.Completion.StatusField >> 1);
        var thrown = await Assert.ThrowsAsync<NvmeStatusException>(() => admin.GetLogPageAsync(0xEF, 1024));
        Assert.Equal(bad.Completion.Status, thrown.Status);

        Assert.Empty(await mark.ProblemsAsync());
        output.WriteLine($"nvme0 (pcie {info.Address}): Identify (15 fields), SMART (9 fields), features 07h/04h (and a set read back) equal nvme-cli's; " +
                         $"an unsupported log page returned status {bad.Completion.StatusField >> 1:X4}h, as nvme-cli saw");
    }

    /// <summary>nvme-cli prints the 128-bit SMART counters as JSON strings (they overflow a double).</summary>
    private static decimal Counter(JsonElement log, string name)
    {
        var v = log.GetProperty(name);
        return v.ValueKind == JsonValueKind.String ? decimal.Parse(v.GetString()!, CultureInfo.InvariantCulture) : v.GetDecimal();
    }

    private static async Task<uint> CliFeatureAsync(byte fid)
    {
        var r = await Guest.RunAsync("nvme", ["get-feature", "/dev/nvme0", $"--feature-id={fid}"]);
        var m = FeatureValue().Match(r.StdOut);
        Assert.True(r.ExitCode == 0 && m.Success, r.ToString());
        return uint.Parse(m.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }

    [InteropFact]
    public async Task Io_passthrough_and_the_block_device_see_the_same_data_both_ways_and_the_kernel_refusals_are_clear()
    {
        var info = NvmeKernelSysfs.Default.List().Single(c => c.Transport == "pcie");
        var ns = info.Namespaces[0];
        var t = new NvmeKernelAdminTransport(info.DevicePath, info.MaxDataTransferSize);

        // Write 8 blocks at LBA 64 through NVME_IOCTL_IO64_CMD; dd with O_DIRECT reads them from the block device.
        byte[] pattern = RandomNumberGenerator.GetBytes(4096);
        var write = await t.ExecuteIoAsync(ns.BlockDevice, new NvmeCommand { Opcode = NvmeIoOpcode.Write, Nsid = ns.NamespaceId, Cdw10 = 64, Cdw12 = 7 }, pattern, default, CancellationToken.None);
        Assert.True(write.Completion.IsSuccess);
        Assert.Equal(4096, write.BytesTransferred);
        string back = $"/tmp/pt-back-{Guid.NewGuid():N}";
        await Guest.RunCheckedAsync("dd", $"if={ns.BlockDevice}", $"of={back}", "bs=512", "skip=64", "count=8", "iflag=direct", "status=none");
        Assert.Equal(pattern, await File.ReadAllBytesAsync(back));

        // And the other way: dd writes LBA 128.., the passthrough Read returns it.
        byte[] pattern2 = RandomNumberGenerator.GetBytes(8192);
        await File.WriteAllBytesAsync(back, pattern2);
        await Guest.RunCheckedAsync("dd", $"if={back}", $"of={ns.BlockDevice}", "bs=512", "seek=128", "oflag=direct", "conv=fsync", "status=none");
        byte[] read = new byte[8192];
        var r = await t.ExecuteIoAsync(ns.BlockDevice, new NvmeCommand { Opcode = NvmeIoOpcode.Read, Nsid = ns.NamespaceId, Cdw10 = 128, Cdw12 = 15 }, default, read, CancellationToken.None);
        Assert.True(r.Completion.IsSuccess);
        Assert.Equal(pattern2, read);
        File.Delete(back);

        // EINVAL: an I/O command whose NSID is not the namespace device's.
        var einval = await Assert.ThrowsAsync<NvmeKernelException>(async () =>
            await t.ExecuteIoAsync(ns.BlockDevice, new NvmeCommand { Opcode = NvmeIoOpcode.Read, Nsid = 2, Cdw12 = 0 }, default, new byte[512], CancellationToken.None));
        Assert.Equal((KernelNative.EINVAL, NvmeKernelException.IoctlRefusedId), (einval.Errno, einval.ErrorId));
        Assert.Contains("EINVAL", einval.Message, StringComparison.Ordinal);

        // ENOTTY: an NVMe node that is not a controller.
        var enotty = await Assert.ThrowsAsync<NvmeKernelException>(async () =>
            await new NvmeKernelAdminTransport("/dev/nvme-fabrics").ExecuteAdminAsync(new NvmeCommand { Opcode = NvmeAdminOpcode.Identify, Cdw10 = 1 }, default, new byte[4096], CancellationToken.None));
        Assert.Equal(KernelNative.ENOTTY, enotty.Errno);
        Assert.Contains("/dev/nvme-fabrics is not an NVMe controller or namespace device", enotty.Message, StringComparison.Ordinal);

        // No such device.
        var missing = await Assert.ThrowsAsync<NvmeKernelException>(async () =>
            await new NvmeKernelAdminTransport("/dev/nvme99").ExecuteAdminAsync(new NvmeCommand { Opcode = NvmeAdminOpcode.Identify, Cdw10 = 1 }, default, new byte[4096], CancellationToken.None));
        Assert.Equal(NvmeKernelException.DeviceNotFoundId, missing.ErrorId);
        output.WriteLine($"{ns.BlockDevice}: 4 KiB written by IO64 read back by dd, 8 KiB written by dd read back by IO64; EINVAL, ENOTTY and ENOENT each a clear error");
    }

    private sealed class OurTarget : IAsyncDisposable
    {
        public required NvmeTarget Target { get; init; }
        public required NvmeTcpTarget Tcp { get; init; }
        public required string Backing { get; init; }

        public static async Task<OurTarget> StartAsync(int port, string nqn)
        {
            string backing = $"/tmp/kt-our-{port}.img";
            File.Delete(backing);
            var target = new NvmeTarget(new NvmeTargetOptions { ModelNumber = "NvmePS kernel-host test" });
            target.AddSubsystem(nqn, serialNumber: $"NVMEPSK{port}", allowAnyHost: true).AddFileNamespace(backing, 32L << 20, blockSize: 512, nsid: 1);
            var tcp = new NvmeTcpTarget(target);
            await tcp.ListenAsync(new IPEndPoint(IPAddress.Loopback, port));
            return new OurTarget { Target = target, Tcp = tcp, Backing = backing };
        }

        public async ValueTask DisposeAsync()
        {
            await Tcp.DisposeAsync();
            Target.Dispose();
            File.Delete(Backing);
        }
    }

    private static async Task DataBothWaysAsync(string blockDevice, string backing, bool backingIsCached)
    {
        // Host -> media: dd through the block device, then the backing file holds the bytes.
        byte[] a = RandomNumberGenerator.GetBytes(1 << 20);
        string tmp = $"/tmp/kt-data-{Guid.NewGuid():N}";
        await File.WriteAllBytesAsync(tmp, a);
        await Guest.RunCheckedAsync("dd", $"if={tmp}", $"of={blockDevice}", "bs=64k", "seek=16", "oflag=direct", "conv=fsync", "status=none");
        byte[] onMedia = new byte[a.Length];
        using (var fs = new FileStream(backing, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        {
            fs.Position = 16 * 65536;
            fs.ReadExactly(onMedia);
        }

        Assert.Equal(a, onMedia);

        // Media -> host: the backing file changes, dd with O_DIRECT reads it through the block device.
        byte[] b = RandomNumberGenerator.GetBytes(1 << 20);
        using (var fs = new FileStream(backing, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            fs.Position = 64 * 65536;
            fs.Write(b);
            fs.Flush(flushToDisk: !backingIsCached);
        }

        await Guest.RunCheckedAsync("dd", $"if={blockDevice}", $"of={tmp}", "bs=64k", "skip=64", "count=16", "iflag=direct", "status=none");
        Assert.Equal(b, await File.ReadAllBytesAsync(tmp));
        File.Delete(tmp);
    }

    [InteropFact]
    public async Task Kernel_host_connects_to_our_target_moves_data_both_ways_refuses_a_duplicate_and_disconnects_cleanly()
    {
        const string nqn = "nqn.2024-01.io.nvmeps:kernel-host-to-ours";
        var mark = await Guest.KernelLogMark.NowAsync();
        var before = NvmeKernelSysfs.Default.List().Select(c => c.Name).ToList();
        await using var ours = await OurTarget.StartAsync(4480, nqn);
        var fabrics = new NvmeKernelFabrics();
        var options = new NvmeKernelConnectOptions { TransportAddress = "127.0.0.1", ServiceId = 4480, SubsystemNqn = nqn, HostNqn = HostNqn, IoQueueCount = 2 };
        var (info, missing) = await fabrics.ConnectAsync(options, TimeSpan.FromSeconds(60), CancellationToken.None);
        try
        {
            Assert.Empty(missing);
            Assert.Equal(("tcp", nqn, "live", HostNqn), (info.Transport, info.SubsystemNqn, info.State, info.HostNqn));
            Assert.Contains("traddr=127.0.0.1", info.Address, StringComparison.Ordinal);
            Assert.Contains("trsvcid=4480", info.Address, StringComparison.Ordinal);
            Assert.Equal(3, info.QueueCount); // admin + the 2 I/O queues asked for
            var ns = Assert.Single(info.Namespaces);
            Assert.Equal(32L << 20, ns.SizeBytes);
            Assert.True(File.Exists(ns.BlockDevice));
            await DataBothWaysAsync(ns.BlockDevice, ours.Backing, backingIsCached: false);

            // The passthrough ioctl works on a fabrics controller too: our target's Identify, via the kernel host.
            var id = await new NvmeAdminClient(new NvmeKernelAdminTransport(info.DevicePath, info.MaxDataTransferSize)).IdentifyControllerAsync();
            Assert.Equal("NvmePS kernel-host test", id.Mn.Trim());
            Assert.Equal("NVMEPSK4480", id.Sn.Trim());

            var dup = await Assert.ThrowsAsync<NvmeKernelException>(() => fabrics.ConnectAsync(options, TimeSpan.FromSeconds(30), CancellationToken.None));
            Assert.Equal((KernelNative.EALREADY, NvmeKernelException.AlreadyConnectedId, NvmeKernelFailure.AlreadyExists), (dup.Errno, dup.ErrorId, dup.Failure));
            Assert.Contains("-DuplicateConnect", dup.Message, StringComparison.Ordinal);

            // EINVAL: a transport the kernel has no module for (this kernel has no RDMA).
            var einval = await Assert.ThrowsAsync<NvmeKernelException>(() =>
                fabrics.ConnectAsync(options with { Transport = "rdma" }, TimeSpan.FromSeconds(30), CancellationToken.None));
            Assert.Equal((KernelNative.EINVAL, NvmeKernelException.ConnectRefusedId), (einval.Errno, einval.ErrorId));
            Assert.Contains("modprobe", einval.Message, StringComparison.Ordinal);

            var refused = await Assert.ThrowsAsync<NvmeKernelException>(() =>
                fabrics.ConnectAsync(options with { ServiceId = 4499 }, TimeSpan.FromSeconds(30), CancellationToken.None));
            Assert.Equal(NvmeKernelException.ConnectRefusedId, refused.ErrorId);
            Assert.Contains("127.0.0.1:4499", refused.Message, StringComparison.Ordinal);
            output.WriteLine($"duplicate: {dup.Message}\nno listener: {refused.Message}");
        }
        finally
        {
            await fabrics.DisconnectAsync(info.Name, TimeSpan.FromSeconds(30), CancellationToken.None);
        }

        Assert.False(Directory.Exists($"/sys/class/nvme/{info.Name}"));
        Assert.Equal(before, NvmeKernelSysfs.Default.List().Select(c => c.Name));
        var notFabrics = await Assert.ThrowsAsync<NvmeKernelException>(() => fabrics.DisconnectAsync("nvme0", TimeSpan.FromSeconds(5), CancellationToken.None));
        Assert.Contains("not a fabrics controller", notFabrics.Message, StringComparison.Ordinal);
        // Only the refused connects may be logged (nvme-tcp: "failed to connect socket: -111"; nvme_fabrics: no handler for rdma).
        var unexpected = (await mark.ProblemsAsync()).Where(l => !l.Contains("failed to connect socket: -111", StringComparison.Ordinal) && !l.Contains("no handler found for transport rdma", StringComparison.Ordinal)).ToList();
        Assert.True(unexpected.Count == 0, string.Join("\n", unexpected));
        output.WriteLine($"{info.Name}: kernel host -> our target 127.0.0.1:4480, 1 MiB each way byte-identical, sysfs back to [{string.Join(", ", before)}]");
    }

    /// <summary>Every path under nvmet's configfs with every attribute's content: what "as it was" means.</summary>
    private static SortedDictionary<string, string> ConfigfsSnapshot()
    {
        var map = new SortedDictionary<string, string>(StringComparer.Ordinal);
        void Walk(string dir, int depth)
        {
            foreach (string e in Directory.EnumerateFileSystemEntries(dir))
            {
                var fi = new FileInfo(e);
                if (fi.LinkTarget is { } target)
                {
                    map[e] = "-> " + target;
                }
                else if (Directory.Exists(e))
                {
                    map[e] = "dir";
                    if (depth < 6)
                    {
                        Walk(e, depth + 1);
                    }
                }
                else
                {
                    try
                    {
                        map[e] = File.ReadAllText(e);
                    }
                    catch (IOException)
                    {
                        map[e] = "(unreadable)";
                    }
                    catch (UnauthorizedAccessException)
                    {
                        map[e] = "(write-only)";
                    }
                }
            }
        }

        Walk("/sys/kernel/config/nvmet", 0);
        return map;
    }

    [InteropFact]
    public async Task Nvmet_made_by_the_engine_serves_the_kernel_host_refuses_what_it_must_and_is_removed_without_a_trace()
    {
        const string nqn = "nqn.2024-01.io.nvmeps:engine-nvmet";
        var mark = await Guest.KernelLogMark.NowAsync();
        var pristine = ConfigfsSnapshot();
        string backing = "/tmp/kt-nvmet.img";
        using (var fs = new FileStream(backing, FileMode.Create))
        {
            fs.SetLength(48L << 20);
        }

        var cfg = new NvmetConfigfs();

        // What another tool made (the test harness writes configfs by hand, as a shell script would) is listed too.
        using (var other = new NvmetTarget(4484, "nqn.2024-01.io.nvmeps:made-by-hand"))
        {
            other.AddFileNamespace(1, 8L << 20);
            other.Enable();
            var seen = cfg.ReadSubsystems().Single(x => x.Nqn == other.SubsystemNqn);
            Assert.True(seen.AllowAnyHost);
            Assert.Equal(1u, Assert.Single(seen.Namespaces).NamespaceId);
            Assert.Equal(("127.0.0.1", "4484"), (Assert.Single(seen.Ports).Address, seen.Ports[0].ServiceId));
        }

        pristine = ConfigfsSnapshot();
        var created = cfg.Create(
            new NvmetSubsystemSpec
            {
                Nqn = nqn,
                AllowedHosts = new[] { HostNqn },
                SerialNumber = "NVMEPSNVMET1",
                ModelNumber = "NvmePS nvmet",
                Namespaces = new[] { new NvmetNamespaceSpec(1, backing, BufferedIo: true) },
            },
            new NvmetPortSpec { Address = "127.0.0.1", ServiceId = 4481, InlineDataSize = 16384 });
        var fabrics = new NvmeKernelFabrics();
        string? ctrl = null;
        try
        {
            Assert.Equal((nqn, false, "NVMEPSNVMET1", "NvmePS nvmet"), (created.Nqn, created.AllowAnyHost, created.SerialNumber, created.ModelNumber));
            Assert.Equal(new[] { HostNqn }, created.AllowedHosts);
            Assert.Equal((1u, backing, true, true), (created.Namespaces[0].NamespaceId, created.Namespaces[0].DevicePath, created.Namespaces[0].Enabled, created.Namespaces[0].BufferedIo));
            var port = Assert.Single(created.Ports);
            Assert.Equal(("tcp", "ipv4", "127.0.0.1", "4481", 16384), (port.Transport, port.AddressFamily, port.Address, port.ServiceId, port.InlineDataSize));

            // nvme-cli's discovery (through the kernel host) sees what the engine configured.
            var disc = await NvmeCliJsonAsync("discover", "-t", "tcp", "-a", "127.0.0.1", "-s", "4481", "-q", HostNqn);
            Assert.Contains(disc.GetProperty("records").EnumerateArray(), r => r.GetProperty("subnqn").GetString() == nqn);

            // The allowed host connects and moves data both ways; any other host is refused by nvmet.
            var options = new NvmeKernelConnectOptions { TransportAddress = "127.0.0.1", ServiceId = 4481, SubsystemNqn = nqn, HostNqn = HostNqn };
            var (info, missing) = await fabrics.ConnectAsync(options, TimeSpan.FromSeconds(60), CancellationToken.None);
            ctrl = info.Name;
            Assert.Empty(missing);
            Assert.Equal(("NVMEPSNVMET1", "NvmePS nvmet"), (info.SerialNumber, info.Model));
            await DataBothWaysAsync(info.Namespaces[0].BlockDevice, backing, backingIsCached: true);
            var stranger = await Assert.ThrowsAsync<NvmeKernelException>(() => fabrics.ConnectAsync(
                options with { HostNqn = "nqn.2014-08.org.nvmexpress:uuid:6e766d65-7073-4000-8000-0000000000ff", HostId = Guid.Parse("6e766d65-7073-4000-8000-0000000000ff") },
                TimeSpan.FromSeconds(30), CancellationToken.None));
            Assert.Equal(NvmeKernelException.ConnectRefusedId, stranger.ErrorId);

            // A name taken: nothing changes.
            var afterCreate = ConfigfsSnapshot();
            var taken = Assert.Throws<NvmeKernelException>(() => cfg.Create(new NvmetSubsystemSpec { Nqn = nqn }, null));
            Assert.Equal((NvmeKernelException.NvmetNameInUseId, NvmeKernelFailure.AlreadyExists), (taken.ErrorId, taken.Failure));
            Assert.Equal(afterCreate, ConfigfsSnapshot());

            // A busy namespace device (held exclusively, as a mount holds it): refused before anything is made.
            using (var held = new SafeExclusiveOpen("/dev/nullb0"))
            {
                var busy = Assert.Throws<NvmeKernelException>(() => cfg.Create(
                    new NvmetSubsystemSpec { Nqn = nqn + "-busy", Namespaces = new[] { new NvmetNamespaceSpec(1, "/dev/nullb0") } },
                    new NvmetPortSpec { Address = "127.0.0.1", ServiceId = 4483 }));
                Assert.Equal((NvmeKernelException.NvmetBusyId, KernelNative.EBUSY), (busy.ErrorId, busy.Errno));
                Assert.Contains("/dev/nullb0 is busy", busy.Message, StringComparison.Ordinal);
            }

            Assert.Equal(afterCreate, ConfigfsSnapshot());

            // A port whose address another listener holds: nvmet cannot bind; everything made for it is rolled back.
            await using (var ours = await OurTarget.StartAsync(4482, "nqn.2024-01.io.nvmeps:holds-4482"))
            {
                var inUse = Assert.Throws<NvmeKernelException>(() => cfg.Create(
                    new NvmetSubsystemSpec { Nqn = nqn + "-inuse", Namespaces = new[] { new NvmetNamespaceSpec(1, "/dev/nullb0") } },
                    new NvmetPortSpec { Address = "127.0.0.1", ServiceId = 4482 }));
                Assert.Equal(NvmeKernelException.NvmetBusyId, inUse.ErrorId);
                output.WriteLine($"port in use: {inUse.Message}");
            }

            Assert.Equal(afterCreate, ConfigfsSnapshot());
        }
        finally
        {
            if (ctrl is not null)
            {
                await fabrics.DisconnectAsync(ctrl, TimeSpan.FromSeconds(30), CancellationToken.None);
            }

            cfg.Remove(nqn);
            File.Delete(backing);
        }

        var end = ConfigfsSnapshot();
        Assert.True(pristine.SequenceEqual(end), "configfs differs: " + string.Join(", ", end.Keys.Except(pristine.Keys).Concat(pristine.Keys.Except(end.Keys))));
        var gone = Assert.Throws<NvmeKernelException>(() => cfg.Remove(nqn));
        Assert.Equal(NvmeKernelException.NvmetNotFoundId, gone.ErrorId);
        // The refusals above are logged by nvmet and the host (host not allowed, bind failed); nothing else may be.
        var unexpected = (await mark.ProblemsAsync()).Where(l => !l.Contains("nvmet", StringComparison.Ordinal) && !l.Contains("nvme_fabrics", StringComparison.Ordinal) && !l.Contains("nvme nvme", StringComparison.Ordinal)).ToList();
        Assert.True(unexpected.Count == 0, string.Join("\n", unexpected));
        output.WriteLine($"nvmet by the engine: {nqn} on 127.0.0.1:4481 served the kernel host (1 MiB each way), refused a stranger, a taken name, a busy device and a port in use; configfs back to its {pristine.Count} entries");
    }

    /// <summary>Holds a block device open with O_EXCL, as a mounted filesystem does.</summary>
    private sealed class SafeExclusiveOpen : IDisposable
    {
        private readonly int _fd;

        public SafeExclusiveOpen(string path)
        {
            _fd = KernelNative.OpenOrErrno(path, KernelNative.ORdOnly | KernelNative.OExcl);
            Assert.True(_fd >= 0, $"cannot hold {path}: errno {-_fd}");
        }

        public void Dispose() => KernelNative.Close(_fd);
    }
}
