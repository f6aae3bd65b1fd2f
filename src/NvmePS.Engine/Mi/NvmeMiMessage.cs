using System.Buffers.Binary;
using NvmePS.Engine.Mctp;

namespace NvmePS.Engine.Mi;

/// <summary>NMIMT: NVMe-MI Message Type (NVMe-MI 1.2 §3.1.1, Figure 20).</summary>
public enum NvmeMiMessageType : byte
{
    ControlPrimitive = 0,
    MiCommand = 1,
    AdminCommand = 2,
    PcieCommand = 4,
    AsyncEvent = 5,
}

/// <summary>
/// NVMe-MI Message Header (NVMe-MI 1.2 §3.1.1, Figure 20), the first 4 bytes of every NVMe-MI message over MCTP:
/// byte 0 = MCTP message type 04h with IC (bit 7) set; byte 1 = ROR (bit 7), NMIMT (bits 6:3), CSI (bit 0);
/// byte 2 = MEB (bit 0), CIAP (bit 1); byte 3 reserved.
/// </summary>
public readonly record struct NvmeMiMessageHeader(NvmeMiMessageType Nmimt, bool IsResponse, byte CommandSlot = 0, bool ManagementEndpointBuffer = false)
{
    public const int Size = 4;
    public const int MctpTypeOffset = 0;
    public const int NmpOffset = 1;
    public const int MebOffset = 2;

    /// <summary>The first byte of every NVMe-MI message: type 4 with the integrity-check bit.</summary>
    public const byte MctpTypeByte = MctpMessageTypes.NvmeManagement | MctpMessageTypes.IntegrityCheck;

    public void WriteTo(Span<byte> destination)
    {
        destination[MctpTypeOffset] = MctpTypeByte;
        destination[NmpOffset] = (byte)((IsResponse ? 0x80 : 0) | (((byte)Nmimt & 0xF) << 3) | (CommandSlot & 0x1));
        destination[MebOffset] = (byte)(ManagementEndpointBuffer ? 1 : 0);
        destination[3] = 0;
    }

    /// <summary>Decodes the header fields (without judging them); false when fewer than 4 bytes.</summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out NvmeMiMessageHeader header)
    {
        if (source.Length < Size)
        {
            header = default;
            return false;
        }

        byte nmp = source[NmpOffset];
        header = new NvmeMiMessageHeader((NvmeMiMessageType)((nmp >> 3) & 0xF), (nmp & 0x80) != 0, (byte)(nmp & 1), (source[MebOffset] & 1) != 0);
        return true;
    }
}

/// <summary>Message Integrity Check (NVMe-MI 1.2 §3.1.2): CRC-32C over the whole message before it, little-endian.</summary>
public static class NvmeMiMic
{
    public const int Size = 4;

    /// <summary>The MIC of <paramref name="message"/> (the bytes the MIC protects).</summary>
    public static uint Compute(ReadOnlySpan<byte> message) => Crc32C.Compute(message);

    /// <summary>Writes the MIC of the first <paramref name="length"/> bytes right after them; returns the new length.</summary>
    public static int Append(Span<byte> buffer, int length)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(buffer[length..], Compute(buffer[..length]));
        return length + Size;
    }

    /// <summary>True when the last 4 bytes of <paramref name="messageWithMic"/> are the MIC of the rest.</summary>
    public static bool Verify(ReadOnlySpan<byte> messageWithMic) =>
        messageWithMic.Length >= Size &&
        BinaryPrimitives.ReadUInt32LittleEndian(messageWithMic[^Size..]) == Compute(messageWithMic[..^Size]);
}

/// <summary>Opcodes of the NVMe-MI Command Set (NVMe-MI 1.2 §5, Figure 57).</summary>
public enum NvmeMiOpcode : byte
{
    ReadDataStructure = 0x00,
    SubsystemHealthStatusPoll = 0x01,
    ControllerHealthStatusPoll = 0x02,
    ConfigurationSet = 0x03,
    ConfigurationGet = 0x04,
    VpdRead = 0x05,
    VpdWrite = 0x06,
    Reset = 0x07,
    SesReceive = 0x08,
    SesSend = 0x09,
    MebRead = 0x0A,
    MebWrite = 0x0B,
    Shutdown = 0x0C,
}

/// <summary>Control Primitive opcodes (NVMe-MI 1.2 §4.2.1, Figure 26).</summary>
public enum NvmeMiControlOpcode : byte
{
    Pause = 0x00,
    Resume = 0x01,
    Abort = 0x02,
    GetState = 0x03,
    Replay = 0x04,
}

/// <summary>DTYP of Read NVMe-MI Data Structure (NVMe-MI 1.2 §5.7, Figure 105).</summary>
public enum NvmeMiDataStructureType : byte
{
    SubsystemInformation = 0x00,
    PortInformation = 0x01,
    ControllerList = 0x02,
    ControllerInformation = 0x03,
    OptionalCommandsSupported = 0x04,
    MebCommandsSupported = 0x05,
}

/// <summary>Configuration Identifiers (NVMe-MI 1.2 §5.1, Figure 62; §5.1.4 in NVMe-MI 2.0 for Asynchronous Event).</summary>
public enum NvmeMiConfigurationId : byte
{
    SmbusI2cFrequency = 0x01,
    HealthStatusChange = 0x02,
    MctpTransmissionUnitSize = 0x03,
    AsyncEvent = 0x04,
}

/// <summary>SMBus/I2C Frequency values (NVMe-MI 1.2 Figure 63).</summary>
public enum SmbusFrequency : byte
{
    NotSupported = 0,
    Freq100kHz = 1,
    Freq400kHz = 2,
    Freq1MHz = 3,
}

/// <summary>
/// Encoders for request messages and the fixed offsets of every NVMe-MI header (offsets count the 4-byte message header).
/// </summary>
public static class NvmeMiCodec
{
    /// <summary>Largest NVMe-MI message: 4 KiB of data + 128 bytes (NVMe-MI 1.2 §3.1).</summary>
    public const int MaxMessageSize = 4224;

    /// <summary>Most data one Admin command moves over MI (NVMe-MI 1.2 §6, DLEN).</summary>
    public const int MaxAdminDataLength = 4096;

    // NVMe-MI Command request (Figure 54): opcode, reserved, NMD0, NMD1.
    public const int MiRequestHeaderSize = 16;
    public const int MiOpcodeOffset = 4;
    public const int MiCdw0Offset = 8;
    public const int MiCdw1Offset = 12;

    // Response message (Figure 24/55): status, NVMe Management Response.
    public const int StatusOffset = 4;
    public const int NmrespOffset = 5;
    public const int MiResponseHeaderSize = 8;

    // NVMe Admin Command request (Figure 132).
    public const int AdminRequestHeaderSize = 68;
    public const int AdminOpcodeOffset = 4;
    public const int AdminFlagsOffset = 5;
    public const int AdminControllerIdOffset = 6;
    public const int AdminCdw1Offset = 8;
    public const int AdminDataOffsetOffset = 28;
    public const int AdminDataLengthOffset = 32;
    public const int AdminReservedOffset = 36;
    public const int AdminCdw10Offset = 44;

    /// <summary>Command Flags: DLV, Data Length Valid.</summary>
    public const byte AdminFlagDlv = 0x01;
    /// <summary>Command Flags: DOV, Data Offset Valid.</summary>
    public const byte AdminFlagDov = 0x02;

    // NVMe Admin Command response (Figure 135).
    public const int AdminResponseHeaderSize = 20;
    public const int AdminCqeDw0Offset = 8;
    public const int AdminCqeDw1Offset = 12;
    public const int AdminCqeDw3Offset = 16;

    // Control Primitive request/response (Figures 25, 27).
    public const int ControlMessageSize = 8;
    public const int ControlOpcodeOffset = 4;
    public const int ControlTagOffset = 5;
    public const int ControlParameterOffset = 6;

    // More Processing Required response (Figure 30): MPRT in bytes 6-7, units of 100 ms.
    public const int MprtOffset = 6;

    /// <summary>Writes an NVMe-MI Command request with MIC; returns its length (16 + data + 4).</summary>
    public static int WriteMiRequest(Span<byte> destination, NvmeMiOpcode opcode, uint cdw0, uint cdw1, ReadOnlySpan<byte> data, byte commandSlot = 0)
    {
        int length = MiRequestHeaderSize + data.Length;
        CheckRoom(destination, length);
        new NvmeMiMessageHeader(NvmeMiMessageType.MiCommand, false, commandSlot).WriteTo(destination);
        destination[MiOpcodeOffset] = (byte)opcode;
        destination.Slice(5, 3).Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(destination[MiCdw0Offset..], cdw0);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[MiCdw1Offset..], cdw1);
        data.CopyTo(destination[MiRequestHeaderSize..]);
        return NvmeMiMic.Append(destination, length);
    }

    /// <summary>Writes an NVMe Admin Command request with MIC; returns its length (68 + data + 4).
    /// From the SQE it carries the opcode, NSID (SQE dword 1), dwords 2-3, MPTR (dwords 4-5) and dwords 10-15; the
    /// data pointer dwords are replaced by DOFST/DLEN and the CID does not travel (MI has one command per slot).</summary>
    public static int WriteAdminRequest(Span<byte> destination, in NvmeCommand command, ushort controllerId, uint dataOffset, uint dataLength, byte flags, ReadOnlySpan<byte> data, byte commandSlot = 0)
    {
        int length = AdminRequestHeaderSize + data.Length;
        CheckRoom(destination, length);
        new NvmeMiMessageHeader(NvmeMiMessageType.AdminCommand, false, commandSlot).WriteTo(destination);
        destination[AdminOpcodeOffset] = command.Opcode;
        destination[AdminFlagsOffset] = flags;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[AdminControllerIdOffset..], controllerId);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[AdminCdw1Offset..], command.Nsid);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[(AdminCdw1Offset + 4)..], command.Cdw2);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[(AdminCdw1Offset + 8)..], command.Cdw3);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[(AdminCdw1Offset + 12)..], command.Mptr);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[AdminDataOffsetOffset..], dataOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[AdminDataLengthOffset..], dataLength);
        destination.Slice(AdminReservedOffset, 8).Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(destination[AdminCdw10Offset..], command.Cdw10);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[(AdminCdw10Offset + 4)..], command.Cdw11);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[(AdminCdw10Offset + 8)..], command.Cdw12);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[(AdminCdw10Offset + 12)..], command.Cdw13);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[(AdminCdw10Offset + 16)..], command.Cdw14);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[(AdminCdw10Offset + 20)..], command.Cdw15);
        data.CopyTo(destination[AdminRequestHeaderSize..]);
        return NvmeMiMic.Append(destination, length);
    }

    /// <summary>Writes a Control Primitive request with MIC; returns its length (12).</summary>
    public static int WriteControlPrimitive(Span<byte> destination, NvmeMiControlOpcode opcode, byte tag, ushort parameter, byte commandSlot = 0)
    {
        CheckRoom(destination, ControlMessageSize);
        new NvmeMiMessageHeader(NvmeMiMessageType.ControlPrimitive, false, commandSlot).WriteTo(destination);
        destination[ControlOpcodeOffset] = (byte)opcode;
        destination[ControlTagOffset] = tag;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[ControlParameterOffset..], parameter);
        return NvmeMiMic.Append(destination, ControlMessageSize);
    }

    /// <summary>Reads the Admin request header back into an SQE (used by the simulator).</summary>
    public static NvmeCommand ReadAdminCommand(ReadOnlySpan<byte> message) => new()
    {
        Opcode = message[AdminOpcodeOffset],
        Nsid = BinaryPrimitives.ReadUInt32LittleEndian(message[AdminCdw1Offset..]),
        Cdw2 = BinaryPrimitives.ReadUInt32LittleEndian(message[(AdminCdw1Offset + 4)..]),
        Cdw3 = BinaryPrimitives.ReadUInt32LittleEndian(message[(AdminCdw1Offset + 8)..]),
        Mptr = BinaryPrimitives.ReadUInt64LittleEndian(message[(AdminCdw1Offset + 12)..]),
        Cdw10 = BinaryPrimitives.ReadUInt32LittleEndian(message[AdminCdw10Offset..]),
        Cdw11 = BinaryPrimitives.ReadUInt32LittleEndian(message[(AdminCdw10Offset + 4)..]),
        Cdw12 = BinaryPrimitives.ReadUInt32LittleEndian(message[(AdminCdw10Offset + 8)..]),
        Cdw13 = BinaryPrimitives.ReadUInt32LittleEndian(message[(AdminCdw10Offset + 12)..]),
        Cdw14 = BinaryPrimitives.ReadUInt32LittleEndian(message[(AdminCdw10Offset + 16)..]),
        Cdw15 = BinaryPrimitives.ReadUInt32LittleEndian(message[(AdminCdw10Offset + 20)..]),
    };

    private static void CheckRoom(Span<byte> destination, int length)
    {
        if (length + NvmeMiMic.Size > MaxMessageSize)
        {
            throw new ArgumentException($"An NVMe-MI message is at most {MaxMessageSize} bytes; this one would be {length + NvmeMiMic.Size}.");
        }

        if (destination.Length < length + NvmeMiMic.Size)
        {
            throw new ArgumentException("Destination too small for the message and its MIC.", nameof(destination));
        }
    }
}

/// <summary>A response that passed the checks of <see cref="NvmeMiResponse.Validate"/>: header fields and the
/// bounds of the body (without the MIC).</summary>
public readonly record struct NvmeMiResponse(NvmeMiMessageHeader Header, byte Status, int BodyLength)
{
    /// <summary>
    /// Checks a whole response message (MIC included) against the request it answers: length bounds, MCTP message
    /// type 0x84 (checked before the MIC: a message without IC has no MIC), MIC, ROR set, NMIMT and CSI equal to the
    /// request's. Each failure names what was wrong.
    /// </summary>
    public static NvmeMiResponse Validate(ReadOnlySpan<byte> message, NvmeMiMessageType expectedType, byte expectedSlot)
    {
        const int minimum = NvmeMiMessageHeader.Size + 1 + NvmeMiMic.Size;
        if (message.Length < minimum)
        {
            throw new NvmeProtocolException($"NVMe-MI response too short: {message.Length} bytes, need at least {minimum} (header, status and MIC).", fieldOffset: 0);
        }

        if (message.Length > NvmeMiCodec.MaxMessageSize)
        {
            throw new NvmeProtocolException($"NVMe-MI response of {message.Length} bytes exceeds the {NvmeMiCodec.MaxMessageSize}-byte maximum message size.", fieldOffset: 0);
        }

        if (message[0] != NvmeMiMessageHeader.MctpTypeByte)
        {
            throw new NvmeProtocolException($"Wrong MCTP message type 0x{message[0]:X2} in NVMe-MI response (expected 0x84: type 4 with IC set; without IC there is no MIC to check).", fieldOffset: 0);
        }

        // NVMe-MI messages are whole dwords (the MIC covers a dword-padded message); libnvme-mi rejects others too.
        if ((message.Length & 3) != 0)
        {
            throw new NvmeProtocolException($"NVMe-MI response of {message.Length} bytes is not a whole number of dwords.", fieldOffset: (uint)message.Length);
        }

        if (!NvmeMiMic.Verify(message))
        {
            uint got = BinaryPrimitives.ReadUInt32LittleEndian(message[^4..]);
            uint want = NvmeMiMic.Compute(message[..^4]);
            throw new NvmeProtocolException($"NVMe-MI response MIC mismatch: received 0x{got:X8}, computed 0x{want:X8}.", fieldOffset: (uint)(message.Length - 4));
        }

        NvmeMiMessageHeader.TryRead(message, out var header);
        if (!header.IsResponse)
        {
            throw new NvmeProtocolException("NVMe-MI message has ROR clear: the endpoint sent a request, not a response.", fieldOffset: 1);
        }

        if (header.Nmimt != expectedType)
        {
            throw new NvmeProtocolException($"NVMe-MI response has NMIMT {header.Nmimt} ({(int)header.Nmimt}), the request was {expectedType} ({(int)expectedType}).", fieldOffset: 1);
        }

        if (header.CommandSlot != expectedSlot)
        {
            throw new NvmeProtocolException($"NVMe-MI response for command slot {header.CommandSlot}, the request used slot {expectedSlot} (CSI mismatch).", fieldOffset: 1);
        }

        // More Processing Required is exactly header, status and MPRT (8 bytes) plus the MIC.
        if (message[NvmeMiCodec.StatusOffset] == (byte)NvmeMiStatus.MoreProcessingRequired && expectedType != NvmeMiMessageType.ControlPrimitive
            && message.Length != NvmeMiCodec.MiResponseHeaderSize + NvmeMiMic.Size)
        {
            throw new NvmeProtocolException($"NVMe-MI More Processing Required response of {message.Length} bytes; it is {NvmeMiCodec.MiResponseHeaderSize + NvmeMiMic.Size} bytes with its MIC.", fieldOffset: (uint)message.Length);
        }

        return new NvmeMiResponse(header, message[NvmeMiCodec.StatusOffset], message.Length - NvmeMiMic.Size);
    }

    /// <summary>True when <paramref name="message"/> is a well-formed NVMe-MI response (type 0x84, MIC valid, ROR set)
    /// whose NMIMT or CSI differs from the request's: on a shared, tagless transport (mctp-demux) that is another
    /// requester's response, to be skipped rather than treated as a protocol error.</summary>
    public static bool IsOtherRequestersResponse(ReadOnlySpan<byte> message, NvmeMiMessageType expectedType, byte expectedSlot)
    {
        if (message.Length < NvmeMiMessageHeader.Size + 1 + NvmeMiMic.Size || message.Length > NvmeMiCodec.MaxMessageSize
            || message[0] != NvmeMiMessageHeader.MctpTypeByte || !NvmeMiMic.Verify(message)
            || !NvmeMiMessageHeader.TryRead(message, out var header) || !header.IsResponse)
        {
            return false;
        }

        return header.Nmimt != expectedType || header.CommandSlot != expectedSlot;
    }

    /// <summary>True when <paramref name="body"/> (MIC removed) is a More Processing Required response; MPRT in 100 ms units.</summary>
    public static bool IsMoreProcessingRequired(ReadOnlySpan<byte> body, out ushort mprt)
    {
        mprt = 0;
        if (body.Length < NvmeMiCodec.MiResponseHeaderSize || !NvmeMiResponseHeader.TryRead(body, out var header)
            || header.MiStatus != NvmeMiStatus.MoreProcessingRequired)
        {
            return false;
        }

        mprt = header.Word6;
        return true;
    }
}

/// <summary>
/// The response header every NVMe-MI response shares after the message header (NVMe-MI 1.2 §4.1.2 Figure 24, Figure
/// 55): Status at byte 4 and the 24-bit NVMe Management Response (NMRESP) at bytes 5-7. An Invalid Parameter error
/// puts the parameter's bit (2:0 of byte 5) and byte offset (bytes 6-7) there, More Processing Required its MPRT
/// (bytes 6-7), a control primitive response its tag (byte 5) and CPSR (bytes 6-7). The endpoint and the simulator
/// read and write these bytes only through this record.
/// </summary>
public readonly record struct NvmeMiResponseHeader(byte Status, uint Nmresp)
{
    /// <summary>Message header plus Status and NMRESP.</summary>
    public const int Size = NvmeMiCodec.MiResponseHeaderSize;

    public NvmeMiStatus MiStatus => (NvmeMiStatus)Status;

    /// <summary>Byte 5: an Invalid Parameter's bit, or a control primitive response's tag.</summary>
    public byte Byte5 => (byte)Nmresp;

    /// <summary>Bytes 6-7: an Invalid Parameter's byte offset, MPRT, or a control primitive's CPSR.</summary>
    public ushort Word6 => (ushort)(Nmresp >> 8);

    public static NvmeMiResponseHeader InvalidParameter(ushort parameterByte, byte parameterBit) =>
        new((byte)NvmeMiStatus.InvalidParameter, (uint)(parameterBit & 0x7) | ((uint)parameterByte << 8));

    public static NvmeMiResponseHeader MoreProcessingRequired(ushort mprt) => new((byte)NvmeMiStatus.MoreProcessingRequired, (uint)mprt << 8);

    public static NvmeMiResponseHeader ControlPrimitive(NvmeMiStatus status, byte tag, ushort cpsr) => new((byte)status, tag | ((uint)cpsr << 8));

    /// <summary>Writes bytes 4-7 (the message header's bytes 0-3 are the caller's).</summary>
    public void WriteTo(Span<byte> message)
    {
        message[NvmeMiCodec.StatusOffset] = Status;
        message[NvmeMiCodec.NmrespOffset] = (byte)Nmresp;
        message[NvmeMiCodec.NmrespOffset + 1] = (byte)(Nmresp >> 8);
        message[NvmeMiCodec.NmrespOffset + 2] = (byte)(Nmresp >> 16);
    }

    /// <summary>Reads Status and NMRESP. A body too short for NMRESP (an error response cut short) still yields its
    /// Status, with the bytes that are present; false only when there is no Status byte at all.</summary>
    public static bool TryRead(ReadOnlySpan<byte> body, out NvmeMiResponseHeader header)
    {
        header = default;
        if (body.Length <= NvmeMiCodec.StatusOffset)
        {
            return false;
        }

        uint nmresp = 0;
        for (int i = 0; i < 3 && NvmeMiCodec.NmrespOffset + i < body.Length; i++)
        {
            nmresp |= (uint)body[NvmeMiCodec.NmrespOffset + i] << (8 * i);
        }

        header = new NvmeMiResponseHeader(body[NvmeMiCodec.StatusOffset], nmresp);
        return true;
    }
}

/// <summary>
/// The NVMe Admin Command response header (NVMe-MI 1.2 §6.1 Figure 135): the response header, then the completion's
/// dwords 0, 1 and 3 (CID 15:0, status field 31:16). Written by the simulator, read by the Admin tunnel.
/// </summary>
public readonly record struct NvmeMiAdminResponseHeader(NvmeMiResponseHeader Response, uint Cqe0, uint Cqe1, ushort Cid, ushort StatusField)
{
    public const int Size = NvmeMiCodec.AdminResponseHeaderSize;

    /// <summary>The completion it carries (SQHD and SQID do not cross MI).</summary>
    public NvmeCompletion Completion => new(Cqe0, Cqe1, 0, 0, Cid, StatusField);

    public static NvmeMiAdminResponseHeader From(NvmeCompletion completion) =>
        new(new NvmeMiResponseHeader((byte)NvmeMiStatus.Success, 0), completion.Dw0, completion.Dw1, completion.Cid, completion.StatusField);

    /// <summary>Writes bytes 4-19 (the message header is the caller's).</summary>
    public void WriteTo(Span<byte> message)
    {
        Response.WriteTo(message);
        BinaryPrimitives.WriteUInt32LittleEndian(message[NvmeMiCodec.AdminCqeDw0Offset..], Cqe0);
        BinaryPrimitives.WriteUInt32LittleEndian(message[NvmeMiCodec.AdminCqeDw1Offset..], Cqe1);
        BinaryPrimitives.WriteUInt32LittleEndian(message[NvmeMiCodec.AdminCqeDw3Offset..], Cid | ((uint)StatusField << 16));
    }

    public static bool TryRead(ReadOnlySpan<byte> body, out NvmeMiAdminResponseHeader header)
    {
        header = default;
        if (body.Length < Size || !NvmeMiResponseHeader.TryRead(body, out var response))
        {
            return false;
        }

        uint dw3 = BinaryPrimitives.ReadUInt32LittleEndian(body[NvmeMiCodec.AdminCqeDw3Offset..]);
        header = new NvmeMiAdminResponseHeader(response,
            BinaryPrimitives.ReadUInt32LittleEndian(body[NvmeMiCodec.AdminCqeDw0Offset..]),
            BinaryPrimitives.ReadUInt32LittleEndian(body[NvmeMiCodec.AdminCqeDw1Offset..]),
            (ushort)dw3, (ushort)(dw3 >> 16));
        return true;
    }
}
