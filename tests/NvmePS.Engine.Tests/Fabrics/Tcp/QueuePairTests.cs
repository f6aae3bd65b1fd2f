using System.Buffers.Binary;
using System.Net.Sockets;
using NvmePS.Engine.Fabrics;
using NvmePS.Engine.Fabrics.Tcp;

namespace NvmePS.Engine.Tests.Fabrics.Tcp;

public class QueuePairTests
{
    private static async Task<(NvmeTcpQueuePair Host, NvmeTcpQueuePair Controller)> ConnectAsync(NvmeTcpQueueOptions host, NvmeTcpQueueOptions controller)
    {
        var (c, s) = await Loopback.PairAsync();
        var accept = NvmeTcpQueuePair.AcceptAsync(s, controller, CancellationToken.None);
        var h = await NvmeTcpQueuePair.ConnectAsync(c, host, CancellationToken.None);
        return (h, await accept);
    }

    /// <summary>Issue 15 §6: a peer that connects and never initializes costs the ICReq buffer, not the connection's
    /// receive and send buffers (256 KiB with the defaults); those come with initialization.</summary>
    [Fact]
    public async Task A_connection_waiting_for_icreq_holds_a_few_kib_and_grows_its_buffers_when_initialized()
    {
        var (c, s) = await Loopback.PairAsync();
        using var client = c;
        long before = GC.GetAllocatedBytesForCurrentThread();
        // Runs synchronously up to the wait for ICReq: the queue pair and its first receive are allocated on this thread.
        var accept = NvmeTcpQueuePair.AcceptAsync(s, new NvmeTcpQueueOptions(), CancellationToken.None);
        long waiting = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.False(accept.IsCompleted);
        Assert.InRange(waiting, 1, 16 * 1024);

        var host = await NvmeTcpQueuePair.ConnectAsync(c, new NvmeTcpQueueOptions(), CancellationToken.None);
        await using var _ = host;
        await using var ctrl = await accept;
        // Initialized: full-size buffers, and a PDU larger than the first 4 KiB crosses intact.
        byte[] data = new byte[48 * 1024];
        new Random(15).NextBytes(data);
        await ctrl.SendC2HDataAsync(7, 0, data, last: true, success: false, CancellationToken.None);
        var h = await host.ReceiveHeaderAsync(CancellationToken.None);
        byte[] got = new byte[h.DataLength];
        Assert.True(await host.ReceiveDataAsync(got, CancellationToken.None));
        Assert.Equal(data, got);
    }

    [Theory]
    [InlineData(false, false, 0, 0)]
    [InlineData(true, true, 0, 0)]
    [InlineData(true, false, 3, 7)]
    public async Task Capsules_and_data_cross_the_wire_with_negotiated_digests_and_alignment(bool hd, bool dd, byte hpda, byte cpda)
    {
        var (host, ctrl) = await ConnectAsync(
            new NvmeTcpQueueOptions { HeaderDigest = hd, DataDigest = dd, Pda = hpda, MaxR2T = 2 },
            new NvmeTcpQueueOptions { HeaderDigest = true, DataDigest = true, Pda = cpda, MaxH2CData = 32768, MaxInCapsuleData = 16384 });
        await using var _ = host;
        await using var __ = ctrl;
        Assert.Equal(new NvmeTcpNegotiated(hd, dd, hpda, cpda, 2, 32768), host.Negotiated);
        Assert.Equal(host.Negotiated, ctrl.Negotiated);

        var rnd = new Random(5);
        byte[] icd = new byte[5000];
        rnd.NextBytes(icd);
        var sqe = new NvmeCommand { Opcode = 0x01, Flags = 0x40, Cid = 42, Nsid = 1 };
        SglDescriptor.InCapsule((uint)icd.Length).WriteTo(ref sqe);
        await host.SendCapsuleCommandAsync(sqe, icd, CancellationToken.None);

        var rx = await ctrl.ReceiveHeaderAsync(CancellationToken.None);
        Assert.Equal(NvmeTcpPduType.CapsuleCmd, rx.Type);
        Assert.Equal(sqe, rx.Command);
        byte[] got = new byte[rx.DataLength];
        Assert.True(await ctrl.ReceiveDataAsync(got, CancellationToken.None));
        Assert.Equal(icd, got);

        // Large C2H data (beyond the coalescing buffer) and a response.
        byte[] big = new byte[300_000];
        rnd.NextBytes(big);
        await ctrl.SendC2HDataAsync(42, 0, big.AsMemory(0, 200_000), last: false, success: false, CancellationToken.None);
        await ctrl.SendC2HDataAsync(42, 200_000, big.AsMemory(200_000), last: true, success: true, CancellationToken.None);
        await ctrl.SendR2TAsync(43, 7, 0, 4096, CancellationToken.None);
        await ctrl.SendCapsuleResponseAsync(NvmeCompletion.Create(44, NvmeStatus.Success, sqhd: 9), CancellationToken.None);

        byte[] dest = new byte[big.Length];
        var d1 = await host.ReceiveHeaderAsync(CancellationToken.None);
        Assert.Equal(NvmeTcpPduType.C2HData, d1.Type);
        Assert.Equal((ushort)42, d1.Cccid);
        Assert.False(d1.IsLast);
        Assert.True(await host.ReceiveDataAsync(dest.AsMemory((int)d1.Offset, d1.DataLength), CancellationToken.None));
        var d2 = await host.ReceiveHeaderAsync(CancellationToken.None);
        Assert.True(d2.IsLast && d2.IsSuccess);
        Assert.True(await host.ReceiveDataAsync(dest.AsMemory((int)d2.Offset, d2.DataLength), CancellationToken.None));
        Assert.Equal(big, dest);
        var r2t = await host.ReceiveHeaderAsync(CancellationToken.None);
        Assert.Equal(new R2TPdu(43, 7, 0, 4096), r2t.R2T);
        var resp = await host.ReceiveHeaderAsync(CancellationToken.None);
        Assert.Equal(NvmeTcpPduType.CapsuleResp, resp.Type);
        Assert.Equal((ushort)44, resp.Completion.Cid);
        Assert.Equal((ushort)9, resp.Completion.Sqhd);

        await host.SendH2CDataAsync(43, 7, 0, big.AsMemory(0, 4096), last: true, CancellationToken.None);
        var h2c = await ctrl.ReceiveHeaderAsync(CancellationToken.None);
        Assert.Equal(new H2CDataPdu(43, 7, 0, 4096), h2c.H2CData);
        Assert.True(h2c.IsLast);
        await ctrl.SkipDataAsync(CancellationToken.None);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Data_beyond_the_send_buffer_arrives_whole_with_its_digest_at_every_size_around_the_copied_head_and_tail(bool digests)
    {
        // Large data is sent as header + copied head, the caller's middle, and a copied tail + digest: check the seams.
        var options = new NvmeTcpQueueOptions { HeaderDigest = digests, DataDigest = digests, MaxH2CData = 65536 };
        var (host, ctrl) = await ConnectAsync(options, options);
        await using var _ = host;
        await using var __ = ctrl;
        var rnd = new Random(11);
        int[] sizes = [4000, 4096, 4097, 4300, 4352, 4353, 8191, 8192, 8193, 12288, 12289, 20000, 65536];
        foreach (int size in sizes)
        {
            byte[] data = new byte[size];
            rnd.NextBytes(data);
            await ctrl.SendC2HDataAsync(7, 0, data, last: true, success: false, CancellationToken.None);
            var rx = await host.ReceiveHeaderAsync(CancellationToken.None);
            Assert.Equal(size, rx.DataLength);
            byte[] got = new byte[size];
            Assert.True(await host.ReceiveDataAsync(got, CancellationToken.None));
            Assert.Equal(data, got);
        }
    }

    [Fact]
    public async Task ReceivePdu_returns_pooled_data_and_the_digest_verdict()
    {
        var (host, ctrl) = await ConnectAsync(new NvmeTcpQueueOptions { DataDigest = true }, new NvmeTcpQueueOptions { DataDigest = true });
        await using var _ = host;
        await using var __ = ctrl;
        byte[] icd = { 1, 2, 3, 4, 5, 6, 7 };
        var sqe = new NvmeCommand { Opcode = 1, Cid = 9 };
        SglDescriptor.InCapsule((uint)icd.Length).WriteTo(ref sqe);
        await host.SendCapsuleCommandAsync(sqe, icd, CancellationToken.None);
        await host.SendCapsuleCommandAsync(new NvmeCommand { Opcode = 0, Cid = 10 }, default, CancellationToken.None);
        using (var pdu = await ctrl.ReceivePduAsync(CancellationToken.None))
        {
            Assert.Equal((ushort)9, pdu.Header.Command.Cid);
            Assert.True(pdu.DataDigestOk);
            Assert.Equal(icd, pdu.Data.ToArray());
        }

        using var empty = await ctrl.ReceivePduAsync(CancellationToken.None);
        Assert.Equal((ushort)10, empty.Header.Command.Cid);
        Assert.True(empty.Data.IsEmpty);
    }

    [Fact]
    public async Task Concurrent_senders_keep_their_own_order_when_pdus_are_combined()
    {
        var (host, ctrl) = await ConnectAsync(new NvmeTcpQueueOptions { HeaderDigest = true, DataDigest = true }, new NvmeTcpQueueOptions { HeaderDigest = true, DataDigest = true });
        await using var _ = host;
        await using var __ = ctrl;
        const int Tasks = 8, PerTask = 200;
        var senders = Enumerable.Range(0, Tasks).Select(t => Task.Run(async () =>
        {
            byte[] big = new byte[40000];
            byte[] small = new byte[100];
            for (int i = 0; i < PerTask; i++)
            {
                ushort cid = (ushort)((t << 12) | i);
                big.AsSpan().Fill((byte)i);
                small.AsSpan().Fill((byte)(i + 1));
                if (i % 25 == 0)
                {
                    await ctrl.SendC2HDataAsync(cid, 0, big, last: true, success: false, CancellationToken.None); // too big to append
                }
                else
                {
                    await ctrl.SendC2HDataAsync(cid, 0, small, last: true, success: false, CancellationToken.None);
                }

                await ctrl.SendCapsuleResponseAsync(NvmeCompletion.Create(cid, NvmeStatus.Success, sqhd: 1), CancellationToken.None);
            }
        })).ToArray();

        int[] next = new int[Tasks];
        bool[] sawData = new bool[Tasks];
        byte[] buffer = new byte[40000];
        for (int n = 0; n < Tasks * PerTask * 2; n++)
        {
            var h = await host.ReceiveHeaderAsync(CancellationToken.None);
            int t = h.Cccid >> 12, i = h.Cccid & 0xFFF;
            Assert.Equal(next[t], i);
            if (h.Type == NvmeTcpPduType.C2HData)
            {
                Assert.False(sawData[t]);
                Assert.Equal(i % 25 == 0 ? 40000 : 100, h.DataLength);
                Assert.True(await host.ReceiveDataAsync(buffer.AsMemory(0, h.DataLength), CancellationToken.None));
                Assert.Equal(-1, buffer.AsSpan(0, h.DataLength).IndexOfAnyExcept((byte)(i % 25 == 0 ? i : i + 1)));
                sawData[t] = true;
            }
            else
            {
                Assert.Equal(NvmeTcpPduType.CapsuleResp, h.Type);
                Assert.True(sawData[t]);
                sawData[t] = false;
                next[t]++;
            }
        }

        await Task.WhenAll(senders);
        Assert.All(next, x => Assert.Equal(PerTask, x));
    }

    [Fact]
    public async Task A_combined_send_completes_only_once_written_and_fails_if_the_connection_dies_first()
    {
        var (c, s) = await Loopback.PairAsync();
        using var raw = c;
        raw.ReceiveBufferSize = 16 * 1024;
        s.SendBufferSize = 16 * 1024;
        var accept = NvmeTcpQueuePair.AcceptAsync(s, new NvmeTcpQueueOptions(), CancellationToken.None);
        byte[] ic = new byte[128];
        new IcReqPdu(0, 0, false, false, 0).Write(ic);
        await Loopback.SendAsync(raw, ic);
        await using var ctrl = await accept;
        await Loopback.ReadAsync(raw, 128);

        // The owner blocks: 8 MiB of C2HData into a peer that does not read.
        var big = ctrl.SendC2HDataAsync(1, 0, new byte[8 << 20], last: true, success: false, CancellationToken.None).AsTask();
        await Task.Delay(200);
        Assert.False(big.IsCompleted);
        var small = ctrl.SendCapsuleResponseAsync(NvmeCompletion.Create(2, NvmeStatus.Success), CancellationToken.None).AsTask();
        await Task.Delay(100);
        Assert.False(small.IsCompleted); // appended, not yet written

        ctrl.Abort();
        await Assert.ThrowsAnyAsync<NvmeException>(() => big);
        await Assert.ThrowsAnyAsync<NvmeException>(() => small);
    }

    [Fact]
    public async Task Controller_declines_digests_it_does_not_allow()
    {
        var (host, ctrl) = await ConnectAsync(new NvmeTcpQueueOptions { HeaderDigest = true, DataDigest = true }, new NvmeTcpQueueOptions());
        await using var _ = host;
        await using var __ = ctrl;
        Assert.False(host.Negotiated.HeaderDigest);
        Assert.False(host.Negotiated.DataDigest);
        Assert.Equal(128u * 1024, host.Negotiated.MaxH2CData);
    }

    [Fact]
    public async Task Data_digest_mismatch_is_reported_and_the_stream_stays_usable()
    {
        var (c, s) = await Loopback.PairAsync();
        using var raw = c;
        var accept = NvmeTcpQueuePair.AcceptAsync(s, new NvmeTcpQueueOptions { DataDigest = true }, CancellationToken.None);
        byte[] ic = new byte[128];
        new IcReqPdu(0, 0, false, true, 0).Write(ic);
        await Loopback.SendAsync(raw, ic);
        await using var ctrl = await accept;
        await Loopback.ReadAsync(raw, 128);

        byte[] pdu = new byte[256];
        int n = NvmeTcpPduWriter.WriteCapsuleCommand(pdu, new NvmeCommand { Opcode = 1, Cid = 1 }, new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 }, false, true, 4);
        pdu[n - 1] ^= 0x01;
        int m = NvmeTcpPduWriter.WriteCapsuleCommand(pdu.AsSpan(n), new NvmeCommand { Opcode = 0, Cid = 2 }, default, false, true, 4);
        await Loopback.SendAsync(raw, pdu.AsMemory(0, n + m));

        var h = await ctrl.ReceiveHeaderAsync(CancellationToken.None);
        Assert.False(await ctrl.ReceiveDataAsync(new byte[8], CancellationToken.None));
        var next = await ctrl.ReceiveHeaderAsync(CancellationToken.None);
        Assert.Equal((ushort)2, next.Command.Cid);
    }

    [Fact]
    public async Task Controller_answers_a_bad_pdu_with_c2h_termreq_copying_the_header_then_closes()
    {
        var (c, s) = await Loopback.PairAsync();
        using var raw = c;
        var accept = NvmeTcpQueuePair.AcceptAsync(s, new NvmeTcpQueueOptions(), CancellationToken.None);
        byte[] ic = new byte[128];
        new IcReqPdu(0, 0, false, false, 0).Write(ic);
        await Loopback.SendAsync(raw, ic);
        await using var ctrl = await accept;
        byte[] icresp = await Loopback.ReadAsync(raw, 128);
        Assert.Equal(0x01, icresp[0]);

        byte[] pdu = new byte[72];
        NvmeTcpPduWriter.WriteCapsuleCommand(pdu, new NvmeCommand { Opcode = 2, Cid = 3 }, default, false, false, 4);
        pdu[2] = 70; // bad HLEN
        await Loopback.SendAsync(raw, pdu);

        var ex = await Assert.ThrowsAsync<NvmeProtocolException>(() => ctrl.ReceiveHeaderAsync(CancellationToken.None).AsTask());
        Assert.Equal((byte)0x01, ex.FatalErrorStatus);
        Assert.Equal(2u, ex.FieldOffset);

        byte[] term = await Loopback.ReadAsync(raw, 24 + 70);
        byte[] expected = new byte[24 + 70];
        expected[0] = 0x03;
        expected[2] = 24;
        expected[4] = 94;
        expected[8] = 0x01;
        expected[10] = 2;
        pdu.AsSpan(0, 70).CopyTo(expected.AsSpan(24));
        Assert.Equal(expected, term);
        Assert.True(await Loopback.IsClosedByPeerAsync(raw));
        Assert.True(ctrl.IsClosed);
    }

    [Fact]
    public async Task Second_icreq_is_fatal()
    {
        var (c, s) = await Loopback.PairAsync();
        using var raw = c;
        var accept = NvmeTcpQueuePair.AcceptAsync(s, new NvmeTcpQueueOptions(), CancellationToken.None);
        byte[] ic = new byte[128];
        new IcReqPdu(0, 0, false, false, 0).Write(ic);
        await Loopback.SendAsync(raw, ic);
        await using var ctrl = await accept;
        await Loopback.ReadAsync(raw, 128);
        await Loopback.SendAsync(raw, ic);
        var ex = await Assert.ThrowsAsync<NvmeProtocolException>(() => ctrl.ReceiveHeaderAsync(CancellationToken.None).AsTask());
        Assert.Equal((byte)NvmeTcpFatalErrorStatus.PduSequenceError, ex.FatalErrorStatus);
        byte[] term = await Loopback.ReadAsync(raw, 24 + 128);
        Assert.Equal(Convert.FromHexString("0300180098000000" + "0200" + "00000000"), term[..14]);
        Assert.Equal(ic, term[24..]);
    }

    [Fact]
    public async Task Host_rejects_a_bad_icresp_with_h2c_termreq_byte_by_byte()
    {
        var (c, s) = await Loopback.PairAsync();
        using var fake = s;
        var connect = NvmeTcpQueuePair.ConnectAsync(c, new NvmeTcpQueueOptions(), CancellationToken.None);
        byte[] icreq = await Loopback.ReadAsync(fake, 128);
        Assert.Equal(0x00, icreq[0]);
        byte[] icresp = new byte[128];
        new IcRespPdu(0, 0, false, false, 2048).Write(icresp); // MAXH2CDATA below 4096
        await Loopback.SendAsync(fake, icresp);

        var ex = await Assert.ThrowsAsync<NvmeProtocolException>(() => connect);
        Assert.Equal((byte)0x01, ex.FatalErrorStatus);
        Assert.Equal(12u, ex.FieldOffset);
        byte[] term = await Loopback.ReadAsync(fake, 152);
        byte[] expected = new byte[152];
        TermReqPdu.Write(expected, fromController: false, NvmeTcpFatalErrorStatus.InvalidPduHeaderField, 12, icresp);
        Assert.Equal(Convert.FromHexString("0200180098000000" + "0100" + "0C000000" + "00000000000000000000"), term[..24]);
        Assert.Equal(expected, term);
        Assert.True(await Loopback.IsClosedByPeerAsync(fake));
    }

    [Fact]
    public async Task Host_rejects_unrequested_digest_with_unsupported_parameter()
    {
        var (c, s) = await Loopback.PairAsync();
        using var fake = s;
        var connect = NvmeTcpQueuePair.ConnectAsync(c, new NvmeTcpQueueOptions(), CancellationToken.None);
        await Loopback.ReadAsync(fake, 128);
        byte[] icresp = new byte[128];
        new IcRespPdu(0, 0, true, false, 8192).Write(icresp);
        await Loopback.SendAsync(fake, icresp);
        var ex = await Assert.ThrowsAsync<NvmeProtocolException>(() => connect);
        Assert.Equal((byte)0x06, ex.FatalErrorStatus);
        byte[] term = await Loopback.ReadAsync(fake, 152);
        Assert.Equal(Convert.FromHexString("0200180098000000" + "0600" + "0B000000"), term[..14]);
        Assert.Equal(icresp, term[24..]);
    }

    [Fact]
    public async Task Peer_reset_in_the_middle_of_icresp_is_a_connection_error()
    {
        var (c, s) = await Loopback.PairAsync();
        var connect = NvmeTcpQueuePair.ConnectAsync(c, new NvmeTcpQueueOptions(), CancellationToken.None);
        await Loopback.ReadAsync(s, 128);
        byte[] icresp = new byte[128];
        new IcRespPdu(0, 0, false, false, 8192).Write(icresp);
        await Loopback.SendAsync(s, icresp.AsMemory(0, 40));
        s.LingerState = new LingerOption(true, 0); // RST on close
        s.Close();
        await Assert.ThrowsAsync<NvmeConnectionException>(() => connect);
    }

    [Fact]
    public async Task Termination_request_from_the_peer_surfaces_its_fes()
    {
        var (c, s) = await Loopback.PairAsync();
        using var fake = s;
        var connect = NvmeTcpQueuePair.ConnectAsync(c, new NvmeTcpQueueOptions(), CancellationToken.None);
        await Loopback.ReadAsync(fake, 128);
        byte[] term = new byte[152];
        int n = TermReqPdu.Write(term, fromController: true, NvmeTcpFatalErrorStatus.UnsupportedParameter, 10, new byte[8]);
        await Loopback.SendAsync(fake, term.AsMemory(0, n));
        var ex = await Assert.ThrowsAsync<NvmeProtocolException>(() => connect);
        Assert.Equal((byte)6, ex.FatalErrorStatus);
        Assert.Equal(10u, ex.FieldOffset);
    }

    [Fact]
    public async Task Oversized_plen_is_refused_before_any_data_is_read()
    {
        var (c, s) = await Loopback.PairAsync();
        using var raw = c;
        var accept = NvmeTcpQueuePair.AcceptAsync(s, new NvmeTcpQueueOptions { MaxInCapsuleData = 8192 }, CancellationToken.None);
        byte[] ic = new byte[128];
        new IcReqPdu(0, 0, false, false, 0).Write(ic);
        await Loopback.SendAsync(raw, ic);
        await using var ctrl = await accept;
        await Loopback.ReadAsync(raw, 128);
        byte[] pdu = new byte[72];
        CapsuleCmdPdu.WriteHeader(pdu, new NvmeCommand { Opcode = 1 }, 0, 72, 0xFFFF_FFF0);
        await Loopback.SendAsync(raw, pdu);
        var ex = await Assert.ThrowsAsync<NvmeProtocolException>(() => ctrl.ReceiveHeaderAsync(CancellationToken.None).AsTask());
        Assert.Equal((byte)NvmeTcpFatalErrorStatus.DataTransferLimitExceeded, ex.FatalErrorStatus);
        byte[] term = await Loopback.ReadAsync(raw, 24 + 72);
        Assert.Equal(Convert.FromHexString("0300180060000000" + "0500" + "00000000"), term[..14]);
        Assert.Equal(pdu, term[24..]);
        Assert.Equal(0xFFFF_FFF0u, BinaryPrimitives.ReadUInt32LittleEndian(term.AsSpan(28)));
    }
}
