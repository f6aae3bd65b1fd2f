using System.Buffers.Binary;

namespace NvmePS.Engine.Admin;

/// <summary>
/// Namespace List (Base Specification 2.0, §4.4.2 Figure 96): up to 1024 NSIDs in 4096 bytes, ascending, ended by
/// the first zero entry. Used by Identify CNS 02h (active namespace ID list) and the Changed Namespace List log page
/// (LID 04h), where a first entry of FFFFFFFFh means "more than 1024 namespaces changed".
/// </summary>
public static class NvmeNamespaceList
{
    public const int Size = 4096;
    public const int MaxEntries = 1024;

    /// <summary>Sentinel first entry of the Changed Namespace List when more than 1024 namespaces changed.</summary>
    public const uint Overflow = 0xFFFFFFFF;

    /// <summary>Reads the NSIDs up to the first zero entry (at most 1024).</summary>
    public static uint[] Read(ReadOnlySpan<byte> s)
    {
        int count = Math.Min(s.Length / 4, MaxEntries);
        var list = new List<uint>();
        for (int i = 0; i < count; i++)
        {
            uint nsid = BinaryPrimitives.ReadUInt32LittleEndian(s[(i * 4)..]);
            if (nsid == 0)
            {
                break;
            }

            list.Add(nsid);
        }

        return [.. list];
    }

    /// <summary>Writes up to 1024 NSIDs and zero-fills the rest of <paramref name="d"/> (at most 4096 bytes used);
    /// returns how many were written.</summary>
    public static int Write(Span<byte> d, ReadOnlySpan<uint> nsids)
    {
        int room = Math.Min(d.Length, Size) / 4;
        d[..Math.Min(d.Length, Size)].Clear();
        int n = Math.Min(room, nsids.Length);
        for (int i = 0; i < n; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(d[(i * 4)..], nsids[i]);
        }

        return n;
    }
}

/// <summary>Namespace Identifier Type values (Base Specification 2.0, Figure 278).</summary>
public enum NvmeNamespaceIdType : byte
{
    /// <summary>IEEE Extended Unique Identifier, 8 bytes.</summary>
    Eui64 = 1,
    /// <summary>Namespace Globally Unique Identifier, 16 bytes.</summary>
    Nguid = 2,
    /// <summary>Namespace UUID, 16 bytes.</summary>
    Uuid = 3,
    /// <summary>Command Set Identifier, 1 byte.</summary>
    Csi = 4,
}

/// <summary>
/// One Namespace Identification Descriptor (Base Specification 2.0, §5.17.2.3 Figure 277): NIDT (byte 0), NIDL (byte 1),
/// reserved (2..3), NID (NIDL bytes). Identify CNS 03h returns a 4096-byte list of them ended by NIDL 0.
/// </summary>
public readonly record struct NvmeNamespaceIdDescriptor(NvmeNamespaceIdType Nidt, byte[] Nid)
{
    public const int HeaderSize = 4;
    public const int ListSize = 4096;

    /// <summary>The NIDL the specification requires for a type, or 0 for an unknown type.</summary>
    public static int RequiredLength(NvmeNamespaceIdType type) => type switch
    {
        NvmeNamespaceIdType.Eui64 => 8,
        NvmeNamespaceIdType.Nguid => 16,
        NvmeNamespaceIdType.Uuid => 16,
        NvmeNamespaceIdType.Csi => 1,
        _ => 0,
    };

    /// <summary>Parses a descriptor list. Unknown types are kept; a descriptor running past the buffer, or a known
    /// type whose NIDL is wrong, makes the list invalid.</summary>
    public static bool TryReadList(ReadOnlySpan<byte> s, out NvmeNamespaceIdDescriptor[] descriptors)
    {
        var list = new List<NvmeNamespaceIdDescriptor>();
        int pos = 0;
        while (pos + HeaderSize <= s.Length)
        {
            var type = (NvmeNamespaceIdType)s[pos];
            int length = s[pos + 1];
            if (length == 0)
            {
                break;
            }

            int required = RequiredLength(type);
            if (pos + HeaderSize + length > s.Length || (required != 0 && required != length))
            {
                descriptors = [];
                return false;
            }

            list.Add(new NvmeNamespaceIdDescriptor(type, s.Slice(pos + HeaderSize, length).ToArray()));
            pos += HeaderSize + length;
        }

        descriptors = [.. list];
        return true;
    }

    /// <summary>Writes a list into <paramref name="d"/> (zero-filled first); throws when it does not fit.</summary>
    public static int WriteList(Span<byte> d, IEnumerable<NvmeNamespaceIdDescriptor> descriptors)
    {
        ArgumentNullException.ThrowIfNull(descriptors);
        d.Clear();
        int pos = 0;
        foreach (var descriptor in descriptors)
        {
            int length = descriptor.Nid.Length;
            if (length is 0 or > 255 || pos + HeaderSize + length > d.Length)
            {
                throw new ArgumentException("Namespace identification descriptor does not fit.", nameof(descriptors));
            }

            d[pos] = (byte)descriptor.Nidt;
            d[pos + 1] = (byte)length;
            descriptor.Nid.CopyTo(d[(pos + HeaderSize)..]);
            pos += HeaderSize + length;
        }

        return pos;
    }
}
