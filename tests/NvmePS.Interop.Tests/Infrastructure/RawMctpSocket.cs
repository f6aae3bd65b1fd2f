using System.Buffers.Binary;

namespace NvmePS.Interop.Tests.Infrastructure;

/// <summary>
/// A bare AF_MCTP datagram socket over P/Invoke (the runtime's Socket refuses family 45), for kernel-level checks
/// independent of the engine's own transport. sockaddr_mctp is the packed 12-byte struct of
/// include/uapi/linux/mctp.h: family u16, pad u16, network u32, eid u8, type u8, tag u8, pad u8.
/// Note (6.1 net/mctp/af_mctp.c): the kernel takes the message type from the sockaddr and prepends it on
/// send, and strips it on receive, so the buffers here carry the message body after the type byte.
/// </summary>
public sealed class RawMctpSocket : IDisposable
{
    public const byte TagOwner = 0x08;
    private readonly int _fd;

    public RawMctpSocket()
    {
        _fd = Native.socket(Native.AF_MCTP, Native.SOCK_DGRAM, 0);
        if (_fd < 0)
        {
            throw Native.Error("socket(AF_MCTP, SOCK_DGRAM, 0)");
        }

        Native.SetReceiveTimeout(_fd, TimeSpan.FromSeconds(10));
    }

    public readonly record struct Address(uint Network, byte Eid, byte Type, byte Tag);

    private static byte[] Encode(Address a)
    {
        var b = new byte[12];
        BinaryPrimitives.WriteUInt16LittleEndian(b, Native.AF_MCTP);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), a.Network);
        b[8] = a.Eid;
        b[9] = a.Type;
        b[10] = a.Tag;
        return b;
    }

    public unsafe void Bind(byte type, byte eid = 0xFF, uint network = 0)
    {
        var sa = Encode(new Address(network, eid, type, 0));
        fixed (byte* s = sa)
        {
            if (Native.bind(_fd, s, sa.Length) < 0)
            {
                throw Native.Error($"bind(type 0x{type:X2})");
            }
        }
    }

    public unsafe void SendTo(ReadOnlySpan<byte> body, Address to)
    {
        var sa = Encode(to);
        fixed (byte* p = body)
        fixed (byte* s = sa)
        {
            if (Native.sendto(_fd, p, body.Length, 0, s, sa.Length) != body.Length)
            {
                throw Native.Error($"sendto(EID {to.Eid})");
            }
        }
    }

    public unsafe (int Length, Address From) ReceiveFrom(Span<byte> buffer)
    {
        var sa = new byte[12];
        var len = sa.Length;
        nint n;
        fixed (byte* p = buffer)
        fixed (byte* s = sa)
        {
            n = Native.recvfrom(_fd, p, buffer.Length, 0, s, &len);
        }

        if (n < 0)
        {
            throw Native.Error("recvfrom");
        }

        return ((int)n, new Address(BinaryPrimitives.ReadUInt32LittleEndian(sa.AsSpan(4)), sa[8], sa[9], sa[10]));
    }

    public void Dispose() => _ = Native.close(_fd);
}
