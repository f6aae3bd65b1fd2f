using System.Globalization;
using NvmePS.Engine.Fabrics;

namespace NvmePS.Engine.Kernel;

/// <summary>A namespace to create: NSID and the block device or file behind it, always a path the user gave.</summary>
public sealed record NvmetNamespaceSpec(uint NamespaceId, string DevicePath, bool? BufferedIo = null);

/// <summary>A port to listen on (ports/N: addr_trtype, addr_adrfam, addr_traddr, addr_trsvcid, param_inline_data_size).</summary>
public sealed record NvmetPortSpec
{
    /// <summary>The configfs port id; null picks the lowest free one, or reuses a port on the same address.</summary>
    public int? PortId { get; init; }

    public string Transport { get; init; } = "tcp";

    public required string Address { get; init; }

    public required int ServiceId { get; init; }

    /// <summary>ipv4 or ipv6; null derives it from the address.</summary>
    public string? AddressFamily { get; init; }

    public int? InlineDataSize { get; init; }

    public string EffectiveAddressFamily => AddressFamily ?? (Address.Contains(':', StringComparison.Ordinal) ? "ipv6" : "ipv4");
}

/// <summary>A subsystem to create, with its namespaces and hosts.</summary>
public sealed record NvmetSubsystemSpec
{
    public required string Nqn { get; init; }

    /// <summary>attr_allow_any_host; when false, only <see cref="AllowedHosts"/> connect.</summary>
    public bool AllowAnyHost { get; init; } = true;

    public IReadOnlyList<string> AllowedHosts { get; init; } = Array.Empty<string>();

    /// <summary>DH-HMAC-CHAP keys of allowed hosts: hosts/NQN/dhchap_key, dhchap_ctrl_key, dhchap_hash and
    /// dhchap_dhgroup. nvmet keeps them per host, so every subsystem that host may reach requires them.</summary>
    public IReadOnlyDictionary<string, Fabrics.Auth.DhchapHostKey> HostKeys { get; init; } = new Dictionary<string, Fabrics.Auth.DhchapHostKey>();

    public string? SerialNumber { get; init; }

    public string? ModelNumber { get; init; }

    public IReadOnlyList<NvmetNamespaceSpec> Namespaces { get; init; } = Array.Empty<NvmetNamespaceSpec>();
}

public sealed record NvmetNamespaceInfo(uint NamespaceId, string DevicePath, bool Enabled, bool BufferedIo, string DeviceUuid);

public sealed record NvmetPortInfo(int PortId, string Transport, string AddressFamily, string Address, string ServiceId, int InlineDataSize, IReadOnlyList<string> Subsystems);

public sealed record NvmetSubsystemInfo(
    string Nqn, bool AllowAnyHost, IReadOnlyList<string> AllowedHosts, string SerialNumber, string ModelNumber,
    IReadOnlyList<NvmetNamespaceInfo> Namespaces, IReadOnlyList<NvmetPortInfo> Ports);

/// <summary>
/// The Linux NVMe target's configuration through configfs (drivers/nvme/target/configfs.c), as nvmetcli writes it:
/// subsystems/NQN with attributes and namespaces/N, ports/N with addr_* and symlinks to subsystems, hosts/NQN linked
/// from a subsystem's allowed_hosts. Creation rolls back whatever it made when a step fails, and removal goes in the
/// order configfs demands (port links, namespaces, host links, then the subsystem).
/// </summary>
public sealed class NvmetConfigfs
{
    public NvmetConfigfs(string configfsRoot = "/sys/kernel/config", string mountsFile = ProcMounts.DefaultPath)
    {
        ConfigfsRoot = configfsRoot;
        MountsFile = mountsFile;
    }

    /// <summary>/sys/kernel/config, or the tree NVMEPS_CONFIGFS_PATH names (a captured nvmet configuration to read).</summary>
    public static NvmetConfigfs Default =>
        new(Environment.GetEnvironmentVariable("NVMEPS_CONFIGFS_PATH") is { Length: > 0 } root ? root : "/sys/kernel/config");

    public string ConfigfsRoot { get; }

    public string MountsFile { get; }

    public string Root => Path.Combine(ConfigfsRoot, "nvmet");

    private string Subsystems => Path.Combine(Root, "subsystems");

    private string Ports => Path.Combine(Root, "ports");

    private string Hosts => Path.Combine(Root, "hosts");

    /// <summary>Throws the clear error when configfs is not mounted or nvmet is not loaded.</summary>
    public void EnsureAvailable()
    {
        if (Directory.Exists(Root))
        {
            return;
        }

        if (!ProcMounts.IsMounted("configfs", ConfigfsRoot, MountsFile))
        {
            throw new NvmeKernelException(
                $"configfs is not mounted at {ConfigfsRoot}: mount it with 'mount -t configfs none {ConfigfsRoot}'.",
                NvmeKernelFailure.Unavailable, NvmeKernelException.ConfigfsNotMountedId, KernelNative.ENOENT, ConfigfsRoot);
        }

        throw new NvmeKernelException(
            $"{Root} does not exist: the kernel NVMe target is not loaded. Load it with 'modprobe nvmet-tcp' (it pulls in nvmet).",
            NvmeKernelFailure.Unavailable, NvmeKernelException.NvmetUnavailableId, KernelNative.ENOENT, Root);
    }

    /// <summary>What configfs holds now, including objects other tools made.</summary>
    public IReadOnlyList<NvmetSubsystemInfo> ReadSubsystems()
    {
        EnsureAvailable();
        var ports = ReadPorts();
        var list = new List<NvmetSubsystemInfo>();
        foreach (string dir in Entries(Subsystems).OrderBy(Path.GetFileName, StringComparer.Ordinal))
        {
            string nqn = Path.GetFileName(dir);
            var namespaces = Entries(Path.Combine(dir, "namespaces"))
                .Select(ns => (Dir: ns, Ok: uint.TryParse(Path.GetFileName(ns), NumberStyles.None, CultureInfo.InvariantCulture, out uint id), Id: id))
                .Where(ns => ns.Ok)
                .OrderBy(ns => ns.Id)
                .Select(ns => new NvmetNamespaceInfo(ns.Id, NvmeKernelSysfs.Attr(ns.Dir, "device_path"), NvmeKernelSysfs.Attr(ns.Dir, "enable") == "1",
                    NvmeKernelSysfs.Attr(ns.Dir, "buffered_io") == "1", NvmeKernelSysfs.Attr(ns.Dir, "device_uuid")))
                .ToList();
            list.Add(new NvmetSubsystemInfo(
                nqn,
                NvmeKernelSysfs.Attr(dir, "attr_allow_any_host") == "1",
                Entries(Path.Combine(dir, "allowed_hosts")).Select(Path.GetFileName).OrderBy(h => h, StringComparer.Ordinal).ToList()!,
                NvmeKernelSysfs.Attr(dir, "attr_serial"),
                NvmeKernelSysfs.Attr(dir, "attr_model"),
                namespaces,
                ports.Where(p => p.Subsystems.Contains(nqn)).ToList()));
        }

        return list;
    }

    public IReadOnlyList<NvmetPortInfo> ReadPorts()
    {
        EnsureAvailable();
        var list = new List<NvmetPortInfo>();
        foreach (string dir in Entries(Ports))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int id))
            {
                continue;
            }

            list.Add(new NvmetPortInfo(
                id,
                NvmeKernelSysfs.Attr(dir, "addr_trtype"),
                NvmeKernelSysfs.Attr(dir, "addr_adrfam"),
                NvmeKernelSysfs.Attr(dir, "addr_traddr"),
                NvmeKernelSysfs.Attr(dir, "addr_trsvcid"),
                int.TryParse(NvmeKernelSysfs.Attr(dir, "param_inline_data_size"), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int ids) ? ids : 0,
                Entries(Path.Combine(dir, "subsystems")).Select(Path.GetFileName).OrderBy(s => s, StringComparer.Ordinal).ToList()!));
        }

        list.Sort((a, b) => a.PortId.CompareTo(b.PortId));
        return list;
    }

    /// <summary>Creates the subsystem, its namespaces and host links, and exposes it on <paramref name="port"/>
    /// (reusing a port already on that address). On any failure, what was created is removed again.</summary>
    public NvmetSubsystemInfo Create(NvmetSubsystemSpec subsystem, NvmetPortSpec? port, bool allowNonLoopback = false)
    {
        ArgumentNullException.ThrowIfNull(subsystem);
        if (port is not null && !allowNonLoopback && !(System.Net.IPAddress.TryParse(port.Address, out var ip) && System.Net.IPAddress.IsLoopback(ip)))
        {
            // The same rule as the userspace target: serving another network is a decision, never a default.
            throw new ArgumentException($"{port.Address} is not a loopback address; pass allowNonLoopback to serve other networks.", nameof(port));
        }

        EnsureAvailable();
        CheckName(subsystem.Nqn, "subsystem NQN");
        foreach (string h in subsystem.AllowedHosts)
        {
            CheckName(h, "host NQN");
        }

        foreach (var ns in subsystem.Namespaces)
        {
            if (ns.NamespaceId is 0 or 0xFFFFFFFF || !Path.IsPathFullyQualified(ns.DevicePath))
            {
                throw new ArgumentException($"Namespace {ns.NamespaceId} needs an NSID of 1 to FFFFFFFEh and an absolute device path, not '{ns.DevicePath}'.");
            }
        }

        foreach (var ns in subsystem.Namespaces)
        {
            CheckNotInUse(ns);
        }

        var undo = new Stack<Action>();
        try
        {
            string sub = Path.Combine(Subsystems, subsystem.Nqn);
            MkDir(sub, $"subsystem {subsystem.Nqn}");
            undo.Push(() => RmDirQuiet(sub));
            WriteAttr(sub, "attr_allow_any_host", subsystem.AllowAnyHost && subsystem.AllowedHosts.Count == 0 ? "1" : "0");
            if (subsystem.SerialNumber is { } sn)
            {
                WriteAttr(sub, "attr_serial", sn);
            }

            if (subsystem.ModelNumber is { } mn)
            {
                WriteAttr(sub, "attr_model", mn);
            }

            foreach (string host in subsystem.AllowedHosts)
            {
                string hostDir = Path.Combine(Hosts, host);
                if (!Directory.Exists(hostDir))
                {
                    MkDir(hostDir, $"host {host}");
                    undo.Push(() => RmDirQuiet(hostDir));
                }

                if (subsystem.HostKeys.TryGetValue(host, out var key))
                {
                    // The "doing" text names the attribute, never the value.
                    WriteAttr(hostDir, "dhchap_key", key.HostSecret.Reveal(), $"setting dhchap_key of host {host}");
                    if (key.ControllerSecret is { } controllerSecret)
                    {
                        WriteAttr(hostDir, "dhchap_ctrl_key", controllerSecret.Reveal(), $"setting dhchap_ctrl_key of host {host}");
                    }

                    WriteAttr(hostDir, "dhchap_hash", key.Hash switch
                    {
                        Fabrics.Auth.DhchapHash.Sha384 => "hmac(sha384)",
                        Fabrics.Auth.DhchapHash.Sha512 => "hmac(sha512)",
                        _ => "hmac(sha256)",
                    });
                    WriteAttr(hostDir, "dhchap_dhgroup", key.Group == Fabrics.Auth.DhchapGroup.Null ? "null" : key.Group.ToString().ToLowerInvariant());
                }

                string link = Path.Combine(sub, "allowed_hosts", host);
                Link(hostDir, link, $"allowing host {host}");
                undo.Push(() => UnlinkQuiet(link));
            }

            foreach (var ns in subsystem.Namespaces)
            {
                string nsDir = Path.Combine(sub, "namespaces", ns.NamespaceId.ToString(CultureInfo.InvariantCulture));
                MkDir(nsDir, $"namespace {ns.NamespaceId}");
                undo.Push(() => RmDirQuiet(nsDir));
                WriteAttr(nsDir, "device_path", ns.DevicePath);
                if (ns.BufferedIo is { } buffered)
                {
                    WriteAttr(nsDir, "buffered_io", buffered ? "1" : "0");
                }

                WriteAttr(nsDir, "enable", "1", $"enabling namespace {ns.NamespaceId} on {ns.DevicePath}");
                undo.Push(() => WriteAttrQuiet(nsDir, "enable", "0"));
            }

            if (port is not null)
            {
                string portDir = PreparePort(port, undo);
                string link = Path.Combine(portDir, "subsystems", subsystem.Nqn);
                Link(sub, link, $"exposing {subsystem.Nqn} on {NvmeEndpoint.Format(port.Address, port.ServiceId)}");
                undo.Push(() => UnlinkQuiet(link));
            }

            undo.Clear();
            return ReadSubsystems().First(s => s.Nqn == subsystem.Nqn);
        }
        catch
        {
            while (undo.Count > 0)
            {
                undo.Pop()();
            }

            throw;
        }
    }

    private string PreparePort(NvmetPortSpec port, Stack<Action> undo)
    {
        if (port.ServiceId is < 1 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(port), port.ServiceId, "The port's service id must be 1 to 65535.");
        }

        string svc = port.ServiceId.ToString(CultureInfo.InvariantCulture);
        var existing = ReadPorts();
        var same = existing.FirstOrDefault(p => p.Transport == port.Transport && p.Address == port.Address && p.ServiceId == svc);
        if (same is not null && (port.PortId is null || port.PortId == same.PortId))
        {
            return Path.Combine(Ports, same.PortId.ToString(CultureInfo.InvariantCulture));
        }

        int id = port.PortId ?? Enumerable.Range(1, 65535).First(i => existing.All(p => p.PortId != i));
        string dir = Path.Combine(Ports, id.ToString(CultureInfo.InvariantCulture));
        MkDir(dir, $"port {id}");
        undo.Push(() => RmDirQuiet(dir));
        WriteAttr(dir, "addr_trtype", port.Transport);
        WriteAttr(dir, "addr_adrfam", port.EffectiveAddressFamily);
        WriteAttr(dir, "addr_traddr", port.Address);
        WriteAttr(dir, "addr_trsvcid", svc);
        if (port.InlineDataSize is { } inline)
        {
            WriteAttr(dir, "param_inline_data_size", inline.ToString(CultureInfo.InvariantCulture));
        }

        return dir;
    }

    /// <summary>Removes a subsystem: unexposes it from every port (removing ports left with no subsystem when
    /// <paramref name="removeEmptyPorts"/>), disables and removes its namespaces, drops its host links and the host
    /// entries no other subsystem uses, then the subsystem.</summary>
    public void Remove(string nqn, bool removeEmptyPorts = true)
    {
        EnsureAvailable();
        CheckName(nqn, "subsystem NQN");
        string sub = Path.Combine(Subsystems, nqn);
        if (!Directory.Exists(sub))
        {
            throw new NvmeKernelException($"nvmet has no subsystem {nqn}.", NvmeKernelFailure.NotFound, NvmeKernelException.NvmetNotFoundId, KernelNative.ENOENT, sub);
        }

        foreach (var port in ReadPorts().Where(p => p.Subsystems.Contains(nqn)))
        {
            string portDir = Path.Combine(Ports, port.PortId.ToString(CultureInfo.InvariantCulture));
            Unlink(Path.Combine(portDir, "subsystems", nqn));
            if (removeEmptyPorts && port.Subsystems.Count == 1 && !Entries(Path.Combine(portDir, "referrals")).Any())
            {
                RmDir(portDir);
            }
        }

        foreach (string ns in Entries(Path.Combine(sub, "namespaces")))
        {
            WriteAttrQuiet(ns, "enable", "0");
            RmDir(ns);
        }

        var hosts = Entries(Path.Combine(sub, "allowed_hosts")).Select(Path.GetFileName).ToList();
        foreach (string? h in hosts)
        {
            Unlink(Path.Combine(sub, "allowed_hosts", h!));
        }

        RmDir(sub);
        var stillUsed = Entries(Subsystems).SelectMany(s => Entries(Path.Combine(s, "allowed_hosts")).Select(Path.GetFileName)).ToHashSet();
        foreach (string? h in hosts)
        {
            if (!stillUsed.Contains(h))
            {
                RmDirQuiet(Path.Combine(Hosts, h!));
            }
        }
    }

    /// <summary>nvmet opens a block device without claiming it, so it would export a mounted filesystem's disk and
    /// corrupt it. An exclusive open fails with EBUSY while a mount, a holder or another exclusive user has the
    /// device (for a regular file O_EXCL without O_CREAT changes nothing).</summary>
    private static void CheckNotInUse(NvmetNamespaceSpec ns)
    {
        int fd = KernelNative.OpenOrErrno(ns.DevicePath, KernelNative.ORdOnly | KernelNative.OExcl);
        if (fd >= 0)
        {
            KernelNative.Close(fd);
            return;
        }

        if (-fd == KernelNative.EBUSY)
        {
            throw new NvmeKernelException(
                $"Namespace {ns.NamespaceId}: {ns.DevicePath} is busy (EBUSY): it is mounted, part of another device, or held open exclusively. Exporting it would let hosts write under its user.",
                NvmeKernelFailure.Busy, NvmeKernelException.NvmetBusyId, KernelNative.EBUSY, ns.DevicePath);
        }

        throw Fail(-fd, $"opening namespace {ns.NamespaceId}'s device", ns.DevicePath);
    }

    private static IEnumerable<string> Entries(string dir) =>
        Directory.Exists(dir) ? Directory.EnumerateFileSystemEntries(dir).ToList() : Enumerable.Empty<string>();

    /// <summary>Configfs names become paths: an NQN with '/' or a dot name would step outside nvmet.</summary>
    private static void CheckName(string name, string what)
    {
        if (!Nqn.IsWellFormed(name) || name.Contains('/', StringComparison.Ordinal) || name is "." or "..")
        {
            throw new ArgumentException($"'{name}' is not a valid {what}.");
        }
    }

    private static NvmeKernelException Fail(int errno, string doing, string path) => errno switch
    {
        KernelNative.EEXIST => new($"Cannot create {doing}: the name is already taken in nvmet ({path}).", NvmeKernelFailure.AlreadyExists, NvmeKernelException.NvmetNameInUseId, errno, path),
        KernelNative.EBUSY or KernelNative.EADDRINUSE => new($"Failed {doing}: {KernelNative.Describe(errno)} (in use by another subsystem, port, mount or program).", NvmeKernelFailure.Busy, NvmeKernelException.NvmetBusyId, errno, path),
        KernelNative.EACCES or KernelNative.EPERM => new($"Permission denied {doing} ({KernelNative.Name(errno)}): nvmet's configfs needs root.", NvmeKernelFailure.PermissionDenied, NvmeKernelException.PermissionDeniedId, errno, path),
        KernelNative.ENOENT or KernelNative.ENODEV or KernelNative.ENXIO => new($"Failed {doing}: {KernelNative.Describe(errno)} (no such device or file).", NvmeKernelFailure.NotFound, NvmeKernelException.NvmetNotFoundId, errno, path),
        _ => new($"nvmet refused {doing}: {KernelNative.Describe(errno)}.", NvmeKernelFailure.Refused, NvmeKernelException.NvmetRefusedId, errno, path),
    };

    private static void MkDir(string path, string what)
    {
        if (KernelNative.MkDir(path, 0x1ED) != 0)
        {
            throw Fail(KernelNative.LastErrno, "creating " + what, path);
        }
    }

    private static void RmDir(string path)
    {
        if (KernelNative.RmDir(path) != 0)
        {
            throw Fail(KernelNative.LastErrno, "removing " + path, path);
        }
    }

    private static void RmDirQuiet(string path) => KernelNative.RmDir(path);

    private static void Link(string target, string link, string what)
    {
        if (KernelNative.Symlink(target, link) != 0)
        {
            throw Fail(KernelNative.LastErrno, what, link);
        }
    }

    private static void Unlink(string path)
    {
        if (KernelNative.Unlink(path) != 0)
        {
            throw Fail(KernelNative.LastErrno, "removing the link " + path, path);
        }
    }

    private static void UnlinkQuiet(string path) => KernelNative.Unlink(path);

    private static void WriteAttr(string dir, string name, string value, string? doing = null)
    {
        string path = Path.Combine(dir, name);
        int fd = KernelNative.OpenOrErrno(path, KernelNative.OWrOnly);
        int rc = fd < 0 ? fd : KernelNative.WriteAll(fd, value);
        if (fd >= 0)
        {
            KernelNative.Close(fd);
        }

        if (rc < 0)
        {
            throw Fail(-rc, doing ?? $"setting {name} to '{value}'", path);
        }
    }

    private static void WriteAttrQuiet(string dir, string name, string value)
    {
        try
        {
            WriteAttr(dir, name, value);
        }
        catch (NvmeKernelException)
        {
        }
    }
}
