using NvmePS.Engine.Admin;

namespace NvmePS.Engine.Tests.Admin;

/// <summary>
/// Each command record lays its fields out once: what the builder writes, TryRead gives back, and the bits sit where
/// the specification puts them (checked against dwords written out by hand from the figures, not by the record).
/// </summary>
public sealed class CommandRecordTests
{
    [Fact]
    public void Identify_round_trips_and_places_CNS_CNTID_CSI_and_the_UUID_index()
    {
        var id = new IdentifyCommand(Cns: 0x06, Nsid: 7, Cntid: 0xBEEF, CnsSpecificId: 0x1234, Csi: 0x02, UuidIndex: 0x7F);
        var c = id.ToCommand();
        Assert.Equal((NvmeAdminOpcode.Identify, 7u, 0xBEEF_0006u, 0x0200_1234u, 0x7Fu), (c.Opcode, c.Nsid, c.Cdw10, c.Cdw11, c.Cdw14));
        Assert.True(IdentifyCommand.TryRead(c, out var back));
        Assert.Equal(id, back);
        Assert.False(IdentifyCommand.TryRead(new NvmeCommand { Opcode = NvmeAdminOpcode.GetLogPage }, out _));
    }

    [Fact]
    public void Get_Log_Page_splits_NUMD_across_two_dwords_and_reads_back_every_field()
    {
        // 0x12345 dwords (0-based) asked for: NUMDL 0x2345 in CDW10 31:16, NUMDU 0x0001 in CDW11 15:0.
        var g = new GetLogPageCommand(Lid: 0x02, Numd: 0x12345, Nsid: 0xFFFFFFFF, Offset: 0x1_0000_0200, Rae: true, Lsp: 0x7F, Lsi: 0xABCD, OffsetIsIndex: true, Csi: 0x03, UuidIndex: 5);
        var c = g.ToCommand();
        Assert.Equal(0x2345_FF02u, c.Cdw10);
        Assert.Equal(0xABCD_0001u, c.Cdw11);
        Assert.Equal((0x0000_0200u, 0x1u), (c.Cdw12, c.Cdw13));
        Assert.Equal(0x0380_0005u, c.Cdw14);
        Assert.True(GetLogPageCommand.TryRead(c, out var back));
        Assert.Equal(g, back);
        Assert.Equal((0x12345L + 1) * 4, back.LengthBytes);

        // The builder the host uses writes the same dwords.
        var built = NvmeAdminCommands.GetLogPage(0x02, 512, rae: true);
        Assert.True(GetLogPageCommand.TryRead(built, out var b2));
        Assert.Equal((0x02, 127u, 512L, true), (b2.Lid, b2.Numd, b2.LengthBytes, b2.Rae));
    }

    [Fact]
    public void Features_place_FID_SEL_and_SV()
    {
        var get = new GetFeaturesCommand(0x04, NvmeFeatureSelect.SupportedCapabilities, Nsid: 1, Cdw11: 0x0010_0000);
        var c = get.ToCommand();
        Assert.Equal((NvmeAdminOpcode.GetFeatures, 0x0000_0304u, 0x0010_0000u), (c.Opcode, c.Cdw10, c.Cdw11));
        Assert.True(GetFeaturesCommand.TryRead(c, out var g2));
        Assert.Equal(get, g2);

        var set = new SetFeaturesCommand(0x06, 1, Save: true, Nsid: 0, Cdw12: 9, Cdw13: 10);
        var s = set.ToCommand();
        Assert.Equal((NvmeAdminOpcode.SetFeatures, 0x8000_0006u, 1u, 9u, 10u), (s.Opcode, s.Cdw10, s.Cdw11, s.Cdw12, s.Cdw13));
        Assert.True(SetFeaturesCommand.TryRead(s, out var s2));
        Assert.Equal(set, s2);
        Assert.False(SetFeaturesCommand.TryRead(c, out _));
    }

    [Fact]
    public void Read_Write_and_Write_Zeroes_place_SLBA_NLB_DEAC_and_FUA()
    {
        var w = new ReadWriteCommand(NvmeIoOpcode.Write, 1, 0x0000_0012_3456_789A, 65536, Fua: true);
        var c = w.ToCommand();
        Assert.Equal((0x3456_789Au, 0x12u, 0x4000_FFFFu), (c.Cdw10, c.Cdw11, c.Cdw12));
        Assert.True(ReadWriteCommand.TryRead(c, out var back));
        Assert.Equal(w, back);

        var z = NvmeIoCommands.WriteZeroes(1, 8, 2, deallocate: true);
        Assert.Equal(0x0200_0001u, z.Cdw12);
        Assert.True(ReadWriteCommand.TryRead(z, out var zb));
        Assert.Equal((8ul, 2, true, false), (zb.Slba, zb.Blocks, zb.Deallocate, zb.Fua));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReadWriteCommand(NvmeIoOpcode.Read, 1, 0, 0).ToCommand());
        Assert.False(ReadWriteCommand.TryRead(NvmeIoCommands.Flush(1), out _));
    }

    [Fact]
    public void Dataset_Management_places_NR_and_the_attribute_bits()
    {
        var d = new DatasetManagementCommand(3, 256, Deallocate: true, IntegralRead: true, IntegralWrite: false);
        var c = d.ToCommand();
        Assert.Equal((0xFFu, 0x5u), (c.Cdw10, c.Cdw11));
        Assert.True(DatasetManagementCommand.TryRead(c, out var back));
        Assert.Equal(d, back);
        Assert.Equal(256 * 16, back.DataLength);
    }
}
