using System.Buffers.Binary;
using System.Net;
using NvmePS.Engine;
using NvmePS.Engine.Admin;
using NvmePS.Engine.Fabrics;
using NvmePS.Engine.Fabrics.Controller;
using NvmePS.Engine.Fabrics.Controller.Tcp;
using NvmePS.Engine.Fabrics.Host;
using NvmePS.Engine.Tests.Fabrics.Controller;

namespace NvmePS.Engine.Tests.Fabrics.Review;

/// <summary>
/// Defects found in the fabrics review (docs/review/fabrics-findings.md). Each test states what the spec or the reference
/// implementations require; each failed against the code the review saw and now guards its fix
/// (docs/review/fabrics-findings.md says which commit fixed it).
/// </summary>
public class FabricsReviewDefectTests
{
    private static async Task<(NvmeTarget Target, NvmeTcpTarget Tcp, IPEndPoint Ep)> StartAsync(NvmeTargetOptions? options = null)
    {
        var target = new NvmeTarget(options ?? new NvmeTargetOptions());
        var sub = target.AddSubsystem(Core.SubNqn);
        sub.AllowHost(Core.HostNqn);
        sub.AddMemoryNamespace(8 << 20, 512);
        var tcp = new NvmeTcpTarget(target);
        await tcp.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0));
        return (target, tcp, tcp.LocalEndPoints[0]);
    }

    private static async Task<(RawPeer Peer, ushort Cntlid)> RawAdminAsync(IPEndPoint ep)
    {
        var peer = await RawPeer.OpenAsync(ep);
        await peer.SendAsync(RawPeer.ConnectCapsule(0, 0xFFFF));
        var resp = await peer.ReadPduAsync();
        Assert.Equal(0x05, resp[0]);
        Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian(resp.AsSpan(22)));
        ushort cntlid = BinaryPrimitives.ReadUInt16LittleEndian(resp.AsSpan(8));
        var cc = RawPeer.Sgl(new PropertySetCommand(PropertySize.FourBytes, ControllerProperty.Cc, ControllerConfiguration.Create(en: true).Value).ToCommand(2), 2, SglDescriptor.Transport(0));
        await peer.SendAsync(RawPeer.Capsule(cc));
        var ccResp = await peer.ReadPduAsync();
        Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian(ccResp.AsSpan(22)));
        return (peer, cntlid);
    }

    private static async Task<(RawPeer Admin, RawPeer Io, ushort Ttag)> RawIoWithR2TAsync(IPEndPoint ep, int writeLength)
    {
        var (admin, cntlid) = await RawAdminAsync(ep);
        var io = await RawPeer.OpenAsync(ep);
        await io.SendAsync(RawPeer.ConnectCapsule(1, cntlid));
        var resp = await io.ReadPduAsync();
        Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian(resp.AsSpan(22)));
        var write = RawPeer.Sgl(NvmeIoCommands.Write(1, 0, writeLength / 512), 10, SglDescriptor.Transport((uint)writeLength));
        await io.SendAsync(RawPeer.Capsule(write));
        var r2t = await io.ReadPduAsync();
        Assert.Equal(0x09, r2t[0]);
        return (admin, io, BinaryPrimitives.ReadUInt16LittleEndian(r2t.AsSpan(10)));
    }

    /// <summary>F-01. NVMe/TCP fixes the Admin queue (and Fabrics command) in-capsule data size at 8 KiB of DATA: Linux
    /// include/linux/nvme-tcp.h NVME_TCP_ADMIN_CCSZ = SZ_8K and host/tcp.c sizes the admin capsule as
    /// sizeof(struct nvme_command) + NVME_TCP_ADMIN_CCSZ, so a Linux host sends up to 8192 bytes in-capsule on the admin queue.
    /// Our controller caps admin in-capsule data at 8192 − 64 = 8128 bytes and answers 8129..8192 with C2HTermReq FES 05h.</summary>
    [Fact]
    public async Task F01_admin_queue_accepts_8192_bytes_of_in_capsule_data_like_a_Linux_host_sends()
    {
        var (target, tcp, ep) = await StartAsync();
        await using var t = tcp;
        using var tg = target;
        var (peer, _) = await RawAdminAsync(ep);
        using var p = peer;

        // Set Features (data from host) with 8192 bytes in the capsule; the status does not matter, the transport does.
        var set = RawPeer.Sgl(NvmeAdminCommands.SetFeatures(0x0E, 0), 3, SglDescriptor.InCapsule(8192));
        await peer.SendAsync(RawPeer.Capsule(set, new byte[8192]));
        var resp = await peer.ReadPduAsync();
        Assert.True(resp[0] == 0x05, $"expected a CapsuleResp, got PDU type {resp[0]:X2}h (FES {BinaryPrimitives.ReadUInt16LittleEndian(resp.AsSpan(8)):X2}h)");
        Assert.Equal(3, BinaryPrimitives.ReadUInt16LittleEndian(resp.AsSpan(20)));

        // The connection is still usable.
        await peer.SendAsync(RawPeer.Capsule(RawPeer.Sgl(NvmeAdminCommands.KeepAlive(), 4, SglDescriptor.Transport(0))));
        var ka = await peer.ReadPduAsync();
        Assert.Equal(0x05, ka[0]);
        Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian(ka.AsSpan(22)));
    }

    /// <summary>F-01, seen end to end: our own host sends admin writes of up to 8192 bytes in-capsule
    /// (NvmeHostQueue.AdminInCapsuleDataSize), and our own controller kills the association for it.</summary>
    [Fact]
    public async Task F01_our_host_and_our_controller_agree_on_the_admin_in_capsule_size()
    {
        var (target, tcp, ep) = await StartAsync();
        await using var t = tcp;
        using var tg = target;
        var p = new NvmeHostAssociationParameters { HostNqn = Core.HostNqn, HostId = Core.HostId, IoQueueCount = 0, SendKeepAlive = false };
        await using var a = await NvmeHostAssociation.ConnectAsync(ep, Core.SubNqn, p, CancellationToken.None);
        var r = await a.AdminQueue.ExecuteAsync(NvmeAdminCommands.SetFeatures(0x0E, 0), new byte[8192], default, CancellationToken.None);
        Assert.NotNull(r.Completion.Status.ToString());
        Assert.Null(a.AdminQueue.Failure);
        var ka = await a.AdminQueue.ExecuteAsync(NvmeAdminCommands.KeepAlive(), default, default, CancellationToken.None);
        Assert.True(ka.Completion.IsSuccess);
    }

    /// <summary>F-02. An H2CData whose DATAO is inside the R2T's range but is not where the previous PDU ended is a PDU
    /// Sequence Error (FES 02h, FEI reserved); Data Transfer Out of Range (04h) is for data outside the command's range.
    /// FreeBSD sys/dev/nvmf/nvmf_tcp.c nvmf_tcp_handle_h2c_data reports exactly this split. Our tracker sends 04h.</summary>
    [Fact]
    public async Task F02_h2cdata_out_of_order_datao_inside_the_r2t_is_a_pdu_sequence_error()
    {
        var (target, tcp, ep) = await StartAsync(new NvmeTargetOptions { MaxH2CData = 8192 });
        await using var t = tcp;
        using var tg = target;
        var (admin, io, ttag) = await RawIoWithR2TAsync(ep, 8192);
        using var a = admin;
        using var i = io;
        var h2c = RawPeer.H2CData(10, ttag, 4096, new byte[4096], true);
        await io.SendAsync(h2c);
        var pdu = await io.ReadPduAsync();
        Assert.Equal(RawPeer.ExpectedTermReq(0x02, 0, h2c[..24]), pdu);
    }

    /// <summary>F-03. LAST_PDU set on an H2CData that does not end the R2T's data (or missing on the one that does) is a PDU
    /// Sequence Error (FES 02h, FEI reserved) in FreeBSD's nvmf_tcp_handle_h2c_data; the FLAGS value itself is a valid flag
    /// for H2CData, so "Invalid PDU Header Field at offset 1" (what we send) points the peer at the wrong field.</summary>
    [Fact]
    public async Task F03_h2cdata_with_last_pdu_too_early_is_a_pdu_sequence_error()
    {
        var (target, tcp, ep) = await StartAsync(new NvmeTargetOptions { MaxH2CData = 8192 });
        await using var t = tcp;
        using var tg = target;
        var (admin, io, ttag) = await RawIoWithR2TAsync(ep, 8192);
        using var a = admin;
        using var i = io;
        var h2c = RawPeer.H2CData(10, ttag, 0, new byte[4096], last: true);
        await io.SendAsync(h2c);
        var pdu = await io.ReadPduAsync();
        Assert.Equal(RawPeer.ExpectedTermReq(0x02, 0, h2c[..24]), pdu);
    }

    /// <summary>F-04. After ICResp the target waits for the Fabrics Connect with no time limit (InitializeTimeout covers
    /// only ICReq): a peer that sends ICReq and then nothing holds a connection slot forever, so MaxConnections such peers
    /// lock every real host out ("one bad peer never hurts another", issue 2 §6 / BRIEF).</summary>
    [Fact]
    public async Task F04_a_peer_that_never_sends_connect_after_icreq_is_dropped_and_frees_its_slot()
    {
        var (target, tcp, ep) = await StartAsync(new NvmeTargetOptions { MaxConnections = 1 });
        await using var t = tcp;
        using var tg = target;
        // The default Connect deadline (NvmeTcpTarget.ConnectTimeout) is 30 s; a short one keeps the test fast.
        tcp.ConnectTimeout = TimeSpan.FromMilliseconds(500);
        using var idle = await RawPeer.OpenAsync(ep); // ICReq/ICResp, then silence
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var buffer = new byte[64];
        bool closed;
        try
        {
            closed = await idle.Socket.ReceiveAsync(buffer, System.Net.Sockets.SocketFlags.None, cts.Token) == 0;
        }
        catch (System.Net.Sockets.SocketException)
        {
            closed = true;
        }
        catch (OperationCanceledException)
        {
            closed = false;
        }

        Assert.True(closed, "the target kept an unconnected queue open for 20 s");

        // The peer sees the close a moment before the target's bookkeeping drops the connection (a CI run raced it):
        // wait, bounded, for the slot to be free, then use it.
        Assert.True(SpinWait.SpinUntil(() => tcp.ActiveConnections == 0, TimeSpan.FromSeconds(10)), $"{tcp.ActiveConnections} connection(s) still counted");
        var p = new NvmeHostAssociationParameters { HostNqn = Core.HostNqn, HostId = Core.HostId, IoQueueCount = 0, SendKeepAlive = false };
        await using var a = await NvmeHostAssociation.ConnectAsync(ep, Core.SubNqn, p, CancellationToken.None);
        Assert.NotEqual(0, a.Cntlid);
    }
}

/// <summary>Known defects that need header digests on the raw peer.</summary>
public class FabricsReviewDigestDefectTests
{
    /// <summary>An H2CData with header digest (no data digest): CH + PSH, HDGST, data at PDO = 28.</summary>
    private static byte[] H2CDataWithHeaderDigest(ushort cccid, ushort ttag, uint datao, byte[] data, bool last)
    {
        var b = new byte[28 + data.Length];
        b[0] = 0x06;
        b[1] = (byte)(0x01 | (last ? 0x04 : 0));
        b[2] = 24;
        b[3] = 28;
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), (uint)b.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(8), cccid);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(10), ttag);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(12), datao);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(16), (uint)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(24), ReferenceCrc32C.Compute(b.AsSpan(0, 24)));
        data.CopyTo(b.AsSpan(28));
        return b;
    }

    /// <summary>F-05. The error data of a termination request is the PDU HEADER of the PDU in error: HLEN bytes (CH + PSH);
    /// HDGST is a separate PDU section (NVMe/TCP 1.0 §3.6.1 Figure 12). FreeBSD nvmf_tcp_handle_h2c_data passes
    /// pdu->hdr->hlen as the length to copy. For violations found by the role (unknown TTAG/CCCID, DATAO, LAST_PDU...),
    /// NvmeTcpQueuePair.TerminateAsync copies LastHeader, which includes the 4-byte header digest when digests are on,
    /// while validator-detected errors copy HLEN only — the same PDU yields 24 or 28 bytes of error data.</summary>
    [Fact]
    public async Task F05_role_level_termination_error_data_is_hlen_bytes_without_the_header_digest()
    {
        var target = new NvmeTarget(new NvmeTargetOptions { MaxH2CData = 8192 });
        using var tg = target;
        var sub = target.AddSubsystem(Core.SubNqn);
        sub.AllowHost(Core.HostNqn);
        sub.AddMemoryNamespace(8 << 20, 512);
        await using var tcp = new NvmeTcpTarget(target);
        await tcp.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0));
        var ep = tcp.LocalEndPoints[0];

        await using var admin = await TestHost.AdminAsync(ep, Core.SubNqn, headerDigest: true);
        using var io = await RawPeer.OpenAsync(ep, headerDigest: true);
        var connectData = new ConnectData(Core.HostId, admin.Cntlid, Core.SubNqn, Core.HostNqn).ToArray();
        var connect = new ConnectCommand(0, 1, 63, 0, 0).ToCommand(1, SglDescriptor.InCapsule((uint)connectData.Length));
        await io.SendAsync(RawPeer.Capsule(connect, connectData, headerDigest: true));
        var resp = await io.ReadPduAsync();
        Assert.Equal(0x05, resp[0]);
        Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian(resp.AsSpan(22)));
        var write = RawPeer.Sgl(NvmeIoCommands.Write(1, 0, 16), 10, SglDescriptor.Transport(8192));
        await io.SendAsync(RawPeer.Capsule(write, headerDigest: true));
        var r2t = await io.ReadPduAsync();
        Assert.Equal(0x09, r2t[0]);
        ushort ttag = BinaryPrimitives.ReadUInt16LittleEndian(r2t.AsSpan(10));

        var h2c = H2CDataWithHeaderDigest(10, (ushort)(ttag + 1), 0, new byte[4096], false);
        await io.SendAsync(h2c);
        var term = await io.ReadPduAsync();
        // FES 01h (unknown TTAG), FEI 10 (TTAG offset), error data = the 24-byte H2CData header.
        Assert.Equal(RawPeer.ExpectedTermReq(0x01, 10, h2c[..24]), term);
    }
}

/// <summary>Known defects on the host side, against the scripted controller.</summary>
public class FabricsReviewHostDefectTests
{
    /// <summary>F-06. NvmeHostQueue.ExecuteAsync lets a caller cancel a submitted command and returns at once; for a write
    /// waiting for R2T the slot keeps a reference to the caller's buffer (Slot.DataOut) and answers a later R2T from it. The
    /// caller, told the call is over, reuses its buffer; the controller then receives and writes the NEW contents to the
    /// abandoned write's LBAs — silent corruption. The host must either not return before the wire is done with the buffer,
    /// or not send caller memory after the call ended (copy it, or fail the queue).</summary>
    [Fact]
    public async Task F06_an_abandoned_write_never_sends_caller_memory_after_the_call_returned()
    {
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var received = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var ctrl = new NvmePS.Engine.Tests.Fabrics.Host.ScriptedController(async (c, qp, cmd, icd) =>
        {
            if (cmd.Opcode != NvmeIoOpcode.Write || icd.Length != 0)
            {
                return false;
            }

            // Hold the R2T until the host's caller has cancelled and reused its buffer.
            await cancelled.Task.WaitAsync(TimeSpan.FromSeconds(10));
            await qp.SendR2TAsync(cmd.Cid, 0, 0, 8192, CancellationToken.None);
            var data = new byte[8192];
            int got = 0;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                while (got < data.Length)
                {
                    using var pdu = await qp.ReceivePduAsync(timeout.Token);
                    pdu.Data.Span.CopyTo(data.AsSpan((int)pdu.Header.Offset));
                    got += pdu.Header.DataLength;
                }

                received.TrySetResult(data);
                await qp.SendCapsuleResponseAsync(NvmeCompletion.Create(cmd.Cid, NvmeStatus.Success, sqid: 1), CancellationToken.None);
            }
            catch (Exception e)
            {
                received.TrySetException(e);
            }

            return true;
        })
        { Ioccsz = 4 }; // no in-capsule data on I/O queues: every write goes through R2T

        var p = new NvmeHostAssociationParameters { HostNqn = Core.HostNqn, HostId = Core.HostId, IoQueueCount = 1, SendKeepAlive = false };
        await using var a = await NvmeHostAssociation.ConnectAsync(ctrl.EndPoint, "nqn.2024-01.io.nvmeps:scripted", p, CancellationToken.None);
        byte[] buffer = new byte[8192];
        Array.Fill(buffer, (byte)0x11);
        using (var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
                await a.ExecuteIoAsync(NvmeIoCommands.Write(NvmePS.Engine.Tests.Fabrics.Host.ScriptedController.Nsid, 0, 16), buffer, default, cts.Token));
        }

        // The call is over: the caller reuses its memory.
        Array.Fill(buffer, (byte)0xEE);
        cancelled.SetResult();
        byte[]? sent = null;
        try
        {
            sent = await received.Task.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception e) when (e is NvmeException or TimeoutException or OperationCanceledException)
        {
            // Not answering the R2T with caller memory (failing the queue instead) is an acceptable fix.
        }

        Assert.False(sent is not null && sent.Contains((byte)0xEE), "the host sent the caller's buffer contents written after the call had returned");
    }
}

/// <summary>Known defects found by inspection that need a process-wide observer or a scripted peer.</summary>
public class FabricsReviewRobustnessDefectTests
{
    /// <summary>F-07. NvmeTcpTargetConnection.ExecuteAndRespondAsync runs fire-and-forget (`_ = ...`) and catches only
    /// NvmeConnectionException, OperationCanceledException, ObjectDisposedException and SocketException. When the
    /// connection is ended by a protocol violation, NvmeTcpQueuePair reports every send cut short as an
    /// NvmeProtocolException (TerminationCause), which escapes and faults the unobserved task — the exception is raised on
    /// the finalizer thread's UnobservedTaskException event (and would crash a process configured to throw on unobserved
    /// exceptions). Commands in flight on a connection that a bad peer breaks must end quietly.</summary>
    [Fact]
    public async Task F07_commands_in_flight_on_a_connection_ended_by_a_protocol_error_do_not_fault_unobserved()
    {
        var escaped = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        void Observe(object? s, UnobservedTaskExceptionEventArgs e)
        {
            foreach (var x in e.Exception.Flatten().InnerExceptions)
            {
                if (x is NvmeException && (x.StackTrace ?? string.Empty).Contains("NvmeTcpTargetConnection", StringComparison.Ordinal))
                {
                    escaped.Enqueue(x);
                }
            }
        }

        TaskScheduler.UnobservedTaskException += Observe;
        try
        {
            var target = new NvmeTarget(new NvmeTargetOptions { MaxQueueSize = 128 });
            using var tg = target;
            var sub = target.AddSubsystem(Core.SubNqn);
            sub.AllowHost(Core.HostNqn);
            sub.AddMemoryNamespace(8 << 20, 512);
            await using var tcp = new NvmeTcpTarget(target);
            await tcp.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0));
            var ep = tcp.LocalEndPoints[0];
            await using var admin = await TestHost.AdminAsync(ep, Core.SubNqn);
            using var io = await RawPeer.OpenAsync(ep);
            io.Socket.ReceiveBufferSize = 4096;
            var connectData = new ConnectData(Core.HostId, admin.Cntlid, Core.SubNqn, Core.HostNqn).ToArray();
            await io.SendAsync(RawPeer.Capsule(new ConnectCommand(0, 1, 127, 0, 0).ToCommand(1, SglDescriptor.InCapsule((uint)connectData.Length)), connectData));
            var resp = await io.ReadPduAsync();
            Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian(resp.AsSpan(22)));

            // Many 128 KiB reads the peer never drains: the target's C2HData sends block on a full socket.
            for (ushort cid = 2; cid < 100; cid++)
            {
                await io.SendAsync(RawPeer.Capsule(RawPeer.Sgl(NvmeIoCommands.Read(1, (ulong)(cid * 256 % 16000), 256), cid, SglDescriptor.Transport(128 * 1024))));
            }

            await Task.Delay(300);
            await io.SendAsync([0x0C, 0x00, 8, 0, 8, 0, 0, 0]); // unknown PDU type: the reader terminates the connection
            await Task.Delay(2000);
            io.Socket.Close(0);
            for (int i = 0; i < 10 && escaped.IsEmpty; i++)
            {
                await Task.Delay(200);
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        }
        finally
        {
            TaskScheduler.UnobservedTaskException -= Observe;
        }

        Assert.True(escaped.IsEmpty, $"{escaped.Count} exception(s) escaped unobserved, first: {escaped.FirstOrDefault()}");
    }
}

/// <summary>Known defect in how the host derives its transfer limit.</summary>
public class FabricsReviewMdtsDefectTests
{
    /// <summary>F-08. NvmeHostAssociation.ApplyIdentify computes (4096 &lt;&lt; CAP.MPSMIN) &lt;&lt; MDTS in a long without bounding
    /// the shift: MDTS is a byte (0..255), and for MDTS ≥ 51 the product overflows (0 or negative) — the host then reports
    /// MaxDataTransferSize 0 and splits every I/O into one-block commands. A larger MDTS means a larger limit; the result
    /// must be capped (the code already caps at 1 GiB), never wrap.</summary>
    [Theory]
    [InlineData(51)]
    [InlineData(60)]
    public async Task F08_a_huge_mdts_is_capped_not_wrapped(int mdts)
    {
        await using var ctrl = new NvmePS.Engine.Tests.Fabrics.Host.ScriptedController() { Mdts = (byte)mdts };
        var p = new NvmeHostAssociationParameters { HostNqn = Core.HostNqn, HostId = Core.HostId, IoQueueCount = 1, SendKeepAlive = false };
        await using var a = await NvmeHostAssociation.ConnectAsync(ctrl.EndPoint, "nqn.2024-01.io.nvmeps:scripted", p, CancellationToken.None);
        Assert.Equal(1 << 30, a.MaxDataTransferSize);
    }
}
