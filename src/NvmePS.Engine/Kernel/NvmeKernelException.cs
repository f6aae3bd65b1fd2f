namespace NvmePS.Engine.Kernel;

/// <summary>What the kernel refused, so a front end picks a category without parsing messages.</summary>
public enum NvmeKernelFailure
{
    /// <summary>Not root, or the device node's mode forbids it (EACCES, EPERM).</summary>
    PermissionDenied,
    /// <summary>No such controller, namespace, device node or configfs object.</summary>
    NotFound,
    /// <summary>The interface itself is missing: a module not loaded, configfs not mounted.</summary>
    Unavailable,
    /// <summary>The kernel rejected the request (EINVAL, ENOTTY, ECONNREFUSED, ...).</summary>
    Refused,
    /// <summary>It exists already (EEXIST, EALREADY: a duplicate connect).</summary>
    AlreadyExists,
    /// <summary>In use (EBUSY).</summary>
    Busy,
}

/// <summary>A refusal from the kernel's NVMe interfaces: the passthrough ioctls, /dev/nvme-fabrics, sysfs or nvmet's
/// configfs. <see cref="Errno"/> is the kernel's error number (0 when the engine detected the problem first).</summary>
public sealed class NvmeKernelException : NvmeException
{
    public NvmeKernelException(string message, NvmeKernelFailure failure, string errorId, int errno = 0, string? path = null, Exception? inner = null)
        : base(message, inner)
    {
        Failure = failure;
        ErrorIdValue = errorId;
        Errno = errno;
        Path = path;
    }

    public const string PermissionDeniedId = "NvmeKernelPermissionDenied";
    public const string DeviceNotFoundId = "NvmeKernelDeviceNotFound";
    public const string IoctlRefusedId = "NvmeKernelIoctlRefused";
    public const string FabricsUnavailableId = "NvmeKernelFabricsUnavailable";
    public const string ConnectRefusedId = "NvmeKernelConnectRefused";
    public const string AlreadyConnectedId = "NvmeKernelAlreadyConnected";
    public const string ConfigfsNotMountedId = "NvmetConfigfsNotMounted";
    public const string NvmetUnavailableId = "NvmetUnavailable";
    public const string NvmetNameInUseId = "NvmetNameInUse";
    public const string NvmetBusyId = "NvmetBusy";
    public const string NvmetRefusedId = "NvmetRefused";
    public const string NvmetNotFoundId = "NvmetObjectNotFound";

    private string ErrorIdValue { get; }

    public NvmeKernelFailure Failure { get; }

    public int Errno { get; }

    /// <summary>The device node, sysfs or configfs path involved, when there is one.</summary>
    public string? Path { get; }

    public override NvmeErrorKind Kind => NvmeErrorKind.Connection;

    public override string ErrorId => ErrorIdValue;

    /// <summary>Opening <paramref name="path"/> failed with <paramref name="errno"/>.</summary>
    internal static NvmeKernelException ForOpen(string path, int errno, string what) => errno switch
    {
        KernelNative.EACCES or KernelNative.EPERM => new(
            $"Permission denied opening {path} ({KernelNative.Name(errno)}): {what} needs root or CAP_SYS_ADMIN.",
            NvmeKernelFailure.PermissionDenied, PermissionDeniedId, errno, path),
        KernelNative.ENOENT or KernelNative.ENXIO or KernelNative.ENODEV => new(
            $"No such device {path} ({KernelNative.Name(errno)}).", NvmeKernelFailure.NotFound, DeviceNotFoundId, errno, path),
        _ => new($"Cannot open {path}: {KernelNative.Describe(errno)}.", NvmeKernelFailure.Refused, IoctlRefusedId, errno, path),
    };
}
