using System.Buffers.Binary;
using NvmePS.Engine;

namespace NvmePS.Load;

/// <summary>What a host writes in every 512-byte block: magic, host, LBA, sequence number and a CRC-32C over the whole
/// block, the rest filled from those three, so a block read back names the write it came from and shows any damage.</summary>
internal static class BlockStamp
{
    public const int BlockSize = 512;
    private const uint Magic = 0x444C564E; // "NVLD"
    private const int CrcOffset = 24;

    public static void Write(Span<byte> block, int host, ulong lba, ulong sequence)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(block, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(block[4..], (uint)host);
        BinaryPrimitives.WriteUInt64LittleEndian(block[8..], lba);
        BinaryPrimitives.WriteUInt64LittleEndian(block[16..], sequence);
        ulong x = (lba * 0x9E3779B97F4A7C15UL) ^ (sequence << 17) ^ (uint)host | 1;
        for (int i = 28; i < BlockSize; i += 4)
        {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            BinaryPrimitives.WriteUInt32LittleEndian(block[i..], (uint)x);
        }

        BinaryPrimitives.WriteUInt32LittleEndian(block[CrcOffset..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(block[CrcOffset..], Crc32C.Compute(block[..BlockSize]));
    }

    /// <summary>The sequence number a block holds: 0 for a block never written (all zeroes), null when the block is
    /// damaged or belongs to another host or LBA.</summary>
    public static ulong? Read(ReadOnlySpan<byte> block, int host, ulong lba)
    {
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(block);
        if (magic == 0 && !block.ContainsAnyExcept((byte)0))
        {
            return 0;
        }

        Span<byte> copy = stackalloc byte[BlockSize];
        block[..BlockSize].CopyTo(copy);
        uint crc = BinaryPrimitives.ReadUInt32LittleEndian(copy[CrcOffset..]);
        BinaryPrimitives.WriteUInt32LittleEndian(copy[CrcOffset..], 0);
        if (magic != Magic || crc != Crc32C.Compute(copy) || BinaryPrimitives.ReadUInt32LittleEndian(block[4..]) != (uint)host
            || BinaryPrimitives.ReadUInt64LittleEndian(block[8..]) != lba)
        {
            return null;
        }

        return BinaryPrimitives.ReadUInt64LittleEndian(block[16..]);
    }
}
