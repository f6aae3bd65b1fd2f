using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using NvmePS.Engine;
using NvmePS.Engine.Admin;
using NvmePS.Engine.Fabrics;
using NvmePS.Engine.Fabrics.Controller;
using NvmePS.Engine.Fabrics.Tcp;

namespace NvmePS.Engine.Tests.Fabrics.Controller;

/// <summary>
/// A small host for target tests over the shared queue-pair transport (host role): many commands in flight,
/// R2T answered with H2CData PDUs of at most MAXH2CDATA, C2HData collected (and the SUCCESS flag noted).
/// </summary>
internal sealed class TestHost : IAsyncDisposable
{
    private readonly ConcurrentDictionary<ushort, Pending> _pending = new();
    private readonly Task _reader;
    private readonly CancellationTokenSource _cts = new();
    private int _nextCid;

    private sealed class Pending
    {
        public TaskCompletionSource<NvmeCompletion> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public byte[]? Write { get; init; }
        public byte[]? Read { get; init; }
        public int C2HPdus { get; set; }
        public bool SawSuccessFlag { get; set; }
    }

    private TestHost(NvmeTcpQueuePair qp)
    {
        Qp = qp;
        _reader = Task.Run(ReadLoopAsync);
    }

    public NvmeTcpQueuePair Qp { get; }

    public ushort Cntlid { get; private set; }

    public static async Task<TestHost> OpenAsync(IPEndPoint endpoint, bool headerDigest = false, bool dataDigest = false)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(endpoint);
        var qp = await NvmeTcpQueuePair.ConnectAsync(socket, new NvmeTcpQueueOptions { HeaderDigest = headerDigest, DataDigest = dataDigest }, CancellationToken.None);
        return new TestHost(qp);
    }

    /// <summary>Opens an admin queue, connects and enables the controller.</summary>
    public static async Task<TestHost> AdminAsync(IPEndPoint endpoint, string subnqn, bool headerDigest = false, bool dataDigest = false,
        uint kato = 0, bool disableFlowControl = false, string host = Core.HostNqn)
    {
        var h = await OpenAsync(endpoint, headerDigest, dataDigest);
        var cqe = await h.ConnectAsync(0, 31, 0xFFFF, subnqn, kato, disableFlowControl, host);
        Assert.True(cqe.IsSuccess, cqe.Status.GetName(NvmeCommandContext.Fabrics));
        var cc = await h.ExecAsync(new PropertySetCommand(PropertySize.FourBytes, ControllerProperty.Cc, ControllerConfiguration.Create(en: true).Value).ToCommand(0));
        Assert.True(cc.Cqe.IsSuccess);
        return h;
    }

    /// <summary>Opens an I/O queue of <paramref name="admin"/>'s controller.</summary>
    public static async Task<TestHost> IoAsync(IPEndPoint endpoint, TestHost admin, string subnqn, ushort qid = 1, bool headerDigest = false,
        bool dataDigest = false, bool disableFlowControl = false)
    {
        var h = await OpenAsync(endpoint, headerDigest, dataDigest);
        var cqe = await h.ConnectAsync(qid, 127, admin.Cntlid, subnqn, 0, disableFlowControl);
        Assert.True(cqe.IsSuccess, cqe.Status.GetName(NvmeCommandContext.Fabrics));
        return h;
    }

    public async Task<NvmeCompletion> ConnectAsync(ushort qid, ushort sqsize, ushort cntlid, string subnqn, uint kato = 0, bool disableFlowControl = false, string host = Core.HostNqn)
    {
        var data = new ConnectData(Core.HostId, cntlid, subnqn, host).ToArray();
        var cmd = new ConnectCommand(0, qid, sqsize, disableFlowControl ? ConnectCommand.CattrDisableSqFlowControl : (byte)0, kato)
            .ToCommand(0, SglDescriptor.InCapsule((uint)data.Length));
        var r = await ExecAsync(cmd, data, inCapsule: true);
        if (r.Cqe.IsSuccess)
        {
            Cntlid = ConnectResponse.GetCntlid(r.Cqe);
        }

        return r.Cqe;
    }

    public async Task<(NvmeCompletion Cqe, byte[] Data, int C2HPdus, bool SuccessFlag)> ExecAsync(NvmeCommand command, byte[]? write = null, int readLength = 0, bool inCapsule = false)
    {
        ushort cid = (ushort)(Interlocked.Increment(ref _nextCid) & 0x7FFF);
        command.Cid = cid;
        command.Flags = (byte)((command.Flags & 0x3F) | 0x40);
        var pending = new Pending { Write = write, Read = readLength > 0 ? new byte[readLength] : null };
        _pending[cid] = pending;
        if (write is not null && inCapsule)
        {
            SglDescriptor.InCapsule((uint)write.Length).WriteTo(ref command);
            await Qp.SendCapsuleCommandAsync(command, write, CancellationToken.None);
        }
        else
        {
            SglDescriptor.Transport((uint)(write?.Length ?? readLength)).WriteTo(ref command);
            await Qp.SendCapsuleCommandAsync(command, default, CancellationToken.None);
        }

        var cqe = await pending.Done.Task.WaitAsync(TimeSpan.FromSeconds(30));
        _pending.TryRemove(cid, out _);
        return (cqe, pending.Read ?? [], pending.C2HPdus, pending.SawSuccessFlag);
    }

    private async Task ReadLoopAsync()
    {
        try
        {
            while (true)
            {
                var h = await Qp.ReceiveHeaderAsync(_cts.Token);
                switch (h.Type)
                {
                    case NvmeTcpPduType.CapsuleResp:
                        if (_pending.TryGetValue(h.Completion.Cid, out var p))
                        {
                            p.Done.TrySetResult(h.Completion);
                        }

                        break;
                    case NvmeTcpPduType.C2HData:
                        {
                            var pd = _pending[h.Cccid];
                            Assert.True(await Qp.ReceiveDataAsync(pd.Read.AsMemory((int)h.Offset, h.DataLength), _cts.Token), "C2HData digest");
                            pd.C2HPdus++;
                            if (h.IsSuccess)
                            {
                                pd.SawSuccessFlag = true;
                                pd.Done.TrySetResult(NvmeCompletion.Create(h.Cccid, NvmeStatus.Success));
                            }

                            break;
                        }

                    case NvmeTcpPduType.R2T:
                        {
                            var pw = _pending[h.Cccid];
                            int max = (int)Qp.Negotiated.MaxH2CData;
                            int end = (int)(h.Offset + h.Length);
                            for (int off = (int)h.Offset; off < end; off += max)
                            {
                                int n = Math.Min(max, end - off);
                                await Qp.SendH2CDataAsync(h.Cccid, h.Ttag, (uint)off, pw.Write.AsMemory(off, n), off + n == end, CancellationToken.None);
                            }

                            break;
                        }
                }
            }
        }
        catch (Exception e) when (e is NvmeException or OperationCanceledException or ObjectDisposedException)
        {
            foreach (var p in _pending.Values)
            {
                p.Done.TrySetException(new NvmeConnectionException("closed", e));
            }
        }
    }

    /// <summary>True once the target closed this connection.</summary>
    public async Task<bool> ClosedByTargetAsync(TimeSpan timeout)
    {
        var done = await Task.WhenAny(_reader, Task.Delay(timeout));
        return done == _reader;
    }

    public async ValueTask DisposeAsync()
    {
        _cts.Cancel();
        Qp.Dispose();
        try
        {
            await _reader;
        }
        catch (Exception e) when (e is NvmeException or OperationCanceledException)
        {
        }

        _cts.Dispose();
    }
}

/// <summary>A raw NVMe/TCP peer that writes exact bytes, for malformed-input tests.</summary>
internal sealed class RawPeer : IDisposable
{
    private RawPeer(Socket socket) => Socket = socket;

    public Socket Socket { get; }

    public static async Task<RawPeer> OpenAsync(IPEndPoint endpoint, bool initialize = true, bool headerDigest = false, bool dataDigest = false, IPAddress? from = null)
    {
        var s = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (from is not null)
        {
            // Another loopback address stands for another host.
            s.Bind(new IPEndPoint(from, 0));
        }

        await s.ConnectAsync(endpoint);
        var peer = new RawPeer(s);
        if (initialize)
        {
            await peer.SendAsync(IcReq(headerDigest, dataDigest));
            var resp = await peer.ReadPduAsync();
            Assert.Equal(0x01, resp[0]);
            Assert.Equal(128, resp.Length);
            Assert.Equal((byte)((headerDigest ? 1 : 0) | (dataDigest ? 2 : 0)), resp[11]);
        }

        return peer;
    }

    /// <summary>ICReq written byte by byte (NVMe/TCP 1.0 Figure 19): PFV 0, HPDA 0, DGST, MAXR2T 0.</summary>
    public static byte[] IcReq(bool headerDigest = false, bool dataDigest = false)
    {
        var b = new byte[128];
        b[0] = 0x00;
        b[2] = 128;
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), 128);
        b[11] = (byte)((headerDigest ? 1 : 0) | (dataDigest ? 2 : 0));
        return b;
    }

    /// <summary>A CapsuleCmd: CH, SQE, optional header digest, then data at PDO = HLEN (+4) and optional data digest.</summary>
    public static byte[] Capsule(NvmeCommand sqe, byte[]? data = null, bool headerDigest = false, bool dataDigest = false)
    {
        data ??= [];
        int hl = 72 + (headerDigest ? 4 : 0);
        int plen = hl + data.Length + (dataDigest && data.Length > 0 ? 4 : 0);
        var b = new byte[plen];
        b[0] = 0x04;
        b[1] = (byte)((headerDigest ? 1 : 0) | (dataDigest && data.Length > 0 ? 2 : 0));
        b[2] = 72;
        b[3] = data.Length > 0 ? (byte)hl : (byte)0;
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), (uint)plen);
        sqe.WriteTo(b.AsSpan(8));
        if (headerDigest)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(72), ReferenceCrc32C.Compute(b.AsSpan(0, 72)));
        }

        data.CopyTo(b.AsSpan(hl));
        if (dataDigest && data.Length > 0)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(hl + data.Length), ReferenceCrc32C.Compute(data));
        }

        return b;
    }

    /// <summary>An H2CData PDU (no header digest): CCCID, TTAG, DATAO, DATAL = data length, optional data digest.</summary>
    public static byte[] H2CData(ushort cccid, ushort ttag, uint datao, byte[] data, bool last, bool dataDigest = false)
    {
        var b = new byte[24 + data.Length + (dataDigest ? 4 : 0)];
        b[0] = 0x06;
        b[1] = (byte)((last ? 0x04 : 0) | (dataDigest ? 0x02 : 0));
        b[2] = 24;
        b[3] = 24;
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), (uint)b.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(8), cccid);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(10), ttag);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(12), datao);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(16), (uint)data.Length);
        data.CopyTo(b.AsSpan(24));
        if (dataDigest)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(24 + data.Length), ReferenceCrc32C.Compute(data));
        }

        return b;
    }

    public static NvmeCommand Sgl(NvmeCommand c, ushort cid, SglDescriptor sgl)
    {
        c.Cid = cid;
        c.Flags = 0x40;
        sgl.WriteTo(ref c);
        return c;
    }

    public static byte[] ConnectCapsule(ushort qid, ushort cntlid, string subnqn = Core.SubNqn, string host = Core.HostNqn, ushort cid = 1, byte[]? data = null,
        bool dataDigest = false)
    {
        data ??= new ConnectData(Core.HostId, cntlid, subnqn, host).ToArray();
        var c = new ConnectCommand(0, qid, qid == 0 ? (ushort)31 : (ushort)63, 0, 0).ToCommand(cid, SglDescriptor.InCapsule((uint)data.Length));
        return Capsule(c, data, dataDigest: dataDigest);
    }

    /// <summary>The C2HTermReq the target must send (NVMe/TCP 1.0 Figures 23–25), built by hand.</summary>
    public static byte[] ExpectedTermReq(ushort fes, uint fei, ReadOnlySpan<byte> errorData)
    {
        var b = new byte[24 + errorData.Length];
        b[0] = 0x03;
        b[2] = 24;
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), (uint)b.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(8), fes);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(10), fei);
        errorData.CopyTo(b.AsSpan(24));
        return b;
    }

    /// <summary>The CapsuleResp the target must send, built by hand (no header digest).</summary>
    public static byte[] ExpectedCapsuleResp(ushort cid, ushort statusField, uint dw0 = 0, ushort sqhd = 0, ushort sqid = 0)
    {
        var b = new byte[24];
        b[0] = 0x05;
        b[2] = 24;
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), 24);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(8), dw0);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(16), sqhd);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(18), sqid);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(20), cid);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(22), statusField);
        return b;
    }

    /// <summary>Status field (phase 0): SC 7:0, SCT 10:8, DNR 14, shifted left by one (Base Spec Figure 92).</summary>
    public static ushort StatusField(int sct, int sc, bool dnr) => (ushort)(((sc & 0xFF) | (sct << 8) | (dnr ? 1 << 14 : 0)) << 1);

    public async Task SendAsync(byte[] bytes)
    {
        int sent = 0;
        while (sent < bytes.Length)
        {
            sent += await Socket.SendAsync(bytes.AsMemory(sent), SocketFlags.None);
        }
    }

    /// <summary>Reads one PDU by its PLEN (bounded to 1 MiB, 5 s).</summary>
    public async Task<byte[]> ReadPduAsync()
    {
        var ch = await ReadExactAsync(8);
        uint plen = BinaryPrimitives.ReadUInt32LittleEndian(ch.AsSpan(4));
        Assert.InRange(plen, 8u, 1u << 20);
        var rest = await ReadExactAsync((int)plen - 8);
        return [.. ch, .. rest];
    }

    public async Task<byte[]> ReadExactAsync(int count)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var b = new byte[count];
        int got = 0;
        while (got < count)
        {
            int n = await Socket.ReceiveAsync(b.AsMemory(got), SocketFlags.None, cts.Token);
            if (n == 0)
            {
                throw new InvalidOperationException($"closed after {got} of {count} bytes");
            }

            got += n;
        }

        return b;
    }

    /// <summary>True when the target closes the connection (EOF or reset) within 5 s.</summary>
    public async Task<bool> ClosedByPeerAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var b = new byte[256];
        try
        {
            while (true)
            {
                if (await Socket.ReceiveAsync(b, SocketFlags.None, cts.Token) == 0)
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

    public void Dispose() => Socket.Dispose();
}
