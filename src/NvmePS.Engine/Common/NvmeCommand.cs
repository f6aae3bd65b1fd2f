using System.Buffers.Binary;

namespace NvmePS.Engine;

/// <summary>
/// A 64-byte Submission Queue Entry (NVM Express Base Specification 2.0, §4.2 "Submission Queue Entry").
/// Shared by the fabrics capsule, the NVMe-MI Admin tunnel and the controller's command dispatch.
/// </summary>
public struct NvmeCommand
{
    /// <summary>Size of an SQE in bytes.</summary>
    public const int Size = 64;

    public const int OpcOffset = 0;
    public const int FlagsOffset = 1;
    public const int CidOffset = 2;
    public const int NsidOffset = 4;
    public const int Cdw2Offset = 8;
    public const int Cdw3Offset = 12;
    public const int MptrOffset = 16;
    public const int DptrOffset = 24;
    public const int Cdw10Offset = 40;

    /// <summary>OPC: command opcode.</summary>
    public byte Opcode;
    /// <summary>CDW0 bits 15:8: FUSE (bits 1:0) and PSDT (bits 7:6).</summary>
    public byte Flags;
    /// <summary>CID: command identifier.</summary>
    public ushort Cid;
    /// <summary>NSID: namespace identifier.</summary>
    public uint Nsid;
    public uint Cdw2;
    public uint Cdw3;
    /// <summary>MPTR: metadata pointer.</summary>
    public ulong Mptr;
    /// <summary>DPTR bytes 0..7 (PRP1, or SGL1 address).</summary>
    public ulong Dptr1;
    /// <summary>DPTR bytes 8..15 (PRP2, or SGL1 length, reserved bytes and descriptor type).</summary>
    public ulong Dptr2;
    public uint Cdw10;
    public uint Cdw11;
    public uint Cdw12;
    public uint Cdw13;
    public uint Cdw14;
    public uint Cdw15;

    /// <summary>PSDT: PRP or SGL for data transfer (CDW0 bits 15:14).</summary>
    public byte Psdt
    {
        readonly get => (byte)(Flags >> 6);
        set => Flags = (byte)((Flags & 0x3F) | ((value & 0x3) << 6));
    }

    /// <summary>Writes the SQE little-endian into <paramref name="destination"/> (at least 64 bytes).</summary>
    public readonly void WriteTo(Span<byte> destination)
    {
        if (destination.Length < Size)
        {
            throw new ArgumentException("An SQE needs 64 bytes.", nameof(destination));
        }

        destination[OpcOffset] = Opcode;
        destination[FlagsOffset] = Flags;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[CidOffset..], Cid);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[NsidOffset..], Nsid);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[Cdw2Offset..], Cdw2);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[Cdw3Offset..], Cdw3);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[MptrOffset..], Mptr);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[DptrOffset..], Dptr1);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[(DptrOffset + 8)..], Dptr2);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[Cdw10Offset..], Cdw10);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[(Cdw10Offset + 4)..], Cdw11);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[(Cdw10Offset + 8)..], Cdw12);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[(Cdw10Offset + 12)..], Cdw13);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[(Cdw10Offset + 16)..], Cdw14);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[(Cdw10Offset + 20)..], Cdw15);
    }

    /// <summary>Reads an SQE; false when <paramref name="source"/> is shorter than 64 bytes.</summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out NvmeCommand command)
    {
        if (source.Length < Size)
        {
            command = default;
            return false;
        }

        command = new NvmeCommand
        {
            Opcode = source[OpcOffset],
            Flags = source[FlagsOffset],
            Cid = BinaryPrimitives.ReadUInt16LittleEndian(source[CidOffset..]),
            Nsid = BinaryPrimitives.ReadUInt32LittleEndian(source[NsidOffset..]),
            Cdw2 = BinaryPrimitives.ReadUInt32LittleEndian(source[Cdw2Offset..]),
            Cdw3 = BinaryPrimitives.ReadUInt32LittleEndian(source[Cdw3Offset..]),
            Mptr = BinaryPrimitives.ReadUInt64LittleEndian(source[MptrOffset..]),
            Dptr1 = BinaryPrimitives.ReadUInt64LittleEndian(source[DptrOffset..]),
            Dptr2 = BinaryPrimitives.ReadUInt64LittleEndian(source[(DptrOffset + 8)..]),
            Cdw10 = BinaryPrimitives.ReadUInt32LittleEndian(source[Cdw10Offset..]),
            Cdw11 = BinaryPrimitives.ReadUInt32LittleEndian(source[(Cdw10Offset + 4)..]),
            Cdw12 = BinaryPrimitives.ReadUInt32LittleEndian(source[(Cdw10Offset + 8)..]),
            Cdw13 = BinaryPrimitives.ReadUInt32LittleEndian(source[(Cdw10Offset + 12)..]),
            Cdw14 = BinaryPrimitives.ReadUInt32LittleEndian(source[(Cdw10Offset + 16)..]),
            Cdw15 = BinaryPrimitives.ReadUInt32LittleEndian(source[(Cdw10Offset + 20)..]),
        };
        return true;
    }
}
