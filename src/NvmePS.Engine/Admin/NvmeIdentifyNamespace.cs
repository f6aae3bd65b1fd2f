using System.Buffers.Binary;

namespace NvmePS.Engine.Admin;

/// <summary>LBA Format data structure (NVM Command Set Specification 1.0, §4.1.5.1 Figure 98), 4 bytes.</summary>
/// <param name="Ms">MS: metadata size in bytes.</param>
/// <param name="Lbads">LBADS: LBA data size as a power of two (9 = 512 bytes).</param>
/// <param name="Rp">RP: relative performance (0 best .. 3 degraded).</param>
public readonly record struct NvmeLbaFormat(ushort Ms, byte Lbads, byte Rp)
{
    public const int Size = 4;

    /// <summary>The LBA data size in bytes (0 when LBADS is below 9, which means "format not available").</summary>
    public int DataSize => Lbads is >= 9 and < 32 ? 1 << Lbads : 0;

    public static NvmeLbaFormat Read(ReadOnlySpan<byte> s) =>
        new(BinaryPrimitives.ReadUInt16LittleEndian(s), s[2], (byte)(s[3] & 0x3));

    public void Write(Span<byte> d)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(d, Ms);
        d[2] = Lbads;
        d[3] = (byte)(Rp & 0x3);
    }
}

/// <summary>
/// Identify Namespace data structure for the NVM command set, CNS 00h (NVM Command Set Specification 1.0,
/// §4.1.5.1 Figure 97), 4096 bytes; offsets agree with Linux's struct nvme_id_ns.
/// </summary>
public sealed class NvmeIdentifyNamespace
{
    public const int Size = 4096;

    public const int NszeOffset = 0;
    public const int NcapOffset = 8;
    public const int NuseOffset = 16;
    public const int NsfeatOffset = 24;
    public const int NlbafOffset = 25;
    public const int FlbasOffset = 26;
    public const int McOffset = 27;
    public const int DpcOffset = 28;
    public const int DpsOffset = 29;
    public const int NmicOffset = 30;
    public const int RescapOffset = 31;
    public const int FpiOffset = 32;
    public const int DlfeatOffset = 33;
    public const int NawunOffset = 34;
    public const int NawupfOffset = 36;
    public const int NacwuOffset = 38;
    public const int NabsnOffset = 40;
    public const int NaboOffset = 42;
    public const int NabspfOffset = 44;
    public const int NoiobOffset = 46;
    public const int NvmcapOffset = 48;
    public const int NpwgOffset = 64;
    public const int NpwaOffset = 66;
    public const int NpdgOffset = 68;
    public const int NpdaOffset = 70;
    public const int NowsOffset = 72;
    public const int MssrlOffset = 74;
    public const int MclOffset = 76;
    public const int MsrcOffset = 80;
    public const int AnagrpidOffset = 92;
    public const int NsattrOffset = 99;
    public const int NvmsetidOffset = 100;
    public const int EndgidOffset = 102;
    public const int NguidOffset = 104;
    public const int Eui64Offset = 120;
    public const int LbafOffset = 128;
    public const int MaxLbaFormats = 64;

    /// <summary>NSZE: namespace size in logical blocks.</summary>
    public ulong Nsze { get; set; }
    /// <summary>NCAP: namespace capacity in logical blocks.</summary>
    public ulong Ncap { get; set; }
    /// <summary>NUSE: namespace utilisation in logical blocks.</summary>
    public ulong Nuse { get; set; }
    /// <summary>NSFEAT: namespace features (bit 0 thin provisioning, bit 2 DULBE, ...).</summary>
    public byte Nsfeat { get; set; }
    /// <summary>NLBAF: number of LBA formats (0-based).</summary>
    public byte Nlbaf { get; set; }
    /// <summary>FLBAS: formatted LBA size (bits 3:0 format index low bits, bit 4 metadata at end of LBA, bits 6:5 index high bits).</summary>
    public byte Flbas { get; set; }
    public byte Mc { get; set; }
    public byte Dpc { get; set; }
    /// <summary>DPS: end-to-end data protection type settings.</summary>
    public byte Dps { get; set; }
    /// <summary>NMIC: namespace multi-path I/O and sharing capabilities (bit 0 shared).</summary>
    public byte Nmic { get; set; }
    public byte Rescap { get; set; }
    public byte Fpi { get; set; }
    /// <summary>DLFEAT: deallocate logical block features (bits 2:0 read value of deallocated blocks; 1 = zeroes).</summary>
    public byte Dlfeat { get; set; }
    public ushort Nawun { get; set; }
    public ushort Nawupf { get; set; }
    public ushort Nacwu { get; set; }
    public ushort Nabsn { get; set; }
    public ushort Nabo { get; set; }
    public ushort Nabspf { get; set; }
    public ushort Noiob { get; set; }
    /// <summary>NVMCAP: NVM capacity in bytes.</summary>
    public UInt128 Nvmcap { get; set; }
    public ushort Npwg { get; set; }
    public ushort Npwa { get; set; }
    public ushort Npdg { get; set; }
    public ushort Npda { get; set; }
    public ushort Nows { get; set; }
    /// <summary>MSSRL: maximum single source range length (Copy).</summary>
    public ushort Mssrl { get; set; }
    /// <summary>MCL: maximum copy length.</summary>
    public uint Mcl { get; set; }
    /// <summary>MSRC: maximum source range count (0-based).</summary>
    public byte Msrc { get; set; }
    public uint Anagrpid { get; set; }
    public byte Nsattr { get; set; }
    public ushort Nvmsetid { get; set; }
    public ushort Endgid { get; set; }
    /// <summary>NGUID: namespace globally unique identifier (16 bytes, zero when not given).</summary>
    public byte[] Nguid { get; set; } = new byte[16];
    /// <summary>EUI64: IEEE extended unique identifier (8 bytes).</summary>
    public byte[] Eui64 { get; set; } = new byte[8];
    /// <summary>LBAF0..LBAF(NLBAF): LBA formats.</summary>
    public NvmeLbaFormat[] Lbaf { get; set; } = [];

    /// <summary>FLBAS for LBA format <paramref name="index"/> (0-63): bits 3:0 the low part, bits 6:5 the high part.</summary>
    public static byte FlbasFor(int index) => (byte)((index & 0xF) | ((index >> 4) & 0x3) << 5);

    /// <summary>The whole LBA format index FLBAS names (as Namespace Management reads it; the inverse of <see cref="FlbasFor"/>).</summary>
    public static int FormatIndexOf(byte flbas) => (flbas & 0xF) | ((flbas >> 5) & 0x3) << 4;

    /// <summary>The index of the format in use (FLBAS bits 3:0 and, with more than 16 formats, bits 6:5).</summary>
    public int FormattedLbaIndex => (Flbas & 0xF) | (Nlbaf > 15 ? ((Flbas >> 5) & 0x3) << 4 : 0);

    /// <summary>The logical block size of the format in use (0 when the index is outside <see cref="Lbaf"/>).</summary>
    public int BlockSize => FormattedLbaIndex < Lbaf.Length ? Lbaf[FormattedLbaIndex].DataSize : 0;

    /// <summary>False for the zero-filled structure a controller returns for a valid but inactive NSID
    /// (NVM Express Base Specification 2.0, Identify CNS 00h for an inactive NSID).</summary>
    public bool IsActive => Nsze != 0 || Ncap != 0;

    /// <summary>NMIC bit 0: the namespace may be attached to two or more controllers at once.</summary>
    public bool IsShared => (Nmic & 1) != 0;

    public static bool TryRead(ReadOnlySpan<byte> s, out NvmeIdentifyNamespace value)
    {
        if (s.Length < Size)
        {
            value = null!;
            return false;
        }

        byte nlbaf = s[NlbafOffset];
        var lbaf = new NvmeLbaFormat[Math.Min(nlbaf + 1, MaxLbaFormats)];
        for (int i = 0; i < lbaf.Length; i++)
        {
            lbaf[i] = NvmeLbaFormat.Read(s[(LbafOffset + (i * NvmeLbaFormat.Size))..]);
        }

        value = new NvmeIdentifyNamespace
        {
            Nsze = BinaryPrimitives.ReadUInt64LittleEndian(s[NszeOffset..]),
            Ncap = BinaryPrimitives.ReadUInt64LittleEndian(s[NcapOffset..]),
            Nuse = BinaryPrimitives.ReadUInt64LittleEndian(s[NuseOffset..]),
            Nsfeat = s[NsfeatOffset],
            Nlbaf = nlbaf,
            Flbas = s[FlbasOffset],
            Mc = s[McOffset],
            Dpc = s[DpcOffset],
            Dps = s[DpsOffset],
            Nmic = s[NmicOffset],
            Rescap = s[RescapOffset],
            Fpi = s[FpiOffset],
            Dlfeat = s[DlfeatOffset],
            Nawun = BinaryPrimitives.ReadUInt16LittleEndian(s[NawunOffset..]),
            Nawupf = BinaryPrimitives.ReadUInt16LittleEndian(s[NawupfOffset..]),
            Nacwu = BinaryPrimitives.ReadUInt16LittleEndian(s[NacwuOffset..]),
            Nabsn = BinaryPrimitives.ReadUInt16LittleEndian(s[NabsnOffset..]),
            Nabo = BinaryPrimitives.ReadUInt16LittleEndian(s[NaboOffset..]),
            Nabspf = BinaryPrimitives.ReadUInt16LittleEndian(s[NabspfOffset..]),
            Noiob = BinaryPrimitives.ReadUInt16LittleEndian(s[NoiobOffset..]),
            Nvmcap = BinaryPrimitives.ReadUInt128LittleEndian(s[NvmcapOffset..]),
            Npwg = BinaryPrimitives.ReadUInt16LittleEndian(s[NpwgOffset..]),
            Npwa = BinaryPrimitives.ReadUInt16LittleEndian(s[NpwaOffset..]),
            Npdg = BinaryPrimitives.ReadUInt16LittleEndian(s[NpdgOffset..]),
            Npda = BinaryPrimitives.ReadUInt16LittleEndian(s[NpdaOffset..]),
            Nows = BinaryPrimitives.ReadUInt16LittleEndian(s[NowsOffset..]),
            Mssrl = BinaryPrimitives.ReadUInt16LittleEndian(s[MssrlOffset..]),
            Mcl = BinaryPrimitives.ReadUInt32LittleEndian(s[MclOffset..]),
            Msrc = s[MsrcOffset],
            Anagrpid = BinaryPrimitives.ReadUInt32LittleEndian(s[AnagrpidOffset..]),
            Nsattr = s[NsattrOffset],
            Nvmsetid = BinaryPrimitives.ReadUInt16LittleEndian(s[NvmsetidOffset..]),
            Endgid = BinaryPrimitives.ReadUInt16LittleEndian(s[EndgidOffset..]),
            Nguid = s.Slice(NguidOffset, 16).ToArray(),
            Eui64 = s.Slice(Eui64Offset, 8).ToArray(),
            Lbaf = lbaf,
        };
        return true;
    }

    public void Write(Span<byte> d)
    {
        if (d.Length < Size)
        {
            throw new ArgumentException("Identify Namespace needs 4096 bytes.", nameof(d));
        }

        if (Lbaf.Length > MaxLbaFormats)
        {
            throw new InvalidOperationException("At most 64 LBA formats.");
        }

        d = d[..Size];
        d.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(d[NszeOffset..], Nsze);
        BinaryPrimitives.WriteUInt64LittleEndian(d[NcapOffset..], Ncap);
        BinaryPrimitives.WriteUInt64LittleEndian(d[NuseOffset..], Nuse);
        d[NsfeatOffset] = Nsfeat;
        d[NlbafOffset] = Nlbaf;
        d[FlbasOffset] = Flbas;
        d[McOffset] = Mc;
        d[DpcOffset] = Dpc;
        d[DpsOffset] = Dps;
        d[NmicOffset] = Nmic;
        d[RescapOffset] = Rescap;
        d[FpiOffset] = Fpi;
        d[DlfeatOffset] = Dlfeat;
        BinaryPrimitives.WriteUInt16LittleEndian(d[NawunOffset..], Nawun);
        BinaryPrimitives.WriteUInt16LittleEndian(d[NawupfOffset..], Nawupf);
        BinaryPrimitives.WriteUInt16LittleEndian(d[NacwuOffset..], Nacwu);
        BinaryPrimitives.WriteUInt16LittleEndian(d[NabsnOffset..], Nabsn);
        BinaryPrimitives.WriteUInt16LittleEndian(d[NaboOffset..], Nabo);
        BinaryPrimitives.WriteUInt16LittleEndian(d[NabspfOffset..], Nabspf);
        BinaryPrimitives.WriteUInt16LittleEndian(d[NoiobOffset..], Noiob);
        BinaryPrimitives.WriteUInt128LittleEndian(d[NvmcapOffset..], Nvmcap);
        BinaryPrimitives.WriteUInt16LittleEndian(d[NpwgOffset..], Npwg);
        BinaryPrimitives.WriteUInt16LittleEndian(d[NpwaOffset..], Npwa);
        BinaryPrimitives.WriteUInt16LittleEndian(d[NpdgOffset..], Npdg);
        BinaryPrimitives.WriteUInt16LittleEndian(d[NpdaOffset..], Npda);
        BinaryPrimitives.WriteUInt16LittleEndian(d[NowsOffset..], Nows);
        BinaryPrimitives.WriteUInt16LittleEndian(d[MssrlOffset..], Mssrl);
        BinaryPrimitives.WriteUInt32LittleEndian(d[MclOffset..], Mcl);
        d[MsrcOffset] = Msrc;
        BinaryPrimitives.WriteUInt32LittleEndian(d[AnagrpidOffset..], Anagrpid);
        d[NsattrOffset] = Nsattr;
        BinaryPrimitives.WriteUInt16LittleEndian(d[NvmsetidOffset..], Nvmsetid);
        BinaryPrimitives.WriteUInt16LittleEndian(d[EndgidOffset..], Endgid);
        AdminWire.CopyOrZero(Nguid, 16, nameof(Nguid)).CopyTo(d[NguidOffset..]);
        AdminWire.CopyOrZero(Eui64, 8, nameof(Eui64)).CopyTo(d[Eui64Offset..]);
        for (int i = 0; i < Lbaf.Length; i++)
        {
            Lbaf[i].Write(d[(LbafOffset + (i * NvmeLbaFormat.Size))..]);
        }
    }

    public byte[] ToArray()
    {
        var buffer = new byte[Size];
        Write(buffer);
        return buffer;
    }
}
