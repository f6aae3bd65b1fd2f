namespace NvmePS.Engine.Admin;

/// <summary>Namespace Management SEL (Base Specification 2.0 Figure 300).</summary>
public enum NvmeNamespaceManagementSelect : byte
{
    Create = 0,
    Delete = 1,
}

/// <summary>Namespace Attachment SEL (Base Specification 2.0 Figure 295).</summary>
public enum NvmeNamespaceAttachmentSelect : byte
{
    Attach = 0,
    Detach = 1,
}

/// <summary>Device Self-test Code (Base Specification 2.0 Figure 208, STC bits 3:0).</summary>
public enum NvmeSelfTestCode : byte
{
    None = 0,
    Short = 1,
    Extended = 2,
    VendorSpecific = 0xE,
    Abort = 0xF,
}

/// <summary>
/// Namespace Management (0Dh), Base Specification 2.0 §5.20: CDW10 SEL 3:0; CDW11 CSI 31:24. Create carries the
/// host-settable fields of an Identify Namespace structure (NSZE, NCAP, FLBAS, DPS, NMIC) and returns the NSID in DW0.
/// </summary>
public readonly record struct NamespaceManagementCommand(NvmeNamespaceManagementSelect Sel, uint Nsid = 0, byte Csi = 0)
{
    public NvmeCommand ToCommand() => new()
    {
        Opcode = NvmeAdminOpcode.NamespaceManagement,
        Nsid = Nsid,
        Cdw10 = (uint)Sel & 0xF,
        Cdw11 = (uint)Csi << 24,
    };

    public static bool TryRead(in NvmeCommand command, out NamespaceManagementCommand management)
    {
        management = new NamespaceManagementCommand((NvmeNamespaceManagementSelect)(command.Cdw10 & 0xF), command.Nsid, (byte)(command.Cdw11 >> 24));
        return command.Opcode == NvmeAdminOpcode.NamespaceManagement;
    }
}

/// <summary>Namespace Attachment (15h), Base Specification 2.0 §5.19: CDW10 SEL 3:0; the data is a Controller List.</summary>
public readonly record struct NamespaceAttachmentCommand(NvmeNamespaceAttachmentSelect Sel, uint Nsid)
{
    public NvmeCommand ToCommand() => new()
    {
        Opcode = NvmeAdminOpcode.NamespaceAttachment,
        Nsid = Nsid,
        Cdw10 = (uint)Sel & 0xF,
    };

    public static bool TryRead(in NvmeCommand command, out NamespaceAttachmentCommand attachment)
    {
        attachment = new NamespaceAttachmentCommand((NvmeNamespaceAttachmentSelect)(command.Cdw10 & 0xF), command.Nsid);
        return command.Opcode == NvmeAdminOpcode.NamespaceAttachment;
    }
}

/// <summary>
/// Format NVM (80h), Base Specification 2.0 §5.14: CDW10 LBAFL 3:0, MSET bit 4, PI 7:5, PIL bit 8, SES 11:9, LBAFU 13:12.
/// <see cref="Lbaf"/> is the whole 6-bit LBA format index.
/// </summary>
public readonly record struct FormatNvmCommand(uint Nsid, byte Lbaf, NvmeSecureErase Ses = NvmeSecureErase.None, byte Pi = 0, bool Pil = false, bool Mset = false)
{
    public NvmeCommand ToCommand()
    {
        if (Lbaf > 63 || Pi > 7 || (byte)Ses > 7)
        {
            throw new ArgumentOutOfRangeException(nameof(Lbaf), "LBA format is 0..63, PI 0..7 and SES 0..7.");
        }

        return new NvmeCommand
        {
            Opcode = NvmeAdminOpcode.FormatNvm,
            Nsid = Nsid,
            Cdw10 = (uint)(Lbaf & 0xF) | (Mset ? 1u << 4 : 0) | ((uint)Pi << 5) | (Pil ? 1u << 8 : 0)
                | (((uint)Ses & 0x7) << 9) | ((uint)(Lbaf >> 4) << 12),
        };
    }

    public static bool TryRead(in NvmeCommand command, out FormatNvmCommand format)
    {
        uint d = command.Cdw10;
        format = new FormatNvmCommand(command.Nsid, (byte)((d & 0xF) | (((d >> 12) & 0x3) << 4)), (NvmeSecureErase)((d >> 9) & 0x7),
            (byte)((d >> 5) & 0x7), (d & (1u << 8)) != 0, (d & (1u << 4)) != 0);
        return command.Opcode == NvmeAdminOpcode.FormatNvm;
    }
}

/// <summary>
/// Sanitize (84h), Base Specification 2.0 §5.24: CDW10 SANACT 2:0, AUSE bit 3, OWPASS 7:4, OIPBP bit 8, NDAS bit 9;
/// CDW11 OVRPAT.
/// </summary>
public readonly record struct SanitizeCommand(NvmeSanitizeAction Sanact, bool Ause = false, byte Owpass = 0, bool Oipbp = false, bool Ndas = false, uint Ovrpat = 0)
{
    public NvmeCommand ToCommand()
    {
        if (Owpass > 15)
        {
            throw new ArgumentOutOfRangeException(nameof(Owpass), Owpass, "OWPASS is 4 bits.");
        }

        return new NvmeCommand
        {
            Opcode = NvmeAdminOpcode.Sanitize,
            Cdw10 = ((uint)Sanact & 0x7) | (Ause ? 1u << 3 : 0) | ((uint)Owpass << 4) | (Oipbp ? 1u << 8 : 0) | (Ndas ? 1u << 9 : 0),
            Cdw11 = Ovrpat,
        };
    }

    public static bool TryRead(in NvmeCommand command, out SanitizeCommand sanitize)
    {
        uint d = command.Cdw10;
        sanitize = new SanitizeCommand((NvmeSanitizeAction)(d & 0x7), (d & (1u << 3)) != 0, (byte)((d >> 4) & 0xF), (d & (1u << 8)) != 0,
            (d & (1u << 9)) != 0, command.Cdw11);
        return command.Opcode == NvmeAdminOpcode.Sanitize;
    }
}

/// <summary>
/// Firmware Image Download (11h), Base Specification 2.0 §5.13: CDW10 NUMD (0-based dwords), CDW11 OFST (dword offset).
/// </summary>
public readonly record struct FirmwareImageDownloadCommand(uint Numd, uint Ofst)
{
    /// <summary>Bytes this piece carries: (NUMD + 1) dwords.</summary>
    public long LengthBytes => ((long)Numd + 1) * 4;

    /// <summary>Byte offset of this piece in the image.</summary>
    public long OffsetBytes => (long)Ofst * 4;

    /// <summary>A piece of <paramref name="length"/> bytes at byte <paramref name="offset"/> (both whole dwords).</summary>
    public static FirmwareImageDownloadCommand ForBytes(int length, long offset)
    {
        if (length <= 0 || (length & 3) != 0 || offset < 0 || (offset & 3) != 0 || (offset >> 2) > uint.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(length), "Firmware Image Download moves whole dwords at a dword offset.");
        }

        return new FirmwareImageDownloadCommand((uint)(length / 4) - 1, (uint)(offset >> 2));
    }

    public NvmeCommand ToCommand() => new()
    {
        Opcode = NvmeAdminOpcode.FirmwareImageDownload,
        Cdw10 = Numd,
        Cdw11 = Ofst,
    };

    public static bool TryRead(in NvmeCommand command, out FirmwareImageDownloadCommand download)
    {
        download = new FirmwareImageDownloadCommand(command.Cdw10, command.Cdw11);
        return command.Opcode == NvmeAdminOpcode.FirmwareImageDownload;
    }
}

/// <summary>Firmware Commit (10h), Base Specification 2.0 §5.12: CDW10 FS 2:0, CA 5:3, BPID bit 31.</summary>
public readonly record struct FirmwareCommitCommand(byte Fs, NvmeFirmwareCommitAction Ca, bool Bpid = false)
{
    public NvmeCommand ToCommand()
    {
        if (Fs > 7)
        {
            throw new ArgumentOutOfRangeException(nameof(Fs), Fs, "Firmware slot is 0..7.");
        }

        return new NvmeCommand
        {
            Opcode = NvmeAdminOpcode.FirmwareCommit,
            Cdw10 = Fs | (((uint)Ca & 0x7) << 3) | (Bpid ? 1u << 31 : 0),
        };
    }

    public static bool TryRead(in NvmeCommand command, out FirmwareCommitCommand commit)
    {
        commit = new FirmwareCommitCommand((byte)(command.Cdw10 & 0x7), (NvmeFirmwareCommitAction)((command.Cdw10 >> 3) & 0x7), (command.Cdw10 & (1u << 31)) != 0);
        return command.Opcode == NvmeAdminOpcode.FirmwareCommit;
    }
}

/// <summary>Device Self-test (14h), Base Specification 2.0 §5.9: CDW10 STC 3:0; NSID selects the namespaces tested.</summary>
public readonly record struct DeviceSelfTestCommand(NvmeSelfTestCode Stc, uint Nsid = NvmeAdminCommands.BroadcastNsid)
{
    public NvmeCommand ToCommand() => new()
    {
        Opcode = NvmeAdminOpcode.DeviceSelfTest,
        Nsid = Nsid,
        Cdw10 = (uint)Stc & 0xF,
    };

    public static bool TryRead(in NvmeCommand command, out DeviceSelfTestCommand selfTest)
    {
        selfTest = new DeviceSelfTestCommand((NvmeSelfTestCode)(command.Cdw10 & 0xF), command.Nsid);
        return command.Opcode == NvmeAdminOpcode.DeviceSelfTest;
    }
}
