using System.Buffers.Binary;

namespace NvmePS.Engine.Fabrics;

/// <summary>Fabrics command types, FCTYPE at SQE byte 4 of opcode 7Fh (NVMe over Fabrics 1.1, §3.3 Figure 11 / NVMe Base 2.0 §6).</summary>
public enum FabricsCommandType : byte
{
    PropertySet = 0x00,
    Connect = 0x01,
    PropertyGet = 0x04,
    AuthenticationSend = 0x05,
    AuthenticationReceive = 0x06,
    Disconnect = 0x08,
}

/// <summary>Constants shared by every Fabrics command (NVMe over Fabrics 1.1, §3.3 "Fabrics Command").</summary>
public static class FabricsCommand
{
    /// <summary>OPCODE of every Fabrics command.</summary>
    public const byte Opcode = 0x7F;

    /// <summary>FCTYPE byte offset in the SQE (it sits where NSID starts in other commands).</summary>
    public const int FctypeOffset = 4;

    /// <summary>CDW0 flags for a command whose data pointer is an SGL: PSDT = 01b
    /// (what Linux's nvmet requires of every fabrics-transported command).</summary>
    public const byte SglFlags = 0x40;

    /// <summary>The well-known NQN of a Discovery subsystem (NVMe over Fabrics 1.1, §7.1).</summary>
    public const string DiscoveryNqn = "nqn.2014-08.org.nvmexpress.discovery";

    /// <summary>True when <paramref name="command"/> has opcode 7Fh.</summary>
    public static bool IsFabrics(in NvmeCommand command) => command.Opcode == Opcode;

    /// <summary>FCTYPE of a Fabrics SQE (low byte of the NSID dword).</summary>
    public static FabricsCommandType GetFctype(in NvmeCommand command) => (FabricsCommandType)(command.Nsid & 0xFF);

    internal static NvmeCommand Create(FabricsCommandType fctype, ushort cid) =>
        new() { Opcode = Opcode, Flags = SglFlags, Cid = cid, Nsid = (byte)fctype };
}

/// <summary>Connect command SQE fields (NVMe over Fabrics 1.1, §3.3 Figure 20; Linux struct nvmf_connect_command).
/// RECFMT at byte 40, QID 42, SQSIZE 44 (0's based), CATTR 46, KATO 48 (milliseconds).</summary>
public readonly record struct ConnectCommand(ushort Recfmt, ushort Qid, ushort Sqsize, byte Cattr, uint Kato)
{
    public const int RecfmtOffset = 40;
    public const int QidOffset = 42;
    public const int SqsizeOffset = 44;
    public const int CattrOffset = 46;
    public const int KatoOffset = 48;

    /// <summary>CATTR bit 2: disable SQ flow control (the controller then reports SQHD FFFFh).</summary>
    public const byte CattrDisableSqFlowControl = 0x04;

    /// <summary>CATTR bit 2 set.</summary>
    public bool DisableSqFlowControl => (Cattr & CattrDisableSqFlowControl) != 0;

    /// <summary>Number of SQ entries (SQSIZE is 0's based).</summary>
    public int QueueEntries => Sqsize + 1;

    /// <summary>The SQE for this Connect, with an SGL pointing at <paramref name="dataPointer"/>.</summary>
    public NvmeCommand ToCommand(ushort cid, SglDescriptor dataPointer)
    {
        var c = FabricsCommand.Create(FabricsCommandType.Connect, cid);
        dataPointer.WriteTo(ref c);
        c.Cdw10 = Recfmt | ((uint)Qid << 16);
        c.Cdw11 = Sqsize | ((uint)Cattr << 16);
        c.Cdw12 = Kato;
        return c;
    }

    /// <summary>Decodes the Connect fields of an SQE; false when it is not a Fabrics Connect.</summary>
    public static bool TryRead(in NvmeCommand command, out ConnectCommand connect)
    {
        if (command.Opcode != FabricsCommand.Opcode || FabricsCommand.GetFctype(command) != FabricsCommandType.Connect)
        {
            connect = default;
            return false;
        }

        connect = new ConnectCommand(
            (ushort)command.Cdw10, (ushort)(command.Cdw10 >> 16), (ushort)command.Cdw11, (byte)(command.Cdw11 >> 16), command.Cdw12);
        return true;
    }
}

/// <summary>Where a Connect data field failed validation: the IPO/IATTR pair a Connect Invalid Parameters response carries.</summary>
public readonly record struct ConnectDataError(int Offset, string Reason);

/// <summary>
/// The 1024-byte Connect command data (NVMe over Fabrics 1.1, §3.3 Figure 21; Linux struct nvmf_connect_data):
/// HOSTID 0..15, CNTLID 16..17, SUBNQN 256..511, HOSTNQN 512..767. NQNs are UTF-8, NUL-terminated, at most 223 bytes.
/// </summary>
public sealed record ConnectData(Guid HostId, ushort Cntlid, string SubNqn, string HostNqn)
{
    public const int Size = 1024;
    public const int HostIdOffset = 0;
    public const int CntlidOffset = 16;
    public const int SubNqnOffset = 256;
    public const int HostNqnOffset = 512;
    public const int NqnFieldSize = 256;

    /// <summary>Largest NQN in bytes, without the NUL (NVMe Base 2.0 §4.5).</summary>
    public const int MaxNqnLength = 223;

    /// <summary>CNTLID value of an admin-queue Connect on the dynamic controller model: "any controller".</summary>
    public const ushort DynamicCntlid = 0xFFFF;

    /// <summary>Writes the 1024 bytes (all reserved bytes zero). Throws when an NQN is too long or contains NUL.</summary>
    public void WriteTo(Span<byte> destination)
    {
        if (destination.Length < Size)
        {
            throw new ArgumentException("Connect data needs 1024 bytes.", nameof(destination));
        }

        destination[..Size].Clear();
        WriteGuid(HostId, destination[HostIdOffset..]);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[CntlidOffset..], Cntlid);
        Nqn.Write(SubNqn, destination.Slice(SubNqnOffset, NqnFieldSize));
        Nqn.Write(HostNqn, destination.Slice(HostNqnOffset, NqnFieldSize));
    }

    /// <summary>Encodes into a new 1024-byte array.</summary>
    public byte[] ToArray()
    {
        byte[] b = new byte[Size];
        WriteTo(b);
        return b;
    }

    /// <summary>Decodes Connect data. On failure <paramref name="error"/> names the offset of the bad field
    /// (the IPO of a Connect Invalid Parameters response, with IATTR = 1 "in the data").</summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out ConnectData? data, out ConnectDataError error)
    {
        data = null;
        if (source.Length < Size)
        {
            error = new ConnectDataError(0, $"Connect data is {source.Length} bytes; 1024 are required.");
            return false;
        }

        if (!Nqn.TryRead(source.Slice(SubNqnOffset, NqnFieldSize), out string? sub, out string? why))
        {
            error = new ConnectDataError(SubNqnOffset, "SUBNQN: " + why);
            return false;
        }

        if (!Nqn.TryRead(source.Slice(HostNqnOffset, NqnFieldSize), out string? host, out why))
        {
            error = new ConnectDataError(HostNqnOffset, "HOSTNQN: " + why);
            return false;
        }

        data = new ConnectData(
            ReadGuid(source[HostIdOffset..]), BinaryPrimitives.ReadUInt16LittleEndian(source[CntlidOffset..]), sub!, host!);
        error = default;
        return true;
    }

    // HOSTID is a UUID carried in RFC 4122 byte order (big-endian fields), as Linux's uuid_t is.
    private static void WriteGuid(Guid g, Span<byte> destination) => g.TryWriteBytes(destination[..16], bigEndian: true, out _);

    private static Guid ReadGuid(ReadOnlySpan<byte> source) => new(source[..16], bigEndian: true);
}

/// <summary>The Connect response in CQE DW0 (NVMe over Fabrics 1.1, §3.3 Figure 22/23).
/// Success: CNTLID bits 15:0, AUTHREQ bits 17:16. Connect Invalid Parameters: IPO bits 15:0, IATTR bits 23:16.</summary>
public static class ConnectResponse
{
    /// <summary>IATTR bit 0 clear: the invalid parameter is in the SQE.</summary>
    public const byte IattrInCommand = 0;

    /// <summary>IATTR bit 0 set: the invalid parameter is in the Connect data.</summary>
    public const byte IattrInData = 1;

    public static ushort GetCntlid(in NvmeCompletion completion) => (ushort)completion.Dw0;

    /// <summary>AUTHREQ bit 1 (DW0 bit 17, ATR): an authentication transaction is required. Bit 0 (DW0 bit 16) is
    /// reserved in NVMe Base 2.0 but Linux 6.1 also honours it on the admin queue.</summary>
    public const byte AuthreqAtr = 0x02;

    /// <summary>DW0 bit 18 (ASCR): a secure channel (TLS) is required.</summary>
    public const uint AscrBit = 1u << 18;

    public static byte GetAuthreq(in NvmeCompletion completion) => (byte)((completion.Dw0 >> 16) & 0x3);

    public static ushort GetInvalidParameterOffset(in NvmeCompletion completion) => (ushort)completion.Dw0;

    public static byte GetInvalidParameterAttributes(in NvmeCompletion completion) => (byte)(completion.Dw0 >> 16);

    /// <summary>DW0 of a successful Connect.</summary>
    public static uint SuccessDw0(ushort cntlid, byte authreq = 0) => cntlid | ((uint)(authreq & 0x3) << 16);

    /// <summary>DW0 of a Connect Invalid Parameters completion.</summary>
    public static uint InvalidParameterDw0(ushort ipo, byte iattr) => ipo | ((uint)iattr << 16);
}

/// <summary>Property size encoded in ATTRIB bits 2:0 (NVMe over Fabrics 1.1, §3.4/§3.5).</summary>
public enum PropertySize : byte
{
    FourBytes = 0,
    EightBytes = 1,
}

/// <summary>Property Get SQE fields: ATTRIB byte 40, OFST bytes 44..47 (NVMe over Fabrics 1.1, §3.4 Figure 24).
/// The value returns in CQE DW0 (4 bytes) or DW0..DW1 (8 bytes).</summary>
public readonly record struct PropertyGetCommand(PropertySize Size, uint Offset)
{
    public const int AttribOffset = 40;
    public const int OfstOffset = 44;

    public NvmeCommand ToCommand(ushort cid)
    {
        var c = FabricsCommand.Create(FabricsCommandType.PropertyGet, cid);
        c.Cdw10 = (byte)Size;
        c.Cdw11 = Offset;
        return c;
    }

    /// <summary>False unless a Property Get with a valid ATTRIB size.</summary>
    public static bool TryRead(in NvmeCommand command, out PropertyGetCommand get)
    {
        get = new PropertyGetCommand((PropertySize)(command.Cdw10 & 0x7), command.Cdw11);
        return command.Opcode == FabricsCommand.Opcode && FabricsCommand.GetFctype(command) == FabricsCommandType.PropertyGet
            && (command.Cdw10 & 0x7) <= 1;
    }

    /// <summary>The property value of a Property Get completion.</summary>
    public static ulong GetValue(in NvmeCompletion completion, PropertySize size) =>
        size == PropertySize.EightBytes ? completion.Dw0 | ((ulong)completion.Dw1 << 32) : completion.Dw0;
}

/// <summary>Property Set SQE fields: ATTRIB byte 40, OFST 44..47, VALUE 48..55 (NVMe over Fabrics 1.1, §3.5 Figure 26).</summary>
public readonly record struct PropertySetCommand(PropertySize Size, uint Offset, ulong Value)
{
    public const int AttribOffset = 40;
    public const int OfstOffset = 44;
    public const int ValueOffset = 48;

    public NvmeCommand ToCommand(ushort cid)
    {
        var c = FabricsCommand.Create(FabricsCommandType.PropertySet, cid);
        c.Cdw10 = (byte)Size;
        c.Cdw11 = Offset;
        c.Cdw12 = (uint)Value;
        c.Cdw13 = Size == PropertySize.EightBytes ? (uint)(Value >> 32) : 0;
        return c;
    }

    public static bool TryRead(in NvmeCommand command, out PropertySetCommand set)
    {
        var size = (PropertySize)(command.Cdw10 & 0x7);
        ulong value = size == PropertySize.EightBytes ? command.Cdw12 | ((ulong)command.Cdw13 << 32) : command.Cdw12;
        set = new PropertySetCommand(size, command.Cdw11, value);
        return command.Opcode == FabricsCommand.Opcode && FabricsCommand.GetFctype(command) == FabricsCommandType.PropertySet
            && (command.Cdw10 & 0x7) <= 1;
    }
}

/// <summary>Disconnect SQE fields: RECFMT bytes 40..41 (NVMe over Fabrics 1.1, §3.6). Deletes the I/O queue it is sent on.</summary>
public readonly record struct DisconnectCommand(ushort Recfmt)
{
    public NvmeCommand ToCommand(ushort cid)
    {
        var c = FabricsCommand.Create(FabricsCommandType.Disconnect, cid);
        c.Cdw10 = Recfmt;
        return c;
    }

    public static bool TryRead(in NvmeCommand command, out DisconnectCommand disconnect)
    {
        disconnect = new DisconnectCommand((ushort)command.Cdw10);
        return command.Opcode == FabricsCommand.Opcode && FabricsCommand.GetFctype(command) == FabricsCommandType.Disconnect;
    }
}

/// <summary>Authentication Send (FCTYPE 05h) and Receive (06h) SQE fields (NVMe Base 2.0 §6.2/§6.3):
/// SPSP0 byte 41, SPSP1 byte 42, SECP byte 43, TL/AL bytes 44..47.</summary>
public readonly record struct AuthenticationCommand(bool IsSend, byte Secp, byte Spsp0, byte Spsp1, uint Length)
{
    /// <summary>SECP of NVMe in-band authentication.</summary>
    public const byte SecpNvme = 0xE9;

    public NvmeCommand ToCommand(ushort cid, SglDescriptor dataPointer)
    {
        var c = FabricsCommand.Create(IsSend ? FabricsCommandType.AuthenticationSend : FabricsCommandType.AuthenticationReceive, cid);
        dataPointer.WriteTo(ref c);
        c.Cdw10 = ((uint)Spsp0 << 8) | ((uint)Spsp1 << 16) | ((uint)Secp << 24);
        c.Cdw11 = Length;
        return c;
    }

    public static bool TryRead(in NvmeCommand command, out AuthenticationCommand auth)
    {
        var t = FabricsCommand.GetFctype(command);
        auth = new AuthenticationCommand(
            t == FabricsCommandType.AuthenticationSend, (byte)(command.Cdw10 >> 24), (byte)(command.Cdw10 >> 8), (byte)(command.Cdw10 >> 16), command.Cdw11);
        return command.Opcode == FabricsCommand.Opcode
            && (t == FabricsCommandType.AuthenticationSend || t == FabricsCommandType.AuthenticationReceive);
    }
}
