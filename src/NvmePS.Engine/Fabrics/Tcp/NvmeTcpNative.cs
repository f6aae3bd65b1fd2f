using System.Runtime.InteropServices;

namespace NvmePS.Engine.Fabrics.Tcp;

/// <summary>libc calls for a queue pair's own receive thread: recv(2) and poll(2) on the connected socket, so a waiting
/// reader is woken by the kernel directly instead of through the socket engine's epoll thread and a thread-pool hop
/// (the profile in docs/performance.md: those hand-offs were most of the cost of a small I/O).</summary>
internal static unsafe partial class NvmeTcpNative
{
    public const int MsgDontwait = 0x40;
    public const short PollIn = 0x1;
    public const int EINTR = 4;
    public const int EAGAIN = 11;
    public const int FDupFdCloexec = 1030;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    public static partial nint Recv(int fd, byte* buf, nuint len, int flags);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    public static partial int Poll(PollFd* fds, nuint nfds, int timeout);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    public static partial int Fcntl(int fd, int cmd, int arg);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    public static int LastErrno => Marshal.GetLastPInvokeError();
}
