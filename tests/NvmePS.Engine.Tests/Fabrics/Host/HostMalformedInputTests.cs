using System.Buffers.Binary;
using System.Net.Sockets;
using NvmePS.Engine.Admin;
using NvmePS.Engine.Fabrics;
using NvmePS.Engine.Fabrics.Host;
using NvmePS.Engine.Fabrics.Tcp;

namespace NvmePS.Engine.Tests.Fabrics.Host;

/// <summary>A raw-socket controller feeds the host bad PDUs; the host must answer with the H2CTermReq the spec names,
/// asserted byte by byte, close, and fail the commands in flight with a typed exception.</summary>
public class HostMalformedInputTests
{
    internal static async Task<(NvmeHostQueue Queue, Socket Fake)> ConnectAsync(bool digests = false, uint maxR2T = 0, TimeSpan? pduTimeout = null)
    {
        var (c, s) = await Loopback.PairAsync();
        c.SendBufferSize = 32 * 1024;
        s.ReceiveBufferSize = 32 * 1024;
        var connect = NvmeTcpQueuePair.ConnectAsync(c, new NvmeTcpQueueOptions { HeaderDigest = digests, DataDigest = digests, MaxR2T = maxR2T, PduTimeout = pduTimeout ?? NvmeTcpQueueOptions.DefaultPduTimeout }, CancellationToken.None);
        Assert.Equal(128, (await Loopback.ReadAsync(s, 128)).Length);
        byte[] icresp = new byte[128];
        new IcRespPdu(0, 0, digests, digests, 8192).Write(icresp);
        await Loopback.SendAsync(s, icresp);
        var q = new NvmeHostQueue(await connect, 1, 32);
        q.Start();
        return (q, s);
    }

    /// <summary>Reads the capsule the host sent (no in-capsule data) and returns its CID.</summary>
    internal static async Task<ushort> ReadCapsuleAsync(Socket fake, bool digests = false)
    {
        byte[] b = await Loopback.ReadAsync(fake, 72 + (digests ? 4 : 0));
        Assert.Equal(0x04, b[0]);
        return BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(10));
    }

    private static byte[] Expected(byte fes, uint fei, ReadOnlySpan<byte> offending)
    {
        // H2CTermReq: PDU-TYPE 02h, FLAGS 0, HLEN 24, PDO 0, PLEN, FES, FEI, 10 reserved bytes, then the offending header.
        byte[] e = new byte[24 + offending.Length];
        e[0] = 0x02;
        e[2] = 24;
        BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(4), (uint)e.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(e.AsSpan(8), fes);
        BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(10), fei);
        offending.CopyTo(e.AsSpan(24));
        return e;
    }

    internal static async Task AssertTerminatedAsync(Socket fake, Task command, NvmeHostQueue q, byte fes, uint fei, uint fieldOffset, byte[] offending)
    {
        byte[] expected = Expected(fes, fei, offending);
        byte[] got = await Loopback.ReadAsync(fake, expected.Length);
        Assert.Equal(expected, got);
        Assert.True(await Loopback.IsClosedByPeerAsync(fake));
        var ex = await Assert.ThrowsAsync<NvmeProtocolException>(() => command);
        Assert.Equal(fes, ex.FatalErrorStatus);
        Assert.Equal(fieldOffset, ex.FieldOffset);
        Assert.NotNull(q.Failure);
        // Later commands fail at once with a typed error.
        await Assert.ThrowsAnyAsync<NvmeException>(() => q.ExecuteAsync(NvmeIoCommands.Flush(1), default, default, CancellationToken.None).AsTask());
        await q.DisposeAsync();
    }

    internal static byte[] Resp(ushort cid, ushort sqhd = 1)
    {
        byte[] b = new byte[24];
        NvmeTcpPduWriter.WriteCapsuleResponse(b, NvmeCompletion.Create(cid, NvmeStatus.Success, sqhd: sqhd), headerDigest: false);
        return b;
    }

    internal static byte[] C2H(ushort cid, uint datao, int len, bool last = true, bool success = false)
    {
        byte[] b = new byte[24 + len];
        int n = NvmeTcpPduWriter.WriteC2HData(b, new C2HDataPdu(cid, datao, (uint)len), new byte[len], last, success, false, false, 4);
        return b[..n];
    }

    [Fact]
    public async Task CapsuleResp_with_unknown_cid()
    {
        var (q, fake) = await ConnectAsync();
        using var _ = fake;
        var run = q.ExecuteAsync(NvmeIoCommands.Flush(1), default, default, CancellationToken.None).AsTask();
        ushort cid = await ReadCapsuleAsync(fake);
        byte[] bad = Resp((ushort)(cid ^ 0x0100));
        await Loopback.SendAsync(fake, bad);
        await AssertTerminatedAsync(fake, run, q, 0x01, 20, 20, bad);
    }

    [Fact]
    public async Task Sqhd_beyond_what_was_submitted()
    {
        var (q, fake) = await ConnectAsync();
        using var _ = fake;
        var run = q.ExecuteAsync(NvmeIoCommands.Flush(1), default, default, CancellationToken.None).AsTask();
        ushort cid = await ReadCapsuleAsync(fake);
        await Loopback.SendAsync(fake, Resp(cid, sqhd: 1)); // Connect-position response: fine
        await run;
        run = q.ExecuteAsync(NvmeIoCommands.Flush(1), default, default, CancellationToken.None).AsTask();
        cid = await ReadCapsuleAsync(fake);
        byte[] bad = Resp(cid, sqhd: 7);
        await Loopback.SendAsync(fake, bad);
        await AssertTerminatedAsync(fake, run, q, 0x01, 16, 16, bad);
    }

    [Fact]
    public async Task C2HData_out_of_order()
    {
        var (q, fake) = await ConnectAsync();
        using var _ = fake;
        var run = q.ExecuteAsync(NvmeIoCommands.Read(1, 0, 8), default, new byte[4096], CancellationToken.None).AsTask();
        ushort cid = await ReadCapsuleAsync(fake);
        byte[] bad = C2H(cid, 512, 512);
        await Loopback.SendAsync(fake, bad);
        await AssertTerminatedAsync(fake, run, q, 0x04, 0, 12, bad[..24]);
    }

    [Fact]
    public async Task C2HData_beyond_the_read_buffer()
    {
        var (q, fake) = await ConnectAsync();
        using var _ = fake;
        var run = q.ExecuteAsync(NvmeIoCommands.Read(1, 0, 8), default, new byte[4096], CancellationToken.None).AsTask();
        ushort cid = await ReadCapsuleAsync(fake);
        byte[] bad = C2H(cid, 0, 8192);
        await Loopback.SendAsync(fake, bad);
        await AssertTerminatedAsync(fake, run, q, 0x04, 0, 16, bad[..24]);
    }

    [Fact]
    public async Task C2HData_success_flag_while_flow_control_is_on()
    {
        var (q, fake) = await ConnectAsync();
        using var _ = fake;
        var run = q.ExecuteAsync(NvmeIoCommands.Read(1, 0, 8), default, new byte[4096], CancellationToken.None).AsTask();
        ushort cid = await ReadCapsuleAsync(fake);
        byte[] bad = C2H(cid, 0, 4096, last: true, success: true);
        await Loopback.SendAsync(fake, bad);
        await AssertTerminatedAsync(fake, run, q, 0x01, 1, 1, bad[..24]);
    }

    [Fact]
    public async Task R2T_for_a_read()
    {
        var (q, fake) = await ConnectAsync();
        using var _ = fake;
        var run = q.ExecuteAsync(NvmeIoCommands.Read(1, 0, 8), default, new byte[4096], CancellationToken.None).AsTask();
        ushort cid = await ReadCapsuleAsync(fake);
        byte[] bad = new byte[24];
        NvmeTcpPduWriter.WriteR2T(bad, new R2TPdu(cid, 1, 0, 4096), false);
        await Loopback.SendAsync(fake, bad);
        await AssertTerminatedAsync(fake, run, q, 0x02, 0, 0, bad);
    }

    [Fact]
    public async Task R2T_beyond_the_write_data()
    {
        var (q, fake) = await ConnectAsync();
        using var _ = fake;
        q.MaxInCapsuleData = 0;
        var run = q.ExecuteAsync(NvmeIoCommands.Write(1, 0, 8), new byte[4096], default, CancellationToken.None).AsTask();
        ushort cid = await ReadCapsuleAsync(fake);
        byte[] bad = new byte[24];
        NvmeTcpPduWriter.WriteR2T(bad, new R2TPdu(cid, 1, 0, 8192), false);
        await Loopback.SendAsync(fake, bad);
        await AssertTerminatedAsync(fake, run, q, 0x04, 0, 16, bad);
    }

    [Fact]
    public async Task CVE_2025_38264_an_r2t_for_a_command_already_in_transfer_exceeds_maxr2t()
    {
        var (q, fake) = await ConnectAsync(maxR2T: 0);
        using var _ = fake;
        q.MaxInCapsuleData = 0;
        var run = q.ExecuteAsync(NvmeIoCommands.Write(1, 0, 16384), new byte[8 * 1024 * 1024], default, CancellationToken.None).AsTask();
        ushort cid = await ReadCapsuleAsync(fake);
        byte[] first = new byte[24];
        NvmeTcpPduWriter.WriteR2T(first, new R2TPdu(cid, 1, 0, 4 * 1024 * 1024), false);
        byte[] second = new byte[24];
        NvmeTcpPduWriter.WriteR2T(second, new R2TPdu(cid, 2, 4 * 1024 * 1024, 4 * 1024 * 1024), false);
        await Loopback.SendAsync(fake, first.Concat(second).ToArray());
        // The host is still pushing the first R2T's 4 MiB into a socket nobody reads when the second R2T arrives.
        var ex = await Assert.ThrowsAsync<NvmeProtocolException>(() => run);
        Assert.Equal((byte)0x05, ex.FatalErrorStatus);
    }

    [Fact]
    public async Task Wrong_header_digest()
    {
        var (q, fake) = await ConnectAsync(digests: true);
        using var _ = fake;
        var run = q.ExecuteAsync(NvmeIoCommands.Flush(1), default, default, CancellationToken.None).AsTask();
        ushort cid = await ReadCapsuleAsync(fake, digests: true);
        byte[] bad = new byte[28];
        NvmeTcpPduWriter.WriteCapsuleResponse(bad, NvmeCompletion.Create(cid, NvmeStatus.Success, sqhd: 1), headerDigest: true);
        bad[27] ^= 0x80;
        await Loopback.SendAsync(fake, bad);
        await AssertTerminatedAsync(fake, run, q, 0x03, 0, 24, bad);
    }

    [Fact]
    public async Task Digest_flag_missing_when_negotiated()
    {
        var (q, fake) = await ConnectAsync(digests: true);
        using var _ = fake;
        var run = q.ExecuteAsync(NvmeIoCommands.Flush(1), default, default, CancellationToken.None).AsTask();
        ushort cid = await ReadCapsuleAsync(fake, digests: true);
        byte[] bad = Resp(cid);
        await Loopback.SendAsync(fake, bad);
        await AssertTerminatedAsync(fake, run, q, 0x01, 1, 1, bad);
    }

    [Theory]
    [InlineData(0x0B)]
    [InlineData(0x04)] // CapsuleCmd travels host to controller only
    public async Task Unknown_or_wrong_direction_pdu_type(byte type)
    {
        var (q, fake) = await ConnectAsync();
        using var _ = fake;
        var run = q.ExecuteAsync(NvmeIoCommands.Flush(1), default, default, CancellationToken.None).AsTask();
        await ReadCapsuleAsync(fake);
        byte[] bad = new byte[24];
        bad[0] = type;
        bad[2] = 24;
        bad[4] = 24;
        await Loopback.SendAsync(fake, bad);
        await AssertTerminatedAsync(fake, run, q, 0x01, 0, 0, bad);
    }

    [Fact]
    public async Task Bad_plen_and_hlen()
    {
        var (q, fake) = await ConnectAsync();
        using var _ = fake;
        var run = q.ExecuteAsync(NvmeIoCommands.Flush(1), default, default, CancellationToken.None).AsTask();
        ushort cid = await ReadCapsuleAsync(fake);
        byte[] bad = Resp(cid);
        bad[2] = 20; // HLEN
        await Loopback.SendAsync(fake, bad);
        await AssertTerminatedAsync(fake, run, q, 0x01, 2, 2, bad[..20]);

        (q, var fake2) = await ConnectAsync();
        using var __ = fake2;
        run = q.ExecuteAsync(NvmeIoCommands.Read(1, 0, 8), default, new byte[4096], CancellationToken.None).AsTask();
        cid = await ReadCapsuleAsync(fake2);
        bad = C2H(cid, 0, 4096)[..24];
        BinaryPrimitives.WriteUInt32LittleEndian(bad.AsSpan(4), 0x4000_0000); // PLEN over the host's limit
        await Loopback.SendAsync(fake2, bad);
        await AssertTerminatedAsync(fake2, run, q, 0x05, 0, 4, bad);
    }

    [Fact]
    public async Task Controller_termination_request_fails_commands_in_flight()
    {
        var (q, fake) = await ConnectAsync();
        using var _ = fake;
        var run1 = q.ExecuteAsync(NvmeIoCommands.Flush(1), default, default, CancellationToken.None).AsTask();
        var run2 = q.ExecuteAsync(NvmeIoCommands.Read(1, 0, 1), default, new byte[512], CancellationToken.None).AsTask();
        await ReadCapsuleAsync(fake);
        await ReadCapsuleAsync(fake);
        byte[] term = new byte[32];
        int n = TermReqPdu.Write(term, fromController: true, NvmeTcpFatalErrorStatus.HeaderDigestError, 0, new byte[8]);
        await Loopback.SendAsync(fake, term.AsMemory(0, n));
        foreach (var run in new[] { run1, run2 })
        {
            var ex = await Assert.ThrowsAsync<NvmeProtocolException>(() => run);
            Assert.Equal((byte)0x03, ex.FatalErrorStatus);
        }

        await q.DisposeAsync();
    }

    [Fact]
    public async Task Data_digest_mismatch_fails_only_that_command()
    {
        var (q, fake) = await ConnectAsync(digests: true);
        using var _ = fake;
        byte[] buf = new byte[512];
        var run = q.ExecuteAsync(NvmeIoCommands.Read(1, 0, 1), default, buf, CancellationToken.None).AsTask();
        ushort cid = await ReadCapsuleAsync(fake, digests: true);
        byte[] pdu = new byte[600];
        int n = NvmeTcpPduWriter.WriteC2HData(pdu, new C2HDataPdu(cid, 0, 512), new byte[512], true, false, true, true, 4);
        pdu[n - 1] ^= 1;
        int m = NvmeTcpPduWriter.WriteCapsuleResponse(pdu.AsSpan(n), NvmeCompletion.Create(cid, NvmeStatus.Success, sqhd: 1), true);
        await Loopback.SendAsync(fake, pdu.AsMemory(0, n + m));
        var ex = await Assert.ThrowsAsync<NvmeProtocolException>(() => run);
        Assert.Contains("digest", ex.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Null(q.Failure);

        run = q.ExecuteAsync(NvmeIoCommands.Flush(1), default, default, CancellationToken.None).AsTask();
        cid = await ReadCapsuleAsync(fake, digests: true);
        byte[] ok = new byte[28];
        NvmeTcpPduWriter.WriteCapsuleResponse(ok, NvmeCompletion.Create(cid, NvmeStatus.Success, sqhd: 2), true);
        await Loopback.SendAsync(fake, ok);
        await run;
        await q.DisposeAsync();
    }

    /// <summary>CVE-2022-48686 (nvme-tcp use-after-free after a data digest error): more data for the command keeps
    /// arriving after the PDU whose digest failed. The host takes it into the command's own buffer (the call has not
    /// ended), ends the command once, with the digest error, when its response comes, and the queue goes on.</summary>
    [Fact]
    public async Task CVE_2022_48686_data_arriving_after_a_digest_error()
    {
        var (q, fake) = await ConnectAsync(digests: true);
        using var _ = fake;
        byte[] buf = new byte[1024];
        var run = q.ExecuteAsync(NvmeIoCommands.Read(1, 0, 2), default, buf, CancellationToken.None).AsTask();
        ushort cid = await ReadCapsuleAsync(fake, digests: true);
        byte[] second = new byte[512];
        second.AsSpan().Fill(0x5A);
        byte[] pdu = new byte[1400];
        int n = NvmeTcpPduWriter.WriteC2HData(pdu, new C2HDataPdu(cid, 0, 512), new byte[512], false, false, true, true, 4);
        pdu[n - 1] ^= 1;
        n += NvmeTcpPduWriter.WriteC2HData(pdu.AsSpan(n), new C2HDataPdu(cid, 512, 512), second, true, false, true, true, 4);
        await Loopback.SendAsync(fake, pdu.AsMemory(0, n));
        // The data after the bad PDU does not end the command; only its response does.
        await Task.Delay(100);
        Assert.False(run.IsCompleted);
        byte[] resp = new byte[28];
        NvmeTcpPduWriter.WriteCapsuleResponse(resp, NvmeCompletion.Create(cid, NvmeStatus.Success, sqhd: 1), true);
        await Loopback.SendAsync(fake, resp);
        var ex = await Assert.ThrowsAsync<NvmeProtocolException>(() => run);
        Assert.Contains("digest", ex.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(second, buf[512..]);
        Assert.Null(q.Failure);

        run = q.ExecuteAsync(NvmeIoCommands.Flush(1), default, default, CancellationToken.None).AsTask();
        cid = await ReadCapsuleAsync(fake, digests: true);
        NvmeTcpPduWriter.WriteCapsuleResponse(resp, NvmeCompletion.Create(cid, NvmeStatus.Success, sqhd: 2), true);
        await Loopback.SendAsync(fake, resp);
        Assert.True((await run).Completion.IsSuccess);
        await q.DisposeAsync();
    }

    [Fact]
    public async Task Cancelled_command_is_abandoned_and_its_late_data_discarded()
    {
        var (q, fake) = await ConnectAsync();
        using var _ = fake;
        byte[] buf = new byte[512];
        using var cts = new CancellationTokenSource();
        var run = q.ExecuteAsync(NvmeIoCommands.Read(1, 0, 1), default, buf, cts.Token).AsTask();
        ushort cid = await ReadCapsuleAsync(fake);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        byte[] late = new byte[512];
        late.AsSpan().Fill(0xEE);
        byte[] pdu = new byte[600];
        int n = NvmeTcpPduWriter.WriteC2HData(pdu, new C2HDataPdu(cid, 0, 512), late, true, false, false, false, 4);
        await Loopback.SendAsync(fake, pdu.AsMemory(0, n));
        await Loopback.SendAsync(fake, Resp(cid));
        // The queue stays healthy and the abandoned buffer was not written.
        var next = q.ExecuteAsync(NvmeIoCommands.Flush(1), default, default, CancellationToken.None).AsTask();
        ushort cid2 = await ReadCapsuleAsync(fake);
        await Loopback.SendAsync(fake, Resp(cid2, 2));
        await next;
        Assert.All(buf, b => Assert.Equal(0, b));
        Assert.Null(q.Failure);
        await q.DisposeAsync();
    }

    [Fact]
    public void Cid_never_reaches_ffff()
    {
        for (int bits = 1; bits <= 16; bits++)
        {
            int index = (1 << bits) - 1;
            if (index > 65534)
            {
                index = 65534;
            }

            int gen = 0;
            for (int i = 0; i < (1 << (16 - bits)) * 2 + 3; i++)
            {
                ushort cid = NvmeHostQueue.NextCid(ref gen, index, bits);
                Assert.NotEqual(0xFFFF, cid);
                Assert.Equal(index, cid & ((1 << bits) - 1));
            }
        }
    }
}
