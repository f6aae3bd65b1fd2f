using System.Buffers.Binary;
using System.Net;
using NvmePS.Engine;
using NvmePS.Engine.Admin;
using NvmePS.Engine.Fabrics;
using NvmePS.Engine.Fabrics.Controller;
using NvmePS.Engine.Fabrics.Controller.Tcp;
using NvmePS.Engine.Fabrics.Tcp;

namespace NvmePS.Engine.Tests.Fabrics.Controller;

/// <summary>One target and one well-behaved host shared by the malformed-input tests: after every bad peer, the
/// bystander must still write and read its data.</summary>
public sealed class MalformedInputFixture : IAsyncLifetime
{
    public NvmeTarget Target { get; private set; } = null!;
    public NvmeTcpTarget Tcp { get; private set; } = null!;
    public IPEndPoint Endpoint { get; private set; } = null!;
    internal TestHost BystanderAdmin { get; private set; } = null!;
    internal TestHost BystanderIo { get; private set; } = null!;
    private int _round;

    public async Task InitializeAsync()
    {
        // MAXH2CDATA 8 KiB so a 12 KiB H2CData is over the limit.
        Target = new NvmeTarget(new NvmeTargetOptions { MaxH2CData = 8192 });
        var sub = Target.AddSubsystem(Core.SubNqn);
        sub.AllowHost(Core.HostNqn);
        sub.AddMemoryNamespace(8 << 20, 512);
        Tcp = new NvmeTcpTarget(Target);
        await Tcp.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0));
        Endpoint = Tcp.LocalEndPoints[0];
        BystanderAdmin = await TestHost.AdminAsync(Endpoint, Core.SubNqn);
        BystanderIo = await TestHost.IoAsync(Endpoint, BystanderAdmin, Core.SubNqn);
    }

    /// <summary>The bystander's association survives: an R2T write and a read of fresh data round-trip.</summary>
    internal async Task AssertBystanderWorksAsync()
    {
        int round = Interlocked.Increment(ref _round);
        var data = new byte[16384];
        new Random(round).NextBytes(data);
        var w = await BystanderIo.ExecAsync(NvmeIoCommands.Write(1, (ulong)(round * 32), 32), data);
        Assert.True(w.Cqe.IsSuccess);
        var r = await BystanderIo.ExecAsync(NvmeIoCommands.Read(1, (ulong)(round * 32), 32), readLength: data.Length);
        Assert.Equal(data, r.Data);
        Assert.True((await BystanderAdmin.ExecAsync(NvmeAdminCommands.KeepAlive())).Cqe.IsSuccess);
        // Bad peers are protocol terminations, never faults of the target itself.
        Assert.Equal(0, Tcp.FaultedConnections);
    }

    public async Task DisposeAsync()
    {
        await BystanderIo.DisposeAsync();
        await BystanderAdmin.DisposeAsync();
        await Tcp.DisposeAsync();
        Target.Dispose();
    }
}

/// <summary>
/// Each malformed input of issue 2 §6 sent on a raw socket: the target answers with the C2HTermReq the NVMe/TCP
/// specification names (asserted byte by byte against a hand-built PDU) and closes that connection, or with the
/// Connect error completion; the bystander's association keeps working.
/// </summary>
public class TcpMalformedInputTests(MalformedInputFixture fixture) : IClassFixture<MalformedInputFixture>
{
    private IPEndPoint Ep => fixture.Endpoint;

    private static NvmeCommand KeepAlive(ushort cid) => RawPeer.Sgl(NvmeAdminCommands.KeepAlive(), cid, SglDescriptor.Transport(0));

    private async Task ExpectTermReqAsync(RawPeer peer, ushort fes, uint fei, byte[] errorData)
    {
        var pdu = await peer.ReadPduAsync();
        Assert.Equal(RawPeer.ExpectedTermReq(fes, fei, errorData), pdu);
        Assert.True(await peer.ClosedByPeerAsync());
        await fixture.AssertBystanderWorksAsync();
    }

    /// <summary>An admin queue connected and enabled by raw PDUs.</summary>
    private async Task<(RawPeer Peer, ushort Cntlid)> RawAdminAsync()
    {
        var peer = await RawPeer.OpenAsync(Ep);
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

    /// <summary>An I/O queue (QID 1) of a fresh raw association, plus an outstanding R2T for a write of <paramref name="writeLength"/> bytes with CID 10.</summary>
    private async Task<(RawPeer Admin, RawPeer Io, ushort Ttag)> RawIoWithR2TAsync(int writeLength)
    {
        var (admin, cntlid) = await RawAdminAsync();
        var io = await RawPeer.OpenAsync(Ep);
        await io.SendAsync(RawPeer.ConnectCapsule(1, cntlid));
        var resp = await io.ReadPduAsync();
        Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian(resp.AsSpan(22)));
        ushort ttag = 0;
        if (writeLength > 0)
        {
            var write = RawPeer.Sgl(NvmeIoCommands.Write(1, 0, writeLength / 512), 10, SglDescriptor.Transport((uint)writeLength));
            await io.SendAsync(RawPeer.Capsule(write));
            var r2t = await io.ReadPduAsync();
            // R2T (NVMe/TCP 1.0 Figure 30): type 9, HLEN 24, PLEN 24, CCCID 10, R2TO 0, R2TL = the write.
            Assert.Equal(new byte[] { 0x09, 0x00, 24, 0, 24, 0, 0, 0, 10, 0 }, r2t[..10]);
            Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(r2t.AsSpan(12)));
            Assert.Equal((uint)writeLength, BinaryPrimitives.ReadUInt32LittleEndian(r2t.AsSpan(16)));
            ttag = BinaryPrimitives.ReadUInt16LittleEndian(r2t.AsSpan(10));
        }

        return (admin, io, ttag);
    }

    [Fact]
    public async Task Unknown_pdu_type()
    {
        using var peer = await RawPeer.OpenAsync(Ep);
        byte[] pdu = [0x0C, 0x00, 8, 0, 8, 0, 0, 0];
        await peer.SendAsync(pdu);
        await ExpectTermReqAsync(peer, 0x01, 0, pdu);
    }

    [Fact]
    public async Task Invalid_flags()
    {
        using var peer = await RawPeer.OpenAsync(Ep);
        var pdu = RawPeer.Capsule(KeepAlive(1));
        pdu[1] = 0x04; // LAST_PDU is not a CapsuleCmd flag
        await peer.SendAsync(pdu);
        await ExpectTermReqAsync(peer, 0x01, 1, pdu[..72]);
    }

    [Fact]
    public async Task Invalid_hlen()
    {
        using var peer = await RawPeer.OpenAsync(Ep);
        var pdu = RawPeer.Capsule(KeepAlive(1));
        pdu[2] = 64;
        await peer.SendAsync(pdu);
        await ExpectTermReqAsync(peer, 0x01, 2, pdu[..64]);
    }

    [Fact]
    public async Task Invalid_pdo()
    {
        using var peer = await RawPeer.OpenAsync(Ep);
        var pdu = RawPeer.Capsule(RawPeer.Sgl(NvmeIoCommands.Write(1, 0, 1), 1, SglDescriptor.InCapsule(512)), new byte[512]);
        pdu[3] = 16; // inside the header
        await peer.SendAsync(pdu);
        await ExpectTermReqAsync(peer, 0x01, 3, pdu[..72]);
    }

    [Fact]
    public async Task Plen_below_hlen()
    {
        using var peer = await RawPeer.OpenAsync(Ep);
        var pdu = RawPeer.Capsule(KeepAlive(1));
        BinaryPrimitives.WriteUInt32LittleEndian(pdu.AsSpan(4), 64);
        await peer.SendAsync(pdu[..64]);
        // HLEN cannot be trusted beyond PLEN: the error data is the 8-byte common header.
        await ExpectTermReqAsync(peer, 0x01, 4, pdu[..8]);
    }

    [Fact]
    public async Task Plen_over_the_in_capsule_limit()
    {
        using var peer = await RawPeer.OpenAsync(Ep);
        var pdu = RawPeer.Capsule(RawPeer.Sgl(NvmeIoCommands.Write(1, 0, 128), 1, SglDescriptor.InCapsule(65536)), new byte[16]);
        pdu[3] = 72;
        BinaryPrimitives.WriteUInt32LittleEndian(pdu.AsSpan(4), 72 + 65536);
        // Only the header is sent: the limit is judged before anything is allocated or read.
        await peer.SendAsync(pdu[..72]);
        await ExpectTermReqAsync(peer, 0x05, 0, pdu[..72]);
    }

    [Fact]
    public async Task Second_icreq()
    {
        using var peer = await RawPeer.OpenAsync(Ep);
        var icreq = RawPeer.IcReq();
        await peer.SendAsync(icreq);
        await ExpectTermReqAsync(peer, 0x02, 0, icreq);
    }

    [Fact]
    public async Task Header_digest_present_but_not_negotiated()
    {
        using var peer = await RawPeer.OpenAsync(Ep);
        var pdu = RawPeer.Capsule(KeepAlive(1), headerDigest: true);
        await peer.SendAsync(pdu);
        await ExpectTermReqAsync(peer, 0x01, 1, pdu[..72]);
    }

    [Fact]
    public async Task Data_digest_present_but_not_negotiated()
    {
        using var peer = await RawPeer.OpenAsync(Ep);
        var pdu = RawPeer.Capsule(RawPeer.Sgl(NvmeIoCommands.Write(1, 0, 1), 1, SglDescriptor.InCapsule(512)), new byte[512], dataDigest: true);
        await peer.SendAsync(pdu);
        await ExpectTermReqAsync(peer, 0x01, 1, pdu[..72]);
    }

    [Fact]
    public async Task Wrong_header_digest()
    {
        using var peer = await RawPeer.OpenAsync(Ep, headerDigest: true);
        var pdu = RawPeer.Capsule(KeepAlive(1), headerDigest: true);
        pdu[72] ^= 0xFF;
        await peer.SendAsync(pdu);
        // FEI is reserved for a header digest error; the error data includes the digest.
        await ExpectTermReqAsync(peer, 0x03, 0, pdu[..76]);
    }

    [Fact]
    public async Task Wrong_data_digest_fails_the_command_not_the_connection()
    {
        using var peer = await RawPeer.OpenAsync(Ep, dataDigest: true);
        var data = new ConnectData(Core.HostId, 0xFFFF, Core.SubNqn, Core.HostNqn).ToArray();
        var connect = new ConnectCommand(0, 0, 31, 0, 0).ToCommand(7, SglDescriptor.InCapsule(1024));
        var pdu = RawPeer.Capsule(connect, data, dataDigest: true);
        pdu[^1] ^= 0x01;
        await peer.SendAsync(pdu);
        // NVMe/TCP has no FES for data digests: the command completes with Transient Transport Error (22h), DNR clear.
        Assert.Equal(RawPeer.ExpectedCapsuleResp(7, RawPeer.StatusField(0, 0x22, false)), await peer.ReadPduAsync());
        await peer.SendAsync(RawPeer.Capsule(connect, data, dataDigest: true));
        var ok = await peer.ReadPduAsync();
        Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian(ok.AsSpan(22)));
        await fixture.AssertBystanderWorksAsync();
    }

    [Fact]
    public async Task Wrong_data_digest_on_h2cdata_fails_that_write_only()
    {
        var (admin, cntlid) = await RawAdminAsync();
        using var a = admin;
        using var io = await RawPeer.OpenAsync(Ep, dataDigest: true);
        await io.SendAsync(RawPeer.ConnectCapsule(1, cntlid, dataDigest: true));
        Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian((await io.ReadPduAsync()).AsSpan(22)));

        var data = new byte[8192];
        new Random(9).NextBytes(data);
        var write = RawPeer.Sgl(NvmeIoCommands.Write(1, 8192, 16), 21, SglDescriptor.Transport(8192));
        await io.SendAsync(RawPeer.Capsule(write));
        var r2t = await io.ReadPduAsync();
        ushort ttag = BinaryPrimitives.ReadUInt16LittleEndian(r2t.AsSpan(10));
        var first = RawPeer.H2CData(21, ttag, 0, data[..4096], false, dataDigest: true);
        first[^1] ^= 0x80;
        await io.SendAsync(first);
        await io.SendAsync(RawPeer.H2CData(21, ttag, 4096, data[4096..], true, dataDigest: true));
        // The write fails with Transient Transport Error (SQHD 2: Connect and the write consumed two SQ slots); nothing is stored.
        Assert.Equal(RawPeer.ExpectedCapsuleResp(21, RawPeer.StatusField(0, 0x22, false), sqhd: 2, sqid: 1), await io.ReadPduAsync());
        var stored = new byte[8192];
        await fixture.Target.GetSubsystem(Core.SubNqn)!.GetNamespace(1)!.Storage.ReadAsync(8192L * 512, stored, CancellationToken.None);
        Assert.NotEqual(data, stored);

        // The same connection carries the retry.
        await io.SendAsync(RawPeer.Capsule(write));
        ttag = BinaryPrimitives.ReadUInt16LittleEndian((await io.ReadPduAsync()).AsSpan(10));
        await io.SendAsync(RawPeer.H2CData(21, ttag, 0, data, true, dataDigest: true));
        Assert.Equal(RawPeer.ExpectedCapsuleResp(21, 0, sqhd: 3, sqid: 1), await io.ReadPduAsync());
        await fixture.Target.GetSubsystem(Core.SubNqn)!.GetNamespace(1)!.Storage.ReadAsync(8192L * 512, stored, CancellationToken.None);
        Assert.Equal(data, stored);
        await fixture.AssertBystanderWorksAsync();
    }

    [Fact]
    public async Task H2cdata_with_unknown_cccid()
    {
        var (admin, io, ttag) = await RawIoWithR2TAsync(8192);
        using var a = admin;
        using var i = io;
        var h2c = RawPeer.H2CData(11, ttag, 0, new byte[4096], false);
        await io.SendAsync(h2c);
        await ExpectTermReqAsync(io, 0x01, 8, h2c[..24]);
    }

    [Fact]
    public async Task H2cdata_with_unknown_ttag()
    {
        var (admin, io, ttag) = await RawIoWithR2TAsync(8192);
        using var a = admin;
        using var i = io;
        var h2c = RawPeer.H2CData(10, (ushort)(ttag + 1), 0, new byte[4096], false);
        await io.SendAsync(h2c);
        await ExpectTermReqAsync(io, 0x01, 10, h2c[..24]);
    }

    // DATAO inside the R2T but not where the previous PDU ended: PDU Sequence Error (02h), as FreeBSD nvmf_tcp_handle_h2c_data.
    [Fact]
    public async Task H2cdata_out_of_order_datao()
    {
        var (admin, io, ttag) = await RawIoWithR2TAsync(8192);
        using var a = admin;
        using var i = io;
        var h2c = RawPeer.H2CData(10, ttag, 4096, new byte[4096], true);
        await io.SendAsync(h2c);
        await ExpectTermReqAsync(io, 0x02, 0, h2c[..24]);
    }

    // Overlapping data stays inside the R2T's range, so it is out of sequence (02h), not out of range (04h).
    [Fact]
    public async Task H2cdata_overlapping_datao()
    {
        var (admin, io, ttag) = await RawIoWithR2TAsync(8192);
        using var a = admin;
        using var i = io;
        await io.SendAsync(RawPeer.H2CData(10, ttag, 0, new byte[4096], false));
        var h2c = RawPeer.H2CData(10, ttag, 2048, new byte[4096], false);
        await io.SendAsync(h2c);
        await ExpectTermReqAsync(io, 0x02, 0, h2c[..24]);
    }

    [Fact]
    public async Task H2cdata_datal_over_maxh2cdata()
    {
        var (admin, io, ttag) = await RawIoWithR2TAsync(16384);
        using var a = admin;
        using var i = io;
        var h2c = RawPeer.H2CData(10, ttag, 0, new byte[12288], false);
        await io.SendAsync(h2c[..24]);
        await ExpectTermReqAsync(io, 0x05, 0, h2c[..24]);
    }

    // LAST_PDU out of step with the R2T is the PDU's place in the sequence (02h, FEI reserved), not a bad FLAGS value.
    [Fact]
    public async Task H2cdata_last_flag_inconsistent()
    {
        var (admin, io, ttag) = await RawIoWithR2TAsync(8192);
        using var a = admin;
        using var i = io;
        var h2c = RawPeer.H2CData(10, ttag, 0, new byte[4096], last: true);
        await io.SendAsync(h2c);
        await ExpectTermReqAsync(io, 0x02, 0, h2c[..24]);
    }

    // LAST_PDU missing on the final PDU: PDU Sequence Error (02h, FEI reserved), as FreeBSD.
    [Fact]
    public async Task H2cdata_last_flag_missing_on_the_final_pdu()
    {
        var (admin, io, ttag) = await RawIoWithR2TAsync(8192);
        using var a = admin;
        using var i = io;
        await io.SendAsync(RawPeer.H2CData(10, ttag, 0, new byte[4096], false));
        var h2c = RawPeer.H2CData(10, ttag, 4096, new byte[4096], last: false);
        await io.SendAsync(h2c);
        await ExpectTermReqAsync(io, 0x02, 0, h2c[..24]);
    }

    [Fact]
    public async Task H2cdata_before_any_r2t()
    {
        var (admin, io, _) = await RawIoWithR2TAsync(0);
        using var a = admin;
        using var i = io;
        var h2c = RawPeer.H2CData(1, 0, 0, new byte[512], true);
        await io.SendAsync(h2c);
        await ExpectTermReqAsync(io, 0x02, 0, h2c[..24]);
    }

    [Fact]
    public async Task Complete_r2t_write_then_the_data_is_stored()
    {
        // The positive counterpart of the H2CData checks: two PDUs in order, LAST on the second.
        var (admin, io, ttag) = await RawIoWithR2TAsync(8192);
        using var a = admin;
        using var i = io;
        var data = new byte[8192];
        new Random(5).NextBytes(data);
        await io.SendAsync(RawPeer.H2CData(10, ttag, 0, data[..4096], false));
        await io.SendAsync(RawPeer.H2CData(10, ttag, 4096, data[4096..], true));
        var resp = await io.ReadPduAsync();
        Assert.Equal(0x05, resp[0]);
        Assert.Equal(10, BinaryPrimitives.ReadUInt16LittleEndian(resp.AsSpan(20)));
        Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian(resp.AsSpan(22)));
        var stored = new byte[8192];
        await fixture.Target.GetSubsystem(Core.SubNqn)!.GetNamespace(1)!.Storage.ReadAsync(0, stored, CancellationToken.None);
        Assert.Equal(data, stored);
    }

    [Fact]
    public async Task Sgl_length_disagrees_with_in_capsule_data()
    {
        var (admin, io, _) = await RawIoWithR2TAsync(0);
        using var a = admin;
        using var i = io;
        var pdu = RawPeer.Capsule(RawPeer.Sgl(NvmeIoCommands.Write(1, 0, 2), 3, SglDescriptor.InCapsule(1024)), new byte[512]);
        await io.SendAsync(pdu);
        // FEI: SGL1 LENGTH, CapsuleCmd byte 8 + 24 + 8 = 40.
        await ExpectTermReqAsync(io, 0x01, 40, pdu[..72]);
    }

    [Fact]
    public async Task In_capsule_data_with_a_transport_sgl()
    {
        using var peer = await RawPeer.OpenAsync(Ep);
        var pdu = RawPeer.Capsule(RawPeer.Sgl(NvmeIoCommands.Write(1, 0, 1), 3, SglDescriptor.Transport(512)), new byte[512]);
        await peer.SendAsync(pdu);
        // FEI: the SGL1 identifier byte, 8 + 24 + 15 = 47.
        await ExpectTermReqAsync(peer, 0x01, 47, pdu[..72]);
    }

    /// <summary>Also the regression for CVE-2023-6121 (nvmet out-of-bounds read of Connect NQNs without a NUL).</summary>
    [Theory]
    [InlineData(256)]
    [InlineData(512)]
    public async Task CVE_2023_6121_connect_nqn_without_nul(int field)
    {
        using var peer = await RawPeer.OpenAsync(Ep);
        var data = new ConnectData(Core.HostId, 0xFFFF, Core.SubNqn, Core.HostNqn).ToArray();
        data.AsSpan(field, 256).Fill((byte)'n');
        await peer.SendAsync(RawPeer.ConnectCapsule(0, 0xFFFF, cid: 4, data: data));
        // Connect Invalid Parameters (SCT 1, SC 82h, DNR) with IPO = the field, IATTR 1 (in the data).
        Assert.Equal(RawPeer.ExpectedCapsuleResp(4, RawPeer.StatusField(1, 0x82, true), dw0: (uint)field | (1u << 16)), await peer.ReadPduAsync());
        await fixture.AssertBystanderWorksAsync();
    }

    [Fact]
    public async Task Connect_to_an_unknown_subsystem()
    {
        using var peer = await RawPeer.OpenAsync(Ep);
        await peer.SendAsync(RawPeer.ConnectCapsule(0, 0xFFFF, subnqn: "nqn.2026-01.io.nvmeps:nowhere", cid: 5));
        Assert.Equal(RawPeer.ExpectedCapsuleResp(5, RawPeer.StatusField(1, 0x82, true), dw0: 256u | (1u << 16)), await peer.ReadPduAsync());
        await fixture.AssertBystanderWorksAsync();
    }

    [Fact]
    public async Task Connect_from_a_disallowed_host()
    {
        using var peer = await RawPeer.OpenAsync(Ep);
        await peer.SendAsync(RawPeer.ConnectCapsule(0, 0xFFFF, host: "nqn.2014-08.org.nvmexpress:uuid:12345678-0000-0000-0000-000000000000", cid: 6));
        // Connect Invalid Host (SCT 1, SC 84h, DNR), pointing at HOSTNQN.
        Assert.Equal(RawPeer.ExpectedCapsuleResp(6, RawPeer.StatusField(1, 0x84, true), dw0: 512u | (1u << 16)), await peer.ReadPduAsync());
        await fixture.AssertBystanderWorksAsync();
    }

    [Fact]
    public Task Peer_resets_in_the_middle_of_the_icresp() => ResetDuringIcRespAsync(digests: false);

    // ---------------------------------------------------------------- regressions named after the Linux nvmet CVEs
    // Each sends what the CVE's reproducer sent to nvmet-tcp; the target must answer as the specification says, lose
    // nothing, and keep serving the bystander (issue 15 §3). The host-side CVEs are in HostileControllerTests.

    /// <summary>CVE-2023-5178 (nvmet-tcp double free): digests asked for in ICReq, then a reset while ICResp is sent.</summary>
    [Fact]
    public Task CVE_2023_5178_digests_in_icreq_then_a_reset_while_the_icresp_is_sent() => ResetDuringIcRespAsync(digests: true);

    /// <summary>CVE-2023-52454 (nvmet-tcp panic on an invalid H2C PDU length): DATAL disagrees with what PLEN carries.
    /// Invalid PDU Header Field (01h) pointing at DATAL.</summary>
    [Fact]
    public async Task CVE_2023_52454_h2cdata_whose_datal_disagrees_with_plen()
    {
        var (admin, io, ttag) = await RawIoWithR2TAsync(8192);
        using var a = admin;
        using var i = io;
        var h2c = RawPeer.H2CData(10, ttag, 0, new byte[4096], false);
        BinaryPrimitives.WriteUInt32LittleEndian(h2c.AsSpan(H2CDataPdu.DatalOffset), 2048);
        await io.SendAsync(h2c);
        await ExpectTermReqAsync(io, 0x01, (uint)H2CDataPdu.DatalOffset, h2c[..24]);
    }

    /// <summary>CVE-2026-22998 (nvmet-tcp NULL dereference, H2C_DATA before the command's buffer exists): a second write
    /// waits for buffer budget, so it has no R2T and no buffer yet, and the host sends its data anyway. The first write's
    /// R2T is outstanding, so the unknown part is the command: Invalid PDU Header Field (01h) at CCCID.</summary>
    [Fact]
    public async Task CVE_2026_22998_h2cdata_for_a_write_whose_buffer_does_not_exist_yet()
    {
        const int Mdts = 128 * 1024;
        using var target = new NvmeTarget(new NvmeTargetOptions { MaxDataTransferSize = Mdts, MaxBufferedBytesPerConnection = Mdts });
        target.AddSubsystem(Core.SubNqn, allowAnyHost: true).AddMemoryNamespace(8 << 20, 512);
        await using var tcp = new NvmeTcpTarget(target);
        await tcp.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0));
        var ep = tcp.LocalEndPoints[0];
        await using (var admin = await TestHost.AdminAsync(ep, Core.SubNqn))
        {
            using var io = await RawPeer.OpenAsync(ep);
            await io.SendAsync(RawPeer.ConnectCapsule(1, admin.Cntlid));
            Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian((await io.ReadPduAsync()).AsSpan(22)));
            await io.SendAsync(RawPeer.Capsule(RawPeer.Sgl(NvmeIoCommands.Write(1, 0, Mdts / 512), 10, SglDescriptor.Transport(Mdts))));
            var r2t = await io.ReadPduAsync();
            Assert.Equal(0x09, r2t[0]);
            // The budget is full: this write is deferred, with no R2T and no buffer.
            await io.SendAsync(RawPeer.Capsule(RawPeer.Sgl(NvmeIoCommands.Write(1, 512, Mdts / 512), 11, SglDescriptor.Transport(Mdts))));
            var h2c = RawPeer.H2CData(11, BinaryPrimitives.ReadUInt16LittleEndian(r2t.AsSpan(10)), 0, new byte[4096], false);
            await io.SendAsync(h2c);
            Assert.Equal(RawPeer.ExpectedTermReq(0x01, (uint)H2CDataPdu.CccidOffset, h2c[..24]), await io.ReadPduAsync());
            Assert.True(await io.ClosedByPeerAsync());
        }

        // Nothing of the target was hurt: a new association writes and reads.
        await using var admin2 = await TestHost.AdminAsync(ep, Core.SubNqn);
        await using var io2 = await TestHost.IoAsync(ep, admin2, Core.SubNqn);
        var data = new byte[Mdts];
        new Random(22998).NextBytes(data);
        Assert.True((await io2.ExecAsync(NvmeIoCommands.Write(1, 0, Mdts / 512), data)).Cqe.IsSuccess);
        Assert.Equal(data, (await io2.ExecAsync(NvmeIoCommands.Read(1, 0, Mdts / 512), readLength: Mdts)).Data);
        Assert.Equal(0, tcp.FaultedConnections);
        await fixture.AssertBystanderWorksAsync();
    }

    private async Task ResetDuringIcRespAsync(bool digests)
    {
        for (int n = 0; n < 6; n++)
        {
            using var peer = await RawPeer.OpenAsync(Ep, initialize: false);
            await peer.SendAsync(RawPeer.IcReq(headerDigest: digests, dataDigest: digests));
            if (n % 2 == 1)
            {
                // Read part of the ICResp, then reset: the target is mid-PDU from the peer's point of view.
                await peer.ReadExactAsync(10);
            }

            // Abortive close (RST).
            peer.Socket.LingerState = new System.Net.Sockets.LingerOption(true, 0);
            peer.Socket.Close();
        }

        await fixture.AssertBystanderWorksAsync();
        // The reset connections are cleaned up; only the bystander's two remain (bounded wait, other tests' peers close too).
        for (int i = 0; i < 750 && fixture.Tcp.ActiveConnections > 2; i++)
        {
            await Task.Delay(20);
        }

        Assert.Equal(2, fixture.Tcp.ActiveConnections);
        await fixture.AssertBystanderWorksAsync();
    }

    [Fact]
    public async Task A_peer_that_never_sends_icreq_and_a_command_before_connect()
    {
        using var peer = await RawPeer.OpenAsync(Ep);
        // A command before Connect: Command Sequence Error, connection kept for a proper Connect.
        await peer.SendAsync(RawPeer.Capsule(KeepAlive(9)));
        Assert.Equal(RawPeer.ExpectedCapsuleResp(9, RawPeer.StatusField(0, 0x0C, true)), await peer.ReadPduAsync());
        await peer.SendAsync(RawPeer.ConnectCapsule(0, 0xFFFF, cid: 3));
        var ok = await peer.ReadPduAsync();
        Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian(ok.AsSpan(22)));
        await fixture.AssertBystanderWorksAsync();
    }
}
