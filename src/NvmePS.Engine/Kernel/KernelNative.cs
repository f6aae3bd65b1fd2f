using System.Runtime.InteropServices;
using System.Text;

namespace NvmePS.Engine.Kernel;

/// <summary>libc calls for the NVMe character devices and /dev/nvme-fabrics, where the errno decides the error a
/// user sees (.NET's FileStream folds EACCES, EPERM and ENXIO into types that lose it).</summary>
internal static unsafe partial class KernelNative
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EINTR = 4;
    public const int EIO = 5;
    public const int ENXIO = 6;
    public const int EBADF = 9;
    public const int EAGAIN = 11;
    public const int ENOMEM = 12;
    public const int EACCES = 13;
    public const int EBUSY = 16;
    public const int EEXIST = 17;
    public const int ENODEV = 19;
    public const int ENOTDIR = 20;
    public const int EINVAL = 22;
    public const int ENOTTY = 25;
    public const int ENOSPC = 28;
    public const int EROFS = 30;
    public const int ECONNREFUSED = 111;
    public const int EHOSTUNREACH = 113;
    public const int EALREADY = 114;
    public const int ETIMEDOUT = 110;
    public const int ECONNRESET = 104;
    public const int EADDRINUSE = 98;
    public const int EADDRNOTAVAIL = 99;
    public const int EKEYREJECTED = 129;

    public const int ORdOnly = 0, OWrOnly = 1, ORdWr = 2, OExcl = 0x80, OCloexec = 0x80000;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, byte* buf, nuint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, byte* buf, nuint count);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(int fd, nuint request, byte* arg);

    [LibraryImport("libc", EntryPoint = "mkdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MkDir(string path, uint mode);

    [LibraryImport("libc", EntryPoint = "rmdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int RmDir(string path);

    [LibraryImport("libc", EntryPoint = "symlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Symlink(string target, string linkPath);

    [LibraryImport("libc", EntryPoint = "unlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Unlink(string path);

    [LibraryImport("libc", EntryPoint = "strerror")]
    private static partial nint StrError(int errnum);

    public static int LastErrno => Marshal.GetLastPInvokeError();

    /// <summary>"Permission denied (EACCES)".</summary>
    public static string Describe(int errno)
    {
        nint p = StrError(errno);
        string text = (p == 0 ? null : Marshal.PtrToStringUTF8(p)) ?? "error";
        return $"{text} ({Name(errno)})";
    }

    public static string Name(int errno) => errno switch
    {
        EPERM => "EPERM",
        ENOENT => "ENOENT",
        EINTR => "EINTR",
        EIO => "EIO",
        ENXIO => "ENXIO",
        EBADF => "EBADF",
        EAGAIN => "EAGAIN",
        ENOMEM => "ENOMEM",
        EACCES => "EACCES",
        EBUSY => "EBUSY",
        EEXIST => "EEXIST",
        ENODEV => "ENODEV",
        ENOTDIR => "ENOTDIR",
        EINVAL => "EINVAL",
        ENOTTY => "ENOTTY",
        ENOSPC => "ENOSPC",
        EROFS => "EROFS",
        ECONNREFUSED => "ECONNREFUSED",
        EHOSTUNREACH => "EHOSTUNREACH",
        EALREADY => "EALREADY",
        ETIMEDOUT => "ETIMEDOUT",
        ECONNRESET => "ECONNRESET",
        EADDRINUSE => "EADDRINUSE",
        EADDRNOTAVAIL => "EADDRNOTAVAIL",
        EKEYREJECTED => "EKEYREJECTED",
        _ => "errno " + errno.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>Opens a device or attribute file; returns the fd or -errno.</summary>
    public static int OpenOrErrno(string path, int flags)
    {
        int fd = Open(path, flags | OCloexec);
        return fd >= 0 ? fd : -LastErrno;
    }

    /// <summary>One write of the whole text (sysfs and /dev/nvme-fabrics take a store as one write); 0 or -errno.</summary>
    public static int WriteAll(int fd, string text)
    {
        byte[] bytes = Encoding.ASCII.GetBytes(text);
        fixed (byte* p = bytes)
        {
            nint n = Write(fd, p, (nuint)bytes.Length);
            return n < 0 ? -LastErrno : 0;
        }
    }

    /// <summary>One read of at most <paramref name="max"/> bytes as ASCII; null with <paramref name="errno"/> set on failure.</summary>
    public static string? ReadOnce(int fd, int max, out int errno)
    {
        byte[] buffer = new byte[max];
        fixed (byte* p = buffer)
        {
            nint n = Read(fd, p, (nuint)max);
            errno = n < 0 ? LastErrno : 0;
            return n < 0 ? null : Encoding.ASCII.GetString(buffer, 0, (int)n);
        }
    }
}
