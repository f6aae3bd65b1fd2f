using System.Text;
using NvmePS.Engine;

namespace NvmePS.Engine.Tests.Common;

public class CoreTypesTests
{
    [Fact]
    public void Crc32C_matches_published_check_value()
    {
        Assert.Equal(0xE3069283u, Crc32C.Compute(Encoding.ASCII.GetBytes("123456789")));
    }

    [Fact]
    public void Crc32C_of_32_zero_bytes_matches_rfc3720_vector()
    {
        // RFC 3720 appendix B.4: 32 bytes of zeros → 0x8A9136AA.
        Assert.Equal(0x8A9136AAu, Crc32C.Compute(new byte[32]));
    }

    [Fact]
    public void Crc32C_incremental_equals_one_shot()
    {
        byte[] data = new byte[1000];
        new Random(7).NextBytes(data);
        uint reg = Crc32C.Update(Crc32C.Seed, data.AsSpan(0, 13));
        reg = Crc32C.Update(reg, data.AsSpan(13));
        Assert.Equal(Crc32C.Compute(data), reg ^ Crc32C.Seed);
    }

    [Fact]
    public void Sqe_round_trips_and_places_fields_at_spec_offsets()
    {
        var cmd = new NvmeCommand { Opcode = 0x06, Flags = 0x40, Cid = 0x1234, Nsid = 1, Cdw10 = 0x01, Cdw15 = 0xAABBCCDD, Dptr2 = 0x5A00_0000_0000_1000 };
        byte[] b = new byte[64];
        cmd.WriteTo(b);
        Assert.Equal(0x06, b[0]);
        Assert.Equal(0x40, b[1]);
        Assert.Equal(new byte[] { 0x34, 0x12 }, b[2..4]);
        Assert.Equal(1, b[4]);
        Assert.Equal(1, b[40]);
        Assert.Equal(new byte[] { 0xDD, 0xCC, 0xBB, 0xAA }, b[60..64]);
        Assert.Equal(0x5A, b[39]);
        Assert.True(NvmeCommand.TryRead(b, out var back));
        Assert.Equal(cmd, back);
        Assert.Equal(1, back.Psdt);
        Assert.False(NvmeCommand.TryRead(b.AsSpan(0, 63), out _));
    }

    [Fact]
    public void Cqe_status_word_decodes_sct_sc_dnr()
    {
        // LBA Out of Range (SCT 0, SC 80h) with DNR: status field = (0x80 | DNR<<14) << 1.
        ushort field = (ushort)((0x80 | (1 << 14)) << 1);
        var cqe = new NvmeCompletion(0, 0, 5, 1, 9, field);
        byte[] b = new byte[16];
        cqe.WriteTo(b);
        Assert.Equal(new byte[] { 0x00, 0x81 }, b[14..16]);
        Assert.True(NvmeCompletion.TryRead(b, out var back));
        Assert.Equal(NvmeStatusCodeType.Generic, back.Status.Sct);
        Assert.Equal(0x80, back.Status.Sc);
        Assert.True(back.Status.Dnr);
        Assert.Equal("LBA Out of Range", back.Status.GetName(NvmeCommandContext.Nvm));
        Assert.Equal(field, back.Status.ToStatusField());
    }

    [Fact]
    public void Command_specific_names_depend_on_command_set()
    {
        var s = NvmeStatus.CommandSpecific(0x84);
        Assert.Equal("Connect Invalid Host", s.GetName(NvmeCommandContext.Fabrics));
        Assert.StartsWith("Reserved", s.GetName(NvmeCommandContext.Admin), StringComparison.Ordinal);
        var e = new NvmeStatusException(NvmeCompletion.Create(1, s), NvmeCommandContext.Fabrics, "Connect");
        Assert.Equal(NvmeErrorKind.DeviceStatus, e.Kind);
        Assert.Contains("Connect Invalid Host", e.Message, StringComparison.Ordinal);
    }
}
