using System.Buffers.Binary;
using NvmePS.Engine.Fabrics.Tcp;

namespace NvmePS.Engine.Tests.Fabrics.Tcp;

public class ValidatorTests
{
    private static readonly NvmeTcpReceiveLimits Controller = new(IsController: true, Initialized: true, HeaderDigest: false, DataDigest: false,
        RxPdaBytes: 4, MaxInCapsuleData: 8192, MaxH2CData: 65536, MaxC2HData: 0);

    private static readonly NvmeTcpReceiveLimits Host = new(IsController: false, Initialized: true, HeaderDigest: false, DataDigest: false,
        RxPdaBytes: 4, MaxInCapsuleData: 0, MaxH2CData: 0, MaxC2HData: 65536);

    private static byte[] Cmd(int dataLength = 0, bool hd = false, bool dd = false)
    {
        byte[] b = new byte[72 + 8 + dataLength + 8];
        int n = NvmeTcpPduWriter.WriteCapsuleCommand(b, new NvmeCommand { Opcode = 1, Cid = 1 }, new byte[dataLength], hd, dd, 4);
        return b[..n];
    }

    private static void AssertFatal(NvmeTcpPduCheck check, NvmeTcpFatalErrorStatus fes, int offset)
    {
        Assert.Equal(NvmeTcpValidationOutcome.Fatal, check.Outcome);
        Assert.Equal(fes, check.Fes);
        Assert.Equal(offset, check.FieldOffset);
    }

    [Fact]
    public void Valid_capsule_needs_the_whole_header_then_passes()
    {
        byte[] b = Cmd(16);
        var first = NvmeTcpPduValidator.Validate(b.AsSpan(0, 8), Controller);
        Assert.Equal(NvmeTcpValidationOutcome.NeedMoreHeader, first.Outcome);
        Assert.Equal(72, first.HeaderBytesNeeded);
        var full = NvmeTcpPduValidator.Validate(b, Controller);
        Assert.True(full.IsValid);
        Assert.Equal(16, full.Layout.DataLength);
        Assert.Equal(72, full.Layout.Pdo);
    }

    [Theory]
    [InlineData(0x08)]
    [InlineData(0x0A)]
    [InlineData(0xFE)]
    public void Unknown_pdu_type_is_invalid_header_field_at_0(byte type)
    {
        byte[] b = Cmd();
        b[0] = type;
        AssertFatal(NvmeTcpPduValidator.Validate(b, Controller), NvmeTcpFatalErrorStatus.InvalidPduHeaderField, 0);
    }

    [Fact]
    public void Pdu_in_the_wrong_direction_is_rejected()
    {
        byte[] b = Cmd();
        AssertFatal(NvmeTcpPduValidator.Validate(b, Host), NvmeTcpFatalErrorStatus.InvalidPduHeaderField, 0);
    }

    [Fact]
    public void Second_icreq_is_a_pdu_sequence_error()
    {
        byte[] b = new byte[128];
        new IcReqPdu(0, 0, false, false, 0).Write(b);
        Assert.True(NvmeTcpPduValidator.Validate(b, Controller with { Initialized = false }).IsValid);
        AssertFatal(NvmeTcpPduValidator.Validate(b, Controller), NvmeTcpFatalErrorStatus.PduSequenceError, 0);
        AssertFatal(NvmeTcpPduValidator.Validate(Cmd(), Controller with { Initialized = false }), NvmeTcpFatalErrorStatus.PduSequenceError, 0);
    }

    [Fact]
    public void Bad_flags_are_reported_at_offset_1()
    {
        byte[] b = Cmd();
        b[1] = 0x04; // LAST_PDU is not a CapsuleCmd flag
        AssertFatal(NvmeTcpPduValidator.Validate(b, Controller), NvmeTcpFatalErrorStatus.InvalidPduHeaderField, 1);
        // Header digest present but not negotiated.
        AssertFatal(NvmeTcpPduValidator.Validate(Cmd(hd: true), Controller), NvmeTcpFatalErrorStatus.InvalidPduHeaderField, 1);
        // Header digest negotiated but missing.
        AssertFatal(NvmeTcpPduValidator.Validate(Cmd(), Controller with { HeaderDigest = true }), NvmeTcpFatalErrorStatus.InvalidPduHeaderField, 1);
        // Data digest present but not negotiated.
        AssertFatal(NvmeTcpPduValidator.Validate(Cmd(8, dd: true), Controller), NvmeTcpFatalErrorStatus.InvalidPduHeaderField, 1);
        // Data digest negotiated, data present, digest missing.
        AssertFatal(NvmeTcpPduValidator.Validate(Cmd(8), Controller with { DataDigest = true }), NvmeTcpFatalErrorStatus.InvalidPduHeaderField, 1);
        // No data: no data digest needed even when negotiated.
        Assert.True(NvmeTcpPduValidator.Validate(Cmd(), Controller with { DataDigest = true }).IsValid);
    }

    [Fact]
    public void C2H_success_without_last_is_rejected()
    {
        byte[] b = new byte[64];
        int n = NvmeTcpPduWriter.WriteC2HData(b, new C2HDataPdu(1, 0, 4), new byte[4], last: false, success: false, false, false, 4);
        b[1] = (byte)NvmeTcpPduFlags.Success;
        AssertFatal(NvmeTcpPduValidator.Validate(b.AsSpan(0, n), Host), NvmeTcpFatalErrorStatus.InvalidPduHeaderField, 1);
    }

    [Fact]
    public void Bad_hlen_pdo_and_plen_are_reported_in_layout_order()
    {
        byte[] b = Cmd(16);
        b[2] = 24;
        b[4] = 10; // also a bad PLEN: HLEN is reported first
        AssertFatal(NvmeTcpPduValidator.Validate(b, Controller), NvmeTcpFatalErrorStatus.InvalidPduHeaderField, 2);

        b = Cmd(16);
        b[3] = 74; // PDO not a multiple of 4
        AssertFatal(NvmeTcpPduValidator.Validate(b, Controller), NvmeTcpFatalErrorStatus.InvalidPduHeaderField, 3);
        b[3] = 68; // PDO inside the header
        AssertFatal(NvmeTcpPduValidator.Validate(b, Controller), NvmeTcpFatalErrorStatus.InvalidPduHeaderField, 3);

        b = Cmd();
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), 70); // PLEN < HLEN
        AssertFatal(NvmeTcpPduValidator.Validate(b, Controller), NvmeTcpFatalErrorStatus.InvalidPduHeaderField, 4);

        byte[] r = new byte[64];
        int n = NvmeTcpPduWriter.WriteCapsuleResponse(r, default, false);
        BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(4), 28); // CapsuleResp with data
        AssertFatal(NvmeTcpPduValidator.Validate(r.AsSpan(0, n), Host), NvmeTcpFatalErrorStatus.InvalidPduHeaderField, 4);
        r[3] = 24;
        AssertFatal(NvmeTcpPduValidator.Validate(r.AsSpan(0, n), Host), NvmeTcpFatalErrorStatus.InvalidPduHeaderField, 3);
    }

    /// <summary>Regression for tests/fuzz/corpus/tcp-pdu/crash-6896997a504e3ceb512d90e2ead9878f5b43b748: a CapsuleCmd with
    /// PLEN past its header and PDO = PLEN carries padding and no data; it passed, with a layout shorter than PLEN.</summary>
    [Fact]
    public void Pdo_at_plen_past_the_header_is_padding_without_data_and_invalid_at_the_pdo()
    {
        byte[] b = Cmd();
        b[3] = 184; // PDO
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), 184); // PLEN
        AssertFatal(NvmeTcpPduValidator.Validate(b, Controller), NvmeTcpFatalErrorStatus.InvalidPduHeaderField, 3);

        // PDO = PLEN for a PDU of header only is still the "no data" form, and valid.
        byte[] empty = Cmd();
        empty[3] = 72;
        Assert.True(NvmeTcpPduValidator.Validate(empty, Controller).IsValid);
    }

    [Fact]
    public void Plen_over_the_limit_is_refused_from_the_common_header_alone()
    {
        byte[] b = Cmd();
        b[3] = 72;
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), 0x7FFF_FFF0); // 2 GiB claimed
        var check = NvmeTcpPduValidator.Validate(b.AsSpan(0, 8), Controller);
        AssertFatal(check, NvmeTcpFatalErrorStatus.DataTransferLimitExceeded, 4);
        Assert.Equal(0u, check.Fei);

        byte[] h = new byte[64];
        NvmeTcpPduWriter.WriteH2CData(h, new H2CDataPdu(1, 1, 0, 65540), default, false, false, false, 4);
        h[3] = 24;
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(4), 24 + 65540);
        AssertFatal(NvmeTcpPduValidator.Validate(h.AsSpan(0, 8), Controller), NvmeTcpFatalErrorStatus.DataTransferLimitExceeded, 4);
    }

    [Fact]
    public void Wrong_header_digest_is_fes_3_at_the_digest()
    {
        byte[] b = Cmd(hd: true);
        b[10] ^= 0xFF;
        var check = NvmeTcpPduValidator.Validate(b, Controller with { HeaderDigest = true });
        AssertFatal(check, NvmeTcpFatalErrorStatus.HeaderDigestError, 72);
        Assert.Equal(76, check.ErrorDataLength);
    }

    [Fact]
    public void H2CData_datal_must_match_the_data()
    {
        byte[] h = new byte[128];
        int n = NvmeTcpPduWriter.WriteH2CData(h, new H2CDataPdu(1, 1, 0, 20), new byte[16], true, false, false, 4);
        AssertFatal(NvmeTcpPduValidator.Validate(h.AsSpan(0, n), Controller), NvmeTcpFatalErrorStatus.InvalidPduHeaderField, 16);
        n = NvmeTcpPduWriter.WriteH2CData(h, new H2CDataPdu(1, 1, 0, 16), new byte[16], true, false, false, 4);
        Assert.True(NvmeTcpPduValidator.Validate(h.AsSpan(0, n), Controller).IsValid);
    }

    [Fact]
    public void Icresp_fields_are_checked()
    {
        var init = Host with { Initialized = false };
        byte[] b = new byte[128];
        new IcRespPdu(1, 0, false, false, 8192).Write(b);
        var check = NvmeTcpPduValidator.Validate(b, init);
        AssertFatal(check, NvmeTcpFatalErrorStatus.UnsupportedParameter, 8);
        Assert.Equal(8u, check.Fei);
        new IcRespPdu(0, 32, false, false, 8192).Write(b);
        AssertFatal(NvmeTcpPduValidator.Validate(b, init), NvmeTcpFatalErrorStatus.InvalidPduHeaderField, 10);
        new IcRespPdu(0, 0, false, false, 4095).Write(b);
        AssertFatal(NvmeTcpPduValidator.Validate(b, init), NvmeTcpFatalErrorStatus.InvalidPduHeaderField, 12);
        new IcRespPdu(0, 0, false, false, 4098).Write(b);
        AssertFatal(NvmeTcpPduValidator.Validate(b, init), NvmeTcpFatalErrorStatus.InvalidPduHeaderField, 12);
        new IcRespPdu(0, 0, false, false, 4096).Write(b);
        b[11] = 0x04;
        AssertFatal(NvmeTcpPduValidator.Validate(b, init), NvmeTcpFatalErrorStatus.InvalidPduHeaderField, 11);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), 132);
        AssertFatal(NvmeTcpPduValidator.Validate(b, init), NvmeTcpFatalErrorStatus.InvalidPduHeaderField, 4);
    }

    [Fact]
    public void Malformed_termination_request_is_closed_without_reply()
    {
        byte[] b = new byte[200];
        int n = TermReqPdu.Write(b, fromController: false, NvmeTcpFatalErrorStatus.PduSequenceError, 0, new byte[8]);
        Assert.True(NvmeTcpPduValidator.Validate(b.AsSpan(0, n), Controller).IsValid);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), 153);
        Assert.Equal(NvmeTcpValidationOutcome.CloseWithoutReply, NvmeTcpPduValidator.Validate(b.AsSpan(0, 8), Controller).Outcome);
    }

    [Fact]
    public void R2t_with_zero_length_is_rejected()
    {
        byte[] b = new byte[64];
        int n = NvmeTcpPduWriter.WriteR2T(b, new R2TPdu(1, 1, 0, 0), false);
        AssertFatal(NvmeTcpPduValidator.Validate(b.AsSpan(0, n), Host), NvmeTcpFatalErrorStatus.InvalidPduHeaderField, 16);
    }
}
