using NvmePS.Engine.Fabrics;

namespace NvmePS.Engine.Tests.Fabrics;

public class ControllerPropertyFieldsTests
{
    private static Dictionary<string, ControllerPropertyField> Fields(uint offset, ulong value) =>
        ControllerPropertyFields.Decode(offset, value).ToDictionary(f => f.Name);

    [Fact]
    public void Cap_fields_come_from_their_bit_positions()
    {
        // MQES=127 (bits 15:0), CQR=1 (16), TO=20 (31:24, 500 ms units), CSS bit 0 (44:37), MPSMIN=0 (51:48), MPSMAX=4 (55:52).
        ulong cap = 127UL | (1UL << 16) | (20UL << 24) | (1UL << 37) | (4UL << 52);
        var f = Fields(ControllerProperty.Cap, cap);
        Assert.Equal(127UL, f["MQES"].Value);
        Assert.Equal("128 entries per queue at most", f["MQES"].Meaning);
        Assert.Equal(1UL, f["CQR"].Value);
        Assert.Equal(20UL, f["TO"].Value);
        Assert.Equal("10 s to become ready", f["TO"].Meaning);
        Assert.Equal(1UL, f["CSS"].Value);
        Assert.Equal("4096 byte pages at least", f["MPSMIN"].Meaning);
        Assert.Equal("65536 byte pages at most", f["MPSMAX"].Meaning);
        Assert.Equal(15, f.Count);
    }

    [Fact]
    public void Vs_cc_and_csts_decode()
    {
        var vs = Fields(ControllerProperty.Vs, 0x0002_0100);
        Assert.Equal((2UL, 1UL, 0UL), (vs["MJR"].Value, vs["MNR"].Value, vs["TER"].Value));
        Assert.Contains("2.1", vs["TER"].Meaning, StringComparison.Ordinal);

        // EN=1, IOSQES=6 (bits 19:16), IOCQES=4 (23:20).
        var cc = Fields(ControllerProperty.Cc, 1u | (6u << 16) | (4u << 20));
        Assert.Equal((1UL, "enabled"), (cc["EN"].Value, cc["EN"].Meaning));
        Assert.Equal("64 byte SQ entries", cc["IOSQES"].Meaning);
        Assert.Equal("16 byte CQ entries", cc["IOCQES"].Meaning);

        var csts = Fields(ControllerProperty.Csts, 0b11);
        Assert.Equal((1UL, "ready"), (csts["RDY"].Value, csts["RDY"].Meaning));
        Assert.Equal((1UL, "controller fatal status"), (csts["CFS"].Value, csts["CFS"].Meaning));
        Assert.Equal("not ready", Fields(ControllerProperty.Csts, 0)["RDY"].Meaning);
    }

    [Fact]
    public void Other_properties_have_no_fields_and_names_map_to_offsets()
    {
        Assert.Empty(ControllerPropertyFields.Decode(ControllerProperty.Nssr, 0x4E564D65));
        Assert.Equal(0x00u, ControllerPropertyFields.Offsets["cap"]);
        Assert.Equal(0x08u, ControllerPropertyFields.Offsets["VS"]);
        Assert.Equal(0x14u, ControllerPropertyFields.Offsets["CC"]);
        Assert.Equal(0x1Cu, ControllerPropertyFields.Offsets["CSTS"]);
        Assert.Equal(0x20u, ControllerPropertyFields.Offsets["NSSR"]);
    }
}
