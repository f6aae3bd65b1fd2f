using System.Buffers.Binary;
using NvmePS.Engine.Mctp;
using NvmePS.Engine.Mi;

namespace NvmePS.Engine.Tests.Mi;

/// <summary>Byte-exact request encodings as the endpoint sends them (layouts from NVMe-MI 1.2 and libnvme mi.h).</summary>
public sealed class NvmeMiEncodingTests
{
    private static readonly MctpEndpointAddress Peer = new(1, 9);

    private static async Task<byte[]> SentBy(Func<NvmeMiEndpoint, Task> call, byte[] response)
    {
        var clock = new ManualTimeProvider();
        var transport = new ScriptedTransport(clock);
        transport.Script.Enqueue((TimeSpan.Zero, response));
        await using var ep = new NvmeMiEndpoint(transport, Peer, null, clock);
        await call(ep);
        return Assert.Single(transport.Sent);
    }

    /// <summary>Checks the 16-byte MI request header and the MIC that follows it (computed by an independent CRC).</summary>
    private static void AssertMiRequest(byte[] sent, string headerHex, string dataHex = "")
    {
        Assert.Equal(headerHex + dataHex, Responses.Hex(sent.AsSpan(0, sent.Length - 4)));
        uint mic = BinaryPrimitives.ReadUInt32LittleEndian(sent.AsSpan(sent.Length - 4));
        Assert.Equal(Responses.ReferenceCrc32C(sent.AsSpan(0, sent.Length - 4)), mic);
    }

    private static byte[] Structure(int size, byte fill = 0)
    {
        byte[] d = new byte[size];
        d.AsSpan().Fill(fill);
        return d;
    }

    [Fact]
    public async Task ReadSubsystemInformation_encodes_dtyp0()
    {
        byte[] sent = await SentBy(ep => ep.ReadSubsystemInformationAsync(), Responses.Mi(32, Structure(32)));
        //            hdr:type nmp  meb rsv | opc rsv     | cdw0     | cdw1
        AssertMiRequest(sent, "84080000" + "00000000" + "00000000" + "00000000");
        Assert.Equal(20, sent.Length);
    }

    [Fact]
    public async Task ReadPortInformation_encodes_dtyp1_and_port_in_bits_23_16()
    {
        byte[] port = Structure(32);
        port[0] = 1;
        byte[] sent = await SentBy(ep => ep.ReadPortInformationAsync(1), Responses.Mi(32, port));
        AssertMiRequest(sent, "84080000" + "00000000" + "00000101" + "00000000");
    }

    [Fact]
    public async Task ReadControllerList_encodes_start_id_in_bits_15_0()
    {
        byte[] list = [1, 0, 2, 0];
        byte[] sent = await SentBy(ep => ep.ReadControllerListAsync(2), Responses.Mi(4, list));
        AssertMiRequest(sent, "84080000" + "00000000" + "02000002" + "00000000");
    }

    [Fact]
    public async Task ReadControllerInformation_encodes_dtyp3_and_controller()
    {
        byte[] sent = await SentBy(ep => ep.ReadControllerInformationAsync(0x0102), Responses.Mi(32, Structure(32)));
        AssertMiRequest(sent, "84080000" + "00000000" + "02010003" + "00000000");
    }

    [Fact]
    public async Task ReadOptionalCommands_encodes_dtyp4()
    {
        byte[] sent = await SentBy(ep => ep.ReadOptionalCommandsAsync(), Responses.Mi(2, [0, 0, 0, 0]));
        AssertMiRequest(sent, "84080000" + "00000000" + "00000004" + "00000000");
    }

    [Fact]
    public async Task SubsystemHealthStatusPoll_sets_CS_in_cdw1_bit31()
    {
        byte[] sent = await SentBy(ep => ep.PollSubsystemHealthAsync(clear: true), Responses.Mi(0, Structure(8)));
        AssertMiRequest(sent, "84080000" + "01000000" + "00000000" + "00000080");
        sent = await SentBy(ep => ep.PollSubsystemHealthAsync(clear: false), Responses.Mi(0, Structure(8)));
        AssertMiRequest(sent, "84080000" + "01000000" + "00000000" + "00000000");
    }

    [Fact]
    public async Task ControllerHealthStatusPoll_encodes_selection_and_flags()
    {
        var req = new ControllerHealthPollRequest
        {
            StartControllerId = 0x0003,
            MaxEntries = 16,
            IncludePciFunctions = true,
            IncludePhysicalFunctions = false,
            IncludeVirtualFunctions = true,
            ReportAll = false,
            ReportFlags = ControllerHealthChangeFlags.CompositeTemperature | ControllerHealthChangeFlags.CriticalWarning,
            ClearChangedFlags = true,
        };
        byte[] sent = await SentBy(ep => ep.PollControllerHealthAsync(req), Responses.Mi(0));
        // cdw0 = SCTLID 3 | MAXRENT 15 << 16 | INCF bit 24 | INCVF bit 26 = 0x050F0003; cdw1 = 0x12 | CCF bit 31.
        AssertMiRequest(sent, "84080000" + "02000000" + "03000F05" + "12000080");
    }

    [Fact]
    public async Task ConfigurationSet_and_Get_encode_identifier_port_and_values()
    {
        byte[] sent = await SentBy(ep => ep.SetSmbusFrequencyAsync(1, SmbusFrequency.Freq400kHz), Responses.Mi(0));
        AssertMiRequest(sent, "84080000" + "03000000" + "01020001" + "00000000");

        sent = await SentBy(ep => ep.GetSmbusFrequencyAsync(1), Responses.Mi(1));
        AssertMiRequest(sent, "84080000" + "04000000" + "01000001" + "00000000");

        sent = await SentBy(ep => ep.ClearHealthStatusChangeAsync(HealthStatusChangeFlags.FirmwareActivated | HealthStatusChangeFlags.CompositeTemperature), Responses.Mi(0));
        AssertMiRequest(sent, "84080000" + "03000000" + "02000000" + "40010000");

        sent = await SentBy(ep => ep.SetMctpTransmissionUnitSizeAsync(1, 128), Responses.Mi(0));
        AssertMiRequest(sent, "84080000" + "03000000" + "03000001" + "80000000");

        sent = await SentBy(ep => ep.GetMctpTransmissionUnitSizeAsync(0), Responses.Mi(64));
        AssertMiRequest(sent, "84080000" + "04000000" + "03000000" + "00000000");

        sent = await SentBy(ep => ep.GetAsyncEventsAsync(), Responses.Mi(0, [0, 0, 5, 0, 5, 0, 0, 0]));
        AssertMiRequest(sent, "84080000" + "04000000" + "04000000" + "00000000");

        sent = await SentBy(ep => ep.SetAsyncEventsAsync([new AsyncEventItem(2, true)]), Responses.Mi(0));
        // AE Enable List: NUMAEE 1, version 0, AEETL 8, AEELHL 5; item AEEL 3, AEEI = id 2 | enable bit 15.
        AssertMiRequest(sent, "84080000" + "03000000" + "04000000" + "00000000", "0100080005" + "030280");
    }

    [Fact]
    public async Task VpdRead_VpdWrite_Reset_encode_offset_length_and_data()
    {
        byte[] sent = await SentBy(ep => ep.ReadVpdAsync(0x0010, 4), Responses.Mi(0, [1, 2, 3, 4]));
        AssertMiRequest(sent, "84080000" + "05000000" + "10000000" + "04000000");

        sent = await SentBy(ep => ep.WriteVpdAsync(0x0008, new byte[] { 0xAA, 0xBB, 0xCC }), Responses.Mi(0));
        AssertMiRequest(sent, "84080000" + "06000000" + "08000000" + "03000000", "AABBCC");

        sent = await SentBy(ep => ep.ResetSubsystemAsync(), Responses.Mi(0));
        AssertMiRequest(sent, "84080000" + "07000000" + "00000000" + "00000000");
    }

    [Theory]
    [InlineData(NvmeMiControlOpcode.Pause, 0, "00")]
    [InlineData(NvmeMiControlOpcode.Resume, 0, "01")]
    [InlineData(NvmeMiControlOpcode.Abort, 0, "02")]
    [InlineData(NvmeMiControlOpcode.GetState, 1, "03")]
    [InlineData(NvmeMiControlOpcode.Replay, 5, "04")]
    public async Task ControlPrimitive_is_8_bytes_opcode_tag_cpsp(NvmeMiControlOpcode opcode, ushort cpsp, string opHex)
    {
        byte[] response = new byte[12];
        new NvmeMiMessageHeader(NvmeMiMessageType.ControlPrimitive, true).WriteTo(response);
        response[5] = 1; // the first tag the endpoint uses
        NvmeMiMic.Append(response, 8);
        byte[] sent = await SentBy(ep => ep.SendControlPrimitiveAsync(opcode, cpsp), response);
        Assert.Equal(12, sent.Length);
        Assert.Equal("84000000" + opHex + "01" + cpsp.ToString("X2") + "00", Responses.Hex(sent.AsSpan(0, 8)));
        Assert.Equal(Responses.ReferenceCrc32C(sent.AsSpan(0, 8)), BinaryPrimitives.ReadUInt32LittleEndian(sent.AsSpan(8)));
    }

    [Fact]
    public async Task AdminRequest_header_is_68_bytes_with_fields_at_spec_offsets()
    {
        var clock = new ManualTimeProvider();
        var transport = new ScriptedTransport(clock);
        transport.Script.Enqueue((TimeSpan.Zero, Responses.Admin(0, 0, 0, new byte[512])));
        await using var ep = new NvmeMiEndpoint(transport, Peer, null, clock);
        var admin = ep.GetAdminTransport(0x0102);
        var cmd = new NvmeCommand
        {
            Opcode = 0x02,
            Nsid = 0xFFFFFFFF,
            Cdw2 = 0x22222222,
            Cdw3 = 0x33333333,
            Mptr = 0x5555555544444444,
            Cdw10 = 0x007F8002,
            Cdw11 = 0xBBBBBBBB,
            Cdw12 = 0xCCCCCCCC,
            Cdw13 = 0xDDDDDDDD,
            Cdw14 = 0xEEEEEEEE,
            Cdw15 = 0xFFFFFFF0,
        };
        var result = await admin.ExecuteAdminAsync(cmd, default, new byte[512], CancellationToken.None);
        Assert.Equal(512, result.BytesTransferred);
        byte[] sent = Assert.Single(transport.Sent);
        Assert.Equal(72, sent.Length);
        string expected =
            "84100000" +            // type 0x84, NMIMT 2 (Admin) << 3, request, slot 0
            "02" + "01" + "0201" +  // opcode @4, flags DLV @5, controller id @6
            "FFFFFFFF" +            // cdw1 (NSID) @8
            "22222222" + "33333333" + "44444444" + "55555555" + // cdw2..cdw5 @12..27
            "00000000" +            // data offset @28
            "00020000" +            // data length 512 @32
            "0000000000000000" +    // reserved @36..43
            "02807F00" + "BBBBBBBB" + "CCCCCCCC" + "DDDDDDDD" + "EEEEEEEE" + "F0FFFFFF"; // cdw10..15 @44
        Assert.Equal(expected, Responses.Hex(sent.AsSpan(0, 68)));
        Assert.Equal(Responses.ReferenceCrc32C(sent.AsSpan(0, 68)), BinaryPrimitives.ReadUInt32LittleEndian(sent.AsSpan(68)));
    }

    [Fact]
    public async Task AdminRequest_with_write_data_and_offset_flags()
    {
        var clock = new ManualTimeProvider();
        var transport = new ScriptedTransport(clock);
        transport.Script.Enqueue((TimeSpan.Zero, Responses.Admin(0, 0, 0)));
        transport.Script.Enqueue((TimeSpan.Zero, Responses.Admin(0, 0, 0, new byte[8])));
        await using var ep = new NvmeMiEndpoint(transport, Peer, null, clock);
        var admin = ep.GetAdminTransport(1);
        await admin.ExecuteAdminAsync(new NvmeCommand { Opcode = 0x11, Cdw10 = 1 }, new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 }, default, CancellationToken.None);
        byte[] w = transport.Sent[0];
        Assert.Equal(68 + 8 + 4, w.Length);
        Assert.Equal(0x01, w[5]);
        Assert.Equal(8u, BinaryPrimitives.ReadUInt32LittleEndian(w.AsSpan(32)));
        Assert.Equal("0102030405060708", Responses.Hex(w.AsSpan(68, 8)));

        await admin.ExecuteAdminAsync(new NvmeCommand { Opcode = 0x06, Cdw10 = 1 }, default, new byte[8], 16, null, CancellationToken.None);
        byte[] r = transport.Sent[1];
        Assert.Equal(0x03, r[5]); // DLV | DOV
        Assert.Equal(16u, BinaryPrimitives.ReadUInt32LittleEndian(r.AsSpan(28)));
        Assert.Equal(8u, BinaryPrimitives.ReadUInt32LittleEndian(r.AsSpan(32)));
    }

    [Fact]
    public async Task AdminResponse_decodes_cdw0_cdw1_and_status_from_cdw3()
    {
        var clock = new ManualTimeProvider();
        var transport = new ScriptedTransport(clock);
        var status = NvmeStatus.CommandSpecific(0x06, dnr: true); // Invalid Firmware Slot
        uint cdw3 = 0x0000ABCDu | ((uint)status.ToStatusField() << 16);
        transport.Script.Enqueue((TimeSpan.Zero, Responses.Admin(0x11223344, 0x55667788, cdw3)));
        await using var ep = new NvmeMiEndpoint(transport, Peer, null, clock);
        var result = await ep.GetAdminTransport(1).ExecuteAdminAsync(new NvmeCommand { Opcode = 0x10 }, default, default, CancellationToken.None);
        Assert.Equal(0x11223344u, result.Completion.Dw0);
        Assert.Equal(0x55667788u, result.Completion.Dw1);
        Assert.Equal((ushort)0xABCD, result.Completion.Cid);
        Assert.Equal(status, result.Completion.Status);
        Assert.Equal("Invalid Firmware Slot", result.Completion.Status.GetName());
    }

    [Theory]
    [InlineData(0x02, 0, 4100, 0u, "at most 4096")]
    [InlineData(0x02, 0, 6, 0u, "multiples of 4")]
    [InlineData(0x02, 0, 8, 2u, "multiples of 4")]
    [InlineData(0x11, 8, 8, 0u, "one direction")]
    [InlineData(0x03, 0, 8, 0u, "bidirectional")]
    [InlineData(0x06, 8, 0, 0u, "does not transfer data to the controller")]
    [InlineData(0x11, 0, 8, 0u, "does not transfer data from the controller")]
    [InlineData(0x80, 8, 0, 0u, "does not transfer data to the controller")]
    public async Task AdminDataRules_are_enforced_before_sending(byte opcode, int toLength, int fromLength, uint offset, string message)
    {
        var clock = new ManualTimeProvider();
        var transport = new ScriptedTransport(clock);
        await using var ep = new NvmeMiEndpoint(transport, Peer, null, clock);
        var ex = await Assert.ThrowsAsync<ArgumentException>(async () =>
            await ep.GetAdminTransport(1).ExecuteAdminAsync(new NvmeCommand { Opcode = opcode }, new byte[toLength], new byte[fromLength], offset, null, CancellationToken.None));
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
        Assert.Empty(transport.Sent);
    }
}
