using System.Buffers.Binary;

namespace NvmePS.Engine.Fabrics;

/// <summary>SGL descriptor types, SGL identifier bits 7:4 (NVMe Base 2.0 §4.3.2 Figure 116).</summary>
public enum SglDescriptorType : byte
{
    DataBlock = 0x0,
    BitBucket = 0x1,
    Segment = 0x2,
    LastSegment = 0x3,
    KeyedDataBlock = 0x4,
    TransportDataBlock = 0x5,
}

/// <summary>
/// A 16-byte SGL descriptor in DPTR (NVMe Base 2.0 §4.3.2): ADDRESS bytes 0..7, LENGTH 8..11, reserved 12..14,
/// SGL identifier byte 15 (type bits 7:4, subtype bits 3:0). NVMe/TCP (TCP Transport 1.0 §3.3.4) uses two kinds:
/// Data Block / Offset (01h) for in-capsule data, and Transport SGL Data Block / Transport Specific (5Ah)
/// for data moved by R2T+H2CData or C2HData.
/// </summary>
public readonly record struct SglDescriptor(ulong Address, uint Length, byte Identifier)
{
    public const int Size = 16;
    public const int AddressOffset = 0;
    public const int LengthOffset = 8;
    public const int IdentifierOffset = 15;

    /// <summary>Subtype 0h: address.</summary>
    public const byte SubtypeAddress = 0x0;
    /// <summary>Subtype 1h: offset (into the capsule's in-capsule data).</summary>
    public const byte SubtypeOffset = 0x1;
    /// <summary>Subtype Ah: transport specific.</summary>
    public const byte SubtypeTransport = 0xA;

    /// <summary>SGL identifier 01h: Data Block, Offset — in-capsule data.</summary>
    public const byte InCapsuleIdentifier = (byte)SglDescriptorType.DataBlock << 4 | SubtypeOffset;

    /// <summary>SGL identifier 5Ah: Transport SGL Data Block, transport specific — data moved by R2T/H2CData/C2HData.</summary>
    public const byte TransportIdentifier = (byte)SglDescriptorType.TransportDataBlock << 4 | SubtypeTransport;

    public SglDescriptorType Type => (SglDescriptorType)(Identifier >> 4);

    public byte Subtype => (byte)(Identifier & 0xF);

    public bool IsInCapsule => Identifier == InCapsuleIdentifier;

    public bool IsTransport => Identifier == TransportIdentifier;

    /// <summary>In-capsule data of <paramref name="length"/> bytes at <paramref name="offset"/> into the capsule data.</summary>
    public static SglDescriptor InCapsule(uint length, ulong offset = 0) => new(offset, length, InCapsuleIdentifier);

    /// <summary>Data of <paramref name="length"/> bytes transferred by the transport (R2T/H2CData or C2HData).</summary>
    public static SglDescriptor Transport(uint length) => new(0, length, TransportIdentifier);

    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(destination[AddressOffset..], Address);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[LengthOffset..], Length);
        destination[12] = 0;
        destination[13] = 0;
        destination[14] = 0;
        destination[IdentifierOffset] = Identifier;
    }

    public static SglDescriptor Read(ReadOnlySpan<byte> source) => new(
        BinaryPrimitives.ReadUInt64LittleEndian(source[AddressOffset..]),
        BinaryPrimitives.ReadUInt32LittleEndian(source[LengthOffset..]),
        source[IdentifierOffset]);

    /// <summary>Places this descriptor in SGL1 of <paramref name="command"/> (DPTR bytes 24..39).</summary>
    public void WriteTo(ref NvmeCommand command)
    {
        command.Dptr1 = Address;
        command.Dptr2 = Length | ((ulong)Identifier << 56);
    }

    /// <summary>SGL1 of <paramref name="command"/>.</summary>
    public static SglDescriptor FromCommand(in NvmeCommand command) =>
        new(command.Dptr1, (uint)command.Dptr2, (byte)(command.Dptr2 >> 56));
}
