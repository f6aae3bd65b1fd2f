using System.Net.Sockets;
using NvmePS.Engine.Admin;
using NvmePS.Engine.Fabrics.Host;
using NvmePS.Engine.Fabrics.Tcp;
using static NvmePS.Engine.Tests.Fabrics.Host.HostMalformedInputTests;

namespace NvmePS.Engine.Tests.Fabrics.Host;

/// <summary>
/// A controller that stalls, drips or stops reading in the middle of a PDU must not hold the host: a timeout or stop
/// that fires mid-PDU closes the queue (the byte stream cannot resume), every command on it fails, and the call ends.
/// The bounds below only catch hangs (the commands' own timeouts are 1 s); they are not speed assertions.
/// </summary>
public class StalledPduTests
{
    private static readonly TimeSpan HangBound = TimeSpan.FromSeconds(15);

    private static async Task AssertQueueDeadAsync(NvmeHostQueue q, Socket fake)
    {
        var failure = Assert.IsAssignableFrom<NvmeException>(q.Failure);
        Assert.Contains("in the middle of a PDU", failure.Message, StringComparison.Ordinal);
        Assert.True(await Loopback.IsClosedByPeerAsync(fake));
        // The next command fails at once and says why, rather than waiting behind the dead PDU.
        var next = await Assert.ThrowsAnyAsync<NvmeException>(() => q.ExecuteAsync(NvmeIoCommands.Flush(1), default, default, CancellationToken.None).AsTask().WaitAsync(HangBound));
        Assert.Contains("in the middle of a PDU", next.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stall_inside_C2HData_data_ends_the_read_at_its_timeout_and_closes_the_queue()
    {
        var (q, fake) = await ConnectAsync();
        using var _ = fake;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        var run = q.ExecuteAsync(NvmeIoCommands.Read(1, 0, 8), default, new byte[4096], timeout.Token).AsTask();
        ushort cid = await ReadCapsuleAsync(fake);
        // The header and 1000 of the 4096 data bytes, then silence with the connection open.
        await Loopback.SendAsync(fake, C2H(cid, 0, 4096)[..(24 + 1000)]);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(HangBound));
        await AssertQueueDeadAsync(q, fake);
        await q.DisposeAsync();
    }

    [Fact]
    public async Task A_controller_that_drips_a_PDU_cannot_hold_the_read()
    {
        var (q, fake) = await ConnectAsync();
        using var _ = fake;
        // One byte every 20 ms: the 24-byte header is in after about 0.5 s, so the timeout fires inside the data.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        var run = q.ExecuteAsync(NvmeIoCommands.Read(1, 0, 8), default, new byte[4096], timeout.Token).AsTask();
        ushort cid = await ReadCapsuleAsync(fake);
        byte[] pdu = C2H(cid, 0, 4096);
        using var dripping = new CancellationTokenSource();
        var drip = Task.Run(async () =>
        {
            try
            {
                foreach (byte b in pdu)
                {
                    await fake.SendAsync(new[] { b }, SocketFlags.None, dripping.Token);
                    await Task.Delay(20, dripping.Token);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // The host closed the connection, or the test ended.
            }
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(HangBound));
        Assert.Contains("in the middle of a PDU", Assert.IsAssignableFrom<NvmeException>(q.Failure).Message, StringComparison.Ordinal);
        await dripping.CancelAsync();
        await drip;
        await q.DisposeAsync();
    }

    [Fact]
    public async Task A_controller_that_stops_reading_during_H2CData_fails_the_write_and_frees_the_queue()
    {
        var (q, fake) = await ConnectAsync();
        using var _ = fake;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        byte[] data = new byte[1 << 20];
        var run = q.ExecuteAsync(NvmeIoCommands.Write(1, 0, data.Length / 512), data, default, timeout.Token).AsTask();
        ushort cid = await ReadCapsuleAsync(fake);
        // Ask for all of it, then read nothing more: with 32 KiB socket buffers the host's H2CData send blocks.
        byte[] r2t = new byte[24];
        NvmeTcpPduWriter.WriteR2T(r2t, new R2TPdu(cid, 1, 0, (uint)data.Length), headerDigest: false);
        await Loopback.SendAsync(fake, r2t);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(HangBound));
        await AssertQueueDeadAsync(q, fake);
        await q.DisposeAsync();
    }

    [Fact]
    public async Task A_CapsuleResp_while_C2HData_is_still_coming_is_a_fatal_sequence_error()
    {
        var (q, fake) = await ConnectAsync();
        using var _ = fake;
        var run = q.ExecuteAsync(NvmeIoCommands.Read(1, 0, 8), default, new byte[4096], CancellationToken.None).AsTask();
        ushort cid = await ReadCapsuleAsync(fake);
        await Loopback.SendAsync(fake, C2H(cid, 0, 512, last: false));
        byte[] resp = Resp(cid);
        await Loopback.SendAsync(fake, resp);
        // H2CTermReq with FES 02h (PDU Sequence Error), FEI 0, and the CapsuleResp header as error data.
        await AssertTerminatedAsync(fake, run, q, (byte)NvmeTcpFatalErrorStatus.PduSequenceError, 0, 0, resp);
    }

    [Fact]
    public async Task A_PDU_that_never_finishes_closes_the_queue_at_the_PDU_deadline_even_with_no_caller_timeout()
    {
        var (q, fake) = await ConnectAsync(pduTimeout: TimeSpan.FromMilliseconds(500));
        using var _ = fake;
        var run = q.ExecuteAsync(NvmeIoCommands.Read(1, 0, 8), default, new byte[4096], CancellationToken.None).AsTask();
        ushort cid = await ReadCapsuleAsync(fake);
        // Ten bytes of a 24-byte header.
        await Loopback.SendAsync(fake, C2H(cid, 0, 4096)[..10]);

        var e = await Assert.ThrowsAsync<NvmeTimeoutException>(() => run.WaitAsync(HangBound));
        Assert.Contains("did not finish it within 0.5 s", e.Message, StringComparison.Ordinal);
        Assert.True(await Loopback.IsClosedByPeerAsync(fake));
        await q.DisposeAsync();
    }

    [Fact]
    public async Task Waiting_between_PDUs_is_not_bounded_by_the_PDU_deadline()
    {
        var (q, fake) = await ConnectAsync(pduTimeout: TimeSpan.FromMilliseconds(200));
        using var _ = fake;
        var run = q.ExecuteAsync(NvmeIoCommands.Flush(1), default, default, CancellationToken.None).AsTask();
        ushort cid = await ReadCapsuleAsync(fake);
        await Task.Delay(1000);
        Assert.Null(q.Failure);
        await Loopback.SendAsync(fake, Resp(cid));
        Assert.True((await run.WaitAsync(HangBound)).Completion.IsSuccess);
        await q.DisposeAsync();
    }

    [Fact]
    public async Task A_stalled_queue_fails_its_whole_association_and_leaves_other_associations_alone()
    {
        using var stop = new CancellationTokenSource();
        // Reads of LBA 7 get half a C2HData PDU and then silence; everything else is served.
        await using var ctrl = new ScriptedController(async (c, qp, cmd, icd) =>
        {
            if (cmd.Opcode != NvmeIoOpcode.Read || cmd.Cdw10 != 7)
            {
                return false;
            }

            await qp.SendRawAsync(C2H(cmd.Cid, 0, 4096)[..(24 + 1000)], stop.Token);
            await Task.Delay(Timeout.Infinite, stop.Token).ContinueWith(_ => { }, TaskScheduler.Default);
            return true;
        });
        try
        {
            var p = new NvmeHostAssociationParameters { IoQueueCount = 2 };
            await using var stalled = await NvmeHostAssociation.ConnectAsync(ctrl.EndPoint, "nqn.2024-01.io.nvmeps.test:stall", p, CancellationToken.None);
            await using var healthy = await NvmeHostAssociation.ConnectAsync(ctrl.EndPoint, "nqn.2024-01.io.nvmeps.test:stall", p, CancellationToken.None);

            using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1)))
            {
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => stalled.ReadAsync(1, 7, 8, new byte[4096], timeout.Token).AsTask().WaitAsync(HangBound));
            }

            // The failed queue took the association down, visibly: admin and the other I/O queue too.
            var failure = Assert.IsType<NvmeConnectionException>(stalled.Failure);
            Assert.Contains("in the middle of a PDU", failure.Message, StringComparison.Ordinal);
            Assert.All(stalled.IoQueues.Append(stalled.AdminQueue), q => Assert.NotNull(q.Failure));
            await Assert.ThrowsAnyAsync<NvmeException>(() => stalled.Admin.IdentifyControllerAsync(CancellationToken.None).WaitAsync(HangBound));

            // The other association to the same controller reads and writes on.
            byte[] pattern = Enumerable.Range(0, 4096).Select(i => (byte)i).ToArray();
            await healthy.WriteAsync(1, 16, 8, pattern, fua: false, CancellationToken.None).AsTask().WaitAsync(HangBound);
            byte[] back = new byte[4096];
            await healthy.ReadAsync(1, 16, 8, back, CancellationToken.None).AsTask().WaitAsync(HangBound);
            Assert.Equal(pattern, back);
            Assert.Null(healthy.Failure);
        }
        finally
        {
            // The scripted stall ends even when an assertion failed, or disposing the controller would wait for it.
            await stop.CancelAsync();
        }
    }
}
