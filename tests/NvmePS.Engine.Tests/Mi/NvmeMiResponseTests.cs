using System.Buffers.Binary;
using NvmePS.Engine.Mctp;
using NvmePS.Engine.Mi;

namespace NvmePS.Engine.Tests.Mi;

public sealed class NvmeMiResponseTests
{
    private static readonly MctpEndpointAddress Peer = new(1, 9);

    [Fact]
    public void Crc32C_check_value_and_MIC_vector()
    {
        // The CRC-32C check value (RFC 3720 / Rocksoft model "CRC-32C": "123456789" -> E3069283).
        Assert.Equal(0xE3069283u, NvmeMiMic.Compute("123456789"u8));
        Assert.Equal(0xE3069283u, Responses.ReferenceCrc32C("123456789"u8));

        // An NVM Subsystem Health Status Poll request: MIC over the 16-byte header, stored little-endian.
        byte[] request = new byte[20];
        int n = NvmeMiCodec.WriteMiRequest(request, NvmeMiOpcode.SubsystemHealthStatusPoll, 0, 0x80000000, default);
        Assert.Equal(20, n);
        uint reference = Responses.ReferenceCrc32C(request.AsSpan(0, 16));
        Assert.Equal(reference, BinaryPrimitives.ReadUInt32LittleEndian(request.AsSpan(16)));
        Assert.True(NvmeMiMic.Verify(request));
        request[9] ^= 1;
        Assert.False(NvmeMiMic.Verify(request));

        // 32 zero bytes: CRC-32C = 8A9136AA (RFC 3720 B.4 test vector).
        Assert.Equal(0x8A9136AAu, NvmeMiMic.Compute(new byte[32]));
        // 32 bytes of 0xFF: 62A8AB43 (RFC 3720 B.4).
        Assert.Equal(0x62A8AB43u, NvmeMiMic.Compute(Enumerable.Repeat((byte)0xFF, 32).ToArray()));
    }

    [Fact]
    public void Header_round_trips_all_fields()
    {
        byte[] b = new byte[4];
        new NvmeMiMessageHeader(NvmeMiMessageType.AdminCommand, true, 1, true).WriteTo(b);
        Assert.Equal("84910100", Responses.Hex(b));
        Assert.True(NvmeMiMessageHeader.TryRead(b, out var h));
        Assert.Equal(new NvmeMiMessageHeader(NvmeMiMessageType.AdminCommand, true, 1, true), h);
        Assert.False(NvmeMiMessageHeader.TryRead(b.AsSpan(0, 3), out _));
    }

    public static TheoryData<string, byte[], string> Rejected()
    {
        var good = Responses.Mi(0, new byte[8]);
        byte[] badMic = (byte[])good.Clone();
        badMic[^1] ^= 0x5A;
        byte[] shortHeader = good.AsSpan(0, 6).ToArray();
        byte[] rorClear = (byte[])good.Clone();
        rorClear[1] &= 0x7F;
        NvmeMiMic.Append(rorClear, rorClear.Length - 4);
        byte[] wrongType = (byte[])good.Clone();
        wrongType[0] = 0x04; // IC bit missing
        NvmeMiMic.Append(wrongType, wrongType.Length - 4);
        byte[] otherType = (byte[])good.Clone();
        otherType[0] = 0x81;
        NvmeMiMic.Append(otherType, otherType.Length - 4);
        byte[] csi = Responses.Mi(0, new byte[8], csi: 1);
        byte[] nmimt = Responses.Mi(0, new byte[8], type: NvmeMiMessageType.AdminCommand);
        return new TheoryData<string, byte[], string>
        {
            { "bad MIC", badMic, "MIC mismatch" },
            { "short header", shortHeader, "too short" },
            { "ROR clear", rorClear, "ROR clear" },
            { "type without IC", wrongType, "Wrong MCTP message type 0x04" },
            { "PLDM type", otherType, "Wrong MCTP message type 0x81" },
            { "CSI mismatch", csi, "CSI mismatch" },
            { "NMIMT mismatch", nmimt, "NMIMT" },
        };
    }

    [Theory]
    [MemberData(nameof(Rejected))]
    public void Validate_rejects_with_a_named_reason(string what, byte[] message, string expected)
    {
        var ex = Assert.Throws<NvmeProtocolException>(() => NvmeMiResponse.Validate(message, NvmeMiMessageType.MiCommand, 0));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.Equal(NvmeErrorKind.Protocol, ex.Kind);
        Assert.False(string.IsNullOrEmpty(what));
    }

    [Theory]
    [MemberData(nameof(Rejected))]
    public async Task Endpoint_surfaces_rejections_as_protocol_errors(string what, byte[] message, string expected)
    {
        var clock = new ManualTimeProvider();
        var t = new ScriptedTransport(clock);
        t.Script.Enqueue((TimeSpan.Zero, message));
        await using var ep = new NvmeMiEndpoint(t, Peer, null, clock);
        var ex = await Assert.ThrowsAsync<NvmeProtocolException>(() => ep.PollSubsystemHealthAsync());
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.NotNull(what);
    }

    [Fact]
    public async Task Short_MI_header_after_valid_framing_is_rejected()
    {
        // 5-byte body (header + status 0) with a valid MIC: the MIC is fine, but an MI response header is 8 bytes and
        // a message is whole dwords; the dword check (review O-5) is the first to refuse it.
        byte[] r = new byte[9];
        new NvmeMiMessageHeader(NvmeMiMessageType.MiCommand, true).WriteTo(r);
        NvmeMiMic.Append(r, 5);
        var clock = new ManualTimeProvider();
        var t = new ScriptedTransport(clock);
        t.Script.Enqueue((TimeSpan.Zero, r));
        await using var ep = new NvmeMiEndpoint(t, Peer, null, clock);
        var ex = await Assert.ThrowsAsync<NvmeProtocolException>(() => ep.PollSubsystemHealthAsync());
        Assert.Contains("9 bytes is not a whole number of dwords", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(13)] // unaligned
    [InlineData(16)] // aligned but longer than an MPR response
    public async Task More_processing_required_must_be_exactly_12_bytes_and_dword_aligned(int length)
    {
        byte[] r = new byte[length];
        new NvmeMiMessageHeader(NvmeMiMessageType.MiCommand, true).WriteTo(r);
        r[NvmeMiCodec.StatusOffset] = (byte)NvmeMiStatus.MoreProcessingRequired;
        r[NvmeMiCodec.MprtOffset] = 1;
        NvmeMiMic.Append(r, length - NvmeMiMic.Size);
        var clock = new ManualTimeProvider();
        var t = new ScriptedTransport(clock);
        t.Script.Enqueue((TimeSpan.Zero, r));
        await using var ep = new NvmeMiEndpoint(t, Peer, null, clock);
        var ex = await Assert.ThrowsAsync<NvmeProtocolException>(() => ep.PollSubsystemHealthAsync());
        Assert.Contains(length == 13 ? "not a whole number of dwords" : "More Processing Required response of 16 bytes", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Error_status_becomes_NvmeMiStatusException_with_name_and_parameter_location()
    {
        var clock = new ManualTimeProvider();
        var t = new ScriptedTransport(clock);
        // Invalid Parameter, LSBIT 3, LSBYTE 11.
        t.Script.Enqueue((TimeSpan.Zero, Responses.Mi(0x000B03, status: 0x04)));
        t.Script.Enqueue((TimeSpan.Zero, Responses.Mi(0, status: 0x20)));
        t.Script.Enqueue((TimeSpan.Zero, Responses.Mi(0, status: 0xE5)));
        await using var ep = new NvmeMiEndpoint(t, Peer, null, clock);
        var ex = await Assert.ThrowsAsync<NvmeMiStatusException>(() => ep.ReadPortInformationAsync(7));
        Assert.Equal(NvmeMiStatus.InvalidParameter, ex.Status);
        Assert.Equal("Invalid Parameter", ex.StatusName);
        Assert.Equal((ushort)11, ex.ParameterByte);
        Assert.Equal((byte)3, ex.ParameterBit);
        Assert.Equal(NvmeErrorKind.DeviceStatus, ex.Kind);
        Assert.Contains("byte 11 bit 3", ex.Message, StringComparison.Ordinal);

        var vpd = await Assert.ThrowsAsync<NvmeMiStatusException>(() => ep.WriteVpdAsync(0, new byte[4]));
        Assert.Equal("VPD Updates Exceeded", vpd.StatusName);
        var vendor = await Assert.ThrowsAsync<NvmeMiStatusException>(() => ep.ResetSubsystemAsync());
        Assert.Equal("Vendor Specific (0xE5)", vendor.StatusName);
    }

    [Fact]
    public void Every_defined_status_has_its_spec_name()
    {
        foreach (NvmeMiStatus s in Enum.GetValues<NvmeMiStatus>())
        {
            string name = NvmeMiStatusNames.Describe((byte)s);
            Assert.DoesNotContain("Reserved", name, StringComparison.Ordinal);
        }

        Assert.Equal("More Processing Required", NvmeMiStatusNames.Describe(0x01));
        Assert.Equal("Sanitize In Progress", NvmeMiStatusNames.Describe(0x2A));
        Assert.Equal("Reserved (0x10)", NvmeMiStatusNames.Describe(0x10));
    }

    [Fact]
    public async Task ReadDataStructure_checks_response_data_length_against_RDL()
    {
        var clock = new ManualTimeProvider();
        var t = new ScriptedTransport(clock);
        // RDL 31 with 32 bytes is legal dword padding (finding MI-02); more than 3 bytes past RDL, or fewer than
        // RDL, is not.
        t.Script.Enqueue((TimeSpan.Zero, Responses.Mi(28, new byte[32])));
        t.Script.Enqueue((TimeSpan.Zero, Responses.Mi(36, new byte[32])));
        await using var ep = new NvmeMiEndpoint(t, Peer, null, clock);
        var ex = await Assert.ThrowsAsync<NvmeProtocolException>(() => ep.ReadSubsystemInformationAsync());
        Assert.Contains("Response Data Length says 28", ex.Message, StringComparison.Ordinal);
        ex = await Assert.ThrowsAsync<NvmeProtocolException>(() => ep.ReadSubsystemInformationAsync());
        Assert.Contains("Response Data Length says 36", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ControlPrimitive_response_must_echo_the_tag()
    {
        var clock = new ManualTimeProvider();
        var t = new ScriptedTransport(clock);
        byte[] r = new byte[12];
        new NvmeMiMessageHeader(NvmeMiMessageType.ControlPrimitive, true).WriteTo(r);
        r[5] = 0x77;
        NvmeMiMic.Append(r, 8);
        t.Script.Enqueue((TimeSpan.Zero, r));
        await using var ep = new NvmeMiEndpoint(t, Peer, null, clock);
        var ex = await Assert.ThrowsAsync<NvmeProtocolException>(() => ep.GetStateAsync());
        Assert.Contains("does not echo the request tag", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Admin_response_bounds_are_checked()
    {
        var clock = new ManualTimeProvider();
        var t = new ScriptedTransport(clock);
        t.Script.Enqueue((TimeSpan.Zero, Responses.Mi(0, new byte[4], type: NvmeMiMessageType.AdminCommand))); // 12-byte body: no CQE dwords
        t.Script.Enqueue((TimeSpan.Zero, Responses.Admin(0, 0, 0, new byte[64])));                              // more data than asked
        await using var ep = new NvmeMiEndpoint(t, Peer, null, clock);
        var admin = ep.GetAdminTransport(1);
        var shortHeader = await Assert.ThrowsAsync<NvmeProtocolException>(async () => await admin.ExecuteAdminAsync(new NvmeCommand { Opcode = 0x06 }, default, new byte[32], CancellationToken.None));
        Assert.Contains("an Admin response header is 20", shortHeader.Message, StringComparison.Ordinal);
        var tooMuch = await Assert.ThrowsAsync<NvmeProtocolException>(async () => await admin.ExecuteAdminAsync(new NvmeCommand { Opcode = 0x06 }, default, new byte[32], CancellationToken.None));
        Assert.Contains("64 bytes of response data, 32 were requested", tooMuch.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Controller_health_rent_must_match_the_data()
    {
        var clock = new ManualTimeProvider();
        var t = new ScriptedTransport(clock);
        t.Script.Enqueue((TimeSpan.Zero, Responses.Mi(3u << 16, new byte[32]))); // RENT 3, two entries of data
        await using var ep = new NvmeMiEndpoint(t, Peer, null, clock);
        var ex = await Assert.ThrowsAsync<NvmeProtocolException>(() => ep.PollControllerHealthAsync());
        Assert.Contains("RENT 3", ex.Message, StringComparison.Ordinal);
    }
}
