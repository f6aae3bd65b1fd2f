using NvmePS.Engine.Mi;

namespace NvmePS.Engine.Tests.Mi;

/// <summary>The response header codec both sides use: NMRESP's three layouts, the Admin response's CQE dwords, and
/// bodies cut short.</summary>
public sealed class ResponseHeaderTests
{
    [Fact]
    public void Invalid_parameter_MPR_and_control_primitive_responses_put_their_fields_where_NVMe_MI_does()
    {
        byte[] m = new byte[8];
        NvmeMiResponseHeader.InvalidParameter(parameterByte: 0x0102, parameterBit: 5).WriteTo(m);
        Assert.Equal(new byte[] { 0, 0, 0, 0, (byte)NvmeMiStatus.InvalidParameter, 0x05, 0x02, 0x01 }, m);
        Assert.True(NvmeMiResponseHeader.TryRead(m, out var h));
        Assert.Equal((NvmeMiStatus.InvalidParameter, (byte)5, (ushort)0x0102), (h.MiStatus, h.Byte5, h.Word6));

        NvmeMiResponseHeader.MoreProcessingRequired(0x0A0B).WriteTo(m);
        Assert.Equal(new byte[] { (byte)NvmeMiStatus.MoreProcessingRequired, 0x00, 0x0B, 0x0A }, m[4..]);
        Assert.True(NvmeMiResponse.IsMoreProcessingRequired(m, out ushort mprt));
        Assert.Equal(0x0A0B, mprt);

        NvmeMiResponseHeader.ControlPrimitive(NvmeMiStatus.Success, tag: 0x7E, cpsr: 0x8001).WriteTo(m);
        Assert.Equal(new byte[] { 0x00, 0x7E, 0x01, 0x80 }, m[4..]);
    }

    [Fact]
    public void A_short_error_body_still_gives_its_status_and_no_body_gives_nothing()
    {
        Assert.True(NvmeMiResponseHeader.TryRead(new byte[] { 0x84, 0x88, 0x00, 0x00, 0x04, 0x03 }, out var h));
        Assert.Equal((byte)0x04, h.Status);
        Assert.Equal(3u, h.Nmresp);
        Assert.False(NvmeMiResponseHeader.TryRead(new byte[4], out _));
    }

    [Fact]
    public void The_Admin_response_header_carries_the_completion_dwords_0_1_and_3()
    {
        var completion = NvmeCompletion.Create(0x1234, NvmeStatus.Generic(0x02), dw0: 0xAABBCCDD, dw1: 0x11223344);
        byte[] m = new byte[NvmeMiAdminResponseHeader.Size];
        NvmeMiAdminResponseHeader.From(completion).WriteTo(m);
        Assert.Equal(new byte[] { 0xDD, 0xCC, 0xBB, 0xAA }, m[8..12]);
        Assert.Equal(new byte[] { 0x44, 0x33, 0x22, 0x11 }, m[12..16]);
        Assert.Equal(0x1234, m[16] | (m[17] << 8));
        Assert.True(NvmeMiAdminResponseHeader.TryRead(m, out var back));
        Assert.Equal(completion with { Sqhd = 0, Sqid = 0 }, back.Completion);
        Assert.False(NvmeMiAdminResponseHeader.TryRead(m.AsSpan(0, 19), out _));
    }
}
