using System.Buffers.Binary;

namespace NvmePS.Engine.Admin;

/// <summary>Identify CNS values (Base Specification 2.0, §5.17.1 Figure 273).</summary>
public static class NvmeIdentifyCns
{
    public const byte Namespace = 0x00;
    public const byte Controller = 0x01;
    public const byte ActiveNamespaceIdList = 0x02;
    public const byte NamespaceIdDescriptorList = 0x03;
    /// <summary>I/O Command Set specific Identify Namespace (CSI in CDW11).</summary>
    public const byte CommandSetNamespace = 0x05;
    /// <summary>I/O Command Set specific Identify Controller (CSI in CDW11).</summary>
    public const byte CommandSetController = 0x06;
    /// <summary>Active Namespace ID list of one I/O Command Set (CSI in CDW11).</summary>
    public const byte CommandSetActiveNamespaceIdList = 0x07;
    public const byte AllocatedNamespaceIdList = 0x10;
    public const byte AllocatedNamespace = 0x11;
    public const byte NamespaceAttachedControllerList = 0x12;
    public const byte ControllerList = 0x13;
}

/// <summary>
/// Builders for Admin submission queue entries (Base Specification 2.0, §5). Each returns an SQE with opcode, NSID and
/// command dwords set; CID and the data pointer are the transport's. Data lengths are in bytes and must be whole dwords
/// where the command counts dwords.
/// </summary>
public static class NvmeAdminCommands
{
    /// <summary>NSID meaning "all namespaces" / "the controller" (Base Spec §3.2.1.2).</summary>
    public const uint BroadcastNsid = 0xFFFFFFFF;

    /// <summary>Identify (06h, §5.17): CDW10 CNS 7:0, CNTID 31:16; CDW11 CNS specific identifier 15:0, CSI 31:24; CDW14 UUID index 6:0.</summary>
    public static NvmeCommand Identify(byte cns, uint nsid = 0, ushort cntid = 0, ushort cnsSpecificId = 0, byte csi = 0, byte uuidIndex = 0) =>
        new IdentifyCommand(cns, nsid, cntid, cnsSpecificId, csi, uuidIndex).ToCommand();

    /// <summary>
    /// Get Log Page (02h, §5.16): CDW10 LID 7:0, LSP 14:8, RAE bit 15, NUMDL 31:16; CDW11 NUMDU 15:0, LSI 31:16;
    /// CDW12/13 LPOL/LPOU (byte offset); CDW14 UUID index 6:0, OT bit 23, CSI 31:24. NUMD is 0-based dwords.
    /// </summary>
    public static NvmeCommand GetLogPage(byte lid, int length, ulong offset = 0, uint nsid = BroadcastNsid, bool rae = false,
        byte lsp = 0, ushort lsi = 0, bool offsetIsIndex = false, byte csi = 0, byte uuidIndex = 0)
    {
        if (length <= 0 || (length & 3) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, "Get Log Page moves whole dwords (a positive multiple of 4 bytes).");
        }

        if (!offsetIsIndex && (offset & 3) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), offset, "The log page offset must be dword aligned.");
        }

        if (lsp > 0x7F)
        {
            throw new ArgumentOutOfRangeException(nameof(lsp), lsp, "LSP is 7 bits.");
        }

        return new GetLogPageCommand(lid, (uint)(length / 4) - 1, nsid, offset, rae, lsp, lsi, offsetIsIndex, csi, uuidIndex).ToCommand();
    }

    /// <summary>Get Features (0Ah, §5.15): CDW10 FID 7:0, SEL 10:8; CDW11 feature specific; CDW14 UUID index.</summary>
    public static NvmeCommand GetFeatures(byte fid, NvmeFeatureSelect select = NvmeFeatureSelect.Current, uint nsid = 0, uint cdw11 = 0) =>
        new GetFeaturesCommand(fid, select, nsid, cdw11).ToCommand();

    /// <summary>Set Features (09h, §5.27): CDW10 FID 7:0, SV bit 31; CDW11..CDW15 feature specific.</summary>
    public static NvmeCommand SetFeatures(byte fid, uint cdw11, bool save = false, uint nsid = 0, uint cdw12 = 0, uint cdw13 = 0) =>
        new SetFeaturesCommand(fid, cdw11, save, nsid, cdw12, cdw13).ToCommand();

    /// <summary>Namespace Management (0Dh, §5.20): CDW10 SEL 3:0 (0 create, 1 delete); CDW11 CSI 31:24.</summary>
    public static NvmeCommand NamespaceManagement(byte sel, uint nsid, byte csi = 0) => new()
    {
        Opcode = NvmeAdminOpcode.NamespaceManagement,
        Nsid = nsid,
        Cdw10 = (uint)(sel & 0xF),
        Cdw11 = (uint)csi << 24,
    };

    /// <summary>Namespace Attachment (15h, §5.19): CDW10 SEL 3:0 (0 attach, 1 detach); data is a Controller List.</summary>
    public static NvmeCommand NamespaceAttachment(byte sel, uint nsid) => new()
    {
        Opcode = NvmeAdminOpcode.NamespaceAttachment,
        Nsid = nsid,
        Cdw10 = (uint)(sel & 0xF),
    };

    /// <summary>Format NVM (80h, §5.14): CDW10 LBAFL 3:0, MSET bit 4, PI 7:5, PIL bit 8, SES 11:9, LBAFU 13:12.</summary>
    public static NvmeCommand FormatNvm(uint nsid, byte lbaFormat, NvmeSecureErase ses = NvmeSecureErase.None, byte pi = 0, bool pil = false, bool mset = false)
    {
        if (lbaFormat > 63 || pi > 7)
        {
            throw new ArgumentOutOfRangeException(nameof(lbaFormat), "LBA format is 0..63 and PI 0..7.");
        }

        return new NvmeCommand
        {
            Opcode = NvmeAdminOpcode.FormatNvm,
            Nsid = nsid,
            Cdw10 = (uint)(lbaFormat & 0xF) | (mset ? 1u << 4 : 0) | ((uint)pi << 5) | (pil ? 1u << 8 : 0)
                | (((uint)ses & 0x7) << 9) | ((uint)(lbaFormat >> 4) << 12),
        };
    }

    /// <summary>Sanitize (84h, §5.24): CDW10 SANACT 2:0, AUSE bit 3, OWPASS 7:4, OIPBP bit 8, NDAS bit 9; CDW11 OVRPAT.</summary>
    public static NvmeCommand Sanitize(NvmeSanitizeAction action, bool allowUnrestrictedExit = false, byte overwritePasses = 0,
        bool overwriteInvertPattern = false, bool noDeallocateAfterSanitize = false, uint overwritePattern = 0)
    {
        if (overwritePasses > 15)
        {
            throw new ArgumentOutOfRangeException(nameof(overwritePasses), "OWPASS is 4 bits.");
        }

        return new NvmeCommand
        {
            Opcode = NvmeAdminOpcode.Sanitize,
            Cdw10 = ((uint)action & 0x7) | (allowUnrestrictedExit ? 1u << 3 : 0) | ((uint)overwritePasses << 4)
                | (overwriteInvertPattern ? 1u << 8 : 0) | (noDeallocateAfterSanitize ? 1u << 9 : 0),
            Cdw11 = overwritePattern,
        };
    }

    /// <summary>Firmware Image Download (11h, §5.13): CDW10 NUMD (0-based dwords), CDW11 OFST (dword offset).</summary>
    public static NvmeCommand FirmwareImageDownload(int length, long offset)
    {
        if (length <= 0 || (length & 3) != 0 || offset < 0 || (offset & 3) != 0 || (offset >> 2) > uint.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(length), "Firmware Image Download moves whole dwords at a dword offset.");
        }

        return new NvmeCommand
        {
            Opcode = NvmeAdminOpcode.FirmwareImageDownload,
            Cdw10 = (uint)(length / 4) - 1,
            Cdw11 = (uint)(offset >> 2),
        };
    }

    /// <summary>Firmware Commit (10h, §5.12): CDW10 FS 2:0, CA 5:3, BPID bit 31.</summary>
    public static NvmeCommand FirmwareCommit(byte slot, NvmeFirmwareCommitAction action, bool bootPartitionId = false)
    {
        if (slot > 7)
        {
            throw new ArgumentOutOfRangeException(nameof(slot), slot, "Firmware slot is 0..7.");
        }

        return new NvmeCommand
        {
            Opcode = NvmeAdminOpcode.FirmwareCommit,
            Cdw10 = slot | (((uint)action & 0x7) << 3) | (bootPartitionId ? 1u << 31 : 0),
        };
    }

    /// <summary>Security Send (81h, §5.25): CDW10 NSSF 7:0, SPSP0 15:8, SPSP1 23:16, SECP 31:24; CDW11 TL.</summary>
    public static NvmeCommand SecuritySend(byte secp, ushort spsp, uint transferLength, byte nssf = 0, uint nsid = 0) => new()
    {
        Opcode = NvmeAdminOpcode.SecuritySend,
        Nsid = nsid,
        Cdw10 = nssf | ((uint)spsp << 8) | ((uint)secp << 24),
        Cdw11 = transferLength,
    };

    /// <summary>Security Receive (82h, §5.26): CDW10 NSSF 7:0, SPSP0 15:8, SPSP1 23:16, SECP 31:24; CDW11 AL.</summary>
    public static NvmeCommand SecurityReceive(byte secp, ushort spsp, uint allocationLength, byte nssf = 0, uint nsid = 0) => new()
    {
        Opcode = NvmeAdminOpcode.SecurityReceive,
        Nsid = nsid,
        Cdw10 = nssf | ((uint)spsp << 8) | ((uint)secp << 24),
        Cdw11 = allocationLength,
    };

    /// <summary>Keep Alive (18h, §5.18): no parameters.</summary>
    public static NvmeCommand KeepAlive() => new() { Opcode = NvmeAdminOpcode.KeepAlive };

    /// <summary>Asynchronous Event Request (0Ch, §5.2): no parameters; completes when an event occurs.</summary>
    public static NvmeCommand AsyncEventRequest() => new() { Opcode = NvmeAdminOpcode.AsynchronousEventRequest };

    /// <summary>Abort (08h, §5.1): CDW10 SQID 15:0, CID 31:16.</summary>
    public static NvmeCommand Abort(ushort sqid, ushort cid) => new()
    {
        Opcode = NvmeAdminOpcode.Abort,
        Cdw10 = sqid | ((uint)cid << 16),
    };

    /// <summary>Device Self-test (14h, §5.11): CDW10 STC 3:0 (1 short, 2 extended, Fh abort).</summary>
    public static NvmeCommand DeviceSelfTest(byte stc, uint nsid = BroadcastNsid) => new()
    {
        Opcode = NvmeAdminOpcode.DeviceSelfTest,
        Nsid = nsid,
        Cdw10 = (uint)(stc & 0xF),
    };

    /// <summary>Writes a Controller List (Figure 139: NUMID then up to 2047 controller identifiers) into 4096 bytes.</summary>
    public static byte[] ControllerList(IReadOnlyList<ushort> controllers)
    {
        ArgumentNullException.ThrowIfNull(controllers);
        if (controllers.Count > 2047)
        {
            throw new ArgumentException("A controller list holds at most 2047 identifiers.", nameof(controllers));
        }

        var data = new byte[4096];
        BinaryPrimitives.WriteUInt16LittleEndian(data, (ushort)controllers.Count);
        for (int i = 0; i < controllers.Count; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(2 + (2 * i)), controllers[i]);
        }

        return data;
    }
}

/// <summary>
/// Builders for NVM command set I/O SQEs (NVM Command Set Specification 1.0, §3). Block counts are 1-based here;
/// the wire carries NLB 0-based.
/// </summary>
public static class NvmeIoCommands
{
    /// <summary>Read (02h) / Write (01h): CDW10/11 SLBA, CDW12 NLB 15:0 (0-based), FUA bit 30, LR bit 31.</summary>
    public static NvmeCommand Read(uint nsid, ulong slba, int blocks, bool fua = false) => new ReadWriteCommand(NvmeIoOpcode.Read, nsid, slba, blocks, fua).ToCommand();

    public static NvmeCommand Write(uint nsid, ulong slba, int blocks, bool fua = false) => new ReadWriteCommand(NvmeIoOpcode.Write, nsid, slba, blocks, fua).ToCommand();

    /// <summary>Flush (00h).</summary>
    public static NvmeCommand Flush(uint nsid) => new() { Opcode = NvmeIoOpcode.Flush, Nsid = nsid };

    /// <summary>Write Zeroes (08h): as Write, plus DEAC bit 25 (deallocate).</summary>
    public static NvmeCommand WriteZeroes(uint nsid, ulong slba, int blocks, bool deallocate = false) =>
        new ReadWriteCommand(NvmeIoOpcode.WriteZeroes, nsid, slba, blocks, Deallocate: deallocate).ToCommand();

    /// <summary>Dataset Management (09h): CDW10 NR 7:0 (0-based range count), CDW11 IDR bit 0, IDW bit 1, AD bit 2.
    /// The data is <paramref name="ranges"/> × 16-byte range entries.</summary>
    public static NvmeCommand DatasetManagement(uint nsid, int ranges, bool deallocate = true, bool integralRead = false, bool integralWrite = false) =>
        new DatasetManagementCommand(nsid, ranges, deallocate, integralRead, integralWrite).ToCommand();
}

/// <summary>Dataset Management range (NVM Command Set 1.0, Figure 39), 16 bytes: context attributes, length in
/// logical blocks (1-based), starting LBA.</summary>
public readonly record struct NvmeDsmRange(uint ContextAttributes, uint LengthInBlocks, ulong StartingLba)
{
    public const int Size = 16;

    public static NvmeDsmRange Read(ReadOnlySpan<byte> s) => new(
        BinaryPrimitives.ReadUInt32LittleEndian(s),
        BinaryPrimitives.ReadUInt32LittleEndian(s[4..]),
        BinaryPrimitives.ReadUInt64LittleEndian(s[8..]));

    public void Write(Span<byte> d)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(d, ContextAttributes);
        BinaryPrimitives.WriteUInt32LittleEndian(d[4..], LengthInBlocks);
        BinaryPrimitives.WriteUInt64LittleEndian(d[8..], StartingLba);
    }
}
