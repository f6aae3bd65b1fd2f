using System.Buffers.Binary;

namespace NvmePS.Engine.Mctp;

/// <summary>
/// <c>struct sockaddr_mctp</c> as laid out by Linux include/uapi/linux/mctp.h (12 bytes):
/// family u16 @0, pad u16 @2, smctp_network u32 @4, smctp_addr (EID) u8 @8, smctp_type u8 @9, smctp_tag u8 @10, pad u8 @11.
/// </summary>
public readonly record struct SockaddrMctp(uint Network, byte Eid, byte Type, byte Tag)
{
    public const int Size = 12;
    public const ushort AfMctp = 45;
    public const int FamilyOffset = 0;
    public const int NetworkOffset = 4;
    public const int AddrOffset = 8;
    public const int TypeOffset = 9;
    public const int TagOffset = 10;

    /// <summary>MCTP_NET_ANY.</summary>
    public const uint NetAny = 0;
    /// <summary>MCTP_INITIAL_DEFAULT_NET: the network every MCTP interface joins and received addresses carry
    /// unless configured otherwise.</summary>
    public const uint InitialDefaultNet = 1;
    /// <summary>MCTP_ADDR_ANY.</summary>
    public const byte AddrAny = 0xFF;
    /// <summary>MCTP_TAG_MASK: the 3-bit tag value.</summary>
    public const byte TagMask = 0x07;
    /// <summary>MCTP_TAG_OWNER: TO bit; on send without a preallocated tag, asks the kernel to allocate one.</summary>
    public const byte TagOwner = 0x08;
    /// <summary>MCTP_TAG_PREALLOC: the tag came from SIOCMCTPALLOCTAG(2).</summary>
    public const byte TagPrealloc = 0x10;

    public void WriteTo(Span<byte> destination)
    {
        destination[..Size].Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(destination, AfMctp);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[NetworkOffset..], Network);
        destination[AddrOffset] = Eid;
        destination[TypeOffset] = Type;
        destination[TagOffset] = Tag;
    }

    public static bool TryRead(ReadOnlySpan<byte> source, out SockaddrMctp address)
    {
        if (source.Length < Size || BinaryPrimitives.ReadUInt16LittleEndian(source) != AfMctp)
        {
            address = default;
            return false;
        }

        address = new SockaddrMctp(
            BinaryPrimitives.ReadUInt32LittleEndian(source[NetworkOffset..]),
            source[AddrOffset],
            source[TypeOffset],
            source[TagOffset]);
        return true;
    }
}

/// <summary>
/// <c>struct sockaddr_mctp_ext</c> (mctp.h; used with MCTP_OPT_ADDR_EXT): sockaddr_mctp @0, smctp_ifindex i32 @12,
/// smctp_halen u8 @16, pad[3] @17, smctp_haddr[MAX_ADDR_LEN = 32] @20; 52 bytes.
/// </summary>
public readonly record struct SockaddrMctpExt(SockaddrMctp Base, int InterfaceIndex, byte[] HardwareAddress)
{
    public const int Size = 52;
    public const int IfIndexOffset = 12;
    public const int HalenOffset = 16;
    public const int HaddrOffset = 20;
    public const int MaxAddrLen = 32;

    public void WriteTo(Span<byte> destination)
    {
        if (HardwareAddress.Length > MaxAddrLen)
        {
            throw new ArgumentException("A hardware address has at most 32 bytes (MAX_ADDR_LEN).", nameof(destination));
        }

        destination[..Size].Clear();
        Base.WriteTo(destination);
        BinaryPrimitives.WriteInt32LittleEndian(destination[IfIndexOffset..], InterfaceIndex);
        destination[HalenOffset] = (byte)HardwareAddress.Length;
        HardwareAddress.CopyTo(destination[HaddrOffset..]);
    }

    public static bool TryRead(ReadOnlySpan<byte> source, out SockaddrMctpExt address)
    {
        address = default;
        if (source.Length < Size || !SockaddrMctp.TryRead(source, out var b))
        {
            return false;
        }

        int halen = source[HalenOffset];
        if (halen > MaxAddrLen)
        {
            return false;
        }

        address = new SockaddrMctpExt(b, BinaryPrimitives.ReadInt32LittleEndian(source[IfIndexOffset..]), source.Slice(HaddrOffset, halen).ToArray());
        return true;
    }
}

/// <summary><c>struct mctp_ioc_tag_ctl</c> (SIOCMCTPALLOCTAG / SIOCMCTPDROPTAG): peer_addr u8 @0, tag u8 @1, flags u16 @2; 4 bytes.</summary>
public readonly record struct MctpIocTagCtl(byte PeerAddress, byte Tag, ushort Flags = 0)
{
    public const int Size = 4;

    public void WriteTo(Span<byte> destination)
    {
        destination[0] = PeerAddress;
        destination[1] = Tag;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[2..], Flags);
    }

    public static MctpIocTagCtl Read(ReadOnlySpan<byte> source) =>
        new(source[0], source[1], BinaryPrimitives.ReadUInt16LittleEndian(source[2..]));
}

/// <summary><c>struct mctp_ioc_tag_ctl2</c> (SIOCMCTPALLOCTAG2 / SIOCMCTPDROPTAG2): net u32 @0, peer_addr u8 @4,
/// local_addr u8 @5, flags u16 @6, tag u8 @8, then padding to the struct's 4-byte alignment; 12 bytes.</summary>
public readonly record struct MctpIocTagCtl2(uint Network, byte PeerAddress, byte LocalAddress, ushort Flags, byte Tag)
{
    public const int Size = 12;

    public void WriteTo(Span<byte> destination)
    {
        destination[..Size].Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(destination, Network);
        destination[4] = PeerAddress;
        destination[5] = LocalAddress;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[6..], Flags);
        destination[8] = Tag;
    }

    public static MctpIocTagCtl2 Read(ReadOnlySpan<byte> source) =>
        new(BinaryPrimitives.ReadUInt32LittleEndian(source), source[4], source[5], BinaryPrimitives.ReadUInt16LittleEndian(source[6..]), source[8]);
}

/// <summary>AF_MCTP ioctl numbers: SIOCPROTOPRIVATE (0x89E0, include/uapi/linux/sockios.h) + n, per mctp.h.</summary>
public static class MctpIoctl
{
    public const uint SiocProtoPrivate = 0x89E0;
    public const uint SiocMctpAllocTag = SiocProtoPrivate + 0;
    public const uint SiocMctpDropTag = SiocProtoPrivate + 1;
    public const uint SiocMctpAllocTag2 = SiocProtoPrivate + 2;
    public const uint SiocMctpDropTag2 = SiocProtoPrivate + 3;

    /// <summary>SOL_MCTP socket option level (include/linux/socket.h).</summary>
    public const int SolMctp = 285;
    /// <summary>MCTP_OPT_ADDR_EXT.</summary>
    public const int OptAddrExt = 1;
}
