namespace NvmePS.Engine.Tests.Kernel;

/// <summary>sysfs and configfs trees as Linux 6.1 lays them out (checked against the VM's kernel), written as plain
/// files for readers that cannot meet a real NVMe device on this machine.</summary>
internal static class KernelTrees
{
    private static void Attr(string dir, string name, string value)
    {
        string path = Path.Combine(dir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, value + "\n");
    }

    private static void Namespace(string root, string ctrlDir, string name, uint nsid, long bytes, int lbs)
    {
        // /sys/class/nvme/nvmeN/nvmeNnM is the block device's directory; /sys/block/nvmeNnM links to it.
        string dir = Path.Combine(ctrlDir, name);
        Attr(dir, "nsid", nsid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Attr(dir, "size", (bytes / 512).ToString(System.Globalization.CultureInfo.InvariantCulture));
        Attr(dir, "queue/logical_block_size", lbs.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Attr(dir, "queue/max_hw_sectors_kb", "128");
        Attr(dir, "wwid", $"eui.{nsid:x16}");
        Directory.CreateDirectory(Path.Combine(root, "block"));
        File.CreateSymbolicLink(Path.Combine(root, "block", name), dir);
    }

    public static void PcieController(string root, int instance)
    {
        string dir = Path.Combine(root, "devices", "pci0000:00", "0000:00:04.0", "nvme", $"nvme{instance}");
        Attr(dir, "transport", "pcie");
        Attr(dir, "address", "0000:00:04.0");
        Attr(dir, "subsysnqn", "nqn.2019-08.org.qemu:NVMEPS-PCI-0001");
        Attr(dir, "model", "QEMU NVMe Ctrl");
        Attr(dir, "serial", "NVMEPS-PCI-0001");
        Attr(dir, "firmware_rev", "8.0.0");
        Attr(dir, "state", "live");
        Attr(dir, "cntlid", "0");
        Attr(dir, "queue_count", "3");
        Namespace(root, dir, $"nvme{instance}n1", 1, 64L << 20, 512);
        Directory.CreateDirectory(Path.Combine(root, "class", "nvme"));
        File.CreateSymbolicLink(Path.Combine(root, "class", "nvme", $"nvme{instance}"), dir);
    }

    public static void TcpController(string root, int instance, string nqn, uint[] namespaces)
    {
        string dir = Path.Combine(root, "devices", "virtual", "nvme-fabrics", "ctl", $"nvme{instance}");
        Attr(dir, "transport", "tcp");
        Attr(dir, "address", "traddr=127.0.0.1,trsvcid=4420");
        Attr(dir, "subsysnqn", nqn);
        Attr(dir, "model", "Linux");
        Attr(dir, "serial", "0123456789abcdef");
        Attr(dir, "firmware_rev", "6.1.0");
        Attr(dir, "state", "live");
        Attr(dir, "cntlid", instance.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Attr(dir, "hostnqn", "nqn.2014-08.org.nvmexpress:uuid:6e766d65-7073-4000-8000-000000000001");
        Attr(dir, "delete_controller", string.Empty);
        foreach (uint nsid in namespaces)
        {
            Namespace(root, dir, $"nvme{instance}n{nsid}", nsid, 32L << 20, nsid == 2 ? 4096 : 512);
        }

        Directory.CreateDirectory(Path.Combine(root, "class", "nvme"));
        File.CreateSymbolicLink(Path.Combine(root, "class", "nvme", $"nvme{instance}"), dir);
    }

    public static void NvmetSubsystem(string configfs, string nqn, string device, int? port, string? address, string? service, string[] hosts)
    {
        string nvmet = Path.Combine(configfs, "nvmet");
        string sub = Path.Combine(nvmet, "subsystems", nqn);
        Attr(sub, "attr_allow_any_host", hosts.Length == 0 ? "1" : "0");
        Attr(sub, "attr_serial", "1a2b3c4d5e6f7a8b");
        Attr(sub, "attr_model", "Linux");
        Attr(Path.Combine(sub, "namespaces", "1"), "device_path", device);
        Attr(Path.Combine(sub, "namespaces", "1"), "enable", "1");
        Attr(Path.Combine(sub, "namespaces", "1"), "buffered_io", "0");
        Directory.CreateDirectory(Path.Combine(sub, "allowed_hosts"));
        foreach (string h in hosts)
        {
            Directory.CreateDirectory(Path.Combine(nvmet, "hosts", h));
            File.CreateSymbolicLink(Path.Combine(sub, "allowed_hosts", h), Path.Combine(nvmet, "hosts", h));
        }

        Directory.CreateDirectory(Path.Combine(nvmet, "ports"));
        if (port is { } id)
        {
            string p = Path.Combine(nvmet, "ports", id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Attr(p, "addr_trtype", "tcp");
            Attr(p, "addr_adrfam", "ipv4");
            Attr(p, "addr_traddr", address!);
            Attr(p, "addr_trsvcid", service!);
            Attr(p, "param_inline_data_size", "-1");
            Directory.CreateDirectory(Path.Combine(p, "subsystems"));
            File.CreateSymbolicLink(Path.Combine(p, "subsystems", nqn), sub);
        }
    }
}
