using System.Buffers.Binary;

namespace NvmePS.Engine.Fabrics.Tcp;

/// <summary>What the receiver knows when it checks a PDU: its role, what was negotiated and how much data it accepts.</summary>
/// <param name="IsController">True on the controller side (it receives host→controller PDUs, even PDU-TYPE values).</param>
/// <param name="Initialized">False until the ICReq/ICResp exchange completed: only ICReq (controller) or ICResp (host) is expected.</param>
/// <param name="HeaderDigest">Header digests negotiated.</param>
/// <param name="DataDigest">Data digests negotiated.</param>
/// <param name="RxPdaBytes">Alignment of data in received PDUs, (CPDA + 1) × 4 on the controller, (HPDA + 1) × 4 on the host.</param>
/// <param name="MaxInCapsuleData">Largest in-capsule data a CapsuleCmd may carry (controller).</param>
/// <param name="MaxH2CData">MAXH2CDATA: largest data of one H2CData PDU (controller).</param>
/// <param name="MaxC2HData">Largest data of one C2HData PDU the host accepts (host).</param>
public readonly record struct NvmeTcpReceiveLimits(
    bool IsController,
    bool Initialized,
    bool HeaderDigest,
    bool DataDigest,
    int RxPdaBytes,
    int MaxInCapsuleData,
    int MaxH2CData,
    int MaxC2HData);

/// <summary>The verdict of <see cref="NvmeTcpPduValidator.Validate"/>.</summary>
public enum NvmeTcpValidationOutcome
{
    /// <summary>Header valid; <see cref="NvmeTcpPduCheck.Layout"/> says where the data is.</summary>
    Valid,
    /// <summary>The common header is valid so far; pass <see cref="NvmeTcpPduCheck.HeaderBytesNeeded"/> bytes to finish.</summary>
    NeedMoreHeader,
    /// <summary>Protocol violation: send a termination request with FES and FEI, then close.</summary>
    Fatal,
    /// <summary>A malformed termination request: close without replying (NVMe-oF 1.1 §7.4.7).</summary>
    CloseWithoutReply,
}

/// <summary>Result of validating a PDU header.</summary>
public readonly record struct NvmeTcpPduCheck(
    NvmeTcpValidationOutcome Outcome,
    NvmeTcpCommonHeader Header,
    NvmeTcpPduLayout Layout,
    int HeaderBytesNeeded,
    NvmeTcpFatalErrorStatus Fes,
    int FieldOffset,
    string? Reason)
{
    public bool IsValid => Outcome == NvmeTcpValidationOutcome.Valid;

    /// <summary>FEI for the termination request: the field offset for FES 01h/06h, otherwise 0 (reserved).</summary>
    public uint Fei => TermReqPdu.FeiIsFieldOffset(Fes) ? (uint)FieldOffset : 0;

    /// <summary>Bytes of the offending PDU to copy into the termination request: HLEN (plus the header digest when it
    /// was the digest that failed) when HLEN is plausible, else the 8-byte common header; at most 128.</summary>
    public int ErrorDataLength
    {
        get
        {
            int hlen = Header.Hlen;
            if (hlen < NvmeTcpCommonHeader.Size || hlen > Header.Plen)
            {
                return NvmeTcpCommonHeader.Size;
            }

            if (Fes == NvmeTcpFatalErrorStatus.HeaderDigestError)
            {
                hlen += NvmeTcpCommonHeader.DigestSize;
            }

            return Math.Min(hlen, TermReqPdu.MaxErrorData);
        }
    }

    public NvmeProtocolException ToException(string who) =>
        new($"{who}: {Reason} (FES {(int)Fes:X2}h, field offset {FieldOffset})", (byte)Fes, (uint)FieldOffset);
}

/// <summary>
/// The one PDU header validator both roles use. It checks the common header, then the PDU-specific header, in the order
/// of the layout (NVMe-oF 1.1 §7.4.7: errors are reported for the lowest incorrect field first), and never trusts PLEN:
/// data length is checked against the negotiated limits before the caller allocates anything. Reference for facts:
/// FreeBSD sys/dev/nvmf/nvmf_tcp.h nvmf_tcp_validate_pdu_header.
/// </summary>
public static class NvmeTcpPduValidator
{
    /// <summary>Validates as much as <paramref name="header"/> allows: with only the 8-byte common header, everything that
    /// depends on it (type, flags, HLEN, PDO, PLEN and limits); with HLEN (+ header digest) bytes, also the header digest
    /// and the PDU-specific fields.</summary>
    public static NvmeTcpPduCheck Validate(ReadOnlySpan<byte> header, in NvmeTcpReceiveLimits limits)
    {
        if (!NvmeTcpCommonHeader.TryRead(header, out var ch))
        {
            return new NvmeTcpPduCheck(NvmeTcpValidationOutcome.NeedMoreHeader, default, default, NvmeTcpCommonHeader.Size, 0, 0, null);
        }

        var type = ch.PduType;
        byte t = (byte)type;

        // PDU-TYPE: direction, then known type, then the connection's phase.
        bool h2c = (t & 1) == 0;
        if (h2c != limits.IsController)
        {
            return Fatal(ch, NvmeTcpFatalErrorStatus.InvalidPduHeaderField, NvmeTcpCommonHeader.PduTypeOffset, $"PDU type {t:X2}h travels the wrong direction");
        }

        int expectedHlen = NvmeTcpCommonHeader.HeaderLengthOf(type);
        if (expectedHlen == 0)
        {
            return Fatal(ch, NvmeTcpFatalErrorStatus.InvalidPduHeaderField, NvmeTcpCommonHeader.PduTypeOffset, $"unknown PDU type {t:X2}h");
        }

        bool isTermReq = type is NvmeTcpPduType.H2CTermReq or NvmeTcpPduType.C2HTermReq;
        bool isIc = type is NvmeTcpPduType.ICReq or NvmeTcpPduType.ICResp;
        if (!isTermReq && isIc == limits.Initialized)
        {
            return Fatal(ch, NvmeTcpFatalErrorStatus.PduSequenceError, NvmeTcpCommonHeader.PduTypeOffset,
                isIc ? $"{type} after connection initialization" : $"{type} before connection initialization");
        }

        if (isTermReq)
        {
            // A bad termination request is not answered; the peer is leaving anyway.
            if (ch.Plen < TermReqPdu.HeaderLength || ch.Plen > TermReqPdu.MaxPduSize || ch.Hlen != TermReqPdu.HeaderLength || ch.Pdo != 0 || ch.Flags != 0)
            {
                return new NvmeTcpPduCheck(NvmeTcpValidationOutcome.CloseWithoutReply, ch, default, 0, 0, 0, "malformed termination request");
            }

            var termLayout = new NvmeTcpPduLayout(TermReqPdu.HeaderLength, TermReqPdu.HeaderLength, 0, (int)ch.Plen - TermReqPdu.HeaderLength, false, false);
            return header.Length < TermReqPdu.HeaderLength
                ? new NvmeTcpPduCheck(NvmeTcpValidationOutcome.NeedMoreHeader, ch, termLayout, TermReqPdu.HeaderLength, 0, 0, null)
                : new NvmeTcpPduCheck(NvmeTcpValidationOutcome.Valid, ch, termLayout, TermReqPdu.HeaderLength, 0, 0, null);
        }

        // FLAGS.
        var validFlags = type switch
        {
            NvmeTcpPduType.CapsuleCmd => NvmeTcpPduFlags.HeaderDigest | NvmeTcpPduFlags.DataDigest,
            NvmeTcpPduType.CapsuleResp or NvmeTcpPduType.R2T => NvmeTcpPduFlags.HeaderDigest,
            NvmeTcpPduType.H2CData => NvmeTcpPduFlags.HeaderDigest | NvmeTcpPduFlags.DataDigest | NvmeTcpPduFlags.LastPdu,
            NvmeTcpPduType.C2HData => NvmeTcpPduFlags.HeaderDigest | NvmeTcpPduFlags.DataDigest | NvmeTcpPduFlags.LastPdu | NvmeTcpPduFlags.Success,
            _ => NvmeTcpPduFlags.None,
        };
        if ((ch.Flags & ~validFlags) != 0)
        {
            return Fatal(ch, NvmeTcpFatalErrorStatus.InvalidPduHeaderField, NvmeTcpCommonHeader.FlagsOffset, $"flags {(byte)ch.Flags:X2}h not valid for {type}");
        }

        bool hdgst = (ch.Flags & NvmeTcpPduFlags.HeaderDigest) != 0;
        bool ddgst = (ch.Flags & NvmeTcpPduFlags.DataDigest) != 0;
        if (!isIc && hdgst != limits.HeaderDigest)
        {
            return Fatal(ch, NvmeTcpFatalErrorStatus.InvalidPduHeaderField, NvmeTcpCommonHeader.FlagsOffset,
                limits.HeaderDigest ? "header digest missing" : "header digest present but not negotiated");
        }

        if (ddgst && !limits.DataDigest)
        {
            return Fatal(ch, NvmeTcpFatalErrorStatus.InvalidPduHeaderField, NvmeTcpCommonHeader.FlagsOffset, "data digest present but not negotiated");
        }

        int fullHlen = expectedHlen + (hdgst ? NvmeTcpCommonHeader.DigestSize : 0);
        bool carriesData = type is NvmeTcpPduType.CapsuleCmd or NvmeTcpPduType.H2CData or NvmeTcpPduType.C2HData;
        if (carriesData && limits.DataDigest && !ddgst && ch.Plen > (uint)fullHlen)
        {
            return Fatal(ch, NvmeTcpFatalErrorStatus.InvalidPduHeaderField, NvmeTcpCommonHeader.FlagsOffset, "data digest missing");
        }

        if (type == NvmeTcpPduType.C2HData && (ch.Flags & (NvmeTcpPduFlags.Success | NvmeTcpPduFlags.LastPdu)) == NvmeTcpPduFlags.Success)
        {
            return Fatal(ch, NvmeTcpFatalErrorStatus.InvalidPduHeaderField, NvmeTcpCommonHeader.FlagsOffset, "SUCCESS without LAST_PDU");
        }

        // HLEN.
        if (ch.Hlen != expectedHlen)
        {
            return Fatal(ch, NvmeTcpFatalErrorStatus.InvalidPduHeaderField, NvmeTcpCommonHeader.HlenOffset, $"HLEN {ch.Hlen} for {type}, expected {expectedHlen}");
        }

        // PDO.
        // A data-carrying PDU type without data has PDO 0 (or PDO = PLEN); PLEN itself is judged below.
        bool hasData = carriesData && ch.Plen > (uint)fullHlen;
        if (!hasData)
        {
            if (ch.Pdo != 0 && !(carriesData && ch.Pdo == ch.Plen))
            {
                return Fatal(ch, NvmeTcpFatalErrorStatus.InvalidPduHeaderField, NvmeTcpCommonHeader.PdoOffset, $"PDO {ch.Pdo} for a PDU without data");
            }
        }
        else if (ch.Pdo < fullHlen || ch.Pdo >= ch.Plen || ch.Pdo % limits.RxPdaBytes != 0)
        {
            // PDO = PLEN with PLEN past the header would be padding with no data after it (found by the tcp-pdu fuzz
            // target): the PDU would not be what its layout says.
            return Fatal(ch, NvmeTcpFatalErrorStatus.InvalidPduHeaderField, NvmeTcpCommonHeader.PdoOffset,
                $"PDO {ch.Pdo} outside header end {fullHlen}..PLEN {ch.Plen} - 1 or not a multiple of {limits.RxPdaBytes}");
        }

        // PLEN.
        if (ch.Plen < ch.Hlen)
        {
            return Fatal(ch, NvmeTcpFatalErrorStatus.InvalidPduHeaderField, NvmeTcpCommonHeader.PlenOffset, $"PLEN {ch.Plen} below HLEN {ch.Hlen}");
        }

        if (!carriesData && ch.Plen != (uint)fullHlen)
        {
            return Fatal(ch, NvmeTcpFatalErrorStatus.InvalidPduHeaderField, NvmeTcpCommonHeader.PlenOffset, $"PLEN {ch.Plen} for {type}, expected {fullHlen}");
        }

        int dataLength = 0;
        if (hasData)
        {
            long raw = ch.Plen - (long)ch.Pdo;
            if (ddgst && raw <= NvmeTcpCommonHeader.DigestSize)
            {
                return Fatal(ch, NvmeTcpFatalErrorStatus.InvalidPduHeaderField, NvmeTcpCommonHeader.PlenOffset, "PLEN too short for the data digest");
            }

            long data = raw - (ddgst ? NvmeTcpCommonHeader.DigestSize : 0);
            long max = type switch
            {
                NvmeTcpPduType.CapsuleCmd => limits.MaxInCapsuleData,
                NvmeTcpPduType.H2CData => limits.MaxH2CData,
                _ => limits.MaxC2HData,
            };
            if (data > max)
            {
                return Fatal(ch, NvmeTcpFatalErrorStatus.DataTransferLimitExceeded, NvmeTcpCommonHeader.PlenOffset, $"{type} carries {data} data bytes; the limit is {max}");
            }

            dataLength = (int)data;
        }
        else if (ddgst)
        {
            return Fatal(ch, NvmeTcpFatalErrorStatus.InvalidPduHeaderField, NvmeTcpCommonHeader.PlenOffset, "PLEN too short for the data digest");
        }

        var layout = new NvmeTcpPduLayout(expectedHlen, hasData ? ch.Pdo : 0, hasData ? ch.Pdo - fullHlen : 0, dataLength, hdgst, ddgst);
        if (header.Length < fullHlen)
        {
            return new NvmeTcpPduCheck(NvmeTcpValidationOutcome.NeedMoreHeader, ch, layout, fullHlen, 0, 0, null);
        }

        // HDGST.
        if (hdgst)
        {
            uint expected = Crc32C.Compute(header[..expectedHlen]);
            uint received = BinaryPrimitives.ReadUInt32LittleEndian(header[expectedHlen..]);
            if (expected != received)
            {
                return Fatal(ch, NvmeTcpFatalErrorStatus.HeaderDigestError, expectedHlen, $"header digest {received:X8}h, computed {expected:X8}h");
            }
        }

        // PDU-specific header fields.
        switch (type)
        {
            case NvmeTcpPduType.ICReq:
            case NvmeTcpPduType.ICResp:
                {
                    if (BinaryPrimitives.ReadUInt16LittleEndian(header[IcReqPdu.PfvOffset..]) != 0)
                    {
                        return Fatal(ch, NvmeTcpFatalErrorStatus.UnsupportedParameter, IcReqPdu.PfvOffset, "PFV is not 0");
                    }

                    if (header[IcReqPdu.HpdaOffset] > IcReqPdu.MaxPda)
                    {
                        return Fatal(ch, NvmeTcpFatalErrorStatus.InvalidPduHeaderField, IcReqPdu.HpdaOffset, $"{(type == NvmeTcpPduType.ICReq ? "HPDA" : "CPDA")} {header[IcReqPdu.HpdaOffset]} above 31");
                    }

                    if ((header[IcReqPdu.DgstOffset] & 0xFC) != 0)
                    {
                        return Fatal(ch, NvmeTcpFatalErrorStatus.InvalidPduHeaderField, IcReqPdu.DgstOffset, "reserved DGST bits set");
                    }

                    if (type == NvmeTcpPduType.ICResp)
                    {
                        uint maxh2c = BinaryPrimitives.ReadUInt32LittleEndian(header[IcRespPdu.Maxh2cdataOffset..]);
                        if (maxh2c < IcRespPdu.MinMaxh2cdata || maxh2c % 4 != 0)
                        {
                            return Fatal(ch, NvmeTcpFatalErrorStatus.InvalidPduHeaderField, IcRespPdu.Maxh2cdataOffset, $"MAXH2CDATA {maxh2c} is below 4096 or not a multiple of 4");
                        }
                    }

                    break;
                }

            case NvmeTcpPduType.H2CData:
            case NvmeTcpPduType.C2HData:
                {
                    uint datal = BinaryPrimitives.ReadUInt32LittleEndian(header[H2CDataPdu.DatalOffset..]);
                    if (datal == 0 || datal != (uint)dataLength)
                    {
                        return Fatal(ch, NvmeTcpFatalErrorStatus.InvalidPduHeaderField, H2CDataPdu.DatalOffset, $"DATAL {datal} but the PDU carries {dataLength} data bytes");
                    }

                    break;
                }

            case NvmeTcpPduType.R2T:
                if (BinaryPrimitives.ReadUInt32LittleEndian(header[R2TPdu.R2tlOffset..]) == 0)
                {
                    return Fatal(ch, NvmeTcpFatalErrorStatus.InvalidPduHeaderField, R2TPdu.R2tlOffset, "R2TL is 0");
                }

                break;
        }

        return new NvmeTcpPduCheck(NvmeTcpValidationOutcome.Valid, ch, layout, fullHlen, 0, 0, null);
    }

    private static NvmeTcpPduCheck Fatal(in NvmeTcpCommonHeader ch, NvmeTcpFatalErrorStatus fes, int offset, string reason) =>
        new(NvmeTcpValidationOutcome.Fatal, ch, default, 0, fes, offset, reason);
}
