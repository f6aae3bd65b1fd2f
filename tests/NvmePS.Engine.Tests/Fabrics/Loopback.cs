using System.Net;
using System.Net.Sockets;

namespace NvmePS.Engine.Tests.Fabrics;

/// <summary>Real loopback TCP sockets for transport tests.</summary>
internal static class Loopback
{
    /// <summary>A connected (client, server) socket pair on 127.0.0.1.</summary>
    public static async Task<(Socket Client, Socket Server)> PairAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var accept = listener.AcceptAsync();
        await client.ConnectAsync(listener.LocalEndPoint!);
        var server = await accept;
        return (client, server);
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes, or fewer if the peer closes; bounded by a timeout.</summary>
    public static async Task<byte[]> ReadAsync(Socket s, int count, int timeoutMs = 5000)
    {
        using var cts = new CancellationTokenSource(timeoutMs);
        byte[] b = new byte[count];
        int got = 0;
        while (got < count)
        {
            int n = await s.ReceiveAsync(b.AsMemory(got), SocketFlags.None, cts.Token);
            if (n == 0)
            {
                break;
            }

            got += n;
        }

        return b[..got];
    }

    /// <summary>True when the peer has closed (a read returns 0 or a reset) within the timeout.</summary>
    public static async Task<bool> IsClosedByPeerAsync(Socket s, int timeoutMs = 5000)
    {
        using var cts = new CancellationTokenSource(timeoutMs);
        byte[] b = new byte[256];
        try
        {
            while (true)
            {
                int n = await s.ReceiveAsync(b, SocketFlags.None, cts.Token);
                if (n == 0)
                {
                    return true;
                }
            }
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public static async Task SendAsync(Socket s, ReadOnlyMemory<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            int n = await s.SendAsync(bytes, SocketFlags.None);
            bytes = bytes[n..];
        }
    }
}

/// <summary>Bit-at-a-time CRC-32C: an independent oracle for digests.</summary>
internal static class ReferenceCrc32C
{
    public static uint Compute(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int i = 0; i < 8; i++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78 : crc >> 1;
            }
        }

        return crc ^ 0xFFFFFFFF;
    }
}
