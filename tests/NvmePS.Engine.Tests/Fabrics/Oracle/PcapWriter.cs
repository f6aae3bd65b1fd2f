using System.Buffers.Binary;

namespace NvmePS.Engine.Tests.Fabrics.Oracle;

/// <summary>
/// Writes recorded TCP payloads as a classic pcap (LINKTYPE_RAW: IPv4 packets) with synthetic, consistent TCP framing:
/// a three-way handshake per stream, then one segment per recorded chunk with correct sequence and acknowledgement
/// numbers, so tshark's TCP reassembly and the NVMe/TCP dissector see exactly the byte streams the two sides sent.
/// </summary>
internal static class PcapWriter
{
    /// <summary>Controller port in the synthetic capture (tshark is told to decode it as nvme-tcp).</summary>
    public const ushort ControllerPort = 4420;

    /// <summary>Host port of stream <c>n</c> is this plus <c>n</c>.</summary>
    public const ushort HostPortBase = 40000;

    private const int MaxSegment = 60000;

    public static void Write(string path, IReadOnlyList<RecordedChunk> chunks)
    {
        using var f = File.Create(path);
        Span<byte> gh = stackalloc byte[24];
        BinaryPrimitives.WriteUInt32LittleEndian(gh, 0xA1B2C3D4);
        BinaryPrimitives.WriteUInt16LittleEndian(gh[4..], 2);
        BinaryPrimitives.WriteUInt16LittleEndian(gh[6..], 4);
        BinaryPrimitives.WriteUInt32LittleEndian(gh[16..], 65535 + 64);
        BinaryPrimitives.WriteUInt32LittleEndian(gh[20..], 101); // LINKTYPE_RAW
        f.Write(gh);

        var seq = new Dictionary<(int Stream, bool FromHost), uint>();
        long usec = 1_000_000;
        void Packet(int stream, bool fromHost, byte tcpFlags, ReadOnlySpan<byte> payload)
        {
            uint mySeq = seq.GetValueOrDefault((stream, fromHost), fromHost ? 1000u : 5000u);
            uint ack = seq.GetValueOrDefault((stream, !fromHost), fromHost ? 5000u : 1000u);
            byte[] pkt = new byte[20 + 20 + payload.Length];
            var ip = pkt.AsSpan(0, 20);
            ip[0] = 0x45;
            BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)pkt.Length);
            ip[8] = 64;
            ip[9] = 6;
            // 127.0.0.1 (host) and 127.0.0.2 (controller): loopback, and distinct so the direction is obvious.
            byte[] hostIp = [127, 0, 0, 1], ctrlIp = [127, 0, 0, 2];
            (fromHost ? hostIp : ctrlIp).CopyTo(ip[12..]);
            (fromHost ? ctrlIp : hostIp).CopyTo(ip[16..]);
            BinaryPrimitives.WriteUInt16BigEndian(ip[10..], IpChecksum(ip));
            var tcp = pkt.AsSpan(20, 20);
            ushort hostPort = (ushort)(HostPortBase + stream);
            BinaryPrimitives.WriteUInt16BigEndian(tcp, fromHost ? hostPort : ControllerPort);
            BinaryPrimitives.WriteUInt16BigEndian(tcp[2..], fromHost ? ControllerPort : hostPort);
            BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], mySeq);
            BinaryPrimitives.WriteUInt32BigEndian(tcp[8..], (tcpFlags & 0x10) != 0 ? ack : 0);
            tcp[12] = 5 << 4;
            tcp[13] = tcpFlags;
            BinaryPrimitives.WriteUInt16BigEndian(tcp[14..], 65535);
            payload.CopyTo(pkt.AsSpan(40));
            uint advance = (uint)payload.Length + ((tcpFlags & 0x02) != 0 ? 1u : 0u);
            seq[(stream, fromHost)] = mySeq + advance;

            Span<byte> rh = stackalloc byte[16];
            BinaryPrimitives.WriteUInt32LittleEndian(rh, (uint)(usec / 1_000_000));
            BinaryPrimitives.WriteUInt32LittleEndian(rh[4..], (uint)(usec % 1_000_000));
            BinaryPrimitives.WriteUInt32LittleEndian(rh[8..], (uint)pkt.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(rh[12..], (uint)pkt.Length);
            f.Write(rh);
            f.Write(pkt);
            usec += 10;
        }

        var opened = new HashSet<int>();
        foreach (var c in chunks)
        {
            if (opened.Add(c.Stream))
            {
                Packet(c.Stream, true, 0x02, default);          // SYN
                Packet(c.Stream, false, 0x12, default);         // SYN, ACK
                Packet(c.Stream, true, 0x10, default);          // ACK
            }

            for (int at = 0; at < c.Bytes.Length; at += MaxSegment)
            {
                Packet(c.Stream, c.FromHost, 0x18, c.Bytes.AsSpan(at, Math.Min(MaxSegment, c.Bytes.Length - at))); // PSH, ACK
            }
        }
    }

    private static ushort IpChecksum(ReadOnlySpan<byte> header)
    {
        uint sum = 0;
        for (int i = 0; i < header.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(header[i..]);
        }

        while (sum > 0xFFFF)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        return (ushort)~sum;
    }
}
