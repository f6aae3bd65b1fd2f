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
}
