using System.Globalization;
using System.Text;
using NvmePS.Engine.Admin;
using NvmePS.Engine.Fabrics;

namespace NvmePS.Engine.Kernel;

/// <summary>The options of one kernel host connect, as `nvme connect` spells them for /dev/nvme-fabrics
/// (drivers/nvme/host/fabrics.c, opt_tokens). Null leaves the kernel's default.</summary>
public sealed record NvmeKernelConnectOptions
{
    public string Transport { get; init; } = "tcp";

    public required string TransportAddress { get; init; }

    public required int ServiceId { get; init; }

    public string SubsystemNqn { get; init; } = FabricsCommand.DiscoveryNqn;

    public string? HostNqn { get; init; }

    public Guid? HostId { get; init; }

    /// <summary>host_traddr: the local address to connect from.</summary>
    public string? HostTransportAddress { get; init; }

    public int? IoQueueCount { get; init; }

    public int? QueueSize { get; init; }

    public int? KeepAliveTimeoutSec { get; init; }

    /// <summary>ctrl_loss_tmo: seconds to keep reconnecting before the controller is removed; -1 forever.</summary>
    public int? ControllerLossTimeoutSec { get; init; }

    public int? ReconnectDelaySec { get; init; }

    public bool HeaderDigest { get; init; }

    public bool DataDigest { get; init; }

    /// <summary>duplicate_connect: a second controller to the same subsystem and address.</summary>
    public bool DuplicateConnect { get; init; }

    /// <summary>dhchap_secret: the host's DH-HMAC-CHAP secret (the kernel authenticates when the controller asks).</summary>
    public Fabrics.Auth.DhchapSecret? DhchapSecret { get; init; }

    /// <summary>dhchap_ctrl_secret: the controller's secret, for bidirectional authentication.</summary>
    public Fabrics.Auth.DhchapSecret? DhchapControllerSecret { get; init; }

    public bool IsDiscovery => SubsystemNqn == FabricsCommand.DiscoveryNqn;

    /// <summary>The option string: "transport=tcp,traddr=…,trsvcid=…,nqn=…[,…]". Every value is checked first:
    /// the kernel splits on ',' and '=' and a newline, so a value holding one would smuggle in another option.</summary>
    /// <param name="hideSecrets">Write the DH-HMAC-CHAP secrets as "&lt;hidden&gt;": for verbose output and logs.</param>
    public string ToOptionString(bool hideSecrets = false)
    {
        var b = new StringBuilder(256);
        void Add(string key, string value)
        {
            if (value.Length == 0 || value.Length > 512 || value.Any(ch => ch is ',' or '=' || char.IsWhiteSpace(ch) || char.IsControl(ch) || ch > '~'))
            {
                throw new ArgumentException($"The {key} option '{value}' is empty, too long, or holds a comma, '=', whitespace or a non-ASCII character, which /dev/nvme-fabrics cannot carry.");
            }

            b.Append(b.Length == 0 ? string.Empty : ",").Append(key).Append('=').Append(value);
        }

        void AddInt(string key, int? value, int min, int max)
        {
            if (value is { } v)
            {
                if (v < min || v > max)
                {
                    throw new ArgumentOutOfRangeException(key, v, $"{key} must be {min} to {max}.");
                }

                Add(key, v.ToString(CultureInfo.InvariantCulture));
            }
        }

        if (ServiceId is < 1 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(ServiceId), ServiceId, "trsvcid must be 1 to 65535.");
        }

        Add("transport", Transport);
        Add("traddr", TransportAddress);
        Add("trsvcid", ServiceId.ToString(CultureInfo.InvariantCulture));
        if (!Nqn.IsWellFormed(SubsystemNqn))
        {
            throw new ArgumentException($"'{SubsystemNqn}' is not an NQN.");
        }

        Add("nqn", SubsystemNqn);
        if (HostNqn is not null)
        {
            if (!Nqn.IsWellFormed(HostNqn))
            {
                throw new ArgumentException($"'{HostNqn}' is not an NQN.");
            }

            Add("hostnqn", HostNqn);
        }

        if (HostId is { } id)
        {
            Add("hostid", id.ToString("D"));
        }

        if (HostTransportAddress is not null)
        {
            Add("host_traddr", HostTransportAddress);
        }

        AddInt("nr_io_queues", IoQueueCount, 1, 1024);
        AddInt("queue_size", QueueSize, 16, 1024);
        AddInt("keep_alive_tmo", KeepAliveTimeoutSec, 0, 65535);
        AddInt("ctrl_loss_tmo", ControllerLossTimeoutSec, -1, 1_000_000);
        AddInt("reconnect_delay", ReconnectDelaySec, 1, 1_000_000);
        if (HeaderDigest)
        {
            b.Append(",hdr_digest");
        }

        if (DataDigest)
        {
            b.Append(",data_digest");
        }

        if (DuplicateConnect)
        {
            b.Append(",duplicate_connect");
        }

        // The DHHC-1 text is base64 and ':' (its '=' padding is fine: the kernel matches "dhchap_secret=%s").
        if (DhchapSecret is { } secret)
        {
            b.Append(",dhchap_secret=").Append(hideSecrets ? "<hidden>" : secret.Reveal());
        }

        if (DhchapControllerSecret is { } controllerSecret)
        {
            b.Append(",dhchap_ctrl_secret=").Append(hideSecrets ? "<hidden>" : controllerSecret.Reveal());
        }

        return b.ToString();
    }
}

/// <summary>
/// The Linux NVMe host's connect and disconnect: one write of the option string to /dev/nvme-fabrics and one read of
/// "instance=N,cntlid=M" (drivers/nvme/host/fabrics.c, nvmf_dev_write/nvmf_dev_show); disconnect writes
/// delete_controller in sysfs. The kernel then owns the association; this is the Linux form of libnvmf's hand-off.
/// </summary>
public sealed class NvmeKernelFabrics
{
    private const int MaxReplyBytes = 512;

    public NvmeKernelFabrics(NvmeKernelSysfs? sysfs = null, string fabricsDevice = "/dev/nvme-fabrics")
    {
        Sysfs = sysfs ?? NvmeKernelSysfs.Default;
        FabricsDevice = fabricsDevice;
    }

    public NvmeKernelSysfs Sysfs { get; }

    public string FabricsDevice { get; }

    /// <summary>Parses the kernel's reply; strict, since a wrong instance would name another controller.</summary>
    public static bool TryParseReply(string reply, out int instance, out ushort cntlid)
    {
        instance = -1;
        cntlid = 0;
        bool haveInstance = false, haveCntlid = false;
        foreach (string field in reply.Trim().Split(','))
        {
            int eq = field.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                return false;
            }

            string key = field[..eq], value = field[(eq + 1)..];
            if (key == "instance" && int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out instance) && instance <= 999_999)
            {
                haveInstance = true;
            }
            else if (key == "cntlid" && ushort.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out cntlid))
            {
                haveCntlid = true;
            }
        }

        return haveInstance && haveCntlid;
    }

    /// <summary>Connects and waits until the controller is live and every active namespace has its block device.</summary>
    /// <returns>The controller as sysfs shows it, and the active NSIDs whose block device did not appear in time.</returns>
    public async Task<(NvmeKernelControllerInfo Controller, IReadOnlyList<uint> MissingNamespaces)> ConnectAsync(
        NvmeKernelConnectOptions options, TimeSpan namespaceWait, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        string text = options.ToOptionString();
        string where = $"{options.SubsystemNqn} at {NvmeEndpoint.Format(options.TransportAddress, options.ServiceId)}";
        // The write blocks for the whole connect (the kernel's connect timeout); run it off the caller's thread.
        string name = await Task.Run(() => WriteConnect(text, where), cancellationToken).ConfigureAwait(false);

        var deadline = DateTime.UtcNow + namespaceWait;
        NvmeKernelControllerInfo? info = null;
        while (true)
        {
            info = Sysfs.TryGet(name);
            if (info is { State: "live" } || DateTime.UtcNow >= deadline)
            {
                break;
            }

            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }

        if (info is null)
        {
            throw new NvmeKernelException($"The kernel connected {name} to {where} but it left sysfs at once.", NvmeKernelFailure.NotFound, NvmeKernelException.DeviceNotFoundId);
        }

        if (options.IsDiscovery)
        {
            return (info, Array.Empty<uint>());
        }

        var admin = new NvmeAdminClient(new NvmeKernelAdminTransport(info.DevicePath, info.MaxDataTransferSize));
        var expected = await admin.GetAllActiveNamespaceIdsAsync(cancellationToken).ConfigureAwait(false);
        var missing = expected.ToList();
        while (true)
        {
            info = Sysfs.TryGet(name) ?? info;
            missing.RemoveAll(nsid => info.Namespaces.Any(n => n.NamespaceId == nsid && File.Exists(n.BlockDevice)));
            if (missing.Count == 0 || DateTime.UtcNow >= deadline)
            {
                return (info, missing);
            }

            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }
    }

    private string WriteConnect(string options, string where)
    {
        int fd = KernelNative.OpenOrErrno(FabricsDevice, KernelNative.ORdWr);
        if (fd < 0)
        {
            int errno = -fd;
            if (errno is KernelNative.ENOENT or KernelNative.ENODEV or KernelNative.ENXIO)
            {
                throw new NvmeKernelException(
                    $"{FabricsDevice} does not exist: the kernel's NVMe over Fabrics host is not loaded. Load it with 'modprobe nvme-tcp' (it pulls in nvme-fabrics).",
                    NvmeKernelFailure.Unavailable, NvmeKernelException.FabricsUnavailableId, errno, FabricsDevice);
            }

            throw NvmeKernelException.ForOpen(FabricsDevice, errno, "connecting the kernel host");
        }

        try
        {
            int rc = KernelNative.WriteAll(fd, options);
            if (rc < 0)
            {
                throw ForConnect(-rc, where);
            }

            string? reply = KernelNative.ReadOnce(fd, MaxReplyBytes, out int readErrno);
            if (reply is null || !TryParseReply(reply, out int instance, out _))
            {
                throw new NvmeKernelException(
                    $"The kernel connected to {where} but its reply could not be read ({(reply is null ? KernelNative.Describe(readErrno) : "'" + reply.Trim() + "'")}).",
                    NvmeKernelFailure.Refused, NvmeKernelException.ConnectRefusedId, readErrno, FabricsDevice);
            }

            return "nvme" + instance.ToString(CultureInfo.InvariantCulture);
        }
        finally
        {
            KernelNative.Close(fd);
        }
    }

    private NvmeKernelException ForConnect(int errno, string where) => errno switch
    {
        KernelNative.EALREADY => new(
            $"The kernel host is already connected to {where} (EALREADY). Disconnect it first, or ask for a second controller with -DuplicateConnect.",
            NvmeKernelFailure.AlreadyExists, NvmeKernelException.AlreadyConnectedId, errno, FabricsDevice),
        KernelNative.EACCES or KernelNative.EPERM => new(
            $"The kernel refused the connect to {where} ({KernelNative.Name(errno)}): connecting needs root or CAP_SYS_ADMIN.",
            NvmeKernelFailure.PermissionDenied, NvmeKernelException.PermissionDeniedId, errno, FabricsDevice),
        KernelNative.EINVAL => new(
            $"The kernel refused the connect options for {where} (EINVAL): an option it does not accept, or no kernel module for the transport (load it with 'modprobe nvme-tcp').",
            NvmeKernelFailure.Refused, NvmeKernelException.ConnectRefusedId, errno, FabricsDevice),
        KernelNative.ECONNREFUSED or KernelNative.EHOSTUNREACH or KernelNative.ETIMEDOUT or KernelNative.EADDRNOTAVAIL => new(
            $"The kernel host could not reach {where}: {KernelNative.Describe(errno)}.",
            NvmeKernelFailure.Refused, NvmeKernelException.ConnectRefusedId, errno, FabricsDevice),
        _ => new(
            $"The kernel host could not connect to {where}: {KernelNative.Describe(errno)}. The target may have refused the Connect command (host not allowed, no such subsystem); the kernel log says which.",
            NvmeKernelFailure.Refused, NvmeKernelException.ConnectRefusedId, errno, FabricsDevice),
    };

    /// <summary>Deletes controller <paramref name="name"/> (writes delete_controller) and waits until sysfs drops it.</summary>
    public async Task DisconnectAsync(string name, TimeSpan wait, CancellationToken cancellationToken)
    {
        if (!NvmeKernelSysfs.IsControllerName(name))
        {
            throw new ArgumentException($"'{name}' is not a kernel NVMe controller name (nvmeN).");
        }

        string dir = Path.Combine(Sysfs.ClassDirectory, name);
        string attr = Path.Combine(dir, "delete_controller");
        int fd = KernelNative.OpenOrErrno(attr, KernelNative.OWrOnly);
        if (fd < 0)
        {
            if (-fd == KernelNative.ENOENT)
            {
                throw new NvmeKernelException(
                    Directory.Exists(dir) ? $"{name} is not a fabrics controller: only those can be disconnected." : $"There is no controller {name}.",
                    NvmeKernelFailure.NotFound, NvmeKernelException.DeviceNotFoundId, -fd, attr);
            }

            throw NvmeKernelException.ForOpen(attr, -fd, "disconnecting a controller");
        }

        try
        {
            int rc = KernelNative.WriteAll(fd, "1");
            if (rc < 0)
            {
                throw new NvmeKernelException($"The kernel refused to delete {name}: {KernelNative.Describe(-rc)}.", NvmeKernelFailure.Refused, NvmeKernelException.ConnectRefusedId, -rc, attr);
            }
        }
        finally
        {
            KernelNative.Close(fd);
        }

        var deadline = DateTime.UtcNow + wait;
        while (Directory.Exists(dir) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(25, cancellationToken).ConfigureAwait(false);
        }

        if (Directory.Exists(dir))
        {
            throw new NvmeTimeoutException($"The kernel accepted the delete of {name} but still lists it after {wait.TotalSeconds:0} s (I/O still draining?).");
        }
    }
}
