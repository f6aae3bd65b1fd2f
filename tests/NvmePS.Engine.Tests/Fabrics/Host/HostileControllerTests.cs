using System.Buffers.Binary;
using System.Net.Sockets;
using NvmePS.Engine.Admin;
using NvmePS.Engine.Fabrics.Host;
using NvmePS.Engine.Fabrics.Tcp;

namespace NvmePS.Engine.Tests.Fabrics.Host;

/// <summary>
/// The hostile-controller cases of issue 15 that HostMalformedInputTests did not cover: each ends with an H2CTermReq
/// on the wire, the connection closed, the command failed with a typed error within its bound, and a second association
/// on another connection unharmed.
/// </summary>
public sealed class HostileControllerTests
{
    /// <summary>The host answered with an H2CTermReq carrying <paramref name="fes"/>, closed, and failed the command.</summary>
    private static async Task AssertTerminatedAsync(Socket fake, Task command, NvmeHostQueue q, byte fes)
    {
        byte[] head = await Loopback.ReadAsync(fake, 24);
        Assert.Equal(0x02, head[0]); // H2CTermReq
        Assert.Equal(fes, BinaryPrimitives.ReadUInt16LittleEndian(head.AsSpan(8)));
        Assert.True(await Loopback.IsClosedByPeerAsync(fake));
        var ex = await Assert.ThrowsAsync<NvmeProtocolException>(() => command);
        Assert.Equal(fes, ex.FatalErrorStatus);
        Assert.NotNull(q.Failure);
        await q.DisposeAsync();
    }

    [Fact]
    public async Task An_R2T_for_a_write_whose_data_went_in_the_capsule_is_a_sequence_error()
    {
        var (q, fake) = await HostMalformedInputTests.ConnectAsync();
        using var _ = fake;
        q.MaxInCapsuleData = 4096;
        var run = q.ExecuteAsync(NvmeIoCommands.Write(1, 0, 1), new byte[512], default, CancellationToken.None).AsTask();
        byte[] capsule = await Loopback.ReadAsync(fake, 72 + 512);
        Assert.Equal(0x04, capsule[0]);
        ushort cid = BinaryPrimitives.ReadUInt16LittleEndian(capsule.AsSpan(10));
        byte[] r2t = new byte[24];
        NvmeTcpPduWriter.WriteR2T(r2t, new R2TPdu(cid, 1, 0, 512), false);
        await Loopback.SendAsync(fake, r2t);
        await AssertTerminatedAsync(fake, run, q, (byte)NvmeTcpFatalErrorStatus.PduSequenceError);
    }

    [Fact]
    public async Task A_CapsuleResp_while_the_read_data_is_still_arriving_fails_the_command_and_no_more()
    {
        var (q, fake) = await HostMalformedInputTests.ConnectAsync();
        using var _ = fake;
        var run = q.ExecuteAsync(NvmeIoCommands.Read(1, 0, 8), default, new byte[4096], CancellationToken.None).AsTask();
        ushort cid = await HostMalformedInputTests.ReadCapsuleAsync(fake);
        // Half the data (not LAST), then the response: the command cannot have its data.
        await Loopback.SendAsync(fake, HostMalformedInputTests.C2H(cid, 0, 2048, last: false).Concat(HostMalformedInputTests.Resp(cid)).ToArray());
        var ex = await Assert.ThrowsAnyAsync<NvmeException>(() => run);
        Assert.True(ex is NvmeProtocolException, $"{ex.GetType().Name}: {ex.Message}");
        await q.DisposeAsync();
    }

    [Fact]
    public async Task Completions_out_of_order_with_an_older_SQHD_complete_and_free_nothing_twice_but_an_impossible_SQHD_is_a_violation()
    {
        var (q, fake) = await HostMalformedInputTests.ConnectAsync();
        using var _ = fake;
        var first = q.ExecuteAsync(NvmeAdminCommands.KeepAlive(), default, default, CancellationToken.None).AsTask();
        ushort c1 = await HostMalformedInputTests.ReadCapsuleAsync(fake);
        await Loopback.SendAsync(fake, HostMalformedInputTests.Resp(c1, sqhd: 1));
        await first;
        var second = q.ExecuteAsync(NvmeAdminCommands.KeepAlive(), default, default, CancellationToken.None).AsTask();
        var third = q.ExecuteAsync(NvmeAdminCommands.KeepAlive(), default, default, CancellationToken.None).AsTask();
        ushort c2 = await HostMalformedInputTests.ReadCapsuleAsync(fake);
        ushort c3 = await HostMalformedInputTests.ReadCapsuleAsync(fake);

        // The third finishes first and reports the head past both; the second's completion then carries the head as
        // it was when the second finished executing: behind. Both are completions the host must take.
        await Loopback.SendAsync(fake, HostMalformedInputTests.Resp(c3, sqhd: 3).Concat(HostMalformedInputTests.Resp(c2, sqhd: 2)).ToArray());
        Assert.True((await third).Completion.IsSuccess);
        Assert.True((await second).Completion.IsSuccess);
        Assert.Equal(1, q.StaleSqhdCompletions);
        Assert.Null(q.Failure);

        // An SQHD no queue of this size has is still a violation.
        var fourth = q.ExecuteAsync(NvmeAdminCommands.KeepAlive(), default, default, CancellationToken.None).AsTask();
        ushort c4 = await HostMalformedInputTests.ReadCapsuleAsync(fake);
        byte[] bad = HostMalformedInputTests.Resp(c4, sqhd: 32);
        await Loopback.SendAsync(fake, bad);
        await HostMalformedInputTests.AssertTerminatedAsync(fake, fourth, q, (byte)NvmeTcpFatalErrorStatus.InvalidPduHeaderField,
            CapsuleRespPdu.CqeOffset + NvmeCompletion.SqhdOffset, CapsuleRespPdu.CqeOffset + NvmeCompletion.SqhdOffset, bad);
    }

    [Fact]
    public async Task CVE_2025_21927_a_header_length_of_255_with_header_digests_is_an_invalid_header_field()
    {
        var (q, fake) = await HostMalformedInputTests.ConnectAsync(digests: true);
        using var _ = fake;
        var run = q.ExecuteAsync(NvmeIoCommands.Flush(1), default, default, CancellationToken.None).AsTask();
        await HostMalformedInputTests.ReadCapsuleAsync(fake, digests: true);
        // A CapsuleResp whose HLEN claims 255 bytes (and PLEN room for them and the digest).
        byte[] bad = new byte[255 + 4];
        bad[0] = 0x05;
        bad[1] = 0x01; // HDGSTF
        bad[2] = 255;
        BinaryPrimitives.WriteUInt32LittleEndian(bad.AsSpan(4), (uint)bad.Length);
        await Loopback.SendAsync(fake, bad);
        await AssertTerminatedAsync(fake, run, q, (byte)NvmeTcpFatalErrorStatus.InvalidPduHeaderField);
    }

    [Theory]
    [InlineData(2048u, 0, "MAXH2CDATA")]
    [InlineData(8194u, 0, "MAXH2CDATA")]
    [InlineData(8192u, 32, "CPDA")]
    public async Task An_ICResp_with_a_small_MAXH2CDATA_or_a_CPDA_out_of_range_ends_the_connect(uint maxh2cdata, byte cpda, string field)
    {
        var (c, s) = await Loopback.PairAsync();
        using var _ = s;
        var connect = NvmeTcpQueuePair.ConnectAsync(c, new NvmeTcpQueueOptions(), CancellationToken.None);
        Assert.Equal(128, (await Loopback.ReadAsync(s, 128)).Length);
        byte[] icresp = new byte[128];
        new IcRespPdu(0, 0, false, false, 8192).Write(icresp);
        BinaryPrimitives.WriteUInt32LittleEndian(icresp.AsSpan(IcRespPdu.Maxh2cdataOffset), maxh2cdata);
        icresp[IcRespPdu.CpdaOffset] = cpda;
        await Loopback.SendAsync(s, icresp);
        var ex = await Assert.ThrowsAsync<NvmeProtocolException>(() => connect);
        Assert.Contains(field, ex.Message, StringComparison.Ordinal);
        byte[] head = await Loopback.ReadAsync(s, 24);
        Assert.Equal(0x02, head[0]);
        Assert.True(await Loopback.IsClosedByPeerAsync(s));
    }

    [Fact]
    public async Task One_hostile_controller_leaves_another_association_unharmed()
    {
        var (good, goodFake) = await HostMalformedInputTests.ConnectAsync();
        var (bad, badFake) = await HostMalformedInputTests.ConnectAsync();
        using var g = goodFake;
        using var b = badFake;
        var goodRun = good.ExecuteAsync(NvmeIoCommands.Flush(1), default, default, CancellationToken.None).AsTask();
        var badRun = bad.ExecuteAsync(NvmeIoCommands.Flush(1), default, default, CancellationToken.None).AsTask();
        ushort goodCid = await HostMalformedInputTests.ReadCapsuleAsync(goodFake);
        await HostMalformedInputTests.ReadCapsuleAsync(badFake);
        await Loopback.SendAsync(badFake, HostMalformedInputTests.Resp(0xBEEF)); // unknown CID
        await Assert.ThrowsAsync<NvmeProtocolException>(() => badRun);
        await Loopback.SendAsync(goodFake, HostMalformedInputTests.Resp(goodCid));
        var r = await goodRun;
        Assert.True(r.Completion.IsSuccess);
        Assert.Null(good.Failure);
        await good.DisposeAsync();
        await bad.DisposeAsync();
    }
}
