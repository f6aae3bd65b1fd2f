using System.Globalization;
using System.Text.RegularExpressions;
using NvmePS.Engine.Fabrics;

namespace NvmePS.Engine.Kernel;

/// <summary>A namespace of a kernel controller, from /sys/block (what `nvme list` prints per line).</summary>
public sealed record NvmeKernelNamespaceInfo(
    string Name, uint NamespaceId, string BlockDevice, long SizeBytes, int LogicalBlockSize, int MetadataBytes, int MaxHwSectorsKb, string Wwid);

/// <summary>A controller the kernel's NVMe driver owns, from /sys/class/nvme/nvmeN.</summary>
public sealed record NvmeKernelControllerInfo(
    string Name, int Instance, string DevicePath, string Transport, string Address, string SubsystemNqn, string Model, string SerialNumber,
    string FirmwareRevision, string State, ushort ControllerId, string HostNqn, int QueueCount, IReadOnlyList<NvmeKernelNamespaceInfo> Namespaces)
{
    /// <summary>The most bytes one passthrough command may move: a namespace's max_hw_sectors_kb (the controller's
    /// limit, which its admin queue shares), or the driver's usual 128 KiB.</summary>
    public int MaxDataTransferSize => Namespaces.Count > 0 && Namespaces[0].MaxHwSectorsKb > 0
        ? Namespaces[0].MaxHwSectorsKb * 1024
        : NvmeKernelAdminTransport.DefaultMaxDataTransferSize;

    /// <summary>Where the controller is, short: the PCI address, or address:port of a fabrics controller (from the
    /// kernel's "traddr=…,trsvcid=…[,src_addr=…]" address).</summary>
    public string Endpoint
    {
        get
        {
            if (Transport == "pcie" || !Address.Contains("traddr=", StringComparison.Ordinal))
            {
                return Address;
            }

            var fields = Address.Split(',', StringSplitOptions.TrimEntries).Select(f => f.Split('=', 2)).Where(kv => kv.Length == 2)
                .GroupBy(kv => kv[0]).ToDictionary(g => g.Key, g => g.First()[1]);
            string traddr = fields.GetValueOrDefault("traddr", string.Empty);
            return fields.TryGetValue("trsvcid", out string? svc) && int.TryParse(svc, NumberStyles.None, CultureInfo.InvariantCulture, out int port)
                ? NvmeEndpoint.Format(traddr, port)
                : traddr;
        }
    }
}

/// <summary>
/// Reads the kernel's view of its NVMe controllers from sysfs, as `nvme list` does: one directory per controller
/// under /sys/class/nvme, its namespaces as block devices inside it (nvmeNnM, or nvmeXcNnM paths of a multipath head
/// nvmeXnM). Every value is read bounded; a controller removed while being read is skipped, not an error.
/// </summary>
public sealed partial class NvmeKernelSysfs
{
    private const int MaxAttributeBytes = 4096;

    public NvmeKernelSysfs(string sysRoot = "/sys", string devRoot = "/dev")
    {
        SysRoot = sysRoot;
        DevRoot = devRoot;
    }

    /// <summary>/sys, or the tree NVMEPS_SYSFS_PATH names (like libnvme's LIBNVME_SYSFS_PATH: a captured sysfs to
    /// read offline, and what tests on machines without NVMe read).</summary>
    public static NvmeKernelSysfs Default =>
        Environment.GetEnvironmentVariable("NVMEPS_SYSFS_PATH") is { Length: > 0 } root ? new(root) : Real;

    private static readonly NvmeKernelSysfs Real = new();

    public string SysRoot { get; }

    public string DevRoot { get; }

    public string ClassDirectory => Path.Combine(SysRoot, "class", "nvme");

    [GeneratedRegex(@"^nvme(?<instance>\d{1,6})$", RegexOptions.CultureInvariant)]
    private static partial Regex ControllerName();

    [GeneratedRegex(@"^nvme(?<subsys>\d{1,6})(c\d{1,6})?n(?<ns>\d{1,10})$", RegexOptions.CultureInvariant)]
    private static partial Regex NamespaceName();

    /// <summary>True for "nvme0".."nvme999999": the only names <see cref="TryGet"/> turns into paths.</summary>
    public static bool IsControllerName(string name) => ControllerName().IsMatch(name);

    /// <summary>Every controller, by instance number.</summary>
    public IReadOnlyList<NvmeKernelControllerInfo> List()
    {
        if (!Directory.Exists(ClassDirectory))
        {
            return Array.Empty<NvmeKernelControllerInfo>();
        }

        var list = new List<NvmeKernelControllerInfo>();
        foreach (string dir in Directory.EnumerateFileSystemEntries(ClassDirectory))
        {
            if (TryGet(Path.GetFileName(dir)) is { } c)
            {
                list.Add(c);
            }
        }

        list.Sort((a, b) => a.Instance.CompareTo(b.Instance));
        return list;
    }

    /// <summary>The controller named <paramref name="name"/> (nvmeN), or null when there is none.</summary>
    public NvmeKernelControllerInfo? TryGet(string name)
    {
        var m = ControllerName().Match(name);
        if (!m.Success)
        {
            return null;
        }

        string dir = Path.Combine(ClassDirectory, name);
        try
        {
            if (!Directory.Exists(dir))
            {
                return null;
            }

            var namespaces = new List<NvmeKernelNamespaceInfo>();
            foreach (string entry in Directory.EnumerateFileSystemEntries(dir))
            {
                string nsName = Path.GetFileName(entry);
                var nm = NamespaceName().Match(nsName);
                if (!nm.Success)
                {
                    continue;
                }

                // A multipath path nvmeXcNnM has no block device of its own: its head nvmeXnM has.
                string head = $"nvme{nm.Groups["subsys"].Value}n{nm.Groups["ns"].Value}";
                if (ReadNamespace(head, entry) is { } ns && !namespaces.Exists(n => n.Name == ns.Name))
                {
                    namespaces.Add(ns);
                }
            }

            namespaces.Sort((a, b) => a.NamespaceId.CompareTo(b.NamespaceId));
            return new NvmeKernelControllerInfo(
                name,
                int.Parse(m.Groups["instance"].Value, CultureInfo.InvariantCulture),
                Path.Combine(DevRoot, name),
                Attr(dir, "transport"),
                Attr(dir, "address").Replace('\n', ' ').Trim(),
                Attr(dir, "subsysnqn"),
                Attr(dir, "model"),
                Attr(dir, "serial"),
                Attr(dir, "firmware_rev"),
                Attr(dir, "state"),
                ushort.TryParse(Attr(dir, "cntlid"), NumberStyles.None, CultureInfo.InvariantCulture, out ushort cntlid) ? cntlid : (ushort)0,
                Attr(dir, "hostnqn"),
                int.TryParse(Attr(dir, "queue_count"), NumberStyles.None, CultureInfo.InvariantCulture, out int qc) ? qc : 0,
                namespaces);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Deleted while we read it.
            return null;
        }
    }

    private NvmeKernelNamespaceInfo? ReadNamespace(string head, string pathEntry)
    {
        string block = Path.Combine(SysRoot, "block", head);
        string dir = Directory.Exists(block) ? block : pathEntry;
        if (!uint.TryParse(Attr(dir, "nsid"), NumberStyles.None, CultureInfo.InvariantCulture, out uint nsid))
        {
            return null;
        }

        long sectors = long.TryParse(Attr(dir, "size"), NumberStyles.None, CultureInfo.InvariantCulture, out long s) ? s : 0;
        int lbs = int.TryParse(Attr(dir, "queue/logical_block_size"), NumberStyles.None, CultureInfo.InvariantCulture, out int l) ? l : 512;
        int mhs = int.TryParse(Attr(dir, "queue/max_hw_sectors_kb"), NumberStyles.None, CultureInfo.InvariantCulture, out int k) ? k : 0;
        int ms = int.TryParse(Attr(dir, "metadata_bytes"), NumberStyles.None, CultureInfo.InvariantCulture, out int md) ? md : 0;
        // /sys "size" is always in 512-byte sectors, whatever the LBA size.
        return new NvmeKernelNamespaceInfo(head, nsid, Path.Combine(DevRoot, head), sectors * 512, lbs, ms, mhs, Attr(dir, "wwid"));
    }

    /// <summary>A sysfs attribute, trimmed; empty when absent or unreadable.</summary>
    internal static string Attr(string dir, string name)
    {
        string path = Path.Combine(dir, name);
        try
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
            byte[] buffer = new byte[MaxAttributeBytes];
            int n = fs.Read(buffer, 0, buffer.Length);
            return System.Text.Encoding.UTF8.GetString(buffer, 0, n).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return string.Empty;
        }
    }
}
