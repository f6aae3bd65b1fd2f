namespace NvmePS.Engine.Admin;

/// <summary>
/// Identify (06h), Base Specification 2.0 §5.17: CDW10 CNS 7:0, CNTID 31:16; CDW11 CNS specific identifier 15:0,
/// CSI 31:24; CDW14 UUID index 6:0. The one place these bits are laid out: the host builds with
/// <see cref="ToCommand"/>, every controller and simulator reads with <see cref="TryRead"/>.
/// </summary>
public readonly record struct IdentifyCommand(byte Cns, uint Nsid = 0, ushort Cntid = 0, ushort CnsSpecificId = 0, byte Csi = 0, byte UuidIndex = 0)
{
    public NvmeCommand ToCommand() => new()
    {
        Opcode = NvmeAdminOpcode.Identify,
        Nsid = Nsid,
        Cdw10 = Cns | ((uint)Cntid << 16),
        Cdw11 = CnsSpecificId | ((uint)Csi << 24),
        Cdw14 = (uint)(UuidIndex & 0x7F),
    };

    public static bool TryRead(in NvmeCommand command, out IdentifyCommand identify)
    {
        identify = new IdentifyCommand((byte)command.Cdw10, command.Nsid, (ushort)(command.Cdw10 >> 16), (ushort)command.Cdw11, (byte)(command.Cdw11 >> 24), (byte)(command.Cdw14 & 0x7F));
        return command.Opcode == NvmeAdminOpcode.Identify;
    }
}

/// <summary>
/// Get Log Page (02h), Base Specification 2.0 §5.16: CDW10 LID 7:0, LSP 14:8, RAE bit 15, NUMDL 31:16; CDW11 NUMDU
/// 15:0, LSI 31:16; CDW12/13 LPOL/LPOU; CDW14 UUID index 6:0, OT bit 23, CSI 31:24. <see cref="Numd"/> is the 0-based
/// dword count as on the wire; <see cref="LengthBytes"/> is what it asks for.
/// </summary>
public readonly record struct GetLogPageCommand(byte Lid, uint Numd, uint Nsid = NvmeAdminCommands.BroadcastNsid, ulong Offset = 0, bool Rae = false,
    byte Lsp = 0, ushort Lsi = 0, bool OffsetIsIndex = false, byte Csi = 0, byte UuidIndex = 0)
{
    /// <summary>Bytes requested: (NUMD + 1) dwords.</summary>
    public long LengthBytes => ((long)Numd + 1) * 4;

    public NvmeCommand ToCommand() => new()
    {
        Opcode = NvmeAdminOpcode.GetLogPage,
        Nsid = Nsid,
        Cdw10 = Lid | ((uint)(Lsp & 0x7F) << 8) | (Rae ? 1u << 15 : 0) | ((Numd & 0xFFFF) << 16),
        Cdw11 = (Numd >> 16) | ((uint)Lsi << 16),
        Cdw12 = (uint)Offset,
        Cdw13 = (uint)(Offset >> 32),
        Cdw14 = (uint)(UuidIndex & 0x7F) | (OffsetIsIndex ? 1u << 23 : 0) | ((uint)Csi << 24),
    };

    public static bool TryRead(in NvmeCommand command, out GetLogPageCommand getLog)
    {
        getLog = new GetLogPageCommand(
            Lid: (byte)command.Cdw10,
            Numd: (command.Cdw10 >> 16) | ((command.Cdw11 & 0xFFFF) << 16),
            Nsid: command.Nsid,
            Offset: command.Cdw12 | ((ulong)command.Cdw13 << 32),
            Rae: (command.Cdw10 & (1u << 15)) != 0,
            Lsp: (byte)((command.Cdw10 >> 8) & 0x7F),
            Lsi: (ushort)(command.Cdw11 >> 16),
            OffsetIsIndex: (command.Cdw14 & (1u << 23)) != 0,
            Csi: (byte)(command.Cdw14 >> 24),
            UuidIndex: (byte)(command.Cdw14 & 0x7F));
        return command.Opcode == NvmeAdminOpcode.GetLogPage;
    }
}

/// <summary>Get Features (0Ah), Base Specification 2.0 §5.15: CDW10 FID 7:0, SEL 10:8; CDW11 feature specific.</summary>
public readonly record struct GetFeaturesCommand(byte Fid, NvmeFeatureSelect Select = NvmeFeatureSelect.Current, uint Nsid = 0, uint Cdw11 = 0)
{
    public NvmeCommand ToCommand() => new()
    {
        Opcode = NvmeAdminOpcode.GetFeatures,
        Nsid = Nsid,
        Cdw10 = Fid | (((uint)Select & 0x7) << 8),
        Cdw11 = Cdw11,
    };

    public static bool TryRead(in NvmeCommand command, out GetFeaturesCommand get)
    {
        get = new GetFeaturesCommand((byte)command.Cdw10, (NvmeFeatureSelect)((command.Cdw10 >> 8) & 0x7), command.Nsid, command.Cdw11);
        return command.Opcode == NvmeAdminOpcode.GetFeatures;
    }
}

/// <summary>Set Features (09h), Base Specification 2.0 §5.27: CDW10 FID 7:0, SV bit 31; CDW11..CDW13 feature specific.</summary>
public readonly record struct SetFeaturesCommand(byte Fid, uint Cdw11, bool Save = false, uint Nsid = 0, uint Cdw12 = 0, uint Cdw13 = 0)
{
    public NvmeCommand ToCommand() => new()
    {
        Opcode = NvmeAdminOpcode.SetFeatures,
        Nsid = Nsid,
        Cdw10 = Fid | (Save ? 1u << 31 : 0),
        Cdw11 = Cdw11,
        Cdw12 = Cdw12,
        Cdw13 = Cdw13,
    };

    public static bool TryRead(in NvmeCommand command, out SetFeaturesCommand set)
    {
        set = new SetFeaturesCommand((byte)command.Cdw10, command.Cdw11, (command.Cdw10 & (1u << 31)) != 0, command.Nsid, command.Cdw12, command.Cdw13);
        return command.Opcode == NvmeAdminOpcode.SetFeatures;
    }
}

/// <summary>
/// Read (02h), Write (01h), Compare (05h) and Write Zeroes (08h), NVM Command Set 1.0 §3.3.4/§3.3.6/§3.3.7/§3.2.1: CDW10/11 SLBA; CDW12 NLB
/// 15:0 (0-based on the wire, <see cref="Blocks"/> is 1-based), DEAC bit 25 (Write Zeroes), FUA bit 30, LR bit 31.
/// </summary>
public readonly record struct ReadWriteCommand(byte Opcode, uint Nsid, ulong Slba, int Blocks, bool Fua = false, bool Deallocate = false)
{
    /// <summary>The most blocks one command addresses: NLB is a 16-bit 0-based count.</summary>
    public const int MaxBlocks = 65536;

    public NvmeCommand ToCommand()
    {
        if (Blocks is < 1 or > MaxBlocks)
        {
            throw new ArgumentOutOfRangeException(nameof(Blocks), Blocks, $"1..{MaxBlocks} blocks.");
        }

        return new NvmeCommand
        {
            Opcode = Opcode,
            Nsid = Nsid,
            Cdw10 = (uint)Slba,
            Cdw11 = (uint)(Slba >> 32),
            Cdw12 = (uint)(Blocks - 1) | (Deallocate ? 1u << 25 : 0) | (Fua ? 1u << 30 : 0),
        };
    }

    /// <summary>Reads the fields of any command laid out as Read/Write (they are meaningless for other opcodes).</summary>
    public static ReadWriteCommand Read(in NvmeCommand command) =>
        new(command.Opcode, command.Nsid, command.Cdw10 | ((ulong)command.Cdw11 << 32), (int)(command.Cdw12 & 0xFFFF) + 1,
            Fua: (command.Cdw12 & (1u << 30)) != 0, Deallocate: (command.Cdw12 & (1u << 25)) != 0);

    public static bool TryRead(in NvmeCommand command, out ReadWriteCommand rw)
    {
        rw = Read(command);
        return command.Opcode is NvmeIoOpcode.Read or NvmeIoOpcode.Write or NvmeIoOpcode.WriteZeroes or NvmeIoOpcode.Compare;
    }
}

/// <summary>Dataset Management (09h), NVM Command Set 1.0 §3.3.3: CDW10 NR 7:0 (0-based); CDW11 IDR bit 0, IDW bit 1, AD bit 2.</summary>
public readonly record struct DatasetManagementCommand(uint Nsid, int Ranges, bool Deallocate = true, bool IntegralRead = false, bool IntegralWrite = false)
{
    /// <summary>Bytes of range entries the command carries.</summary>
    public int DataLength => Ranges * NvmeDsmRange.Size;

    public NvmeCommand ToCommand()
    {
        if (Ranges is < 1 or > 256)
        {
            throw new ArgumentOutOfRangeException(nameof(Ranges), Ranges, "1..256 ranges.");
        }

        return new NvmeCommand
        {
            Opcode = NvmeIoOpcode.DatasetManagement,
            Nsid = Nsid,
            Cdw10 = (uint)(Ranges - 1),
            Cdw11 = (IntegralRead ? 1u : 0) | (IntegralWrite ? 2u : 0) | (Deallocate ? 4u : 0),
        };
    }

    public static bool TryRead(in NvmeCommand command, out DatasetManagementCommand dsm)
    {
        dsm = new DatasetManagementCommand(command.Nsid, (int)(command.Cdw10 & 0xFF) + 1, (command.Cdw11 & 4) != 0, (command.Cdw11 & 1) != 0, (command.Cdw11 & 2) != 0);
        return command.Opcode == NvmeIoOpcode.DatasetManagement;
    }
}
