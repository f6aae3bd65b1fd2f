using System.Globalization;
using NvmePS.Engine.Admin;

namespace NvmePS.Engine.Kernel;

/// <summary>
/// The Admin command set over the Linux passthrough ioctls: NVME_IOCTL_ADMIN64_CMD on the controller's character
/// device (/dev/nvmeN), and NVME_IOCTL_IO64_CMD on a namespace's block device (/dev/nvmeNnM). The kernel owns the
/// queues, CIDs and PRPs; this seam only fills the ioctl argument and turns its outcome into a completion, so the
/// one Admin client serves local PCIe drives and kernel-connected fabrics controllers alike.
/// </summary>
public sealed class NvmeKernelAdminTransport : INvmeAdminTransport
{
    private int _legacyOnly; // 1 once ADMIN64 was ENOTTY (kernels before 5.4).

    /// <param name="devicePath">/dev/nvmeN.</param>
    /// <param name="maxDataTransferSize">The most bytes the kernel maps for one command (max_hw_sectors).</param>
    /// <param name="commandTimeout">The ioctl's timeout_ms: the kernel aborts the command after it. Zero means the
    /// kernel's own admin timeout.</param>
    public NvmeKernelAdminTransport(string devicePath, int maxDataTransferSize = DefaultMaxDataTransferSize, TimeSpan commandTimeout = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(devicePath);
        DevicePath = devicePath;
        MaxDataTransferSize = Math.Clamp(maxDataTransferSize, 4096, 1 << 20);
        CommandTimeout = commandTimeout;
    }

    /// <summary>128 KiB: what every Linux NVMe driver maps when nothing larger is known.</summary>
    public const int DefaultMaxDataTransferSize = 128 * 1024;

    public string DevicePath { get; }

    public int MaxDataTransferSize { get; }

    public TimeSpan CommandTimeout { get; }

    public ValueTask<NvmeCommandResult> ExecuteAdminAsync(NvmeCommand command, ReadOnlyMemory<byte> dataToController, Memory<byte> dataFromController, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        // The ioctl blocks until the completion (or the kernel's timeout); it cannot be cancelled once submitted.
        return new ValueTask<NvmeCommandResult>(Task.Run(
            () => Submit(DevicePath, admin: true, command, dataToController, dataFromController), cancellationToken));
    }

    /// <summary>An I/O command on <paramref name="namespaceDevice"/> (/dev/nvmeNnM). Its NSID must be that device's:
    /// the kernel refuses any other with EINVAL.</summary>
    public ValueTask<NvmeCommandResult> ExecuteIoAsync(string namespaceDevice, NvmeCommand command, ReadOnlyMemory<byte> dataToController, Memory<byte> dataFromController, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(namespaceDevice);
        cancellationToken.ThrowIfCancellationRequested();
        return new ValueTask<NvmeCommandResult>(Task.Run(
            () => Submit(namespaceDevice, admin: false, command, dataToController, dataFromController), cancellationToken));
    }

    private unsafe NvmeCommandResult Submit(string path, bool admin, NvmeCommand command, ReadOnlyMemory<byte> toController, Memory<byte> fromController)
    {
        if (!toController.IsEmpty && !fromController.IsEmpty)
        {
            throw new ArgumentException("A passthrough command moves data in one direction only.");
        }

        int fd = KernelNative.OpenOrErrno(path, KernelNative.ORdOnly);
        if (fd < 0)
        {
            throw NvmeKernelException.ForOpen(path, -fd, admin ? "an Admin passthrough command" : "an I/O passthrough command");
        }

        try
        {
            int length = toController.IsEmpty ? fromController.Length : toController.Length;
            using var pin = toController.IsEmpty ? fromController.Pin() : toController.Pin();
            uint timeoutMs = CommandTimeout <= TimeSpan.Zero ? 0 : (uint)Math.Min(CommandTimeout.TotalMilliseconds, uint.MaxValue);
            var arg = NvmePassthruCommand.From(command, length == 0 ? 0 : (ulong)pin.Pointer, (uint)length, timeoutMs);
            Span<byte> raw = stackalloc byte[NvmePassthruCommand.Size];
            bool legacy = Volatile.Read(ref _legacyOnly) == 1;
            while (true)
            {
                arg.WriteTo(raw, legacy);
                uint request = admin
                    ? (legacy ? NvmePassthruCommand.IoctlAdminCmd : NvmePassthruCommand.IoctlAdmin64Cmd)
                    : (legacy ? NvmePassthruCommand.IoctlIoCmd : NvmePassthruCommand.IoctlIo64Cmd);
                int rc;
                fixed (byte* p = raw)
                {
                    rc = KernelNative.Ioctl(fd, request, p);
                }

                if (rc >= 0)
                {
                    var completion = NvmePassthruCommand.CompletionFrom(rc, NvmePassthruCommand.ReadResult(raw, legacy));
                    return new NvmeCommandResult(completion, rc == 0 ? length : 0);
                }

                int errno = KernelNative.LastErrno;
                if (errno == KernelNative.ENOTTY && !legacy)
                {
                    // Before Linux 5.4 only the 72-byte form exists; a non-NVMe node refuses both.
                    legacy = true;
                    continue;
                }

                if (legacy && errno != KernelNative.ENOTTY)
                {
                    Volatile.Write(ref _legacyOnly, 1);
                }

                throw ForIoctl(path, errno, command);
            }
        }
        finally
        {
            KernelNative.Close(fd);
        }
    }

    private static NvmeKernelException ForIoctl(string path, int errno, in NvmeCommand command)
    {
        string what = string.Format(CultureInfo.InvariantCulture, "opcode {0:X2}h (NSID {1})", command.Opcode, command.Nsid);
        return errno switch
        {
            KernelNative.EACCES or KernelNative.EPERM => new(
                $"The kernel refused {what} on {path} ({KernelNative.Name(errno)}): passthrough commands need root or CAP_SYS_ADMIN.",
                NvmeKernelFailure.PermissionDenied, NvmeKernelException.PermissionDeniedId, errno, path),
            KernelNative.ENOTTY => new(
                $"{path} is not an NVMe controller or namespace device: it refused the NVMe passthrough ioctl (ENOTTY).",
                NvmeKernelFailure.Refused, NvmeKernelException.IoctlRefusedId, errno, path),
            KernelNative.EINVAL => new(
                $"The kernel refused {what} on {path} (EINVAL): a field it checks is invalid for this device (an I/O command's NSID must be the namespace device's, data must fit max_hw_sectors).",
                NvmeKernelFailure.Refused, NvmeKernelException.IoctlRefusedId, errno, path),
            KernelNative.ENODEV or KernelNative.ENXIO => new(
                $"{path} went away while {what} was submitted ({KernelNative.Name(errno)}).",
                NvmeKernelFailure.NotFound, NvmeKernelException.DeviceNotFoundId, errno, path),
            _ => new($"The NVMe passthrough ioctl for {what} on {path} failed: {KernelNative.Describe(errno)}.",
                NvmeKernelFailure.Refused, NvmeKernelException.IoctlRefusedId, errno, path),
        };
    }
}
