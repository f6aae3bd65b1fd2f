using System.Buffers.Binary;

namespace NvmePS.Engine.Fabrics.Tcp;

/// <summary>PDU-TYPE (NVMe/TCP Transport 1.0 §3.6.1 Figure 13). Bit 0 is the direction: 0 host→controller, 1 controller→host.</summary>
public enum NvmeTcpPduType : byte
{
    ICReq = 0x00,
    ICResp = 0x01,
    H2CTermReq = 0x02,
    C2HTermReq = 0x03,
    CapsuleCmd = 0x04,
    CapsuleResp = 0x05,
    H2CData = 0x06,
    C2HData = 0x07,
    R2T = 0x09,
}

/// <summary>FLAGS of the common header (NVMe/TCP Transport 1.0 §3.6.1 Figure 14 and the data PDU definitions).</summary>
[Flags]
public enum NvmeTcpPduFlags : byte
{
    None = 0,
    /// <summary>HDGSTF: a header digest follows the PDU header.</summary>
    HeaderDigest = 0x01,
    /// <summary>DDGSTF: a data digest follows the PDU data.</summary>
    DataDigest = 0x02,
    /// <summary>LAST_PDU: the last data PDU of a data transfer (H2CData, C2HData).</summary>
    LastPdu = 0x04,
    /// <summary>SUCCESS: the command completed successfully; no CapsuleResp follows (C2HData only, with LAST_PDU).</summary>
    Success = 0x08,
}

/// <summary>FES, Fatal Error Status of a termination request (NVMe/TCP Transport 1.0 §3.6.2.4 Figure 24).</summary>
public enum NvmeTcpFatalErrorStatus : ushort
{
    InvalidPduHeaderField = 0x01,
    PduSequenceError = 0x02,
    HeaderDigestError = 0x03,
    DataTransferOutOfRange = 0x04,
    /// <summary>Data Transfer Limit Exceeded (formerly R2T Limit Exceeded).</summary>
    DataTransferLimitExceeded = 0x05,
    UnsupportedParameter = 0x06,
}

/// <summary>The 8-byte common header CH (NVMe/TCP Transport 1.0 §3.6.1): PDU-TYPE 0, FLAGS 1, HLEN 2, PDO 3, PLEN 4..7.</summary>
public readonly record struct NvmeTcpCommonHeader(NvmeTcpPduType PduType, NvmeTcpPduFlags Flags, byte Hlen, byte Pdo, uint Plen)
{
    public const int Size = 8;
    public const int PduTypeOffset = 0;
    public const int FlagsOffset = 1;
    public const int HlenOffset = 2;
    public const int PdoOffset = 3;
    public const int PlenOffset = 4;

    /// <summary>Length of a header or data digest.</summary>
    public const int DigestSize = 4;

    public static bool TryRead(ReadOnlySpan<byte> source, out NvmeTcpCommonHeader header)
    {
        if (source.Length < Size)
        {
            header = default;
            return false;
        }

        header = new NvmeTcpCommonHeader(
            (NvmeTcpPduType)source[PduTypeOffset], (NvmeTcpPduFlags)source[FlagsOffset], source[HlenOffset], source[PdoOffset],
            BinaryPrimitives.ReadUInt32LittleEndian(source[PlenOffset..]));
        return true;
    }

    public void Write(Span<byte> destination)
    {
        destination[PduTypeOffset] = (byte)PduType;
        destination[FlagsOffset] = (byte)Flags;
        destination[HlenOffset] = Hlen;
        destination[PdoOffset] = Pdo;
        BinaryPrimitives.WriteUInt32LittleEndian(destination[PlenOffset..], Plen);
    }

    /// <summary>The fixed HLEN of each PDU type, or 0 for an unknown type.</summary>
    public static int HeaderLengthOf(NvmeTcpPduType type) => type switch
    {
        NvmeTcpPduType.ICReq or NvmeTcpPduType.ICResp => 128,
        NvmeTcpPduType.CapsuleCmd => CapsuleCmdPdu.HeaderLength,
        NvmeTcpPduType.H2CTermReq or NvmeTcpPduType.C2HTermReq or NvmeTcpPduType.CapsuleResp
            or NvmeTcpPduType.H2CData or NvmeTcpPduType.C2HData or NvmeTcpPduType.R2T => 24,
        _ => 0,
    };
}

/// <summary>Where the parts of a PDU go: header, optional header digest, padding to PDO, data, optional data digest
/// (NVMe/TCP Transport 1.0 §3.6.1 Figure 12).</summary>
public readonly record struct NvmeTcpPduLayout(int HeaderLength, int Pdo, int Padding, int DataLength, bool HeaderDigest, bool DataDigest)
{
    /// <summary>HLEN plus the header digest when present.</summary>
    public int FullHeaderLength => HeaderLength + (HeaderDigest ? NvmeTcpCommonHeader.DigestSize : 0);

    /// <summary>PLEN: the whole PDU.</summary>
    public int Plen => DataLength == 0
        ? FullHeaderLength
        : Pdo + DataLength + (DataDigest ? NvmeTcpCommonHeader.DigestSize : 0);

    /// <summary>Bytes from the start of the PDU to the start of the data (header, digest and padding).</summary>
    public int PrefixLength => DataLength == 0 ? FullHeaderLength : Pdo;

    /// <summary>Lays out a PDU. <paramref name="pdaBytes"/> is the receiver's data alignment, (xPDA + 1) × 4.
    /// PDUs without data have PDO 0 and never carry a data digest.</summary>
    public static NvmeTcpPduLayout Compute(int hlen, int dataLength, bool headerDigest, bool dataDigest, int pdaBytes)
    {
        int full = hlen + (headerDigest ? NvmeTcpCommonHeader.DigestSize : 0);
        if (dataLength == 0)
        {
            return new NvmeTcpPduLayout(hlen, 0, 0, 0, headerDigest, false);
        }

        int pdo = (full + pdaBytes - 1) / pdaBytes * pdaBytes;
        return new NvmeTcpPduLayout(hlen, pdo, pdo - full, dataLength, headerDigest, dataDigest);
    }

    /// <summary>Converts HPDA/CPDA (0's based dwords, 0..31) to bytes.</summary>
    public static int PdaToBytes(byte pda) => (pda + 1) * 4;
}

/// <summary>ICReq, Initialize Connection Request (NVMe/TCP Transport 1.0 §3.6.2.2 Figure 19): PFV 8..9, HPDA 10,
/// DGST 11 (bit 0 HDGST_ENABLE, bit 1 DDGST_ENABLE), MAXR2T 12..15 (0's based), reserved 16..127.</summary>
public readonly record struct IcReqPdu(ushort Pfv, byte Hpda, bool HeaderDigest, bool DataDigest, uint Maxr2t)
{
    public const int Size = 128;
    public const int PfvOffset = 8;
    public const int HpdaOffset = 10;
    public const int DgstOffset = 11;
    public const int Maxr2tOffset = 12;

    /// <summary>Largest HPDA/CPDA value (0's based dwords: 128 bytes).</summary>
    public const byte MaxPda = 31;

    /// <summary>Writes the whole 128-byte PDU.</summary>
    public void Write(Span<byte> destination)
    {
        destination = destination[..Size];
        destination.Clear();
        new NvmeTcpCommonHeader(NvmeTcpPduType.ICReq, 0, Size, 0, Size).Write(destination);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[PfvOffset..], Pfv);
        destination[HpdaOffset] = Hpda;
        destination[DgstOffset] = (byte)((HeaderDigest ? 1 : 0) | (DataDigest ? 2 : 0));
        BinaryPrimitives.WriteUInt32LittleEndian(destination[Maxr2tOffset..], Maxr2t);
    }

    /// <summary>Reads the PDU-specific fields (the caller validates the header).</summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out IcReqPdu pdu)
    {
        if (source.Length < Size)
        {
            pdu = default;
            return false;
        }

        byte dgst = source[DgstOffset];
        pdu = new IcReqPdu(BinaryPrimitives.ReadUInt16LittleEndian(source[PfvOffset..]), source[HpdaOffset],
            (dgst & 1) != 0, (dgst & 2) != 0, BinaryPrimitives.ReadUInt32LittleEndian(source[Maxr2tOffset..]));
        return true;
    }
}

/// <summary>ICResp, Initialize Connection Response (NVMe/TCP Transport 1.0 §3.6.2.3 Figure 20): PFV 8..9, CPDA 10,
/// DGST 11, MAXH2CDATA 12..15, reserved 16..127.</summary>
public readonly record struct IcRespPdu(ushort Pfv, byte Cpda, bool HeaderDigest, bool DataDigest, uint Maxh2cdata)
{
    public const int Size = 128;
    public const int PfvOffset = 8;
    public const int CpdaOffset = 10;
    public const int DgstOffset = 11;
    public const int Maxh2cdataOffset = 12;

    /// <summary>Smallest MAXH2CDATA a controller may announce.</summary>
    public const uint MinMaxh2cdata = 4096;

    public void Write(Span<byte> destination)
    {
        destination = destination[..Size];
        destination.Clear();
        new NvmeTcpCommonHeader(NvmeTcpPduType.ICResp, 0, Size, 0, Size).Write(destination);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[PfvOffset..], Pfv);
        destination[CpdaOffset] = Cpda;
        destination[DgstOffset] = (byte)((HeaderDigest ? 1 : 0) | (DataDigest ? 2 : 0));
        BinaryPrimitives.WriteUInt32LittleEndian(destination[Maxh2cdataOffset..], Maxh2cdata);
    }

    public static bool TryRead(ReadOnlySpan<byte> source, out IcRespPdu pdu)
    {
        if (source.Length < Size)
        {
            pdu = default;
            return false;
        }

        byte dgst = source[DgstOffset];
        pdu = new IcRespPdu(BinaryPrimitives.ReadUInt16LittleEndian(source[PfvOffset..]), source[CpdaOffset],
            (dgst & 1) != 0, (dgst & 2) != 0, BinaryPrimitives.ReadUInt32LittleEndian(source[Maxh2cdataOffset..]));
        return true;
    }
}

/// <summary>H2CTermReq / C2HTermReq (NVMe/TCP Transport 1.0 §3.6.2.4/§3.6.2.5 Figures 23–25): FES 8..9, FEI 10..13,
/// reserved 14..23, then error data: the header of the PDU in error, at most 128 bytes (PLEN ≤ 152). Never digested.</summary>
public readonly record struct TermReqPdu(NvmeTcpFatalErrorStatus Fes, uint Fei)
{
    public const int HeaderLength = 24;
    public const int FesOffset = 8;
    public const int FeiOffset = 10;
    public const int MaxErrorData = 128;
    public const int MaxPduSize = HeaderLength + MaxErrorData;

    /// <summary>FEI carries the offset of the bad field only for these FES values; otherwise it is reserved (0).</summary>
    public static bool FeiIsFieldOffset(NvmeTcpFatalErrorStatus fes) =>
        fes is NvmeTcpFatalErrorStatus.InvalidPduHeaderField or NvmeTcpFatalErrorStatus.UnsupportedParameter;

    /// <summary>Writes a whole termination request; returns its length. <paramref name="offendingHeader"/> is truncated to 128 bytes.</summary>
    public static int Write(Span<byte> destination, bool fromController, NvmeTcpFatalErrorStatus fes, uint fei, ReadOnlySpan<byte> offendingHeader)
    {
        int n = Math.Min(offendingHeader.Length, MaxErrorData);
        int plen = HeaderLength + n;
        destination[..plen].Clear();
        new NvmeTcpCommonHeader(fromController ? NvmeTcpPduType.C2HTermReq : NvmeTcpPduType.H2CTermReq, 0, HeaderLength, 0, (uint)plen)
            .Write(destination);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[FesOffset..], (ushort)fes);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[FeiOffset..], fei);
        offendingHeader[..n].CopyTo(destination[HeaderLength..]);
        return plen;
    }

    public static bool TryRead(ReadOnlySpan<byte> source, out TermReqPdu pdu)
    {
        if (source.Length < HeaderLength)
        {
            pdu = default;
            return false;
        }

        pdu = new TermReqPdu((NvmeTcpFatalErrorStatus)BinaryPrimitives.ReadUInt16LittleEndian(source[FesOffset..]),
            BinaryPrimitives.ReadUInt32LittleEndian(source[FeiOffset..]));
        return true;
    }
}

/// <summary>CapsuleCmd (NVMe/TCP Transport 1.0 §3.6.2.6 Figure 26): the 64-byte SQE at bytes 8..71, then in-capsule data.</summary>
public static class CapsuleCmdPdu
{
    public const int HeaderLength = 72;
    public const int SqeOffset = 8;

    /// <summary>Writes CH + SQE (72 bytes).</summary>
    public static void WriteHeader(Span<byte> destination, in NvmeCommand sqe, NvmeTcpPduFlags flags, byte pdo, uint plen)
    {
        new NvmeTcpCommonHeader(NvmeTcpPduType.CapsuleCmd, flags, HeaderLength, pdo, plen).Write(destination);
        sqe.WriteTo(destination[SqeOffset..]);
    }

    public static bool TryRead(ReadOnlySpan<byte> source, out NvmeCommand sqe) =>
        NvmeCommand.TryRead(source.Length >= HeaderLength ? source[SqeOffset..HeaderLength] : ReadOnlySpan<byte>.Empty, out sqe);
}

/// <summary>CapsuleResp (NVMe/TCP Transport 1.0 §3.6.2.7 Figure 27): the 16-byte CQE at bytes 8..23.</summary>
public static class CapsuleRespPdu
{
    public const int HeaderLength = 24;
    public const int CqeOffset = 8;

    public static void WriteHeader(Span<byte> destination, in NvmeCompletion cqe, NvmeTcpPduFlags flags, uint plen)
    {
        new NvmeTcpCommonHeader(NvmeTcpPduType.CapsuleResp, flags, HeaderLength, 0, plen).Write(destination);
        cqe.WriteTo(destination[CqeOffset..]);
    }

    public static bool TryRead(ReadOnlySpan<byte> source, out NvmeCompletion cqe) =>
        NvmeCompletion.TryRead(source.Length >= HeaderLength ? source[CqeOffset..HeaderLength] : ReadOnlySpan<byte>.Empty, out cqe);
}

/// <summary>H2CData (NVMe/TCP Transport 1.0 §3.6.2.8 Figure 28): CCCID 8..9, TTAG 10..11, DATAO 12..15, DATAL 16..19, reserved 20..23.</summary>
public readonly record struct H2CDataPdu(ushort Cccid, ushort Ttag, uint Datao, uint Datal)
{
    public const int HeaderLength = 24;
    public const int CccidOffset = 8;
    public const int TtagOffset = 10;
    public const int DataoOffset = 12;
    public const int DatalOffset = 16;

    public void WriteHeader(Span<byte> destination, NvmeTcpPduFlags flags, byte pdo, uint plen)
    {
        destination[..HeaderLength].Clear();
        new NvmeTcpCommonHeader(NvmeTcpPduType.H2CData, flags, HeaderLength, pdo, plen).Write(destination);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[CccidOffset..], Cccid);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[TtagOffset..], Ttag);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[DataoOffset..], Datao);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[DatalOffset..], Datal);
    }

    public static bool TryRead(ReadOnlySpan<byte> source, out H2CDataPdu pdu)
    {
        if (source.Length < HeaderLength)
        {
            pdu = default;
            return false;
        }

        pdu = new H2CDataPdu(BinaryPrimitives.ReadUInt16LittleEndian(source[CccidOffset..]), BinaryPrimitives.ReadUInt16LittleEndian(source[TtagOffset..]),
            BinaryPrimitives.ReadUInt32LittleEndian(source[DataoOffset..]), BinaryPrimitives.ReadUInt32LittleEndian(source[DatalOffset..]));
        return true;
    }
}

/// <summary>C2HData (NVMe/TCP Transport 1.0 §3.6.2.9 Figure 29): CCCID 8..9, reserved 10..11, DATAO 12..15, DATAL 16..19, reserved 20..23.</summary>
public readonly record struct C2HDataPdu(ushort Cccid, uint Datao, uint Datal)
{
    public const int HeaderLength = 24;
    public const int CccidOffset = 8;
    public const int DataoOffset = 12;
    public const int DatalOffset = 16;

    public void WriteHeader(Span<byte> destination, NvmeTcpPduFlags flags, byte pdo, uint plen)
    {
        destination[..HeaderLength].Clear();
        new NvmeTcpCommonHeader(NvmeTcpPduType.C2HData, flags, HeaderLength, pdo, plen).Write(destination);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[CccidOffset..], Cccid);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[DataoOffset..], Datao);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[DatalOffset..], Datal);
    }

    public static bool TryRead(ReadOnlySpan<byte> source, out C2HDataPdu pdu)
    {
        if (source.Length < HeaderLength)
        {
            pdu = default;
            return false;
        }

        pdu = new C2HDataPdu(BinaryPrimitives.ReadUInt16LittleEndian(source[CccidOffset..]),
            BinaryPrimitives.ReadUInt32LittleEndian(source[DataoOffset..]), BinaryPrimitives.ReadUInt32LittleEndian(source[DatalOffset..]));
        return true;
    }
}

/// <summary>R2T, Ready to Transfer (NVMe/TCP Transport 1.0 §3.6.2.10 Figure 30): CCCID 8..9, TTAG 10..11, R2TO 12..15, R2TL 16..19, reserved 20..23.</summary>
public readonly record struct R2TPdu(ushort Cccid, ushort Ttag, uint R2to, uint R2tl)
{
    public const int HeaderLength = 24;
    public const int CccidOffset = 8;
    public const int TtagOffset = 10;
    public const int R2toOffset = 12;
    public const int R2tlOffset = 16;

    public void WriteHeader(Span<byte> destination, NvmeTcpPduFlags flags, uint plen)
    {
        destination[..HeaderLength].Clear();
        new NvmeTcpCommonHeader(NvmeTcpPduType.R2T, flags, HeaderLength, 0, plen).Write(destination);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[CccidOffset..], Cccid);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[TtagOffset..], Ttag);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[R2toOffset..], R2to);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[R2tlOffset..], R2tl);
    }

    public static bool TryRead(ReadOnlySpan<byte> source, out R2TPdu pdu)
    {
        if (source.Length < HeaderLength)
        {
            pdu = default;
            return false;
        }

        pdu = new R2TPdu(BinaryPrimitives.ReadUInt16LittleEndian(source[CccidOffset..]), BinaryPrimitives.ReadUInt16LittleEndian(source[TtagOffset..]),
            BinaryPrimitives.ReadUInt32LittleEndian(source[R2toOffset..]), BinaryPrimitives.ReadUInt32LittleEndian(source[R2tlOffset..]));
        return true;
    }
}
