using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace NvmePS.Engine.Fabrics.Tcp;

/// <summary>
/// Waits for "socket writable" for queue pairs that left the socket engine, on one thread with its own epoll set and
/// one-shot EPOLLOUT registrations. Socket.SendAsync on a full send buffer would register the socket with the engine's
/// epoll for good, and from then on every arrival on it would wake the engine's thread for nothing (11-13% of the CPU
/// in the 128 KiB profile in docs/performance.md). Here a registration fires once, for writability only.
/// </summary>
internal static unsafe partial class NvmeTcpWritableWaiter
{
    private const int EpollCloexec = 0x80000;
    private const int EpollCtlAdd = 1;
    private const int EpollCtlMod = 3;
    private const uint EpollOut = 0x004;
    private const uint EpollOneShot = 1u << 30;
    private const int ENOENT = 2;

    private static readonly ConcurrentDictionary<int, TaskCompletionSource> Waiters = new();
    private static readonly Lazy<int> Epoll = new(Start);

    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    private struct EpollEvent
    {
        public uint Events;
        public ulong Data;
    }

    /// <summary>The layout of epoll_event used here is x86-64's (packed, 12 bytes); elsewhere sends use the socket engine.</summary>
    public static bool Supported { get; } = RuntimeInformation.ProcessArchitecture == Architecture.X64 && OperatingSystem.IsLinux();

    /// <summary>Completes when <paramref name="fd"/> can take more bytes (or has failed: the next send says how). One
    /// waiter per descriptor: the send lock keeps a queue pair's sends one at a time.</summary>
    public static Task WaitAsync(int fd)
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Waiters[fd] = tcs;
        var ev = new EpollEvent { Events = EpollOut | EpollOneShot, Data = (ulong)fd };
        int epfd = Epoll.Value;
        if (NvmeTcpNative.EpollCtl(epfd, EpollCtlMod, fd, &ev) != 0 && Marshal.GetLastPInvokeError() == ENOENT && NvmeTcpNative.EpollCtl(epfd, EpollCtlAdd, fd, &ev) != 0)
        {
            // Not pollable (closed meanwhile): let the caller's next send find out.
            Waiters.TryRemove(new KeyValuePair<int, TaskCompletionSource>(fd, tcs));
            tcs.TrySetResult();
        }

        return tcs.Task;
    }

    /// <summary>Ends a wait on <paramref name="fd"/> (the connection is closing) and forgets the descriptor before its
    /// number can be reused.</summary>
    public static void Cancel(int fd)
    {
        if (Waiters.TryRemove(fd, out var tcs))
        {
            tcs.TrySetResult();
        }

        if (Epoll.IsValueCreated)
        {
            NvmeTcpNative.EpollCtl(Epoll.Value, NvmeTcpNative.EpollCtlDel, fd, null);
        }
    }

    private static int Start()
    {
        int epfd = EpollCreate1(EpollCloexec);
        if (epfd < 0)
        {
            throw new IOException($"epoll_create1 failed: errno {Marshal.GetLastPInvokeError()}");
        }

        var thread = new Thread(() => Run(epfd), 256 * 1024) { IsBackground = true, Name = "NVMe/TCP writable" };
        thread.UnsafeStart();
        return epfd;
    }

    private static void Run(int epfd)
    {
        var events = new EpollEvent[64];
        while (true)
        {
            int n;
            fixed (EpollEvent* p = events)
            {
                n = EpollWait(epfd, p, events.Length, -1);
            }

            for (int i = 0; i < n; i++)
            {
                if (Waiters.TryRemove((int)events[i].Data, out var tcs))
                {
                    tcs.TrySetResult();
                }
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    private static partial int EpollCreate1(int flags);

    [LibraryImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    private static partial int EpollWait(int epfd, EpollEvent* events, int maxevents, int timeout);
}
