using System.Buffers.Binary;

namespace NvmePS.Engine.Fabrics.Tcp;

/// <summary>The data-transfer fields of H2CData and C2HData (CCCID, TTAG, DATAO, DATAL; NVMe/TCP Transport 1.0 §3.6.2.8,
/// §3.6.2.9) and of R2T (R2TO and R2TL in the same places, §3.6.2.10). C2HData has no TTAG.</summary>
public readonly record struct NvmeTcpDataHeader(ushort Cccid, ushort Ttag, uint Offset, uint Length);

/// <summary>The header fields of one PDU to send; only those of <see cref="Type"/> are used.</summary>
public readonly record struct NvmeTcpPduHeader(NvmeTcpPduType Type, NvmeTcpPduFlags Flags, NvmeCommand Command, NvmeCompletion Completion, NvmeTcpDataHeader Data);

/// <summary>Writes whole PDUs (header, header digest, padding, data, data digest) into one span. Used for small PDUs
/// on the send path and by tests and scripted peers that need exact bytes (NVMe/TCP Transport 1.0 §3.6.1).</summary>
public static class NvmeTcpPduWriter
{
    /// <summary>Completes the prefix of a PDU whose HLEN header bytes are already at the start of <paramref name="destination"/>:
    /// writes the header digest and zero padding up to PDO. Returns the prefix length.</summary>
    public static int CompletePrefix(Span<byte> destination, in NvmeTcpPduLayout layout)
    {
        int at = layout.HeaderLength;
        if (layout.HeaderDigest)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(destination[at..], Crc32C.Compute(destination[..layout.HeaderLength]));
            at += NvmeTcpCommonHeader.DigestSize;
        }

        if (layout.Padding > 0)
        {
            destination.Slice(at, layout.Padding).Clear();
            at += layout.Padding;
        }

        return at;
    }

    /// <summary>Writes the header of <paramref name="header"/> (with the digest flags of <paramref name="layout"/>), its
    /// header digest and padding; returns the prefix length, where the data goes.</summary>
    public static int WriteHeader(Span<byte> destination, in NvmeTcpPduHeader header, in NvmeTcpPduLayout layout)
    {
        var flags = header.Flags | DigestFlags(layout);
        var d = header.Data;
        switch (header.Type)
        {
            case NvmeTcpPduType.CapsuleCmd:
                CapsuleCmdPdu.WriteHeader(destination, header.Command, flags, (byte)layout.Pdo, (uint)layout.Plen);
                break;
            case NvmeTcpPduType.CapsuleResp:
                CapsuleRespPdu.WriteHeader(destination, header.Completion, flags, (uint)layout.Plen);
                break;
            case NvmeTcpPduType.H2CData:
                new H2CDataPdu(d.Cccid, d.Ttag, d.Offset, d.Length).WriteHeader(destination, flags, (byte)layout.Pdo, (uint)layout.Plen);
                break;
            case NvmeTcpPduType.C2HData:
                new C2HDataPdu(d.Cccid, d.Offset, d.Length).WriteHeader(destination, flags, (byte)layout.Pdo, (uint)layout.Plen);
                break;
            case NvmeTcpPduType.R2T:
                new R2TPdu(d.Cccid, d.Ttag, d.Offset, d.Length).WriteHeader(destination, flags, (uint)layout.Plen);
                break;
            default:
                throw new ArgumentException($"{header.Type} PDUs are not written through NvmeTcpPduHeader.", nameof(header));
        }

        return CompletePrefix(destination, layout);
    }

    /// <summary>Writes a whole PDU (header, digests, padding, data); returns its length (PLEN).</summary>
    public static int WritePdu(Span<byte> destination, in NvmeTcpPduHeader header, in NvmeTcpPduLayout layout, ReadOnlySpan<byte> data) =>
        WriteData(destination, WriteHeader(destination, header, layout), layout, data);

    /// <summary>Flags for the digests a PDU of this layout carries.</summary>
    public static NvmeTcpPduFlags DigestFlags(in NvmeTcpPduLayout layout) =>
        (layout.HeaderDigest ? NvmeTcpPduFlags.HeaderDigest : 0) | (layout.DataLength > 0 && layout.DataDigest ? NvmeTcpPduFlags.DataDigest : 0);

    /// <summary>CapsuleCmd with optional in-capsule data.</summary>
    public static int WriteCapsuleCommand(Span<byte> destination, in NvmeCommand sqe, ReadOnlySpan<byte> data, bool headerDigest, bool dataDigest, int pdaBytes)
    {
        var layout = NvmeTcpPduLayout.Compute(CapsuleCmdPdu.HeaderLength, data.Length, headerDigest, dataDigest, pdaBytes);
        CapsuleCmdPdu.WriteHeader(destination, sqe, DigestFlags(layout), (byte)layout.Pdo, (uint)layout.Plen);
        return Finish(destination, layout, data);
    }

    /// <summary>CapsuleResp.</summary>
    public static int WriteCapsuleResponse(Span<byte> destination, in NvmeCompletion cqe, bool headerDigest)
    {
        var layout = NvmeTcpPduLayout.Compute(CapsuleRespPdu.HeaderLength, 0, headerDigest, false, 4);
        CapsuleRespPdu.WriteHeader(destination, cqe, DigestFlags(layout), (uint)layout.Plen);
        return Finish(destination, layout, default);
    }

    /// <summary>H2CData. DATAL is written as given in <paramref name="pdu"/> (so a test can make it disagree with the data).</summary>
    public static int WriteH2CData(Span<byte> destination, in H2CDataPdu pdu, ReadOnlySpan<byte> data, bool last, bool headerDigest, bool dataDigest, int pdaBytes)
    {
        var layout = NvmeTcpPduLayout.Compute(H2CDataPdu.HeaderLength, data.Length, headerDigest, dataDigest, pdaBytes);
        pdu.WriteHeader(destination, DigestFlags(layout) | (last ? NvmeTcpPduFlags.LastPdu : 0), (byte)layout.Pdo, (uint)layout.Plen);
        return Finish(destination, layout, data);
    }

    /// <summary>C2HData; <paramref name="success"/> requires <paramref name="last"/>.</summary>
    public static int WriteC2HData(Span<byte> destination, in C2HDataPdu pdu, ReadOnlySpan<byte> data, bool last, bool success, bool headerDigest, bool dataDigest, int pdaBytes)
    {
        var layout = NvmeTcpPduLayout.Compute(C2HDataPdu.HeaderLength, data.Length, headerDigest, dataDigest, pdaBytes);
        var flags = DigestFlags(layout) | (last ? NvmeTcpPduFlags.LastPdu : 0) | (success ? NvmeTcpPduFlags.Success : 0);
        pdu.WriteHeader(destination, flags, (byte)layout.Pdo, (uint)layout.Plen);
        return Finish(destination, layout, data);
    }

    /// <summary>R2T.</summary>
    public static int WriteR2T(Span<byte> destination, in R2TPdu pdu, bool headerDigest)
    {
        var layout = NvmeTcpPduLayout.Compute(R2TPdu.HeaderLength, 0, headerDigest, false, 4);
        pdu.WriteHeader(destination, DigestFlags(layout), (uint)layout.Plen);
        return Finish(destination, layout, default);
    }

    private static int Finish(Span<byte> destination, in NvmeTcpPduLayout layout, ReadOnlySpan<byte> data) =>
        WriteData(destination, CompletePrefix(destination, layout), layout, data);

    /// <summary>Writes the data section at <paramref name="at"/> (the prefix length) and its digest; returns the end.</summary>
    private static int WriteData(Span<byte> destination, int at, in NvmeTcpPduLayout layout, ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return at;
        }

        data.CopyTo(destination[at..]);
        at += data.Length;
        if (layout.DataDigest)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(destination[at..], Crc32C.Compute(data));
            at += NvmeTcpCommonHeader.DigestSize;
        }

        return at;
    }
}
