using System.Buffers.Binary;
using System.Text;
using NvmePS.Engine.Fabrics;

namespace NvmePS.Engine.Tests.Fabrics;

public class FabricsCommonTests
{
    [Fact]
    public void Connect_sqe_places_fields_at_nvmf_connect_command_offsets()
    {
        var connect = new ConnectCommand(Recfmt: 0, Qid: 3, Sqsize: 127, Cattr: ConnectCommand.CattrDisableSqFlowControl, Kato: 120000);
        var sqe = connect.ToCommand(0x0102, SglDescriptor.InCapsule(1024));
        byte[] b = new byte[64];
        sqe.WriteTo(b);
        Assert.Equal(0x7F, b[0]);
        Assert.Equal(0x40, b[1]); // PSDT = 01b
        Assert.Equal(new byte[] { 0x02, 0x01 }, b[2..4]);
        Assert.Equal(0x01, b[4]); // FCTYPE Connect
        Assert.Equal(new byte[] { 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x04, 0, 0, 0, 0, 0, 0x01 }, b[24..40]);
        Assert.Equal(new byte[] { 0, 0 }, b[40..42]);
        Assert.Equal(new byte[] { 3, 0 }, b[42..44]);
        Assert.Equal(new byte[] { 127, 0 }, b[44..46]);
        Assert.Equal(0x04, b[46]);
        Assert.Equal(0, b[47]);
        Assert.Equal(120000u, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(48)));
        Assert.All(b[52..64], x => Assert.Equal(0, x));

        Assert.True(NvmeCommand.TryRead(b, out var back));
        Assert.True(ConnectCommand.TryRead(back, out var decoded));
        Assert.Equal(connect, decoded);
        Assert.True(decoded.DisableSqFlowControl);
        Assert.Equal(128, decoded.QueueEntries);
        Assert.True(SglDescriptor.FromCommand(back).IsInCapsule);
    }

    [Fact]
    public void Connect_data_round_trips_with_spec_offsets()
    {
        var hostId = Guid.Parse("00112233-4455-6677-8899-aabbccddeeff");
        var data = new ConnectData(hostId, 0xFFFF, "nqn.2024-01.io.example:sub1", "nqn.2014-08.org.nvmexpress:uuid:" + hostId);
        byte[] b = data.ToArray();
        Assert.Equal(1024, b.Length);
        Assert.Equal(Convert.FromHexString("00112233445566778899AABBCCDDEEFF"), b[0..16]);
        Assert.Equal(new byte[] { 0xFF, 0xFF }, b[16..18]);
        Assert.All(b[18..256], x => Assert.Equal(0, x));
        Assert.Equal("nqn.2024-01.io.example:sub1", Encoding.UTF8.GetString(b, 256, 27));
        Assert.Equal(0, b[256 + 27]);
        Assert.StartsWith("nqn.2014-08.org.nvmexpress:uuid:", Encoding.UTF8.GetString(b, 512, 40), StringComparison.Ordinal);
        Assert.All(b[768..1024], x => Assert.Equal(0, x));
        Assert.True(ConnectData.TryRead(b, out var back, out _));
        Assert.Equal(data, back);
    }

    [Theory]
    [InlineData(256)]
    [InlineData(512)]
    public void Connect_data_without_nul_reports_the_nqn_offset(int offset)
    {
        byte[] b = new ConnectData(Guid.NewGuid(), 0xFFFF, "nqn.2024-01.io.example:a", "nqn.2024-01.io.example:h").ToArray();
        b.AsSpan(offset, 256).Fill((byte)'a');
        Assert.False(ConnectData.TryRead(b, out var data, out var error));
        Assert.Null(data);
        Assert.Equal(offset, error.Offset);
    }

    [Fact]
    public void Nqn_of_223_bytes_fits_and_224_is_rejected()
    {
        string ok = "nqn.2024-01.io.example:" + new string('x', 223 - 23);
        Assert.Equal(223, ok.Length);
        byte[] field = new byte[256];
        Nqn.Write(ok, field);
        Assert.Equal(0, field[223]);
        Assert.True(Nqn.TryRead(field, out var back, out _));
        Assert.Equal(ok, back);
        Assert.Throws<ArgumentException>(() => Nqn.Write(ok + "y", field));
        // 224 non-NUL bytes then NUL: the terminator is beyond the 224-byte limit.
        field.AsSpan(0, 224).Fill((byte)'z');
        field[224] = 0;
        Assert.False(Nqn.TryRead(field, out _, out _));
        Assert.True(Nqn.IsWellFormed(FabricsCommand.DiscoveryNqn));
        Assert.False(Nqn.IsWellFormed("iqn.2024-01.x"));
    }

    [Fact]
    public void Property_get_and_set_encode_attrib_ofst_value()
    {
        byte[] b = new byte[64];
        new PropertySetCommand(PropertySize.EightBytes, ControllerProperty.Cap, 0x1122334455667788).ToCommand(7).WriteTo(b);
        Assert.Equal(0x00, b[4]); // FCTYPE Property Set
        Assert.Equal(1, b[40]);
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(44)));
        Assert.Equal(0x1122334455667788ul, BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(48)));
        NvmeCommand.TryRead(b, out var sqe);
        Assert.True(PropertySetCommand.TryRead(sqe, out var set));
        Assert.Equal(0x1122334455667788ul, set.Value);

        new PropertyGetCommand(PropertySize.FourBytes, ControllerProperty.Csts).ToCommand(8).WriteTo(b);
        Assert.Equal(0x04, b[4]);
        Assert.Equal(0, b[40]);
        Assert.Equal(0x1Cu, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(44)));
        NvmeCommand.TryRead(b, out sqe);
        Assert.True(PropertyGetCommand.TryRead(sqe, out var get));
        Assert.Equal(ControllerProperty.Csts, get.Offset);
        sqe.Cdw10 = 2; // ATTRIB size 2 is reserved
        Assert.False(PropertyGetCommand.TryRead(sqe, out _));

        var cqe = new NvmeCompletion(0xAABBCCDD, 0x11223344, 0, 0, 8, 0);
        Assert.Equal(0x11223344AABBCCDDul, PropertyGetCommand.GetValue(cqe, PropertySize.EightBytes));
        Assert.Equal(0xAABBCCDDul, PropertyGetCommand.GetValue(cqe, PropertySize.FourBytes));
    }

    [Fact]
    public void Disconnect_and_authentication_commands_encode()
    {
        byte[] b = new byte[64];
        new DisconnectCommand(0).ToCommand(9).WriteTo(b);
        Assert.Equal(0x08, b[4]);
        new AuthenticationCommand(true, AuthenticationCommand.SecpNvme, 1, 1, 100).ToCommand(1, SglDescriptor.InCapsule(100)).WriteTo(b);
        Assert.Equal(0x05, b[4]);
        Assert.Equal(new byte[] { 0, 1, 1, 0xE9 }, b[40..44]);
        Assert.Equal(100u, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(44)));
        NvmeCommand.TryRead(b, out var sqe);
        Assert.True(AuthenticationCommand.TryRead(sqe, out var auth));
        Assert.True(auth.IsSend);
        Assert.Equal(0xE9, auth.Secp);
    }

    [Fact]
    public void Connect_response_fields()
    {
        var ok = NvmeCompletion.Create(1, NvmeStatus.Success, ConnectResponse.SuccessDw0(0x1234, 1));
        Assert.Equal(0x1234, ConnectResponse.GetCntlid(ok));
        Assert.Equal(1, ConnectResponse.GetAuthreq(ok));
        var bad = NvmeCompletion.Create(1, NvmeStatus.CommandSpecific(0x82), ConnectResponse.InvalidParameterDw0(512, ConnectResponse.IattrInData));
        Assert.Equal(512, ConnectResponse.GetInvalidParameterOffset(bad));
        Assert.Equal(1, ConnectResponse.GetInvalidParameterAttributes(bad));
        Assert.Equal("Connect Invalid Parameters", bad.Status.GetName(NvmeCommandContext.Fabrics));
    }

    [Fact]
    public void Property_records_decode_named_fields()
    {
        // CAP of a QEMU-like controller: MQES 1023, CQR, TO 15 (7.5 s), CSS NVM, MPSMAX 4.
        var cap = new ControllerCapabilities(0x0040_0020_0F01_03FF);
        Assert.Equal(1023, cap.Mqes);
        Assert.True(cap.Cqr);
        Assert.Equal(15, cap.To);
        Assert.Equal(TimeSpan.FromMilliseconds(7500), cap.Timeout);
        Assert.Equal(1, cap.Css);
        Assert.Equal(0, cap.Mpsmin);
        Assert.Equal(4, cap.Mpsmax);
        Assert.Equal(0, cap.Dstrd);
        var built = ControllerCapabilities.Create(mqes: 1023, cqr: true, to: 15, css: 1, mpsmax: 4);
        Assert.Equal(cap, built);

        var cc = ControllerConfiguration.Create(en: true, iosqes: 6, iocqes: 4);
        Assert.Equal(0x00460001u, cc.Value);
        Assert.True(cc.En);
        Assert.Equal(ShutdownNotification.Normal, cc.WithShn(ShutdownNotification.Normal).Shn);
        Assert.Equal(0x00464001u, cc.WithShn(ShutdownNotification.Normal).Value);

        var csts = new ControllerStatus(0x9);
        Assert.True(csts.Rdy);
        Assert.Equal(ShutdownStatus.Complete, csts.Shst);
        Assert.Equal(ControllerStatus.Create(true, shst: ShutdownStatus.Complete), csts);
        Assert.Equal("1.4.0", new ControllerVersion(0x00010400).ToString());
        Assert.True(new NvmSubsystemReset(0x4E564D65).IsReset);
        Assert.Equal(PropertySize.EightBytes, ControllerProperty.SizeOf(ControllerProperty.Cap));
        Assert.Null(ControllerProperty.SizeOf(0x24));
    }

    [Fact]
    public void Sgl_identifiers_match_nvme_tcp_usage()
    {
        Assert.Equal(0x01, SglDescriptor.InCapsuleIdentifier);
        Assert.Equal(0x5A, SglDescriptor.TransportIdentifier);
        byte[] b = new byte[16];
        SglDescriptor.Transport(0x20000).WriteTo(b);
        Assert.Equal(Convert.FromHexString("0000000000000000000002000000005A"), b);
        Assert.Equal(SglDescriptor.Transport(0x20000), SglDescriptor.Read(b));
        Assert.Equal(SglDescriptorType.TransportDataBlock, SglDescriptor.Read(b).Type);
    }

    [Fact]
    public void Discovery_log_round_trips_with_spec_offsets()
    {
        var e = new DiscoveryLogEntry(TransportType.Tcp, AddressFamily.IPv4, DiscoverySubsystemType.Nvm,
            DiscoveryLogEntry.TreqSecureChannelNotRequired | DiscoveryLogEntry.TreqSqFlowControlDisableSupported,
            PortId: 1, Cntlid: 0xFFFF, Asqsz: 32, Trsvcid: "4420", SubNqn: "nqn.2024-01.io.example:sub1", Traddr: "127.0.0.1");
        var log = DiscoveryLog.Create(42, new[] { e, e with { Subtype = DiscoverySubsystemType.CurrentDiscovery, SubNqn = FabricsCommand.DiscoveryNqn } });
        byte[] b = log.ToArray();
        Assert.Equal(3 * 1024, b.Length);
        Assert.Equal(42ul, BinaryPrimitives.ReadUInt64LittleEndian(b));
        Assert.Equal(2ul, BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(8)));
        Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(16)));
        int o = 1024;
        Assert.Equal(new byte[] { 3, 1, 2, 6, 1, 0, 0xFF, 0xFF, 32, 0 }, b[o..(o + 10)]);
        Assert.Equal("4420\0", Encoding.ASCII.GetString(b, o + 32, 5));
        Assert.Equal("nqn.2024-01.io.example:sub1", Encoding.ASCII.GetString(b, o + 256, 27));
        Assert.Equal("127.0.0.1\0", Encoding.ASCII.GetString(b, o + 512, 10));
        Assert.Equal(0, b[o + 768]);
        Assert.True(DiscoveryLog.TryRead(b, out var back));
        Assert.Equal(42ul, back!.GenerationCounter);
        Assert.Equal(e, back.Entries[0]);
        Assert.Equal(FabricsCommand.DiscoveryNqn, back.Entries[1].SubNqn);

        // Only what was fetched is decoded, whatever NUMREC claims.
        Assert.True(DiscoveryLog.TryRead(b.AsSpan(0, 2048), out var partial));
        Assert.Single(partial!.Entries);
        Assert.Equal(2ul, partial.NumberOfRecords);
        Assert.False(DiscoveryLog.TryRead(b.AsSpan(0, 1000), out _));
    }
}
