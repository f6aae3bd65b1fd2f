using System.Buffers.Binary;
using System.Text;

namespace NvmePS.Engine.Fabrics;

/// <summary>TRTYPE, transport type (NVMe over Fabrics 1.1 Figure 38; Linux enum nvmf_trtype).</summary>
public enum TransportType : byte
{
    Rdma = 1,
    FibreChannel = 2,
    Tcp = 3,
    IntraHost = 0xFE,
}

/// <summary>ADRFAM, address family (NVMe over Fabrics 1.1 Figure 38).</summary>
public enum AddressFamily : byte
{
    IPv4 = 1,
    IPv6 = 2,
    InfiniBand = 3,
    FibreChannel = 4,
    IntraHost = 0xFE,
}

/// <summary>SUBTYPE, subsystem type of a discovery log entry.</summary>
public enum DiscoverySubsystemType : byte
{
    /// <summary>A referral to another discovery subsystem.</summary>
    Referral = 1,
    /// <summary>An NVM subsystem.</summary>
    Nvm = 2,
    /// <summary>The discovery subsystem the log came from (NVMe-oF 1.1 TP 8013).</summary>
    CurrentDiscovery = 3,
}

/// <summary>TSAS SECTYPE for TCP (TCP Transport 1.0 §4.1): byte 0 of TSAS.</summary>
public enum TcpSecurityType : byte
{
    None = 0,
    Tls12 = 1,
    Tls13 = 2,
}

/// <summary>One 1024-byte Discovery Log Page Entry (NVMe over Fabrics 1.1 §5.3 Figure 38; Linux struct nvmf_disc_rsp_page_entry).
/// TRTYPE 0, ADRFAM 1, SUBTYPE 2, TREQ 3, PORTID 4..5, CNTLID 6..7, ASQSZ 8..9, EFLAGS 10..11, TRSVCID 32..63,
/// SUBNQN 256..511, TRADDR 512..767, TSAS 768..1023.</summary>
public sealed record DiscoveryLogEntry(
    TransportType Trtype,
    AddressFamily Adrfam,
    DiscoverySubsystemType Subtype,
    byte Treq,
    ushort PortId,
    ushort Cntlid,
    ushort Asqsz,
    string Trsvcid,
    string SubNqn,
    string Traddr,
    ushort Eflags = 0,
    TcpSecurityType SecType = TcpSecurityType.None)
{
    public const int Size = 1024;
    public const int TrtypeOffset = 0;
    public const int AdrfamOffset = 1;
    public const int SubtypeOffset = 2;
    public const int TreqOffset = 3;
    public const int PortIdOffset = 4;
    public const int CntlidOffset = 6;
    public const int AsqszOffset = 8;
    public const int EflagsOffset = 10;
    public const int TrsvcidOffset = 32;
    public const int TrsvcidSize = 32;
    public const int SubNqnOffset = 256;
    public const int TraddrOffset = 512;
    public const int TraddrSize = 256;
    public const int TsasOffset = 768;

    /// <summary>TREQ bits 1:0 = 10b: secure channel not required.</summary>
    public const byte TreqSecureChannelNotRequired = 0x02;
    /// <summary>TREQ bits 1:0 = 01b: secure channel required.</summary>
    public const byte TreqSecureChannelRequired = 0x01;
    /// <summary>TREQ bit 2: the controller supports disabling SQ flow control.</summary>
    public const byte TreqSqFlowControlDisableSupported = 0x04;

    /// <summary>CNTLID FFFFh: dynamic controller model, any controller.</summary>
    public const ushort DynamicCntlid = 0xFFFF;

    public void WriteTo(Span<byte> destination)
    {
        destination = destination[..Size];
        destination.Clear();
        destination[TrtypeOffset] = (byte)Trtype;
        destination[AdrfamOffset] = (byte)Adrfam;
        destination[SubtypeOffset] = (byte)Subtype;
        destination[TreqOffset] = Treq;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[PortIdOffset..], PortId);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[CntlidOffset..], Cntlid);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[AsqszOffset..], Asqsz);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[EflagsOffset..], Eflags);
        WriteAscii(Trsvcid, destination.Slice(TrsvcidOffset, TrsvcidSize), nameof(Trsvcid));
        Nqn.Write(SubNqn, destination.Slice(SubNqnOffset, 256));
        WriteAscii(Traddr, destination.Slice(TraddrOffset, TraddrSize), nameof(Traddr));
        destination[TsasOffset] = (byte)SecType;
    }

    /// <summary>Decodes one entry; false when shorter than 1024 bytes or SUBNQN lacks its NUL.</summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out DiscoveryLogEntry? entry)
    {
        entry = null;
        if (source.Length < Size || !Nqn.TryRead(source.Slice(SubNqnOffset, 256), out string? subnqn, out _))
        {
            return false;
        }

        entry = new DiscoveryLogEntry(
            (TransportType)source[TrtypeOffset],
            (AddressFamily)source[AdrfamOffset],
            (DiscoverySubsystemType)source[SubtypeOffset],
            source[TreqOffset],
            BinaryPrimitives.ReadUInt16LittleEndian(source[PortIdOffset..]),
            BinaryPrimitives.ReadUInt16LittleEndian(source[CntlidOffset..]),
            BinaryPrimitives.ReadUInt16LittleEndian(source[AsqszOffset..]),
            ReadAscii(source.Slice(TrsvcidOffset, TrsvcidSize)),
            subnqn!,
            ReadAscii(source.Slice(TraddrOffset, TraddrSize)),
            BinaryPrimitives.ReadUInt16LittleEndian(source[EflagsOffset..]),
            (TcpSecurityType)source[TsasOffset]);
        return true;
    }

    // TRSVCID/TRADDR are ASCII; written NUL-padded (as Linux's nvmet does), read trimming NULs and space padding.
    private static void WriteAscii(string value, Span<byte> field, string name)
    {
        if (value.Length > field.Length || !Ascii.IsValid(value))
        {
            throw new ArgumentException($"{name} must be ASCII and at most {field.Length} characters.", name);
        }

        Encoding.ASCII.GetBytes(value, field);
    }

    private static string ReadAscii(ReadOnlySpan<byte> field)
    {
        int nul = field.IndexOf((byte)0);
        if (nul >= 0)
        {
            field = field[..nul];
        }

        return Encoding.ASCII.GetString(field).TrimEnd(' ');
    }
}

/// <summary>The Discovery Log Page, log identifier 70h (NVMe over Fabrics 1.1 §5.3 Figure 37): a 1024-byte header with
/// GENCTR 0..7, NUMREC 8..15, RECFMT 16..17, then NUMREC 1024-byte entries.</summary>
public sealed record DiscoveryLog(ulong GenerationCounter, ulong NumberOfRecords, ushort RecordFormat, IReadOnlyList<DiscoveryLogEntry> Entries)
{
    /// <summary>Log identifier of the Discovery log page.</summary>
    public const byte LogId = 0x70;
    public const int HeaderSize = 1024;
    public const int GenctrOffset = 0;
    public const int NumrecOffset = 8;
    public const int RecfmtOffset = 16;

    /// <summary>Total bytes of a log with <paramref name="records"/> entries.</summary>
    public static long SizeFor(ulong records) => HeaderSize + (long)Math.Min(records, 1UL << 40) * DiscoveryLogEntry.Size;

    /// <summary>Writes the header alone (GENCTR, NUMREC, RECFMT).</summary>
    public static void WriteHeader(Span<byte> destination, ulong genctr, ulong numrec, ushort recfmt = 0)
    {
        destination[..HeaderSize].Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(destination[GenctrOffset..], genctr);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[NumrecOffset..], numrec);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[RecfmtOffset..], recfmt);
    }

    /// <summary>Reads the header; false when shorter than the 18 bytes that carry its fields.</summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> source, out ulong genctr, out ulong numrec, out ushort recfmt)
    {
        if (source.Length < RecfmtOffset + 2)
        {
            genctr = numrec = recfmt = 0;
            return false;
        }

        genctr = BinaryPrimitives.ReadUInt64LittleEndian(source[GenctrOffset..]);
        numrec = BinaryPrimitives.ReadUInt64LittleEndian(source[NumrecOffset..]);
        recfmt = BinaryPrimitives.ReadUInt16LittleEndian(source[RecfmtOffset..]);
        return true;
    }

    /// <summary>The whole log page as bytes.</summary>
    public byte[] ToArray()
    {
        byte[] b = new byte[HeaderSize + (Entries.Count * DiscoveryLogEntry.Size)];
        WriteHeader(b, GenerationCounter, NumberOfRecords, RecordFormat);
        for (int i = 0; i < Entries.Count; i++)
        {
            Entries[i].WriteTo(b.AsSpan(HeaderSize + (i * DiscoveryLogEntry.Size)));
        }

        return b;
    }

    /// <summary>Builds a log whose NUMREC is the entry count.</summary>
    public static DiscoveryLog Create(ulong genctr, IReadOnlyList<DiscoveryLogEntry> entries) => new(genctr, (ulong)entries.Count, 0, entries);

    /// <summary>Decodes a log page. Entries beyond <paramref name="source"/> are not invented: the list holds at most
    /// what the bytes contain (NUMREC may be larger when the caller fetched only part of the log).</summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out DiscoveryLog? log)
    {
        log = null;
        if (source.Length < HeaderSize || !TryReadHeader(source, out ulong genctr, out ulong numrec, out ushort recfmt))
        {
            return false;
        }

        long available = (source.Length - HeaderSize) / DiscoveryLogEntry.Size;
        int count = (int)Math.Min((ulong)available, numrec);
        var entries = new List<DiscoveryLogEntry>(count);
        for (int i = 0; i < count; i++)
        {
            if (!DiscoveryLogEntry.TryRead(source.Slice(HeaderSize + (i * DiscoveryLogEntry.Size), DiscoveryLogEntry.Size), out var e))
            {
                return false;
            }

            entries.Add(e!);
        }

        log = new DiscoveryLog(genctr, numrec, recfmt, entries);
        return true;
    }
}
