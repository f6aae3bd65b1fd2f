using System.Buffers.Binary;

namespace NvmePS.Engine.Admin;

/// <summary>Controller List (NVMe Base 2.0 Figure 137): Identify CNS 12h/13h, Namespace Attachment data, and NVMe-MI Read Data Structure DTYP 02h:
/// NUMID u16 @0, then that many controller identifiers (at most 2047).</summary>
public static class NvmeControllerList
{
    public const int MaxIdentifiers = 2047;

    /// <summary>Bytes of the structure as Identify CNS 12h/13h and Namespace Attachment carry it.</summary>
    public const int Size = 4096;

    public static int Write(Span<byte> destination, IReadOnlyList<ushort> ids)
    {
        int count = Math.Min(ids.Count, MaxIdentifiers);
        BinaryPrimitives.WriteUInt16LittleEndian(destination, (ushort)count);
        for (int i = 0; i < count; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(destination[(2 + (2 * i))..], ids[i]);
        }

        return 2 + (2 * count);
    }

    /// <summary>Reads the list; false when NUMID claims more entries than the data holds or than 2047.</summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out ushort[] ids)
    {
        ids = [];
        if (source.Length < 2)
        {
            return false;
        }

        int count = BinaryPrimitives.ReadUInt16LittleEndian(source);
        if (count > MaxIdentifiers || source.Length < 2 + (2 * count))
        {
            return false;
        }

        ids = new ushort[count];
        for (int i = 0; i < count; i++)
        {
            ids[i] = BinaryPrimitives.ReadUInt16LittleEndian(source[(2 + (2 * i))..]);
        }

        return true;
    }
}
