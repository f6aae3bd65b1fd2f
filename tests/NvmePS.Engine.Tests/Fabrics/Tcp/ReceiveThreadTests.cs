using NvmePS.Engine.Fabrics;
using NvmePS.Engine.Fabrics.Tcp;

namespace NvmePS.Engine.Tests.Fabrics.Tcp;

/// <summary>A queue pair's own receive thread (issue 12): receives wait in the kernel, PDUs sent on the thread are held back
/// until it waits and then leave in order, and a close wakes it.</summary>
public class ReceiveThreadTests
{
    private static readonly TimeSpan HangBound = TimeSpan.FromSeconds(15);

    private static async Task<(NvmeTcpQueuePair Host, NvmeTcpQueuePair Controller, System.Net.Sockets.Socket HostSocket)> ConnectAsync()
    {
        var (c, s) = await Loopback.PairAsync();
        var accept = NvmeTcpQueuePair.AcceptAsync(s, new NvmeTcpQueueOptions(), CancellationToken.None);
        var h = await NvmeTcpQueuePair.ConnectAsync(c, new NvmeTcpQueueOptions(), CancellationToken.None);
        return (h, await accept, c);
    }

    [Fact]
    public async Task Answers_sent_on_the_receive_thread_leave_in_order_once_it_has_nothing_more_to_read()
    {
        var (host, ctrl, hostSocket) = await ConnectAsync();
        await using var _ = host;
        await using var __ = ctrl;
        const int Commands = 32;
        int answered = 0;
        int heldBackSeen = -1;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // The controller's step answers each capsule with C2HData and a CapsuleResp, as a target's inline read does.
        var loop = NvmeTcpReceiveThread.Start(ctrl, async () =>
        {
            if (answered == 0)
            {
                release.Task.Wait(HangBound);
            }

            var h = await ctrl.ReceiveHeaderAsync(CancellationToken.None);
            Assert.Equal(NvmeTcpPduType.CapsuleCmd, h.Type);
            ushort cid = h.Command.Cid;
            byte[] data = new byte[512];
            data.AsSpan().Fill((byte)cid);
            await ctrl.SendC2HDataAsync(cid, 0, data, last: true, success: false, CancellationToken.None);
            await ctrl.SendCapsuleResponseAsync(NvmeCompletion.Create(cid, NvmeStatus.Success), CancellationToken.None);
            if (++answered == 1)
            {
                // The sends completed, but the bytes wait for the thread to run out of input (the other capsules are
                // already here: they were sent before this thread could answer the first).
                heldBackSeen = hostSocket.Available;
            }

            return answered < Commands;
        }, "test receive thread");

        for (int i = 0; i < Commands; i++)
        {
            var sqe = new NvmeCommand { Opcode = 0x02, Flags = 0x40, Cid = (ushort)i, Nsid = 1 };
            SglDescriptor.Transport(512).WriteTo(ref sqe);
            await host.SendCapsuleCommandAsync(sqe, default, CancellationToken.None);
        }

        // Only now may the controller's thread start answering: all 32 capsules are on its socket.
        release.SetResult();

        byte[] got = new byte[512];
        for (int i = 0; i < Commands; i++)
        {
            var d = await host.ReceiveHeaderAsync(CancellationToken.None).AsTask().WaitAsync(HangBound);
            Assert.Equal(NvmeTcpPduType.C2HData, d.Type);
            Assert.Equal((ushort)i, d.Cccid);
            Assert.True(await host.ReceiveDataAsync(got, CancellationToken.None));
            Assert.All(got, b => Assert.Equal((byte)i, b));
            var r = await host.ReceiveHeaderAsync(CancellationToken.None).AsTask().WaitAsync(HangBound);
            Assert.Equal(NvmeTcpPduType.CapsuleResp, r.Type);
            Assert.Equal((ushort)i, r.Completion.Cid);
        }

        await loop.WaitAsync(HangBound);
        Assert.Equal(0, heldBackSeen);
    }

    [Fact]
    public async Task Closing_the_connection_wakes_a_receive_thread_waiting_for_input()
    {
        var (host, ctrl, hostSocket) = await ConnectAsync();
        await using var _ = host;
        await using var __ = ctrl;
        using var stop = new CancellationTokenSource();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var loop = NvmeTcpReceiveThread.Start(ctrl, async () =>
        {
            entered.TrySetResult();
            await ctrl.ReceiveHeaderAsync(stop.Token);
            return true;
        }, "test receive thread");
        await entered.Task.WaitAsync(HangBound);
        await Task.Delay(200);
        Assert.False(loop.IsCompleted);

        ctrl.Abort();
        var e = await Assert.ThrowsAnyAsync<NvmeException>(() => loop.WaitAsync(HangBound));
        Assert.Contains("closed", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancelling_the_token_wakes_a_receive_thread_with_a_cancellation()
    {
        var (host, ctrl, hostSocket) = await ConnectAsync();
        await using var _ = host;
        await using var __ = ctrl;
        using var stop = new CancellationTokenSource();
        var loop = NvmeTcpReceiveThread.Start(ctrl, async () =>
        {
            await ctrl.ReceiveHeaderAsync(stop.Token);
            return true;
        }, "test receive thread");
        await Task.Delay(200);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => loop.WaitAsync(HangBound));
        Assert.True(ctrl.IsClosed);
    }

    [Fact]
    public async Task Connections_on_their_own_threads_are_in_no_epoll_set_of_the_socket_engine()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        // Several associations, so the engine's epoll sets are looked up for the first connection and found again for
        // the later ones; both ends of every connection run on their own receive threads.
        using var target = new NvmePS.Engine.Fabrics.Controller.NvmeTarget(new NvmePS.Engine.Fabrics.Controller.NvmeTargetOptions());
        target.AddSubsystem("nqn.2024-01.io.nvmeps:epoll", allowAnyHost: true).AddMemoryNamespace(1 << 20);
        var tcp = new NvmePS.Engine.Fabrics.Controller.Tcp.NvmeTcpTarget(target);
        await using var tcpScope = tcp;
        await tcp.ListenAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        var endpoint = tcp.LocalEndPoints[0];
        var associations = new List<NvmePS.Engine.Fabrics.Host.NvmeHostAssociation>();
        try
        {
            for (int i = 0; i < 4; i++)
            {
                var a = await NvmePS.Engine.Fabrics.Host.NvmeHostAssociation.ConnectAsync(endpoint, "nqn.2024-01.io.nvmeps:epoll",
                    new NvmePS.Engine.Fabrics.Host.NvmeHostAssociationParameters { IoQueueCount = 1 }, CancellationToken.None);
                associations.Add(a);
                await a.Admin.IdentifyControllerAsync(CancellationToken.None);
                await a.FlushAsync(1, CancellationToken.None);
            }

            var registered = EpollRegisteredInodes();
            var sockets = TcpSocketInodes();
            // The listener still accepts through the engine: the way registrations are read here sees it.
            Assert.Contains(sockets.Single(t => t.LocalPort == endpoint.Port && t.Listening).Inode, registered);
            int checkedSockets = 0;
            foreach (var queue in associations.SelectMany(a => a.IoQueues.Prepend(a.AdminQueue)))
            {
                int port = ((System.Net.IPEndPoint)queue.Transport.LocalEndPoint!).Port;
                foreach (var (_, _, _, inode) in sockets.Where(t => t.Inode != 0 && !t.Listening
                    && ((t.LocalPort == port && t.RemotePort == endpoint.Port) || (t.LocalPort == endpoint.Port && t.RemotePort == port))))
                {
                    Assert.DoesNotContain(inode, registered);
                    checkedSockets++;
                }
            }

            Assert.Equal(4 * 2 * 2, checkedSockets); // 4 associations, 2 queues each, both ends
        }
        finally
        {
            foreach (var a in associations)
            {
                await a.DisposeAsync();
            }
        }
    }

    /// <summary>Inodes of the files registered in any epoll set of this process (the ino fields of /proc/self/fdinfo).</summary>
    private static HashSet<ulong> EpollRegisteredInodes()
    {
        var inodes = new HashSet<ulong>();
        foreach (string entry in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            string info;
            try
            {
                if (new FileInfo(entry).LinkTarget != "anon_inode:[eventpoll]")
                {
                    continue;
                }

                info = File.ReadAllText($"/proc/self/fdinfo/{Path.GetFileName(entry)}");
            }
            catch (IOException)
            {
                continue;
            }

            foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(info, @"^tfd:.*\bino:([0-9a-f]+)", System.Text.RegularExpressions.RegexOptions.Multiline))
            {
                inodes.Add(Convert.ToUInt64(m.Groups[1].Value, 16));
            }
        }

        return inodes;
    }

    /// <summary>This process's IPv4 TCP sockets (/proc/net/tcp lists the whole network namespace; other processes' are
    /// left out by the socket:[inode] links of /proc/self/fd): ports, LISTEN state and inode. A socket can be listed
    /// twice when the table changes while it is read, so each inode counts once.</summary>
    private static List<(int LocalPort, int RemotePort, bool Listening, ulong Inode)> TcpSocketInodes()
    {
        var own = new HashSet<ulong>();
        foreach (string entry in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            string? link;
            try
            {
                link = new FileInfo(entry).LinkTarget;
            }
            catch (IOException)
            {
                continue;
            }

            if (link is not null && link.StartsWith("socket:[", StringComparison.Ordinal))
            {
                own.Add(ulong.Parse(link[8..^1], System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return [.. File.ReadLines("/proc/net/tcp").Skip(1).Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Select(f => (
            LocalPort: Convert.ToInt32(f[1].Split(':')[1], 16), RemotePort: Convert.ToInt32(f[2].Split(':')[1], 16), Listening: f[3] == "0A",
            Inode: ulong.Parse(f[9], System.Globalization.CultureInfo.InvariantCulture))).Where(t => own.Contains(t.Inode)).DistinctBy(t => t.Inode)];
    }
}
