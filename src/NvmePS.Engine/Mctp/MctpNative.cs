using System.Runtime.InteropServices;

namespace NvmePS.Engine.Mctp;

/// <summary>libc calls for AF_MCTP. .NET's Socket class refuses address family 45, so the socket is driven directly.</summary>
internal static unsafe partial class MctpNative
{
    public const int AfMctp = 45;
    public const int SockDgram = 2;
    public const int SockCloexec = 0x80000;
    public const int MsgTrunc = 0x20;
    public const int MsgDontwait = 0x40;
    public const short PollIn = 0x1;

    public const int EINTR = 4;
    public const int EAGAIN = 11;
    public const int EINVAL = 22;
    public const int ENOTTY = 25;
    public const int EOPNOTSUPP = 95;
    public const int EAFNOSUPPORT = 97;
    public const int EADDRINUSE = 98;
    public const int ENETUNREACH = 101;
    public const int EHOSTUNREACH = 113;
    public const int EPROTONOSUPPORT = 93;
    public const int ENOENT = 2;
    public const int EBUSY = 16;
    public const int EACCES = 13;
    public const int EPERM = 1;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    public static partial int Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "bind", SetLastError = true)]
    public static partial int Bind(int fd, byte* addr, uint addrlen);

    [LibraryImport("libc", EntryPoint = "sendto", SetLastError = true)]
    public static partial nint SendTo(int fd, byte* buf, nuint len, int flags, byte* addr, uint addrlen);

    [LibraryImport("libc", EntryPoint = "recvfrom", SetLastError = true)]
    public static partial nint RecvFrom(int fd, byte* buf, nuint len, int flags, byte* addr, uint* addrlen);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    public static partial int Poll(PollFd* fds, nuint nfds, int timeout);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(int fd, nuint request, byte* arg);

    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    public static partial int SetSockOpt(int fd, int level, int name, byte* value, uint len);

    [LibraryImport("libc", EntryPoint = "strerror")]
    private static partial nint StrError(int errnum);

    public static int LastErrno => Marshal.GetLastPInvokeError();

    public static string Describe(int errno)
    {
        nint p = StrError(errno);
        string? text = p == 0 ? null : Marshal.PtrToStringUTF8(p);
        return $"{text ?? "error"} (errno {errno})";
    }

    /// <summary>Opens an AF_MCTP datagram socket, mapping EAFNOSUPPORT to a clear connection error.</summary>
    public static int OpenSocket()
    {
        int fd = Socket(AfMctp, SockDgram | SockCloexec, 0);
        if (fd < 0)
        {
            int errno = LastErrno;
            if (errno == EAFNOSUPPORT || errno == EPROTONOSUPPORT)
            {
                throw new NvmeConnectionException(
                    "This kernel has no AF_MCTP support (socket(AF_MCTP) failed with EAFNOSUPPORT); load the mctp module " +
                    "(CONFIG_MCTP) or use the libmctp demux-daemon transport.", errorId: NvmeConnectionException.MctpUnavailableErrorId);
            }

            throw new NvmeConnectionException($"socket(AF_MCTP) failed: {Describe(errno)}");
        }

        return fd;
    }

    /// <summary>Waits until <paramref name="fd"/> is readable. Returns false when <paramref name="timeoutMs"/> passed.</summary>
    public static bool WaitReadable(int fd, int timeoutMs)
    {
        PollFd pfd = new() { Fd = fd, Events = PollIn };
        while (true)
        {
            int rc = Poll(&pfd, 1, timeoutMs);
            if (rc > 0)
            {
                return true;
            }

            if (rc == 0)
            {
                return false;
            }

            int errno = LastErrno;
            if (errno != EINTR)
            {
                throw new NvmeConnectionException($"poll on AF_MCTP socket failed: {Describe(errno)}");
            }
        }
    }
}
