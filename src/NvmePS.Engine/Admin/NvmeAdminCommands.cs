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

    /// <summary>Namespace Management (0Dh, §5.20): SEL 0 create, 1 delete (see <see cref="NamespaceManagementCommand"/>).</summary>
    public static NvmeCommand NamespaceManagement(byte sel, uint nsid, byte csi = 0) =>
        new NamespaceManagementCommand((NvmeNamespaceManagementSelect)(sel & 0xF), nsid, csi).ToCommand();

    /// <summary>Namespace Attachment (15h, §5.19): SEL 0 attach, 1 detach; data is a Controller List.</summary>
    public static NvmeCommand NamespaceAttachment(byte sel, uint nsid) =>
        new NamespaceAttachmentCommand((NvmeNamespaceAttachmentSelect)(sel & 0xF), nsid).ToCommand();

    /// <summary>Format NVM (80h, §5.14), laid out by <see cref="FormatNvmCommand"/>.</summary>
    public static NvmeCommand FormatNvm(uint nsid, byte lbaFormat, NvmeSecureErase ses = NvmeSecureErase.None, byte pi = 0, bool pil = false, bool mset = false) =>
        new FormatNvmCommand(nsid, lbaFormat, ses, pi, pil, mset).ToCommand();

    /// <summary>Sanitize (84h, §5.24), laid out by <see cref="SanitizeCommand"/>.</summary>
    public static NvmeCommand Sanitize(NvmeSanitizeAction action, bool allowUnrestrictedExit = false, byte overwritePasses = 0,
        bool overwriteInvertPattern = false, bool noDeallocateAfterSanitize = false, uint overwritePattern = 0) =>
        new SanitizeCommand(action, allowUnrestrictedExit, overwritePasses, overwriteInvertPattern, noDeallocateAfterSanitize, overwritePattern).ToCommand();

    /// <summary>Firmware Image Download (11h, §5.13): <paramref name="length"/> bytes at byte <paramref name="offset"/>.</summary>
    public static NvmeCommand FirmwareImageDownload(int length, long offset) => FirmwareImageDownloadCommand.ForBytes(length, offset).ToCommand();

    /// <summary>Firmware Commit (10h, §5.12), laid out by <see cref="FirmwareCommitCommand"/>.</summary>
    public static NvmeCommand FirmwareCommit(byte slot, NvmeFirmwareCommitAction action, bool bootPartitionId = false) =>
        new FirmwareCommitCommand(slot, action, bootPartitionId).ToCommand();

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
    public static NvmeCommand DeviceSelfTest(byte stc, uint nsid = BroadcastNsid) => new DeviceSelfTestCommand((NvmeSelfTestCode)(stc & 0xF), nsid).ToCommand();

    /// <summary>A Controller List (Figure 139) in the 4096 bytes Namespace Attachment carries.</summary>
    public static byte[] ControllerList(IReadOnlyList<ushort> controllers)
    {
        ArgumentNullException.ThrowIfNull(controllers);
        if (controllers.Count > NvmeControllerList.MaxIdentifiers)
        {
            throw new ArgumentException("A controller list holds at most 2047 identifiers.", nameof(controllers));
        }

        var data = new byte[NvmeControllerList.Size];
        NvmeControllerList.Write(data, controllers);
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
