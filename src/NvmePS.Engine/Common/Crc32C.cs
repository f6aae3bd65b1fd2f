using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace NvmePS.Engine;

/// <summary>
/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as used by NVMe/TCP header and data digests
/// (NVMe/TCP Transport Specification §3.6.2.x) and the NVMe-MI Message Integrity Check (NVMe-MI §3.1).
/// With the SSE4.2 or ARMv8 crc32 instruction, long inputs run as three interleaved lanes (the instruction has a latency
/// of three cycles and a throughput of one, so one lane leaves two thirds of it idle); the lanes are joined with a
/// precomputed "append N zero bytes" operator, which is linear over GF(2) and so fits four 256-entry tables.
/// Without the instruction a slicing-by-8 table implementation runs.
/// </summary>
public static class Crc32C
{
    /// <summary>Initial register value; the final CRC is the register XOR 0xFFFFFFFF.</summary>
    public const uint Seed = 0xFFFFFFFF;

    private const uint Polynomial = 0x82F63B78;

    // Lane lengths (bytes, multiples of 8). Long inputs use the big block; the small one keeps 4 KiB PDUs on three lanes.
    private const int BigLane = 4096;
    private const int SmallLane = 256;

    private static readonly bool Hardware = Sse42.X64.IsSupported || Crc32.Arm64.IsSupported;
    private static readonly uint[] BigShift = BuildShiftTable(BigLane);
    private static readonly uint[] SmallShift = BuildShiftTable(SmallLane);
    private static readonly uint[] Slice8 = BuildSlicingTables();

    /// <summary>True when the crc32 instruction is used.</summary>
    public static bool IsHardwareAccelerated => Hardware;

    /// <summary>The CRC-32C of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Update(Seed, data) ^ Seed;

    /// <summary>Feeds <paramref name="data"/> into a running register (start with <see cref="Seed"/>,
    /// finish with XOR <see cref="Seed"/>).</summary>
    public static uint Update(uint register, ReadOnlySpan<byte> data)
    {
        if (!Hardware)
        {
            return UpdateSoftware(register, data);
        }

        uint crc = register;
        ref byte p = ref MemoryMarshal.GetReference(data);
        nuint len = (nuint)data.Length;
        nuint i = 0;
        while (len - i >= 3 * BigLane)
        {
            crc = ThreeLanes(crc, ref Unsafe.Add(ref p, i), BigLane, BigShift);
            i += 3 * BigLane;
        }

        while (len - i >= 3 * SmallLane)
        {
            crc = ThreeLanes(crc, ref Unsafe.Add(ref p, i), SmallLane, SmallShift);
            i += 3 * SmallLane;
        }

        while (len - i >= 8)
        {
            crc = BitOperations.Crc32C(crc, Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref p, i)));
            i += 8;
        }

        while (i < len)
        {
            crc = BitOperations.Crc32C(crc, Unsafe.Add(ref p, i));
            i++;
        }

        return crc;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint ThreeLanes(uint crc, ref byte block, int lane, uint[] shift)
    {
        // Register semantics: update(r, X‖Y) = shift(update(r, X), |Y|) ⊕ update(0, Y).
        uint a = crc, b = 0, c = 0;
        ref byte pb = ref Unsafe.Add(ref block, lane);
        ref byte pc = ref Unsafe.Add(ref block, 2 * lane);
        for (int k = 0; k < lane; k += 8)
        {
            a = BitOperations.Crc32C(a, Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref block, k)));
            b = BitOperations.Crc32C(b, Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref pb, k)));
            c = BitOperations.Crc32C(c, Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref pc, k)));
        }

        return Shift(Shift(a, shift) ^ b, shift) ^ c;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Shift(uint v, uint[] t) =>
        t[v & 0xFF] ^ t[256 + ((v >> 8) & 0xFF)] ^ t[512 + ((v >> 16) & 0xFF)] ^ t[768 + (v >> 24)];

    // T[256k + b] = the register b << 8k after `length` zero bytes.
    private static uint[] BuildShiftTable(int length)
    {
        var t = new uint[1024];
        Span<byte> zeros = stackalloc byte[8];
        zeros.Clear();
        for (int k = 0; k < 4; k++)
        {
            for (int b = 0; b < 256; b++)
            {
                uint v = (uint)b << (8 * k);
                for (int n = 0; n < length; n += 8)
                {
                    v = ZeroQword(v);
                }

                t[(256 * k) + b] = v;
            }
        }

        return t;
    }

    private static uint ZeroQword(uint v)
    {
        if (Hardware)
        {
            return BitOperations.Crc32C(v, 0UL);
        }

        for (int i = 0; i < 64; i++)
        {
            v = (v & 1) != 0 ? (v >> 1) ^ Polynomial : v >> 1;
        }

        return v;
    }

    private static uint[] BuildSlicingTables()
    {
        var t = new uint[8 * 256];
        for (uint b = 0; b < 256; b++)
        {
            uint v = b;
            for (int i = 0; i < 8; i++)
            {
                v = (v & 1) != 0 ? (v >> 1) ^ Polynomial : v >> 1;
            }

            t[b] = v;
        }

        for (int k = 1; k < 8; k++)
        {
            for (int b = 0; b < 256; b++)
            {
                uint prev = t[((k - 1) * 256) + b];
                t[(k * 256) + b] = (prev >> 8) ^ t[prev & 0xFF];
            }
        }

        return t;
    }

    private static uint UpdateSoftware(uint crc, ReadOnlySpan<byte> data)
    {
        uint[] t = Slice8;
        while (data.Length >= 8)
        {
            uint lo = BinaryPrimitives.ReadUInt32LittleEndian(data) ^ crc;
            uint hi = BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
            crc = t[(7 * 256) + (lo & 0xFF)] ^ t[(6 * 256) + ((lo >> 8) & 0xFF)] ^ t[(5 * 256) + ((lo >> 16) & 0xFF)] ^ t[(4 * 256) + (lo >> 24)]
                ^ t[(3 * 256) + (hi & 0xFF)] ^ t[(2 * 256) + ((hi >> 8) & 0xFF)] ^ t[256 + ((hi >> 16) & 0xFF)] ^ t[hi >> 24];
            data = data[8..];
        }

        foreach (byte b in data)
        {
            crc = (crc >> 8) ^ t[(crc ^ b) & 0xFF];
        }

        return crc;
    }

    /// <summary>The portable implementation, exposed so tests can check it on machines that have the instruction.</summary>
    internal static uint UpdatePortable(uint register, ReadOnlySpan<byte> data) => UpdateSoftware(register, data);
}
