using System.Runtime.InteropServices;

namespace NvmePS.Engine.Fabrics.Tcp;

/// <summary>libc calls for a queue pair that left the socket engine: recv(2), send(2) and poll(2) on the connected socket,
/// so a waiting reader is woken by the kernel directly instead of through the socket engine's epoll thread and a
/// thread-pool hop (the profile in docs/performance.md: those hand-offs were most of the cost of a small I/O).</summary>
internal static unsafe partial class NvmeTcpNative
{
    public const int MsgDontwait = 0x40;
    public const int MsgNosignal = 0x4000;
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

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    public static partial nint Send(int fd, byte* buf, nuint len, int flags);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    public static partial int Poll(PollFd* fds, nuint nfds, int timeout);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    public static partial int Fcntl(int fd, int cmd, int arg);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    public const int EpollCtlDel = 2;

    [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    public static partial int EpollCtl(int epfd, int op, int fd, void* ev);

    public static int LastErrno => Marshal.GetLastPInvokeError();

    // The socket engine's epoll descriptors. .NET creates all of them together, when it first registers a socket, and
    // keeps them for the life of the process, so once they are known they are not looked for again: reading every
    // descriptor of /proc/self/fd at each connection made setup slower the more connections a process had.
    private static int[]? s_socketEngineEpolls;

    /// <summary>Removes <paramref name="fd"/> from the epoll sets of .NET's socket engine. An epoll registration belongs
    /// to the open file, not the descriptor: after the descriptor is duplicated and the original closed, the socket
    /// engine's registration would live on and keep waking its thread for every arrival.</summary>
    public static void ForgetInEveryEpoll(int fd)
    {
        int[]? known = Volatile.Read(ref s_socketEngineEpolls);
        int[] epolls = known ?? FindEpolls();
        bool removed = false;
        foreach (int epfd in epolls)
        {
            // ENOENT where the descriptor was never registered: nothing to undo.
            removed |= EpollCtl(epfd, EpollCtlDel, fd, null) == 0;
        }

        // A list just read is kept only once a removal worked: then the engine existed when the descriptors were read,
        // so all its epoll sets were among them. (A socket is registered only when an operation had to wait; until one
        // was, read again.)
        if (known is null && removed)
        {
            Volatile.Write(ref s_socketEngineEpolls, epolls);
        }
    }

    /// <summary>The epoll descriptors open in this process, from /proc/self/fd.</summary>
    private static int[] FindEpolls()
    {
        var found = new List<int>();
        try
        {
            foreach (string entry in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
            {
                string? target;
                try
                {
                    target = new FileInfo(entry).LinkTarget;
                }
                catch (IOException)
                {
                    continue; // closed meanwhile
                }

                if (target == "anon_inode:[eventpoll]" && int.TryParse(Path.GetFileName(entry), out int epfd))
                {
                    found.Add(epfd);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // No /proc: the registration stays, which costs wake-ups, not correctness.
        }

        return [.. found];
    }
}
