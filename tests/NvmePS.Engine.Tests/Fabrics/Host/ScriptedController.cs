using System.Net;
using System.Net.Sockets;
using NvmePS.Engine.Admin;
using NvmePS.Engine.Fabrics;
using NvmePS.Engine.Fabrics.Tcp;

namespace NvmePS.Engine.Tests.Fabrics.Host;

/// <summary>
/// A scripted NVMe/TCP controller on a real loopback socket, for host-side tests: it serves Connect, properties,
/// Identify, Set Features, Keep Alive, the discovery log and a memory namespace, and has hooks to misbehave at a chosen
/// point. It is deliberately simple (one task per connection, in-order processing) and not the engine's controller.
/// </summary>
internal sealed class ScriptedController : IAsyncDisposable
{
    public const uint Nsid = 1;
    public const int BlockSize = 512;

    private readonly Socket _listener;
    private readonly List<Task> _connections = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;

    public ScriptedController(Func<ScriptedController, NvmeTcpQueuePair, NvmeCommand, ReadOnlyMemory<byte>, Task<bool>>? hook = null)
    {
        Hook = hook;
        _listener = new Socket(System.Net.Sockets.AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(16);
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndPoint!;

    /// <summary>Runs before the default handling of each command; returning true means it handled the command.</summary>
    public Func<ScriptedController, NvmeTcpQueuePair, NvmeCommand, ReadOnlyMemory<byte>, Task<bool>>? Hook { get; set; }

    public byte[] Media { get; init; } = new byte[4 * 1024 * 1024];

    public bool AllowDigests { get; set; } = true;

    public uint MaxH2CData { get; set; } = 16384;

    public uint Ioccsz { get; set; } = (8192 + 64) / 16;

    public byte Mdts { get; set; } = 5;

    /// <summary>Split reads into C2HData PDUs of this size.</summary>
    public int C2HChunk { get; set; } = 32768;

    /// <summary>Use the SUCCESS flag on the last C2HData when SQ flow control is disabled.</summary>
    public bool UseSuccessFlag { get; set; } = true;

    /// <summary>Answer reads in groups of this many, last first (CID matching out of order).</summary>
    public int ReverseBatch { get; set; } = 1;

    /// <summary>Refuse Connect from this host NQN with Connect Invalid Host.</summary>
    public string? DeniedHost { get; set; }

    /// <summary>Ignore CATTR "disable SQ flow control" and report it disabled anyway (SQHD FFFFh).</summary>
    public bool ForceSqhdFfff { get; set; }

    public DiscoveryLog? Discovery { get; set; }

    /// <summary>How many times the discovery header read should see a different GENCTR than the full read.</summary>
    public int DiscoveryGenerationBumps { get; set; }

    public List<ConnectData> Connects { get; } = new();

    public List<NvmeCommand> Commands { get; } = new();

    public int KeepAlives;

    public uint Cc;

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (true)
            {
                var s = await _listener.AcceptAsync(_stop.Token);
                lock (_connections)
                {
                    _connections.Add(Task.Run(() => ServeAsync(s)));
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private sealed class PendingWrite
    {
        public required NvmeCommand Command;
        public required byte[] Buffer;
        public int Received;
    }

    private async Task ServeAsync(Socket socket)
    {
        NvmeTcpQueuePair qp;
        try
        {
            qp = await NvmeTcpQueuePair.AcceptAsync(socket, new NvmeTcpQueueOptions
            {
                HeaderDigest = AllowDigests,
                DataDigest = AllowDigests,
                MaxH2CData = MaxH2CData,
                MaxInCapsuleData = 16384,
            }, _stop.Token);
        }
        catch (Exception)
        {
            socket.Dispose();
            return;
        }

        await using var conn = qp;
        var tracker = new NvmeTcpR2TTracker();
        var writes = new Dictionary<ushort, PendingWrite>();
        var reads = new List<NvmeCommand>();
        int size = 32;
        int sqhd = 0;
        bool flowControl = true;
        bool admin = false;
        try
        {
            while (true)
            {
                var h = await qp.ReceiveHeaderAsync(_stop.Token);
                if (h.Type == NvmeTcpPduType.H2CData)
                {
                    if (!tracker.TryAccept(h, out bool complete, out var err))
                    {
                        throw await qp.TerminateAsync(err.Fes, err.FieldOffset, err.Reason);
                    }

                    var w = writes[h.Cccid];
                    await qp.ReceiveDataAsync(w.Buffer.AsMemory((int)h.Offset, (int)h.Length), _stop.Token);
                    w.Received += (int)h.Length;
                    if (w.Received == w.Buffer.Length)
                    {
                        writes.Remove(h.Cccid);
                        CopyIn(w.Command, w.Buffer);
                        await qp.SendCapsuleResponseAsync(Ok(w.Command.Cid, sqhd, flowControl), _stop.Token);
                    }

                    continue;
                }

                var cmd = h.Command;
                byte[] icd = new byte[h.DataLength];
                if (icd.Length > 0)
                {
                    await qp.ReceiveDataAsync(icd, _stop.Token);
                }

                lock (Commands)
                {
                    Commands.Add(cmd);
                }

                sqhd = (sqhd + 1) % size;
                if (Hook is not null && await Hook(this, qp, cmd, icd))
                {
                    continue;
                }

                if (cmd.Opcode == FabricsCommand.Opcode)
                {
                    var fct = FabricsCommand.GetFctype(cmd);
                    if (fct == FabricsCommandType.Connect)
                    {
                        ConnectCommand.TryRead(cmd, out var cc);
                        ConnectData.TryRead(icd, out var data, out _);
                        lock (Connects)
                        {
                            Connects.Add(data!);
                        }

                        size = cc.QueueEntries;
                        admin = cc.Qid == 0;
                        flowControl = !cc.DisableSqFlowControl && !ForceSqhdFfff;
                        sqhd = 1;
                        if (data!.HostNqn == DeniedHost)
                        {
                            await qp.SendCapsuleResponseAsync(NvmeCompletion.Create(cmd.Cid, NvmeStatus.CommandSpecific(NvmeStatusNames.ConnectInvalidHost),
                                ConnectResponse.InvalidParameterDw0(ConnectData.HostNqnOffset, ConnectResponse.IattrInData), sqhd: (ushort)sqhd), _stop.Token);
                            continue;
                        }

                        await qp.SendCapsuleResponseAsync(NvmeCompletion.Create(cmd.Cid, NvmeStatus.Success, ConnectResponse.SuccessDw0(1), sqhd: flowControl ? (ushort)sqhd : (ushort)0xFFFF, sqid: cc.Qid), _stop.Token);
                    }
                    else if (fct == FabricsCommandType.PropertyGet)
                    {
                        PropertyGetCommand.TryRead(cmd, out var get);
                        ulong v = get.Offset switch
                        {
                            ControllerProperty.Cap => ControllerCapabilities.Create(mqes: 127, cqr: true, to: 2, css: 1).Value,
                            ControllerProperty.Vs => ControllerVersion.Create(2, 0).Value,
                            ControllerProperty.Cc => Cc,
                            ControllerProperty.Csts => ControllerStatus.Create(
                                (Cc & 1) != 0, shst: new ControllerConfiguration(Cc).Shn == ShutdownNotification.Normal ? ShutdownStatus.Complete : ShutdownStatus.Normal).Value,
                            _ => 0,
                        };
                        await qp.SendCapsuleResponseAsync(NvmeCompletion.Create(cmd.Cid, NvmeStatus.Success, (uint)v, (uint)(v >> 32), Sqhd(sqhd, flowControl)), _stop.Token);
                    }
                    else if (fct == FabricsCommandType.PropertySet)
                    {
                        PropertySetCommand.TryRead(cmd, out var set);
                        if (set.Offset == ControllerProperty.Cc)
                        {
                            Cc = (uint)set.Value;
                        }

                        await qp.SendCapsuleResponseAsync(Ok(cmd.Cid, sqhd, flowControl), _stop.Token);
                    }
                    else
                    {
                        await qp.SendCapsuleResponseAsync(NvmeCompletion.Create(cmd.Cid, NvmeStatus.Generic(NvmeStatusNames.InvalidCommandOpcode), sqhd: Sqhd(sqhd, flowControl)), _stop.Token);
                    }

                    continue;
                }

                var q = qp;
                switch (cmd.Opcode)
                {
                    case NvmeAdminOpcode.Identify when (cmd.Cdw10 & 0xFF) == NvmeIdentifyCns.Controller && admin:
                        {
                            var id = new NvmeIdentifyController { Vid = 0x1B36, Mn = "Scripted", Sn = "S0001", Fr = "1.0", Mdts = Mdts, Cntlid = 1, Ioccsz = Ioccsz, Iorcsz = 1, Maxcmd = 128, Subnqn = "nqn.2024-01.io.nvmeps:scripted" };
                            await SendDataAsync(q, cmd, id.ToArray(), sqhd, flowControl);
                            break;
                        }

                    case NvmeAdminOpcode.Identify when (cmd.Cdw10 & 0xFF) == NvmeIdentifyCns.Namespace && cmd.Nsid == Nsid && admin:
                        {
                            ulong blocks = (ulong)(Media.Length / BlockSize);
                            var ns = new NvmeIdentifyNamespace { Nsze = blocks, Ncap = blocks, Nuse = blocks, Lbaf = new[] { new NvmeLbaFormat(0, 9, 0) } };
                            await SendDataAsync(q, cmd, ns.ToArray(), sqhd, flowControl);
                            break;
                        }

                    case NvmeAdminOpcode.SetFeatures when admin:
                        await q.SendCapsuleResponseAsync(NvmeCompletion.Create(cmd.Cid, NvmeStatus.Success, new NvmeNumberOfQueues(2, 2).ToDword(), sqhd: Sqhd(sqhd, flowControl)), _stop.Token);
                        break;
                    case NvmeAdminOpcode.KeepAlive when admin:
                        Interlocked.Increment(ref KeepAlives);
                        await q.SendCapsuleResponseAsync(Ok(cmd.Cid, sqhd, flowControl), _stop.Token);
                        break;
                    case NvmeAdminOpcode.GetLogPage when admin && (cmd.Cdw10 & 0xFF) == DiscoveryLog.LogId && Discovery is not null:
                        {
                            int len = (int)((((cmd.Cdw10 >> 16) | (cmd.Cdw11 << 16)) + 1) * 4);
                            long off = cmd.Cdw12 | ((long)cmd.Cdw13 << 32);
                            var log = Discovery;
                            byte[] all = log.ToArray();
                            if (len > DiscoveryLog.HeaderSize && DiscoveryGenerationBumps > 0)
                            {
                                // The log changes right after a full read: the host's re-check must notice.
                                DiscoveryGenerationBumps--;
                                Discovery = log with { GenerationCounter = log.GenerationCounter + 1 };
                            }

                            byte[] page = new byte[len];
                            if (off < all.Length)
                            {
                                all.AsSpan((int)off, (int)Math.Min(len, all.Length - off)).CopyTo(page);
                            }

                            await SendDataAsync(q, cmd, page, sqhd, flowControl);
                            break;
                        }

                    case NvmeIoOpcode.Read when !admin:
                        {
                            reads.Add(cmd);
                            if (reads.Count >= ReverseBatch)
                            {
                                for (int i = reads.Count - 1; i >= 0; i--)
                                {
                                    await SendDataAsync(q, reads[i], CopyOut(reads[i]), sqhd, flowControl);
                                }

                                reads.Clear();
                            }

                            break;
                        }

                    case NvmeIoOpcode.Write when !admin:
                        {
                            var sgl = SglDescriptor.FromCommand(cmd);
                            if (sgl.IsInCapsule)
                            {
                                CopyIn(cmd, icd);
                                await q.SendCapsuleResponseAsync(Ok(cmd.Cid, sqhd, flowControl), _stop.Token);
                            }
                            else
                            {
                                writes[cmd.Cid] = new PendingWrite { Command = cmd, Buffer = new byte[sgl.Length] };
                                // Ask in two R2Ts when large, to exercise several outstanding R2Ts.
                                uint half = sgl.Length > 65536 ? sgl.Length / 2 : sgl.Length;
                                for (uint o = 0; o < sgl.Length; o += half)
                                {
                                    uint n = Math.Min(half, sgl.Length - o);
                                    ushort tag = tracker.Register(cmd.Cid, o, n);
                                    await q.SendR2TAsync(cmd.Cid, tag, o, n, _stop.Token);
                                }
                            }

                            break;
                        }

                    case NvmeIoOpcode.WriteZeroes when !admin:
                        {
                            Media.AsSpan(Offset(cmd), Length(cmd)).Clear();
                            await q.SendCapsuleResponseAsync(Ok(cmd.Cid, sqhd, flowControl), _stop.Token);
                            break;
                        }

                    case NvmeIoOpcode.Flush or NvmeIoOpcode.DatasetManagement when !admin:
                        await q.SendCapsuleResponseAsync(Ok(cmd.Cid, sqhd, flowControl), _stop.Token);
                        break;
                    default:
                        await q.SendCapsuleResponseAsync(NvmeCompletion.Create(cmd.Cid, NvmeStatus.Generic(NvmeStatusNames.InvalidCommandOpcode), sqhd: Sqhd(sqhd, flowControl)), _stop.Token);
                        break;
                }
            }
        }
        catch (Exception e) when (e is NvmeException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    private static ushort Sqhd(int sqhd, bool flowControl) => flowControl ? (ushort)sqhd : (ushort)0xFFFF;

    private static NvmeCompletion Ok(ushort cid, int sqhd, bool flowControl) => NvmeCompletion.Create(cid, NvmeStatus.Success, sqhd: Sqhd(sqhd, flowControl));

    private static int Offset(in NvmeCommand cmd) => (int)((cmd.Cdw10 | ((ulong)cmd.Cdw11 << 32)) * BlockSize);

    private static int Length(in NvmeCommand cmd) => (int)(((cmd.Cdw12 & 0xFFFF) + 1) * BlockSize);

    private byte[] CopyOut(in NvmeCommand cmd) => Media.AsSpan(Offset(cmd), Length(cmd)).ToArray();

    private void CopyIn(in NvmeCommand cmd, byte[] data) => data.CopyTo(Media.AsSpan(Offset(cmd)));

    private async Task SendDataAsync(NvmeTcpQueuePair q, NvmeCommand cmd, byte[] data, int sqhd, bool flowControl)
    {
        bool success = UseSuccessFlag && !flowControl;
        for (int o = 0; o < data.Length; o += C2HChunk)
        {
            int n = Math.Min(C2HChunk, data.Length - o);
            bool last = o + n == data.Length;
            await q.SendC2HDataAsync(cmd.Cid, (uint)o, data.AsMemory(o, n), last, last && success, _stop.Token);
        }

        if (!success)
        {
            await q.SendCapsuleResponseAsync(Ok(cmd.Cid, sqhd, flowControl), _stop.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Dispose();
        await _acceptLoop;
        Task[] all;
        lock (_connections)
        {
            all = _connections.ToArray();
        }

        await Task.WhenAll(all);
        _stop.Dispose();
    }
}
