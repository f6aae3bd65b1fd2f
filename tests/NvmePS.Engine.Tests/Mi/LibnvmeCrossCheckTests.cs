using System.Buffers.Binary;
using NvmePS.Engine.Admin;
using NvmePS.Engine.Mctp;
using NvmePS.Engine.Mi;

namespace NvmePS.Engine.Tests.Mi;

/// <summary>
/// The raw-byte expectations of libnvme's own MI tests (test/mi.c: test_admin_id, test_admin_err_nvme_resp,
/// test_admin_err_mi_resp, test_mi_config_get_mtu, test_mi_config_set_freq, test_get_features_nodata,
/// test_admin_ns_mgmt_*, test_admin_id_nsid_ctrl_list, test_resp_invalid_type, test_resp_csi_*), applied to this
/// engine's requests and response decoding.
/// </summary>
public sealed class LibnvmeCrossCheckTests
{
    private static (ScriptedTransport T, NvmeMiEndpoint Ep) Make(NvmeMiEndpointOptions? options = null)
    {
        var clock = new ManualTimeProvider();
        var t = new ScriptedTransport(clock);
        return (t, new NvmeMiEndpoint(t, new MctpEndpointAddress(1, 9), options, clock));
    }

    [Fact]
    public async Task Identify_controller_request_bytes()
    {
        var (t, ep) = Make();
        t.Script.Enqueue((TimeSpan.Zero, Responses.Admin(0, 0, 0, new byte[4096])));
        await new NvmeAdminClient(ep.GetAdminTransport(5)).IdentifyControllerAsync();
        byte[] hdr = t.Sent[0];
        Assert.Equal(NvmeAdminOpcode.Identify, hdr[4]);
        Assert.Equal(5, (hdr[7] << 8) | hdr[6]);
        Assert.Equal(1, hdr[5] & 1);
        Assert.Equal(0, hdr[5] & 2);
        Assert.Equal(4096u, BinaryPrimitives.ReadUInt32LittleEndian(hdr.AsSpan(32)));
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(hdr.AsSpan(44)));
        Assert.Equal(0x10, hdr[1]); // ROR 0, NMIMT 2
    }

    [Fact]
    public async Task Admin_error_in_cdw3_is_generic_internal_error_with_dnr()
    {
        var (t, ep) = Make();
        byte[] r = new byte[24];
        new NvmeMiMessageHeader(NvmeMiMessageType.AdminCommand, true).WriteTo(r);
        r[16] = 0; r[17] = 0; r[18] = 0x0C; r[19] = 0x80; // libnvme: "SC: internal, SCT: generic, DNR"
        NvmeMiMic.Append(r, 20);
        t.Script.Enqueue((TimeSpan.Zero, r));
        var ex = await Assert.ThrowsAsync<NvmeStatusException>(() => new NvmeAdminClient(ep.GetAdminTransport(1)).IdentifyControllerAsync());
        Assert.Equal(NvmeStatus.Generic(NvmeStatusNames.InternalError, dnr: true), ex.Status);
        Assert.Equal("Internal Error", ex.StatusName);
    }

    [Fact]
    public async Task Mi_error_in_an_admin_response_uses_the_8_byte_header()
    {
        var (t, ep) = Make();
        t.Script.Enqueue((TimeSpan.Zero, Responses.Mi(0, status: 0x02, type: NvmeMiMessageType.AdminCommand)));
        var ex = await Assert.ThrowsAsync<NvmeMiStatusException>(() => new NvmeAdminClient(ep.GetAdminTransport(1)).IdentifyControllerAsync());
        Assert.Equal(NvmeMiStatus.InternalError, ex.Status);
    }

    [Fact]
    public async Task Config_get_mtu_reads_nmresp_little_endian()
    {
        var (t, ep) = Make();
        t.Script.Enqueue((TimeSpan.Zero, Responses.Mi(0x001234)));
        Assert.Equal((ushort)0x1234, await ep.GetMctpTransmissionUnitSizeAsync(5));
        byte[] buf = t.Sent[0];
        Assert.Equal((byte)NvmeMiOpcode.ConfigurationGet, buf[4]);
        Assert.Equal(0x5, buf[11]);
        Assert.Equal((byte)NvmeMiConfigurationId.MctpTransmissionUnitSize, buf[8]);
        Assert.Equal(20, buf.Length); // no request data
    }

    [Fact]
    public async Task Config_set_smbus_frequency_layout_and_invalid_parameter()
    {
        var (t, ep) = Make();
        t.Script.Enqueue((TimeSpan.Zero, Responses.Mi(0)));
        t.Script.Enqueue((TimeSpan.Zero, Responses.Mi(0, status: 0x04)));
        await ep.SetSmbusFrequencyAsync(5, SmbusFrequency.Freq100kHz);
        byte[] buf = t.Sent[0];
        Assert.Equal((byte)NvmeMiOpcode.ConfigurationSet, buf[4]);
        Assert.Equal(0x5, buf[11]);
        Assert.Equal((byte)NvmeMiConfigurationId.SmbusI2cFrequency, buf[8]);
        Assert.Equal((byte)SmbusFrequency.Freq100kHz, buf[9]);
        var ex = await Assert.ThrowsAsync<NvmeMiStatusException>(() => ep.SetSmbusFrequencyAsync(5, SmbusFrequency.Freq1MHz));
        Assert.Equal(4, ex.StatusValue);
        Assert.Equal((byte)SmbusFrequency.Freq1MHz, t.Sent[1][9]);
    }

    [Fact]
    public async Task Get_features_arbitration_result_in_cdw0()
    {
        var (t, ep) = Make();
        t.Script.Enqueue((TimeSpan.Zero, Responses.Admin(0x04030201, 0, 0)));
        uint result = await new NvmeAdminClient(ep.GetAdminTransport(5)).GetFeatureAsync(NvmeFeatureId.Arbitration);
        Assert.Equal(0x04030201u, result);
        byte[] rq = t.Sent[0];
        Assert.Equal(NvmeAdminOpcode.GetFeatures, rq[4]);
        Assert.Equal(5, (rq[7] << 8) | rq[6]);
        Assert.Equal(NvmeFeatureId.Arbitration, rq[44]);
        Assert.Equal(0, rq[45] & 0x7); // SEL current
        Assert.False(rq[46] != 0 || rq[47] != 0 || (rq[45] & 0xF8) != 0); // reserved
    }

    [Fact]
    public async Task Namespace_management_create_and_delete_fields()
    {
        var (t, ep) = Make();
        t.Script.Enqueue((TimeSpan.Zero, Responses.Admin(0x01020304, 0, 0)));
        t.Script.Enqueue((TimeSpan.Zero, Responses.Admin(0, 0, 0)));
        var admin = new NvmeAdminClient(ep.GetAdminTransport(5));
        Assert.Equal(0x01020304u, await admin.CreateNamespaceAsync(new NvmeIdentifyNamespace { Nsze = 100, Ncap = 100 }));
        byte[] create = t.Sent[0];
        Assert.Equal(NvmeAdminOpcode.NamespaceManagement, create[4]);
        Assert.Equal(0, create[44]); // SEL create
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(create.AsSpan(8))); // no NSID on create
        Assert.Equal(100UL, BinaryPrimitives.ReadUInt64LittleEndian(create.AsSpan(68))); // NSZE leads the request data

        await admin.DeleteNamespaceAsync(0x05060708);
        byte[] delete = t.Sent[1];
        Assert.Equal(1, delete[44]);
        Assert.Equal(0x05060708u, BinaryPrimitives.ReadUInt32LittleEndian(delete.AsSpan(8)));
        Assert.Equal(72, delete.Length); // no data
    }

    [Fact]
    public async Task Identify_namespace_attached_controller_list_fields()
    {
        var (t, ep) = Make();
        t.Script.Enqueue((TimeSpan.Zero, Responses.Admin(0, 0, 0, new byte[4096])));
        await new NvmeAdminClient(ep.GetAdminTransport(5)).IdentifyAsync(NvmeIdentifyCns.NamespaceAttachedControllerList, 0x01020304, 5);
        byte[] hdr = t.Sent[0];
        Assert.Equal(NvmeIdentifyCns.NamespaceAttachedControllerList, (hdr[45] << 8) | hdr[44]);
        Assert.Equal(0x01020304u, BinaryPrimitives.ReadUInt32LittleEndian(hdr.AsSpan(8)));
        Assert.Equal(5, (hdr[47] << 8) | hdr[46]);
    }

    [Fact]
    public async Task Invalid_type_and_csi_mismatch_are_rejected_and_csi_1_is_sent()
    {
        var (t, ep) = Make();
        byte[] badType = Responses.Mi(32, new byte[32]);
        badType[0] = 0x03;
        NvmeMiMic.Append(badType, badType.Length - 4);
        t.Script.Enqueue((TimeSpan.Zero, badType));
        await Assert.ThrowsAsync<NvmeProtocolException>(() => ep.ReadSubsystemInformationAsync());

        var (t1, ep1) = Make(new NvmeMiEndpointOptions { CommandSlot = 1 });
        t1.Script.Enqueue((TimeSpan.Zero, Responses.Mi(32, new byte[32], csi: 0)));
        t1.Script.Enqueue((TimeSpan.Zero, Responses.Mi(32, new byte[32], csi: 1)));
        await Assert.ThrowsAsync<NvmeProtocolException>(() => ep1.ReadSubsystemInformationAsync());
        Assert.Equal(1, t1.Sent[0][1] & 1);
        Assert.Equal(1, (await ep1.ReadSubsystemInformationAsync()).PortCount); // NUMP 0 (0's based): one port
    }
}
