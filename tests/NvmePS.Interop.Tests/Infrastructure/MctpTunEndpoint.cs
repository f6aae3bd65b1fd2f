using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;

namespace NvmePS.Interop.Tests.Infrastructure;

/// <summary>
/// A userspace MCTP endpoint behind the real kernel: a TUN device (IFF_TUN, WITHOUT IFF_NO_PI) carries MCTP packets
/// between the kernel's MCTP stack and this class. Every frame is struct tun_pi (flags u16, proto be16 =
/// ETH_P_MCTP 0x00FA), then the 4-byte MCTP transport header (DSP0236 §8.1: version, dest EID, src EID,
/// SOM|EOM|seq|TO|tag), then one packet's payload. The kernel fragments requests by the route MTU; this class
/// reassembles them, hands whole messages (first byte = message type) to the handler, and fragments the
/// handler's responses by the same MTU so the kernel must reassemble them. IPv6 is disabled on the tun, else
/// the first reads are router solicitations.
/// </summary>
public sealed class MctpTunEndpoint : IAsyncDisposable
{
    public delegate ValueTask Handler(byte sourceEid, ReadOnlyMemory<byte> message, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> respond, CancellationToken cancellationToken);

    private const ushort EthPMctp = 0x00FA;
    private const int HeaderSize = 4;
    private const byte Som = 0x80, Eom = 0x40, To = 0x08;
    private readonly int _fd;
    private readonly Handler _handler;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly Dictionary<(byte Src, byte TagTo), (List<byte> Data, int NextSeq)> _partial = [];
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    public string Name { get; }
    public byte LocalEid { get; }
    public byte RemoteEid { get; }
    public int Mtu { get; }

    /// <summary>Packets received from / sent to the kernel, and the largest payload seen (to prove fragmentation).</summary>
    public int PacketsIn;
    public int PacketsOut;
    public int MaxPayloadIn;
    public int MessagesIn;
    public int DroppedPackets;

    /// <summary>When true, requests are swallowed (to test client timeouts).</summary>
    public volatile bool Silent;

    private MctpTunEndpoint(int fd, string name, byte localEid, byte remoteEid, int mtu, Handler handler)
    {
        _fd = fd;
        Name = name;
        LocalEid = localEid;
        RemoteEid = remoteEid;
        Mtu = mtu;
        _handler = handler;
        // The default scheduler, named: xunit's would run this endless loop on the test's own threads.
        _loop = Task.Factory.StartNew(() => RunAsync(_stop.Token), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    /// <summary>Creates tun <paramref name="name"/>, gives the kernel side local EID <paramref name="localEid"/> on it and a
    /// route to <paramref name="remoteEid"/> (served here) with MTU <paramref name="mtu"/> (link MTU too; 68 = the
    /// MCTP baseline: 64-byte payloads).</summary>
    public static async Task<MctpTunEndpoint> CreateAsync(string name, byte localEid, byte remoteEid, int mtu, Handler handler)
    {
        var fd = NativeFd.open("/dev/net/tun", NativeFd.O_RDWR | NativeFd.O_CLOEXEC);
        if (fd < 0)
        {
            throw Native.Error("open(/dev/net/tun)");
        }

        unsafe
        {
            // struct ifreq: char ifr_name[16]; short ifr_flags; ... (40 bytes). IFF_TUN = 1; no IFF_NO_PI.
            var ifr = stackalloc byte[40];
            new Span<byte>(ifr, 40).Clear();
            var nameBytes = System.Text.Encoding.ASCII.GetBytes(name);
            nameBytes.CopyTo(new Span<byte>(ifr, 15));
            *(short*)(ifr + 16) = 0x0001;
            const uint TUNSETIFF = 0x400454ca;
            if (Native.ioctl(fd, TUNSETIFF, ifr) < 0)
            {
                var e = Native.Error("ioctl(TUNSETIFF)");
                _ = Native.close(fd);
                throw e;
            }
        }

        var ipv6 = $"/proc/sys/net/ipv6/conf/{name}/disable_ipv6";
        if (File.Exists(ipv6))
        {
            File.WriteAllText(ipv6, "1");
        }

        await Guest.RunCheckedAsync("ip", "link", "set", "dev", name, "mtu", mtu.ToString(CultureInfo.InvariantCulture), "up");
        MctpNetlink.AddAddress(name, localEid);
        MctpNetlink.AddRoute(remoteEid, name, (uint)mtu);
        return new MctpTunEndpoint(fd, name, localEid, remoteEid, mtu, handler);
    }

    private async Task RunAsync(CancellationToken ct)
    {
        var frame = new byte[65536];
        while (!ct.IsCancellationRequested)
        {
            if (!PollReadable(200))
            {
                continue;
            }

            int n;
            unsafe
            {
                fixed (byte* p = frame)
                {
                    n = (int)NativeFd.read(_fd, p, frame.Length);
                }
            }

            if (n <= 0)
            {
                continue;
            }

            await OnFrameAsync(frame.AsMemory(0, n), ct);
        }
    }

    private unsafe bool PollReadable(int timeoutMs)
    {
        var pfd = new NativeFd.PollFd { Fd = _fd, Events = NativeFd.POLLIN };
        return NativeFd.poll(&pfd, 1, timeoutMs) > 0 && (pfd.REvents & NativeFd.POLLIN) != 0;
    }

    private async Task OnFrameAsync(ReadOnlyMemory<byte> frame, CancellationToken ct)
    {
        var f = frame.Span;
        // tun_pi, then the MCTP transport header; anything else (IPv6 etc.) is not ours.
        if (f.Length < 4 + HeaderSize || BinaryPrimitives.ReadUInt16BigEndian(f[2..]) != EthPMctp)
        {
            Interlocked.Increment(ref DroppedPackets);
            return;
        }

        var hdr = f.Slice(4, HeaderSize);
        var payload = f[(4 + HeaderSize)..];
        Interlocked.Increment(ref PacketsIn);
        MaxPayloadIn = Math.Max(MaxPayloadIn, payload.Length);
        if ((hdr[0] & 0x0F) != 1 || hdr[1] != RemoteEid)
        {
            Interlocked.Increment(ref DroppedPackets);
            return;
        }

        var src = hdr[2];
        var flags = hdr[3];
        var seq = (flags >> 4) & 3;
        var key = (src, (byte)(flags & 0x0F));
        if ((flags & Som) != 0)
        {
            _partial[key] = (new List<byte>(payload.ToArray()), (seq + 1) & 3);
        }
        else if (_partial.TryGetValue(key, out var part) && part.NextSeq == seq)
        {
            part.Data.AddRange(payload.ToArray());
            _partial[key] = (part.Data, (seq + 1) & 3);
        }
        else
        {
            _partial.Remove(key);
            Interlocked.Increment(ref DroppedPackets);
            return;
        }

        if ((flags & Eom) == 0)
        {
            return;
        }

        var message = _partial[key].Data.ToArray();
        _partial.Remove(key);
        Interlocked.Increment(ref MessagesIn);
        if ((flags & To) == 0 || Silent)
        {
            return; // only requests get answers
        }

        var tag = (byte)(flags & 0x07);
        await _handler(src, message, (resp, c) => SendMessageAsync(src, tag, resp, c), ct);
    }

    private int _requestTag;

    /// <summary>Sends a message of the endpoint's own (a request: TO set, a tag of its own), as a drive sends an AEM.</summary>
    public ValueTask SendRequestAsync(byte dest, ReadOnlyMemory<byte> message, CancellationToken ct) =>
        SendMessageAsync(dest, (byte)(To | (Interlocked.Increment(ref _requestTag) & 0x07)), message, ct);

    /// <summary>Sends one message (first byte = type) to the kernel side, fragmented by the MTU.</summary>
    private async ValueTask SendMessageAsync(byte dest, byte tag, ReadOnlyMemory<byte> message, CancellationToken ct)
    {
        var max = Mtu - HeaderSize;
        await _writeLock.WaitAsync(ct);
        try
        {
            var seq = 0;
            for (var off = 0; off < message.Length || off == 0; off += max)
            {
                var len = Math.Min(max, message.Length - off);
                var pkt = new byte[4 + HeaderSize + len];
                BinaryPrimitives.WriteUInt16BigEndian(pkt.AsSpan(2), EthPMctp);
                pkt[4] = 0x01;
                pkt[5] = dest;
                pkt[6] = RemoteEid;
                var fl = (byte)((seq << 4) | tag);
                if (off == 0)
                {
                    fl |= Som;
                }

                if (off + len >= message.Length)
                {
                    fl |= Eom;
                }

                pkt[7] = fl;
                message.Span.Slice(off, len).CopyTo(pkt.AsSpan(8));
                Interlocked.Increment(ref PacketsOut); // before the write: the peer may see the reply at once
                Write(pkt);
                seq = (seq + 1) & 3;
                if (len == 0)
                {
                    break;
                }
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private unsafe void Write(byte[] pkt)
    {
        fixed (byte* p = pkt)
        {
            if (NativeFd.write(_fd, p, pkt.Length) != pkt.Length)
            {
                throw Native.Error("write(tun)");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }

        try
        {
            MctpNetlink.RemoveRoute(RemoteEid, Name);
        }
        catch (IOException)
        {
        }

        _ = Native.close(_fd); // the tun device disappears with its last fd
        _stop.Dispose();
        _writeLock.Dispose();
    }
}
