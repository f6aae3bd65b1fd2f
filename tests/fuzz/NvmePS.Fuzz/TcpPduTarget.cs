using NvmePS.Engine.Fabrics.Tcp;

namespace NvmePS.Fuzz;

/// <summary>The NVMe/TCP PDU validator and the PDU records, in both roles: byte 0 picks the role and what was
/// negotiated, the rest is a stream of PDUs walked as the queue pair walks it (header, validator, record, skip the
/// data). Invariants: a PDU the validator passes fits its PLEN exactly, its data is within the negotiated limit (the
/// receiver allocates from it) and its record reads; a fatal verdict names a field inside the header.</summary>
public sealed class TcpPduTarget : FuzzTarget
{
    public const string TargetName = "tcp-pdu";

    public const string Summary = "NVMe/TCP PDU validator and PDU records, host and controller roles";

    public const int MaxInputLength = 65536;

    public const int MaxInCapsuleData = 8192;
    public const int MaxH2CData = 16384;
    public const int MaxC2HData = 65536;

    /// <summary>Byte 0 of an input: bit 0 controller role, bit 1 initialized, bit 2 header digest, bit 3 data digest,
    /// bits 4..6 the receiver's PDA (0's based dwords).</summary>
    public static byte Config(bool controller, bool initialized, bool headerDigest, bool dataDigest, int pda = 0) =>
        (byte)((controller ? 1 : 0) | (initialized ? 2 : 0) | (headerDigest ? 4 : 0) | (dataDigest ? 8 : 0) | ((pda & 7) << 4));

    public override void Run(ReadOnlySpan<byte> input)
    {
        if (input.Length < 1)
        {
            return;
        }

        byte cfg = input[0];
        var limits = new NvmeTcpReceiveLimits(
            IsController: (cfg & 1) != 0,
            Initialized: (cfg & 2) != 0,
            HeaderDigest: (cfg & 4) != 0,
            DataDigest: (cfg & 8) != 0,
            RxPdaBytes: NvmeTcpPduLayout.PdaToBytes((byte)((cfg >> 4) & 7)),
            MaxInCapsuleData: MaxInCapsuleData,
            MaxH2CData: MaxH2CData,
            MaxC2HData: MaxC2HData);
        var stream = input[1..];
        while (stream.Length >= NvmeTcpCommonHeader.Size)
        {
            var check = NvmeTcpPduValidator.Validate(stream[..NvmeTcpCommonHeader.Size], limits);
            if (check.Outcome == NvmeTcpValidationOutcome.NeedMoreHeader)
            {
                Check(check.HeaderBytesNeeded > NvmeTcpCommonHeader.Size && check.HeaderBytesNeeded <= 128 + NvmeTcpCommonHeader.DigestSize,
                    $"asked for {check.HeaderBytesNeeded} header bytes");
                if (stream.Length < check.HeaderBytesNeeded)
                {
                    return;
                }

                int needed = check.HeaderBytesNeeded;
                check = NvmeTcpPduValidator.Validate(stream[..needed], limits);
                Check(check.Outcome != NvmeTcpValidationOutcome.NeedMoreHeader || check.HeaderBytesNeeded > needed, "asked twice for the same header bytes");
                if (check.Outcome == NvmeTcpValidationOutcome.NeedMoreHeader)
                {
                    return;
                }
            }

            switch (check.Outcome)
            {
                case NvmeTcpValidationOutcome.Fatal:
                    Check(check.Reason is not null, "a fatal verdict without a reason");
                    Check(check.FieldOffset >= 0 && check.FieldOffset < 128 + NvmeTcpCommonHeader.DigestSize, $"field offset {check.FieldOffset} outside any header");
                    Check(check.ErrorDataLength is >= NvmeTcpCommonHeader.Size and <= TermReqPdu.MaxErrorData, $"error data length {check.ErrorDataLength}");
                    _ = check.Fei;
                    _ = check.ToException("fuzz").Message;
                    return;
                case NvmeTcpValidationOutcome.CloseWithoutReply:
                    return;
            }

            var layout = check.Layout;
            var header = check.Header;
            Check(layout.Plen == header.Plen || header.PduType is NvmeTcpPduType.H2CTermReq or NvmeTcpPduType.C2HTermReq,
                $"{header.PduType}: the layout's PLEN {layout.Plen} is not the header's {header.Plen}");
            int limit = header.PduType switch
            {
                NvmeTcpPduType.CapsuleCmd => MaxInCapsuleData,
                NvmeTcpPduType.H2CData => MaxH2CData,
                NvmeTcpPduType.C2HData => MaxC2HData,
                NvmeTcpPduType.H2CTermReq or NvmeTcpPduType.C2HTermReq => TermReqPdu.MaxErrorData,
                _ => 0,
            };
            Check(layout.DataLength >= 0 && layout.DataLength <= limit, $"{header.PduType} passed with {layout.DataLength} data bytes (limit {limit})");
            var h = stream[..Math.Min(check.HeaderBytesNeeded, stream.Length)];
            bool read = header.PduType switch
            {
                NvmeTcpPduType.ICReq => IcReqPdu.TryRead(h, out _),
                NvmeTcpPduType.ICResp => IcRespPdu.TryRead(h, out _),
                NvmeTcpPduType.H2CTermReq or NvmeTcpPduType.C2HTermReq => TermReqPdu.TryRead(h, out _),
                NvmeTcpPduType.CapsuleCmd => CapsuleCmdPdu.TryRead(h, out _),
                NvmeTcpPduType.CapsuleResp => CapsuleRespPdu.TryRead(h, out _),
                NvmeTcpPduType.H2CData => H2CDataPdu.TryRead(h, out _),
                NvmeTcpPduType.C2HData => C2HDataPdu.TryRead(h, out _),
                NvmeTcpPduType.R2T => R2TPdu.TryRead(h, out _),
                _ => false,
            };
            Check(read, $"the validator passed a {header.PduType} its record cannot read");
            if (header.PduType is NvmeTcpPduType.H2CTermReq or NvmeTcpPduType.C2HTermReq)
            {
                return;
            }

            if (header.PduType is NvmeTcpPduType.ICReq or NvmeTcpPduType.ICResp)
            {
                limits = limits with { Initialized = true };
            }

            stream = stream[Math.Min((int)header.Plen, stream.Length)..];
        }
    }
}
