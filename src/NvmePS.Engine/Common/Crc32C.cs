using System.Numerics;

namespace NvmePS.Engine;

/// <summary>
/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as used by NVMe/TCP header and data digests
/// (NVMe/TCP Transport Specification §3.6.2.x) and the NVMe-MI Message Integrity Check (NVMe-MI §3.1).
/// <see cref="BitOperations.Crc32C(uint, ulong)"/> uses the SSE4.2/ARM crc32 instruction where present and
/// a portable implementation otherwise.
/// </summary>
public static class Crc32C
{
    /// <summary>Initial register value; the final CRC is the register XOR 0xFFFFFFFF.</summary>
    public const uint Seed = 0xFFFFFFFF;

    /// <summary>The CRC-32C of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Update(Seed, data) ^ Seed;

    /// <summary>Feeds <paramref name="data"/> into a running register (start with <see cref="Seed"/>,
    /// finish with XOR <see cref="Seed"/>).</summary>
    public static uint Update(uint register, ReadOnlySpan<byte> data)
    {
        uint crc = register;
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }

        foreach (byte b in data)
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return crc;
    }
}
