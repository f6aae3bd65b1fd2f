using System.Buffers.Binary;

namespace NvmePS.Engine.Admin;

/// <summary>
/// Identify Controller data structure, CNS 01h (NVM Express Base Specification 2.0, §5.17.2.1 Figure 275),
/// 4096 bytes. Property names are the spec mnemonics; offsets agree with Linux's struct nvme_id_ctrl.
/// Hosts parse it with <see cref="TryRead"/>; the fabrics controller and the MI simulator produce it with <see cref="Write"/>.
/// </summary>
public sealed class NvmeIdentifyController
{
    public const int Size = 4096;

    public const int VidOffset = 0;
    public const int SsvidOffset = 2;
    public const int SnOffset = 4;
    public const int SnLength = 20;
    public const int MnOffset = 24;
    public const int MnLength = 40;
    public const int FrOffset = 64;
    public const int FrLength = 8;
    public const int RabOffset = 72;
    public const int IeeeOffset = 73;
    public const int CmicOffset = 76;
    public const int MdtsOffset = 77;
    public const int CntlidOffset = 78;
    public const int VerOffset = 80;
    public const int Rtd3rOffset = 84;
    public const int Rtd3eOffset = 88;
    public const int OaesOffset = 92;
    public const int CtrattOffset = 96;
    public const int RrlsOffset = 100;
    public const int CntrltypeOffset = 111;
    public const int FguidOffset = 112;
    public const int Crdt1Offset = 128;
    public const int Crdt2Offset = 130;
    public const int Crdt3Offset = 132;
    public const int NvmsrOffset = 253;
    public const int VwciOffset = 254;
    public const int MecOffset = 255;
    public const int OacsOffset = 256;
    public const int AclOffset = 258;
    public const int AerlOffset = 259;
    public const int FrmwOffset = 260;
    public const int LpaOffset = 261;
    public const int ElpeOffset = 262;
    public const int NpssOffset = 263;
    public const int AvsccOffset = 264;
    public const int ApstaOffset = 265;
    public const int WctempOffset = 266;
    public const int CctempOffset = 268;
    public const int MtfaOffset = 270;
    public const int HmpreOffset = 272;
    public const int HmminOffset = 276;
    public const int TnvmcapOffset = 280;
    public const int UnvmcapOffset = 296;
    public const int RpmbsOffset = 312;
    public const int EdsttOffset = 316;
    public const int DstoOffset = 318;
    public const int FwugOffset = 319;
    public const int KasOffset = 320;
    public const int HctmaOffset = 322;
    public const int MntmtOffset = 324;
    public const int MxtmtOffset = 326;
    public const int SanicapOffset = 328;
    public const int HmmindsOffset = 332;
    public const int HmmaxdOffset = 336;
    public const int NsetidmaxOffset = 338;
    public const int EndgidmaxOffset = 340;
    public const int AnattOffset = 342;
    public const int AnacapOffset = 343;
    public const int AnagrpmaxOffset = 344;
    public const int NanagrpidOffset = 348;
    public const int PelsOffset = 352;
    public const int DomainidOffset = 356;
    public const int MegcapOffset = 368;
    public const int SqesOffset = 512;
    public const int CqesOffset = 513;
    public const int MaxcmdOffset = 514;
    public const int NnOffset = 516;
    public const int OncsOffset = 520;
    public const int FusesOffset = 522;
    public const int FnaOffset = 524;
    public const int VwcOffset = 525;
    public const int AwunOffset = 526;
    public const int AwupfOffset = 528;
    public const int IcsvsccOffset = 530;
    public const int NwpcOffset = 531;
    public const int AcwuOffset = 532;
    public const int OcfsOffset = 534;
    public const int SglsOffset = 536;
    public const int MnanOffset = 540;
    public const int MaxdnaOffset = 544;
    public const int MaxcnaOffset = 560;
    public const int SubnqnOffset = 768;
    public const int SubnqnLength = 256;
    public const int IoccszOffset = 1792;
    public const int IorcszOffset = 1796;
    public const int IcdoffOffset = 1800;
    public const int FcattOffset = 1802;
    public const int MsdbdOffset = 1803;
    public const int OfcsOffset = 1804;
    public const int PsdOffset = 2048;
    public const int VsOffset = 3072;
    public const int VsLength = 1024;

    /// <summary>CNTRLTYPE values (Figure 275): 1 I/O controller, 2 discovery controller, 3 administrative controller.</summary>
    public const byte ControllerTypeIo = 1;
    public const byte ControllerTypeDiscovery = 2;
    public const byte ControllerTypeAdministrative = 3;

    /// <summary>VID: PCI vendor ID.</summary>
    public ushort Vid { get; set; }
    /// <summary>SSVID: PCI subsystem vendor ID.</summary>
    public ushort Ssvid { get; set; }
    /// <summary>SN: serial number (20 ASCII characters, space padded).</summary>
    public string Sn { get; set; } = string.Empty;
    /// <summary>MN: model number (40 ASCII characters).</summary>
    public string Mn { get; set; } = string.Empty;
    /// <summary>FR: firmware revision (8 ASCII characters).</summary>
    public string Fr { get; set; } = string.Empty;
    /// <summary>RAB: recommended arbitration burst.</summary>
    public byte Rab { get; set; }
    /// <summary>IEEE: organisation unique identifier (24 bits, little-endian on the wire).</summary>
    public uint Ieee { get; set; }
    /// <summary>CMIC: multi-path I/O and namespace sharing capabilities.</summary>
    public byte Cmic { get; set; }
    /// <summary>MDTS: maximum data transfer size as a power of two in units of CAP.MPSMIN; 0 means no limit.</summary>
    public byte Mdts { get; set; }
    /// <summary>CNTLID: controller ID.</summary>
    public ushort Cntlid { get; set; }
    /// <summary>VER: version (MJR 31:16, MNR 15:8, TER 7:0).</summary>
    public uint Ver { get; set; }
    public uint Rtd3r { get; set; }
    public uint Rtd3e { get; set; }
    /// <summary>OAES: optional asynchronous events supported (bit 8 namespace attribute notices, bit 9 firmware activation, bit 31 discovery log change).</summary>
    public uint Oaes { get; set; }
    public uint Ctratt { get; set; }
    public ushort Rrls { get; set; }
    /// <summary>CNTRLTYPE: controller type.</summary>
    public byte Cntrltype { get; set; }
    /// <summary>FGUID: FRU globally unique identifier (16 bytes).</summary>
    public byte[] Fguid { get; set; } = new byte[16];
    public ushort Crdt1 { get; set; }
    public ushort Crdt2 { get; set; }
    public ushort Crdt3 { get; set; }
    public byte Nvmsr { get; set; }
    public byte Vwci { get; set; }
    public byte Mec { get; set; }
    /// <summary>OACS: optional admin command support.</summary>
    public ushort Oacs { get; set; }
    /// <summary>ACL: abort command limit (0-based).</summary>
    public byte Acl { get; set; }
    /// <summary>AERL: asynchronous event request limit (0-based).</summary>
    public byte Aerl { get; set; }
    /// <summary>FRMW: firmware updates (bit 0 slot 1 read-only, bits 3:1 number of slots, bit 4 activation without reset).</summary>
    public byte Frmw { get; set; }
    /// <summary>LPA: log page attributes.</summary>
    public byte Lpa { get; set; }
    /// <summary>ELPE: error log page entries (0-based).</summary>
    public byte Elpe { get; set; }
    /// <summary>NPSS: number of power states supported (0-based).</summary>
    public byte Npss { get; set; }
    public byte Avscc { get; set; }
    public byte Apsta { get; set; }
    /// <summary>WCTEMP: warning composite temperature threshold, kelvin.</summary>
    public ushort Wctemp { get; set; }
    /// <summary>CCTEMP: critical composite temperature threshold, kelvin.</summary>
    public ushort Cctemp { get; set; }
    public ushort Mtfa { get; set; }
    public uint Hmpre { get; set; }
    public uint Hmmin { get; set; }
    /// <summary>TNVMCAP: total NVM capacity in bytes.</summary>
    public UInt128 Tnvmcap { get; set; }
    /// <summary>UNVMCAP: unallocated NVM capacity in bytes.</summary>
    public UInt128 Unvmcap { get; set; }
    public uint Rpmbs { get; set; }
    public ushort Edstt { get; set; }
    public byte Dsto { get; set; }
    public byte Fwug { get; set; }
    /// <summary>KAS: keep alive support, granularity in 100 ms units (0: not supported).</summary>
    public ushort Kas { get; set; }
    public ushort Hctma { get; set; }
    public ushort Mntmt { get; set; }
    public ushort Mxtmt { get; set; }
    /// <summary>SANICAP: sanitize capabilities.</summary>
    public uint Sanicap { get; set; }
    public uint Hmminds { get; set; }
    public ushort Hmmaxd { get; set; }
    public ushort Nsetidmax { get; set; }
    public ushort Endgidmax { get; set; }
    public byte Anatt { get; set; }
    public byte Anacap { get; set; }
    public uint Anagrpmax { get; set; }
    public uint Nanagrpid { get; set; }
    public uint Pels { get; set; }
    public ushort Domainid { get; set; }
    public UInt128 Megcap { get; set; }
    /// <summary>SQES: required (3:0) and maximum (7:4) SQ entry size as powers of two; 66h for 64 bytes.</summary>
    public byte Sqes { get; set; }
    /// <summary>CQES: required and maximum CQ entry size; 44h for 16 bytes.</summary>
    public byte Cqes { get; set; }
    public ushort Maxcmd { get; set; }
    /// <summary>NN: number of namespaces (largest valid NSID).</summary>
    public uint Nn { get; set; }
    /// <summary>ONCS: optional NVM command support (bit 2 DSM, bit 3 Write Zeroes, ...).</summary>
    public ushort Oncs { get; set; }
    public ushort Fuses { get; set; }
    /// <summary>FNA: format NVM attributes.</summary>
    public byte Fna { get; set; }
    /// <summary>VWC: volatile write cache (bit 0 present).</summary>
    public byte Vwc { get; set; }
    public ushort Awun { get; set; }
    public ushort Awupf { get; set; }
    public byte Icsvscc { get; set; }
    public byte Nwpc { get; set; }
    public ushort Acwu { get; set; }
    public ushort Ocfs { get; set; }
    /// <summary>SGLS: SGL support.</summary>
    public uint Sgls { get; set; }
    /// <summary>MNAN: maximum number of allowed namespaces.</summary>
    public uint Mnan { get; set; }
    public UInt128 Maxdna { get; set; }
    public uint Maxcna { get; set; }
    /// <summary>SUBNQN: NVM subsystem NVMe qualified name (NUL padded, 256 bytes).</summary>
    public string Subnqn { get; set; } = string.Empty;
    /// <summary>IOCCSZ: I/O queue command capsule supported size in 16-byte units (fabrics only).</summary>
    public uint Ioccsz { get; set; }
    /// <summary>IORCSZ: I/O queue response capsule supported size in 16-byte units (fabrics only).</summary>
    public uint Iorcsz { get; set; }
    /// <summary>ICDOFF: in-capsule data offset in 16-byte units (fabrics only).</summary>
    public ushort Icdoff { get; set; }
    /// <summary>FCATT: fabrics controller attributes (bit 0 static controller model).</summary>
    public byte Fcatt { get; set; }
    /// <summary>MSDBD: maximum SGL data block descriptors.</summary>
    public byte Msdbd { get; set; }
    public ushort Ofcs { get; set; }
    /// <summary>PSD0..PSD(NPSS): power state descriptors.</summary>
    public NvmePowerStateDescriptor[] Psd { get; set; } = [];
    /// <summary>Vendor specific bytes 3072..4095 (null: zero).</summary>
    public byte[]? Vs { get; set; }

    /// <summary>MDTS expressed in bytes for a given minimum memory page size; null when unlimited.</summary>
    public long? MaxDataTransferBytes(int memoryPageSizeMinimum = 4096) => Mdts == 0 ? null : (long)memoryPageSizeMinimum << Mdts;

    /// <summary>CNTRLTYPE (byte 111) by name: IO, Discovery, Administrative, NotReported (0, before NVMe 1.4) or Reserved.</summary>
    public string ControllerTypeName => Cntrltype switch
    {
        1 => "IO",
        2 => "Discovery",
        3 => "Administrative",
        0 => "NotReported",
        _ => "Reserved",
    };

    /// <summary>KAS: the keep-alive granularity, in units of 100 ms.</summary>
    public int KeepAliveGranularityMs => Kas * 100;

    /// <summary>IOCCSZ: the I/O queue command capsule size, in units of 16 bytes (fabrics).</summary>
    public long IoCommandCapsuleBytes => Ioccsz * 16L;

    /// <summary>IORCSZ: the I/O queue response capsule size, in units of 16 bytes (fabrics).</summary>
    public long IoResponseCapsuleBytes => Iorcsz * 16L;

    /// <summary>VWC bit 0: a volatile write cache is present.</summary>
    public bool VolatileWriteCachePresent => (Vwc & 1) != 0;

    /// <summary>Parses the structure; false when fewer than 4096 bytes are given.</summary>
    public static bool TryRead(ReadOnlySpan<byte> s, out NvmeIdentifyController value)
    {
        if (s.Length < Size)
        {
            value = null!;
            return false;
        }

        int npss = s[NpssOffset];
        var psd = new NvmePowerStateDescriptor[Math.Min(npss + 1, 32)];
        for (int i = 0; i < psd.Length; i++)
        {
            psd[i] = NvmePowerStateDescriptor.Read(s.Slice(PsdOffset + (i * NvmePowerStateDescriptor.Size), NvmePowerStateDescriptor.Size));
        }

        value = new NvmeIdentifyController
        {
            Vid = BinaryPrimitives.ReadUInt16LittleEndian(s[VidOffset..]),
            Ssvid = BinaryPrimitives.ReadUInt16LittleEndian(s[SsvidOffset..]),
            Sn = AdminWire.ReadAscii(s.Slice(SnOffset, SnLength)),
            Mn = AdminWire.ReadAscii(s.Slice(MnOffset, MnLength)),
            Fr = AdminWire.ReadAscii(s.Slice(FrOffset, FrLength)),
            Rab = s[RabOffset],
            Ieee = (uint)(s[IeeeOffset] | (s[IeeeOffset + 1] << 8) | (s[IeeeOffset + 2] << 16)),
            Cmic = s[CmicOffset],
            Mdts = s[MdtsOffset],
            Cntlid = BinaryPrimitives.ReadUInt16LittleEndian(s[CntlidOffset..]),
            Ver = BinaryPrimitives.ReadUInt32LittleEndian(s[VerOffset..]),
            Rtd3r = BinaryPrimitives.ReadUInt32LittleEndian(s[Rtd3rOffset..]),
            Rtd3e = BinaryPrimitives.ReadUInt32LittleEndian(s[Rtd3eOffset..]),
            Oaes = BinaryPrimitives.ReadUInt32LittleEndian(s[OaesOffset..]),
            Ctratt = BinaryPrimitives.ReadUInt32LittleEndian(s[CtrattOffset..]),
            Rrls = BinaryPrimitives.ReadUInt16LittleEndian(s[RrlsOffset..]),
            Cntrltype = s[CntrltypeOffset],
            Fguid = s.Slice(FguidOffset, 16).ToArray(),
            Crdt1 = BinaryPrimitives.ReadUInt16LittleEndian(s[Crdt1Offset..]),
            Crdt2 = BinaryPrimitives.ReadUInt16LittleEndian(s[Crdt2Offset..]),
            Crdt3 = BinaryPrimitives.ReadUInt16LittleEndian(s[Crdt3Offset..]),
            Nvmsr = s[NvmsrOffset],
            Vwci = s[VwciOffset],
            Mec = s[MecOffset],
            Oacs = BinaryPrimitives.ReadUInt16LittleEndian(s[OacsOffset..]),
            Acl = s[AclOffset],
            Aerl = s[AerlOffset],
            Frmw = s[FrmwOffset],
            Lpa = s[LpaOffset],
            Elpe = s[ElpeOffset],
            Npss = s[NpssOffset],
            Avscc = s[AvsccOffset],
            Apsta = s[ApstaOffset],
            Wctemp = BinaryPrimitives.ReadUInt16LittleEndian(s[WctempOffset..]),
            Cctemp = BinaryPrimitives.ReadUInt16LittleEndian(s[CctempOffset..]),
            Mtfa = BinaryPrimitives.ReadUInt16LittleEndian(s[MtfaOffset..]),
            Hmpre = BinaryPrimitives.ReadUInt32LittleEndian(s[HmpreOffset..]),
            Hmmin = BinaryPrimitives.ReadUInt32LittleEndian(s[HmminOffset..]),
            Tnvmcap = BinaryPrimitives.ReadUInt128LittleEndian(s[TnvmcapOffset..]),
            Unvmcap = BinaryPrimitives.ReadUInt128LittleEndian(s[UnvmcapOffset..]),
            Rpmbs = BinaryPrimitives.ReadUInt32LittleEndian(s[RpmbsOffset..]),
            Edstt = BinaryPrimitives.ReadUInt16LittleEndian(s[EdsttOffset..]),
            Dsto = s[DstoOffset],
            Fwug = s[FwugOffset],
            Kas = BinaryPrimitives.ReadUInt16LittleEndian(s[KasOffset..]),
            Hctma = BinaryPrimitives.ReadUInt16LittleEndian(s[HctmaOffset..]),
            Mntmt = BinaryPrimitives.ReadUInt16LittleEndian(s[MntmtOffset..]),
            Mxtmt = BinaryPrimitives.ReadUInt16LittleEndian(s[MxtmtOffset..]),
            Sanicap = BinaryPrimitives.ReadUInt32LittleEndian(s[SanicapOffset..]),
            Hmminds = BinaryPrimitives.ReadUInt32LittleEndian(s[HmmindsOffset..]),
            Hmmaxd = BinaryPrimitives.ReadUInt16LittleEndian(s[HmmaxdOffset..]),
            Nsetidmax = BinaryPrimitives.ReadUInt16LittleEndian(s[NsetidmaxOffset..]),
            Endgidmax = BinaryPrimitives.ReadUInt16LittleEndian(s[EndgidmaxOffset..]),
            Anatt = s[AnattOffset],
            Anacap = s[AnacapOffset],
            Anagrpmax = BinaryPrimitives.ReadUInt32LittleEndian(s[AnagrpmaxOffset..]),
            Nanagrpid = BinaryPrimitives.ReadUInt32LittleEndian(s[NanagrpidOffset..]),
            Pels = BinaryPrimitives.ReadUInt32LittleEndian(s[PelsOffset..]),
            Domainid = BinaryPrimitives.ReadUInt16LittleEndian(s[DomainidOffset..]),
            Megcap = BinaryPrimitives.ReadUInt128LittleEndian(s[MegcapOffset..]),
            Sqes = s[SqesOffset],
            Cqes = s[CqesOffset],
            Maxcmd = BinaryPrimitives.ReadUInt16LittleEndian(s[MaxcmdOffset..]),
            Nn = BinaryPrimitives.ReadUInt32LittleEndian(s[NnOffset..]),
            Oncs = BinaryPrimitives.ReadUInt16LittleEndian(s[OncsOffset..]),
            Fuses = BinaryPrimitives.ReadUInt16LittleEndian(s[FusesOffset..]),
            Fna = s[FnaOffset],
            Vwc = s[VwcOffset],
            Awun = BinaryPrimitives.ReadUInt16LittleEndian(s[AwunOffset..]),
            Awupf = BinaryPrimitives.ReadUInt16LittleEndian(s[AwupfOffset..]),
            Icsvscc = s[IcsvsccOffset],
            Nwpc = s[NwpcOffset],
            Acwu = BinaryPrimitives.ReadUInt16LittleEndian(s[AcwuOffset..]),
            Ocfs = BinaryPrimitives.ReadUInt16LittleEndian(s[OcfsOffset..]),
            Sgls = BinaryPrimitives.ReadUInt32LittleEndian(s[SglsOffset..]),
            Mnan = BinaryPrimitives.ReadUInt32LittleEndian(s[MnanOffset..]),
            Maxdna = BinaryPrimitives.ReadUInt128LittleEndian(s[MaxdnaOffset..]),
            Maxcna = BinaryPrimitives.ReadUInt32LittleEndian(s[MaxcnaOffset..]),
            Subnqn = AdminWire.ReadAscii(s.Slice(SubnqnOffset, SubnqnLength)),
            Ioccsz = BinaryPrimitives.ReadUInt32LittleEndian(s[IoccszOffset..]),
            Iorcsz = BinaryPrimitives.ReadUInt32LittleEndian(s[IorcszOffset..]),
            Icdoff = BinaryPrimitives.ReadUInt16LittleEndian(s[IcdoffOffset..]),
            Fcatt = s[FcattOffset],
            Msdbd = s[MsdbdOffset],
            Ofcs = BinaryPrimitives.ReadUInt16LittleEndian(s[OfcsOffset..]),
            Psd = psd,
            Vs = s.Slice(VsOffset, VsLength).ToArray(),
        };
        return true;
    }

    /// <summary>Writes the 4096-byte structure (reserved bytes zero) into <paramref name="d"/>.</summary>
    public void Write(Span<byte> d)
    {
        if (d.Length < Size)
        {
            throw new ArgumentException("Identify Controller needs 4096 bytes.", nameof(d));
        }

        if (Psd.Length > 32)
        {
            throw new InvalidOperationException("At most 32 power state descriptors.");
        }

        d = d[..Size];
        d.Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(d[VidOffset..], Vid);
        BinaryPrimitives.WriteUInt16LittleEndian(d[SsvidOffset..], Ssvid);
        AdminWire.WriteAscii(d.Slice(SnOffset, SnLength), Sn, (byte)' ');
        AdminWire.WriteAscii(d.Slice(MnOffset, MnLength), Mn, (byte)' ');
        AdminWire.WriteAscii(d.Slice(FrOffset, FrLength), Fr, (byte)' ');
        d[RabOffset] = Rab;
        d[IeeeOffset] = (byte)Ieee;
        d[IeeeOffset + 1] = (byte)(Ieee >> 8);
        d[IeeeOffset + 2] = (byte)(Ieee >> 16);
        d[CmicOffset] = Cmic;
        d[MdtsOffset] = Mdts;
        BinaryPrimitives.WriteUInt16LittleEndian(d[CntlidOffset..], Cntlid);
        BinaryPrimitives.WriteUInt32LittleEndian(d[VerOffset..], Ver);
        BinaryPrimitives.WriteUInt32LittleEndian(d[Rtd3rOffset..], Rtd3r);
        BinaryPrimitives.WriteUInt32LittleEndian(d[Rtd3eOffset..], Rtd3e);
        BinaryPrimitives.WriteUInt32LittleEndian(d[OaesOffset..], Oaes);
        BinaryPrimitives.WriteUInt32LittleEndian(d[CtrattOffset..], Ctratt);
        BinaryPrimitives.WriteUInt16LittleEndian(d[RrlsOffset..], Rrls);
        d[CntrltypeOffset] = Cntrltype;
        AdminWire.CopyOrZero(Fguid, 16, nameof(Fguid)).CopyTo(d[FguidOffset..]);
        BinaryPrimitives.WriteUInt16LittleEndian(d[Crdt1Offset..], Crdt1);
        BinaryPrimitives.WriteUInt16LittleEndian(d[Crdt2Offset..], Crdt2);
        BinaryPrimitives.WriteUInt16LittleEndian(d[Crdt3Offset..], Crdt3);
        d[NvmsrOffset] = Nvmsr;
        d[VwciOffset] = Vwci;
        d[MecOffset] = Mec;
        BinaryPrimitives.WriteUInt16LittleEndian(d[OacsOffset..], Oacs);
        d[AclOffset] = Acl;
        d[AerlOffset] = Aerl;
        d[FrmwOffset] = Frmw;
        d[LpaOffset] = Lpa;
        d[ElpeOffset] = Elpe;
        d[NpssOffset] = Npss;
        d[AvsccOffset] = Avscc;
        d[ApstaOffset] = Apsta;
        BinaryPrimitives.WriteUInt16LittleEndian(d[WctempOffset..], Wctemp);
        BinaryPrimitives.WriteUInt16LittleEndian(d[CctempOffset..], Cctemp);
        BinaryPrimitives.WriteUInt16LittleEndian(d[MtfaOffset..], Mtfa);
        BinaryPrimitives.WriteUInt32LittleEndian(d[HmpreOffset..], Hmpre);
        BinaryPrimitives.WriteUInt32LittleEndian(d[HmminOffset..], Hmmin);
        BinaryPrimitives.WriteUInt128LittleEndian(d[TnvmcapOffset..], Tnvmcap);
        BinaryPrimitives.WriteUInt128LittleEndian(d[UnvmcapOffset..], Unvmcap);
        BinaryPrimitives.WriteUInt32LittleEndian(d[RpmbsOffset..], Rpmbs);
        BinaryPrimitives.WriteUInt16LittleEndian(d[EdsttOffset..], Edstt);
        d[DstoOffset] = Dsto;
        d[FwugOffset] = Fwug;
        BinaryPrimitives.WriteUInt16LittleEndian(d[KasOffset..], Kas);
        BinaryPrimitives.WriteUInt16LittleEndian(d[HctmaOffset..], Hctma);
        BinaryPrimitives.WriteUInt16LittleEndian(d[MntmtOffset..], Mntmt);
        BinaryPrimitives.WriteUInt16LittleEndian(d[MxtmtOffset..], Mxtmt);
        BinaryPrimitives.WriteUInt32LittleEndian(d[SanicapOffset..], Sanicap);
        BinaryPrimitives.WriteUInt32LittleEndian(d[HmmindsOffset..], Hmminds);
        BinaryPrimitives.WriteUInt16LittleEndian(d[HmmaxdOffset..], Hmmaxd);
        BinaryPrimitives.WriteUInt16LittleEndian(d[NsetidmaxOffset..], Nsetidmax);
        BinaryPrimitives.WriteUInt16LittleEndian(d[EndgidmaxOffset..], Endgidmax);
        d[AnattOffset] = Anatt;
        d[AnacapOffset] = Anacap;
        BinaryPrimitives.WriteUInt32LittleEndian(d[AnagrpmaxOffset..], Anagrpmax);
        BinaryPrimitives.WriteUInt32LittleEndian(d[NanagrpidOffset..], Nanagrpid);
        BinaryPrimitives.WriteUInt32LittleEndian(d[PelsOffset..], Pels);
        BinaryPrimitives.WriteUInt16LittleEndian(d[DomainidOffset..], Domainid);
        BinaryPrimitives.WriteUInt128LittleEndian(d[MegcapOffset..], Megcap);
        d[SqesOffset] = Sqes;
        d[CqesOffset] = Cqes;
        BinaryPrimitives.WriteUInt16LittleEndian(d[MaxcmdOffset..], Maxcmd);
        BinaryPrimitives.WriteUInt32LittleEndian(d[NnOffset..], Nn);
        BinaryPrimitives.WriteUInt16LittleEndian(d[OncsOffset..], Oncs);
        BinaryPrimitives.WriteUInt16LittleEndian(d[FusesOffset..], Fuses);
        d[FnaOffset] = Fna;
        d[VwcOffset] = Vwc;
        BinaryPrimitives.WriteUInt16LittleEndian(d[AwunOffset..], Awun);
        BinaryPrimitives.WriteUInt16LittleEndian(d[AwupfOffset..], Awupf);
        d[IcsvsccOffset] = Icsvscc;
        d[NwpcOffset] = Nwpc;
        BinaryPrimitives.WriteUInt16LittleEndian(d[AcwuOffset..], Acwu);
        BinaryPrimitives.WriteUInt16LittleEndian(d[OcfsOffset..], Ocfs);
        BinaryPrimitives.WriteUInt32LittleEndian(d[SglsOffset..], Sgls);
        BinaryPrimitives.WriteUInt32LittleEndian(d[MnanOffset..], Mnan);
        BinaryPrimitives.WriteUInt128LittleEndian(d[MaxdnaOffset..], Maxdna);
        BinaryPrimitives.WriteUInt32LittleEndian(d[MaxcnaOffset..], Maxcna);
        AdminWire.WriteAscii(d.Slice(SubnqnOffset, SubnqnLength - 1), Subnqn, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(d[IoccszOffset..], Ioccsz);
        BinaryPrimitives.WriteUInt32LittleEndian(d[IorcszOffset..], Iorcsz);
        BinaryPrimitives.WriteUInt16LittleEndian(d[IcdoffOffset..], Icdoff);
        d[FcattOffset] = Fcatt;
        d[MsdbdOffset] = Msdbd;
        BinaryPrimitives.WriteUInt16LittleEndian(d[OfcsOffset..], Ofcs);
        for (int i = 0; i < Psd.Length; i++)
        {
            Psd[i].Write(d.Slice(PsdOffset + (i * NvmePowerStateDescriptor.Size), NvmePowerStateDescriptor.Size));
        }

        if (Vs is not null)
        {
            Vs.AsSpan(0, Math.Min(Vs.Length, VsLength)).CopyTo(d[VsOffset..]);
        }
    }

    /// <summary>The 4096 bytes as a new array.</summary>
    public byte[] ToArray()
    {
        var buffer = new byte[Size];
        Write(buffer);
        return buffer;
    }
}

/// <summary>Power State Descriptor (Base Specification 2.0, Figure 276), 32 bytes.</summary>
public readonly record struct NvmePowerStateDescriptor(
    ushort Mp, bool Mxps, bool Nops, uint Enlat, uint Exlat, byte Rrt, byte Rrl, byte Rwt, byte Rwl,
    ushort Idlp, byte Ips, ushort Actp, byte Apw, byte Aps)
{
    public const int Size = 32;

    public static NvmePowerStateDescriptor Read(ReadOnlySpan<byte> s) => new(
        BinaryPrimitives.ReadUInt16LittleEndian(s),
        (s[3] & 0x1) != 0,
        (s[3] & 0x2) != 0,
        BinaryPrimitives.ReadUInt32LittleEndian(s[4..]),
        BinaryPrimitives.ReadUInt32LittleEndian(s[8..]),
        (byte)(s[12] & 0x1F),
        (byte)(s[13] & 0x1F),
        (byte)(s[14] & 0x1F),
        (byte)(s[15] & 0x1F),
        BinaryPrimitives.ReadUInt16LittleEndian(s[16..]),
        (byte)(s[18] >> 6),
        BinaryPrimitives.ReadUInt16LittleEndian(s[20..]),
        (byte)(s[22] & 0x7),
        (byte)(s[22] >> 6));

    public void Write(Span<byte> d)
    {
        d[..Size].Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(d, Mp);
        d[3] = (byte)((Mxps ? 1 : 0) | (Nops ? 2 : 0));
        BinaryPrimitives.WriteUInt32LittleEndian(d[4..], Enlat);
        BinaryPrimitives.WriteUInt32LittleEndian(d[8..], Exlat);
        d[12] = (byte)(Rrt & 0x1F);
        d[13] = (byte)(Rrl & 0x1F);
        d[14] = (byte)(Rwt & 0x1F);
        d[15] = (byte)(Rwl & 0x1F);
        BinaryPrimitives.WriteUInt16LittleEndian(d[16..], Idlp);
        d[18] = (byte)((Ips & 0x3) << 6);
        BinaryPrimitives.WriteUInt16LittleEndian(d[20..], Actp);
        d[22] = (byte)((Apw & 0x7) | ((Aps & 0x3) << 6));
    }
}
