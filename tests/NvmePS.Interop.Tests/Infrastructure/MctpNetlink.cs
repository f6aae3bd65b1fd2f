using System.Buffers.Binary;

namespace NvmePS.Interop.Tests.Infrastructure;

/// <summary>
/// MCTP addresses and routes through rtnetlink (RTM_NEWADDR / RTM_NEWROUTE, family AF_MCTP = 45), the only
/// way to configure them here: iproute2 has no MCTP support and the `mctp` tool is not in Debian.
/// Layouts from include/uapi/linux/{netlink,rtnetlink,if_addr}.h and net/mctp/{device,route}.c (6.1).
/// </summary>
public static class MctpNetlink
{
    private const ushort RTM_NEWADDR = 20, RTM_DELADDR = 21, RTM_NEWROUTE = 24, RTM_DELROUTE = 25;
    private const ushort NLM_F_REQUEST = 0x1, NLM_F_ACK = 0x4, NLM_F_EXCL = 0x200, NLM_F_CREATE = 0x400;
    private const ushort NLMSG_ERROR = 2;
    private const ushort IFA_LOCAL = 2, RTA_DST = 1, RTA_OIF = 4, RTA_METRICS = 8, RTAX_MTU = 2, NLA_F_NESTED = 0x8000;

    /// <summary>Adds local EID <paramref name="eid"/> on <paramref name="ifName"/> (network of that link, default 1).</summary>
    public static void AddAddress(string ifName, byte eid) => Address(RTM_NEWADDR, ifName, eid);

    public static void RemoveAddress(string ifName, byte eid) => Address(RTM_DELADDR, ifName, eid);

    /// <summary>Adds a route to remote EID <paramref name="eid"/> through <paramref name="ifName"/> (never lo).</summary>
    public static void AddRoute(byte eid, string ifName, uint mtu = 0) => Route(RTM_NEWROUTE, eid, ifName, mtu);

    public static void RemoveRoute(byte eid, string ifName) => Route(RTM_DELROUTE, eid, ifName, 0);

    private static void Address(ushort type, string ifName, byte eid)
    {
        var msg = new List<byte>();
        // struct ifaddrmsg { u8 family, prefixlen, flags, scope; u32 index; }
        msg.AddRange([45, 0, 0, 0]);
        msg.AddRange(U32(IfIndexSys(ifName)));
        msg.AddRange(Attr(IFA_LOCAL, [eid]));
        Talk(type, type == RTM_NEWADDR ? (ushort)(NLM_F_CREATE | NLM_F_EXCL) : (ushort)0, msg.ToArray(), $"{(type == RTM_NEWADDR ? "RTM_NEWADDR" : "RTM_DELADDR")} EID {eid} on {ifName}");
    }

    private static void Route(ushort type, byte eid, string ifName, uint mtu)
    {
        var msg = new List<byte>();
        // struct rtmsg { u8 family, dst_len, src_len, tos, table, protocol, scope, type; u32 flags; }
        // dst_len 0 = a range of one EID; type RTN_UNICAST (1) is the only one net/mctp accepts.
        msg.AddRange([45, 0, 0, 0, 253 /*RT_TABLE_DEFAULT*/, 4 /*RTPROT_STATIC*/, 253 /*RT_SCOPE_LINK*/, 1 /*RTN_UNICAST*/]);
        msg.AddRange(U32(0));
        msg.AddRange(Attr(RTA_DST, [eid]));
        msg.AddRange(Attr(RTA_OIF, U32(IfIndexSys(ifName))));
        if (mtu != 0)
        {
            msg.AddRange(Attr((ushort)(RTA_METRICS | NLA_F_NESTED), Attr(RTAX_MTU, U32(mtu))));
        }

        Talk(type, type == RTM_NEWROUTE ? (ushort)(NLM_F_CREATE | NLM_F_EXCL) : (ushort)0, msg.ToArray(), $"{(type == RTM_NEWROUTE ? "RTM_NEWROUTE" : "RTM_DELROUTE")} EID {eid} via {ifName}");
    }

    public static uint IfIndexSys(string ifName) =>
        uint.Parse(File.ReadAllText($"/sys/class/net/{ifName}/ifindex").Trim(), System.Globalization.CultureInfo.InvariantCulture);

    private static byte[] U32(uint v)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        return b;
    }

    private static byte[] Attr(ushort type, byte[] payload)
    {
        // struct rtattr { u16 len; u16 type; } + payload, padded to 4.
        var len = 4 + payload.Length;
        var b = new byte[(len + 3) & ~3];
        BinaryPrimitives.WriteUInt16LittleEndian(b, (ushort)len);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(2), type);
        payload.CopyTo(b, 4);
        return b;
    }

    private static unsafe void Talk(ushort type, ushort flags, byte[] body, string what)
    {
        var fd = Native.socket(Native.AF_NETLINK, Native.SOCK_RAW, Native.NETLINK_ROUTE);
        if (fd < 0)
        {
            throw Native.Error("socket(AF_NETLINK)");
        }

        try
        {
            // struct nlmsghdr { u32 len; u16 type; u16 flags; u32 seq; u32 pid; }
            var req = new byte[16 + body.Length];
            BinaryPrimitives.WriteUInt32LittleEndian(req, (uint)req.Length);
            BinaryPrimitives.WriteUInt16LittleEndian(req.AsSpan(4), type);
            BinaryPrimitives.WriteUInt16LittleEndian(req.AsSpan(6), (ushort)(flags | NLM_F_REQUEST | NLM_F_ACK));
            BinaryPrimitives.WriteUInt32LittleEndian(req.AsSpan(8), 1);
            body.CopyTo(req, 16);
            var sa = new byte[12];
            BinaryPrimitives.WriteUInt16LittleEndian(sa, Native.AF_NETLINK);
            fixed (byte* p = req)
            fixed (byte* s = sa)
            {
                if (Native.sendto(fd, p, req.Length, 0, s, sa.Length) < 0)
                {
                    throw Native.Error($"{what}: sendto");
                }
            }

            Native.SetReceiveTimeout(fd, TimeSpan.FromSeconds(5));
            var resp = new byte[4096];
            nint n;
            fixed (byte* p = resp)
            {
                n = Native.recvfrom(fd, p, resp.Length, 0, null, null);
            }

            if (n < 16 + 4)
            {
                throw Native.Error($"{what}: no netlink ACK");
            }

            if (BinaryPrimitives.ReadUInt16LittleEndian(resp.AsSpan(4)) != NLMSG_ERROR)
            {
                throw new IOException($"{what}: unexpected netlink reply type {BinaryPrimitives.ReadUInt16LittleEndian(resp.AsSpan(4))}");
            }

            var err = BinaryPrimitives.ReadInt32LittleEndian(resp.AsSpan(16));
            if (err != 0)
            {
                throw new IOException($"{what}: kernel answered errno {-err} ({System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(-err)})");
            }
        }
        finally
        {
            _ = Native.close(fd);
        }
    }
}
