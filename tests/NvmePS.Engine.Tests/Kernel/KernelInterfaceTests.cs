using NvmePS.Engine.Admin;
using NvmePS.Engine.Kernel;

namespace NvmePS.Engine.Tests.Kernel;

/// <summary>
/// The kernel seams that need no NVMe driver: the ioctl outcome → completion mapping, the /dev/nvme-fabrics option
/// string and reply, errno → error mapping against this machine's real kernel (/dev/null refuses the NVMe ioctl with
/// ENOTTY), and sysfs/configfs readers over captured trees laid out as Linux 6.1 lays them out. The real driver,
/// host and target are exercised in the VM tier (tests/NvmePS.Interop.Tests/Kernel).
/// </summary>
public sealed class KernelInterfaceTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("nvmeps-kernel-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void A_positive_ioctl_return_is_the_nvme_status_without_the_phase_bit()
    {
        // 0x4002: DNR (bit 14) + Generic / Invalid Field in Command, as nvme_req(req)->status holds it.
        var c = NvmePassthruCommand.CompletionFrom(0x4002, 0x0000_0007_0000_0009);
        Assert.Equal(NvmeStatusCodeType.Generic, c.Status.Sct);
        Assert.Equal(0x02, c.Status.Sc);
        Assert.True(c.Status.Dnr);
        Assert.Equal(9u, c.Dw0);
        Assert.Equal(7u, c.Dw1);
        Assert.True(NvmePassthruCommand.CompletionFrom(0, 0).IsSuccess);
        // SCT 1 (command specific), SC 09h: Invalid Log Page... as the kernel returns it: (1 << 8) | 0x09.
        var cs = NvmePassthruCommand.CompletionFrom(0x109, 0);
        Assert.Equal(NvmeStatusCodeType.CommandSpecific, cs.Status.Sct);
        Assert.Equal(0x09, cs.Status.Sc);
        Assert.False(cs.Status.Dnr);
    }

    [Fact]
    public async Task A_device_that_is_not_nvme_refuses_the_ioctl_with_a_clear_error()
    {
        var t = new NvmeKernelAdminTransport("/dev/null");
        var e = await Assert.ThrowsAsync<NvmeKernelException>(async () =>
            await t.ExecuteAdminAsync(new NvmeCommand { Opcode = NvmeAdminOpcode.Identify, Cdw10 = 1 }, default, new byte[4096], CancellationToken.None));
        Assert.Equal(KernelNative.ENOTTY, e.Errno);
        Assert.Equal(NvmeKernelException.IoctlRefusedId, e.ErrorId);
        Assert.Equal(NvmeKernelFailure.Refused, e.Failure);
        Assert.Contains("/dev/null is not an NVMe controller or namespace device", e.Message, StringComparison.Ordinal);
        Assert.Equal("/dev/null", e.Path);
    }

    [Fact]
    public async Task A_missing_device_is_named_and_is_not_found()
    {
        string path = Path.Combine(_root, "nvme77");
        var t = new NvmeKernelAdminTransport(path);
        var e = await Assert.ThrowsAsync<NvmeKernelException>(async () =>
            await t.ExecuteAdminAsync(new NvmeCommand { Opcode = NvmeAdminOpcode.Identify, Cdw10 = 1 }, default, new byte[4096], CancellationToken.None));
        Assert.Equal(NvmeKernelException.DeviceNotFoundId, e.ErrorId);
        Assert.Equal(NvmeKernelFailure.NotFound, e.Failure);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_option_string_is_what_nvme_connect_writes_and_refuses_smuggled_options()
    {
        var o = new NvmeKernelConnectOptions
        {
            TransportAddress = "127.0.0.1",
            ServiceId = 4420,
            SubsystemNqn = "nqn.2024-01.io.nvmeps:a",
            HostNqn = "nqn.2014-08.org.nvmexpress:uuid:6e766d65-7073-4000-8000-000000000001",
            HostId = Guid.Parse("6e766d65-7073-4000-8000-000000000001"),
            IoQueueCount = 2,
            QueueSize = 64,
            KeepAliveTimeoutSec = 7,
            ControllerLossTimeoutSec = -1,
            ReconnectDelaySec = 3,
            HeaderDigest = true,
            DataDigest = true,
        };
        Assert.Equal(
            "transport=tcp,traddr=127.0.0.1,trsvcid=4420,nqn=nqn.2024-01.io.nvmeps:a,hostnqn=nqn.2014-08.org.nvmexpress:uuid:6e766d65-7073-4000-8000-000000000001," +
            "hostid=6e766d65-7073-4000-8000-000000000001,nr_io_queues=2,queue_size=64,keep_alive_tmo=7,ctrl_loss_tmo=-1,reconnect_delay=3,hdr_digest,data_digest",
            o.ToOptionString());
        Assert.Equal("transport=tcp,traddr=::1,trsvcid=8009,nqn=nqn.2014-08.org.nvmexpress.discovery",
            new NvmeKernelConnectOptions { TransportAddress = "::1", ServiceId = 8009 }.ToOptionString());

        // A value holding a separator would add an option of its own (here: a second controller to another target).
        foreach (string bad in new[] { "127.0.0.1,duplicate_connect", "127.0.0.1\ntraddr=10.0.0.1", "a=b", "127.0.0.1 ", string.Empty })
        {
            var e = Assert.Throws<ArgumentException>(() => (o with { TransportAddress = bad }).ToOptionString());
            Assert.Contains("traddr", e.Message, StringComparison.Ordinal);
        }

        Assert.Throws<ArgumentException>(() => (o with { SubsystemNqn = "nqn.2024-01.io.nvmeps:a,hostnqn=x" }).ToOptionString());
        Assert.Throws<ArgumentException>(() => (o with { HostNqn = "not-an-nqn" }).ToOptionString());
        Assert.Throws<ArgumentOutOfRangeException>(() => (o with { QueueSize = 4 }).ToOptionString());
        Assert.Throws<ArgumentOutOfRangeException>(() => (o with { ServiceId = 0 }).ToOptionString());
    }

    [Theory]
    [InlineData("instance=3,cntlid=1\n", true, 3, 1)]
    [InlineData("instance=12,cntlid=65535", true, 12, 65535)]
    [InlineData("cntlid=2,instance=0\n", true, 0, 2)]
    [InlineData("instance=3", false, 0, 0)]
    [InlineData("instance=-1,cntlid=1", false, 0, 0)]
    [InlineData("instance=3,cntlid=70000", false, 0, 0)]
    [InlineData("instance=1/../../x,cntlid=1", false, 0, 0)]
    [InlineData("", false, 0, 0)]
    public void The_kernel_reply_is_parsed_strictly(string reply, bool ok, int instance, int cntlid)
    {
        Assert.Equal(ok, NvmeKernelFabrics.TryParseReply(reply, out int i, out ushort c));
        if (ok)
        {
            Assert.Equal(instance, i);
            Assert.Equal(cntlid, c);
        }
    }

    [Fact]
    public async Task No_fabrics_device_names_the_module_to_load()
    {
        var fabrics = new NvmeKernelFabrics(new NvmeKernelSysfs(_root), Path.Combine(_root, "nvme-fabrics"));
        var e = await Assert.ThrowsAsync<NvmeKernelException>(() =>
            fabrics.ConnectAsync(new NvmeKernelConnectOptions { TransportAddress = "127.0.0.1", ServiceId = 4420, SubsystemNqn = "nqn.2024-01.io.nvmeps:a" }, TimeSpan.FromSeconds(1), CancellationToken.None));
        Assert.Equal(NvmeKernelException.FabricsUnavailableId, e.ErrorId);
        Assert.Equal(NvmeKernelFailure.Unavailable, e.Failure);
        Assert.Contains("modprobe nvme-tcp", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Disconnect_refuses_names_that_are_not_controllers_and_missing_controllers()
    {
        var fabrics = new NvmeKernelFabrics(new NvmeKernelSysfs(_root));
        await Assert.ThrowsAsync<ArgumentException>(() => fabrics.DisconnectAsync("../../../etc", TimeSpan.FromSeconds(1), CancellationToken.None));
        var e = await Assert.ThrowsAsync<NvmeKernelException>(() => fabrics.DisconnectAsync("nvme9", TimeSpan.FromSeconds(1), CancellationToken.None));
        Assert.Equal(NvmeKernelException.DeviceNotFoundId, e.ErrorId);
        Assert.Contains("There is no controller nvme9", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sysfs_lists_controllers_by_instance_with_their_namespaces_as_nvme_list_does()
    {
        KernelTrees.PcieController(_root, 0);
        KernelTrees.TcpController(_root, 10, "nqn.2024-01.io.nvmeps:a", namespaces: new uint[] { 2, 1 });
        KernelTrees.TcpController(_root, 2, "nqn.2024-01.io.nvmeps:b", namespaces: Array.Empty<uint>());
        var list = new NvmeKernelSysfs(_root, "/dev").List();
        Assert.Equal(new[] { "nvme0", "nvme2", "nvme10" }, list.Select(c => c.Name));

        var pci = list[0];
        Assert.Equal("pcie", pci.Transport);
        Assert.Equal("0000:00:04.0", pci.Address);
        Assert.Equal("QEMU NVMe Ctrl", pci.Model);
        Assert.Equal("NVMEPS-PCI-0001", pci.SerialNumber);
        Assert.Equal("/dev/nvme0", pci.DevicePath);
        var ns = Assert.Single(pci.Namespaces);
        Assert.Equal(("nvme0n1", 1u, "/dev/nvme0n1", 64L << 20, 512), (ns.Name, ns.NamespaceId, ns.BlockDevice, ns.SizeBytes, ns.LogicalBlockSize));
        Assert.Equal(128 * 1024, pci.MaxDataTransferSize);

        var tcp = list[2];
        Assert.Equal(("tcp", "traddr=127.0.0.1,trsvcid=4420", "nqn.2024-01.io.nvmeps:a", "live", (ushort)10), (tcp.Transport, tcp.Address, tcp.SubsystemNqn, tcp.State, tcp.ControllerId));
        Assert.Equal(new uint[] { 1, 2 }, tcp.Namespaces.Select(n => n.NamespaceId));
        Assert.Equal(4096, tcp.Namespaces[1].LogicalBlockSize);
        Assert.Empty(list[1].Namespaces);
        Assert.Null(new NvmeKernelSysfs(_root).TryGet("nvme0/../nvme2"));
        Assert.Null(new NvmeKernelSysfs(_root).TryGet("nvme5"));
        Assert.Empty(new NvmeKernelSysfs(Path.Combine(_root, "none")).List());
    }

    [Fact]
    public void The_mount_table_names_a_controllers_mounted_devices_and_partitions_and_nothing_else()
    {
        string mounts = Path.Combine(_root, "mounts");
        File.WriteAllText(mounts, string.Join('\n',
            "/dev/nvme1n1p2 /mnt/a ext4 rw 0 0",
            "/dev/nvme1n10 /mnt/b ext4 rw 0 0",
            "/dev/nvme1n1 /mnt/with\\040space xfs rw 0 0",
            "/dev/nvme1n1px /mnt/c ext4 rw 0 0",
            "configfs /sys/kernel/config configfs rw 0 0",
            "short line") + "\n");
        Assert.Equal(new[] { "/dev/nvme1n1p2", "/dev/nvme1n1" }, ProcMounts.SourcesOn(new[] { "/dev/nvme1n1" }, mounts));
        Assert.Empty(ProcMounts.SourcesOn(new[] { "/dev/nvme2n1" }, mounts));
        Assert.True(ProcMounts.IsMounted("configfs", "/sys/kernel/config", mounts));
        Assert.False(ProcMounts.IsMounted("configfs", "/sys/kernel", mounts));
        Assert.Empty(ProcMounts.Read(Path.Combine(_root, "absent")));
    }

    [Fact]
    public void A_fabrics_controllers_endpoint_is_address_and_port_from_the_kernels_address()
    {
        KernelTrees.PcieController(_root, 0);
        KernelTrees.TcpController(_root, 1, "nqn.2024-01.io.nvmeps:a", namespaces: Array.Empty<uint>());
        var list = new NvmeKernelSysfs(_root).List();
        Assert.Equal("0000:00:04.0", list[0].Endpoint);
        Assert.Equal("127.0.0.1:4420", list[1].Endpoint);
    }

    [Fact]
    public void Nvmet_names_the_missing_configfs_mount_and_the_missing_module()
    {
        string mounts = Path.Combine(_root, "mounts");
        string configfs = Path.Combine(_root, "config");
        Directory.CreateDirectory(configfs);
        File.WriteAllText(mounts, "proc /proc proc rw 0 0\n");
        var e = Assert.Throws<NvmeKernelException>(() => new NvmetConfigfs(configfs, mounts).ReadSubsystems());
        Assert.Equal(NvmeKernelException.ConfigfsNotMountedId, e.ErrorId);
        Assert.Contains($"mount -t configfs none {configfs}", e.Message, StringComparison.Ordinal);

        File.WriteAllText(mounts, $"configfs {configfs} configfs rw,nosuid,nodev,noexec,relatime 0 0\n");
        e = Assert.Throws<NvmeKernelException>(() => new NvmetConfigfs(configfs, mounts).ReadSubsystems());
        Assert.Equal(NvmeKernelException.NvmetUnavailableId, e.ErrorId);
        Assert.Contains("modprobe nvmet-tcp", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Nvmet_configuration_is_read_back_with_links_resolved()
    {
        string configfs = Path.Combine(_root, "config");
        KernelTrees.NvmetSubsystem(configfs, "nqn.2024-01.io.nvmeps:k1", "/tmp/k1.img", port: 1, address: "127.0.0.1", service: "4420", hosts: new[] { "nqn.2014-08.org.nvmexpress:uuid:6e766d65-7073-4000-8000-000000000001" });
        KernelTrees.NvmetSubsystem(configfs, "nqn.2024-01.io.nvmeps:k2", "/dev/loop0", port: null, address: null, service: null, hosts: Array.Empty<string>());
        var cfg = new NvmetConfigfs(configfs);
        var subs = cfg.ReadSubsystems();
        Assert.Equal(new[] { "nqn.2024-01.io.nvmeps:k1", "nqn.2024-01.io.nvmeps:k2" }, subs.Select(s => s.Nqn));
        var k1 = subs[0];
        Assert.False(k1.AllowAnyHost);
        Assert.Equal(new[] { "nqn.2014-08.org.nvmexpress:uuid:6e766d65-7073-4000-8000-000000000001" }, k1.AllowedHosts);
        var ns = Assert.Single(k1.Namespaces);
        Assert.Equal((1u, "/tmp/k1.img", true), (ns.NamespaceId, ns.DevicePath, ns.Enabled));
        var port = Assert.Single(k1.Ports);
        Assert.Equal((1, "tcp", "ipv4", "127.0.0.1", "4420"), (port.PortId, port.Transport, port.AddressFamily, port.Address, port.ServiceId));
        Assert.Equal(new[] { "nqn.2024-01.io.nvmeps:k1" }, port.Subsystems);
        Assert.True(subs[1].AllowAnyHost);
        Assert.Empty(subs[1].Ports);
    }

    [Fact]
    public void Nvmet_creation_refuses_names_that_would_leave_configfs_and_non_loopback_ports()
    {
        string configfs = Path.Combine(_root, "config");
        Directory.CreateDirectory(Path.Combine(configfs, "nvmet", "subsystems"));
        var cfg = new NvmetConfigfs(configfs);
        var port = new NvmetPortSpec { Address = "127.0.0.1", ServiceId = 4420 };
        Assert.Throws<ArgumentException>(() => cfg.Create(new NvmetSubsystemSpec { Nqn = "nqn.2024-01.io.nvmeps:../../x" }, port));
        Assert.Throws<ArgumentException>(() => cfg.Create(new NvmetSubsystemSpec { Nqn = "nqn.2024-01.io.nvmeps:a", AllowedHosts = new[] { "nqn.2024-01.h/../../y" } }, port));
        Assert.Throws<ArgumentException>(() => cfg.Create(new NvmetSubsystemSpec { Nqn = "nqn.2024-01.io.nvmeps:a", Namespaces = new[] { new NvmetNamespaceSpec(1, "relative.img") } }, port));
        var e = Assert.Throws<ArgumentException>(() => cfg.Create(new NvmetSubsystemSpec { Nqn = "nqn.2024-01.io.nvmeps:a" }, port with { Address = "192.0.2.1" }));
        Assert.Contains("not a loopback address", e.Message, StringComparison.Ordinal);
        // Nothing was created by the refused calls.
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(configfs, "nvmet", "subsystems")));
    }
}
