using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using NvmePS.Engine;
using NvmePS.Engine.Fabrics.Host;
using NvmePS.Engine.Fabrics.Tcp;

namespace NvmePS.Fuzz;

/// <summary>The host's whole state machine against a controller that says anything: the host runs a real session
/// (connect, Identify, SMART, an I/O queue, write, read, disconnect) to a loopback listener that answers with the
/// input's bytes. Byte 0 picks digests; bytes 1..2 (big-endian) are the length of the admin connection's stream; the
/// rest is the I/O queue connection's stream. Where a controller PDU names a command, the stream holds the command's
/// ordinal among the host's commands on that connection (see <see cref="RewriteCids"/>), and the scripted controller
/// sends that PDU once the host has sent the command, as a real controller would. Invariants: the host ends every
/// session with success or a typed NvmeException, never waits past its deadlines, and never throws anything else.</summary>
public sealed class HostStreamTarget : FuzzTarget
{
    public const string TargetName = "host-stream";

    private readonly Socket _listener;
    private readonly IPEndPoint _endpoint;
    // One accept is always outstanding, kept across inputs, so a connection never reaches an earlier input's loop.
    private Task<Socket>? _accept;

    public HostStreamTarget()
    {
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(16);
        _endpoint = (IPEndPoint)_listener.LocalEndPoint!;
    }

    public const string Summary = "the host's state machine, fed whole controller byte streams over loopback TCP";

    public const int MaxInputLength = 65536;

    internal static NvmeHostAssociationParameters Parameters(byte config) => new()
    {
        HostNqn = ControllerStreamTarget.HostNqn,
        HostId = new Guid("6e766d65-7073-4000-8000-00000000f022"),
        HeaderDigest = (config & 1) != 0,
        DataDigest = (config & 2) != 0,
        SendKeepAlive = false,
        ConnectTimeout = TimeSpan.FromSeconds(2),
        PduTimeout = TimeSpan.FromSeconds(2),
        ShutdownTimeout = TimeSpan.FromSeconds(1),
    };

    /// <summary>What the host does in every input: the commands a session of the cmdlets sends.</summary>
    internal static async Task SessionAsync(EndPoint endpoint, byte config, CancellationToken cancellationToken)
    {
        await using var association = await NvmeHostAssociation.ConnectAsync(endpoint, ControllerStreamTarget.SubsystemNqn, Parameters(config), cancellationToken).ConfigureAwait(false);
        await association.Admin.IdentifyControllerAsync(cancellationToken).ConfigureAwait(false);
        await association.Admin.GetSmartLogAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        await association.CreateIoQueuesAsync(1, cancellationToken).ConfigureAwait(false);
        var data = new byte[4096];
        data.AsSpan().Fill(0x5A);
        await association.WriteAsync(1, 0, 8, data, fua: false, cancellationToken).ConfigureAwait(false);
        await association.ReadAsync(1, 0, 8, data, cancellationToken).ConfigureAwait(false);
        await association.DisconnectAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The longest the scripted controller holds a PDU for a command the host has not sent while the host
    /// waits for nothing (it may be sleeping between CSTS polls).</summary>
    private static readonly TimeSpan HoldLimit = TimeSpan.FromSeconds(1);

    /// <summary>Ordinals at or above this are not waited for: they name commands the host will never send.</summary>
    private const int MaxWaitedOrdinal = 64;

    /// <summary>An input for <paramref name="config"/> from the two streams of a controller (CIDs as ordinals).</summary>
    public static byte[] Compose(byte config, ReadOnlySpan<byte> admin, ReadOnlySpan<byte> io)
    {
        int adminLength = Math.Min(admin.Length, ushort.MaxValue);
        var input = new byte[3 + adminLength + io.Length];
        input[0] = config;
        BinaryPrimitives.WriteUInt16BigEndian(input.AsSpan(1), (ushort)adminLength);
        admin[..adminLength].CopyTo(input.AsSpan(3));
        io.CopyTo(input.AsSpan(3 + adminLength));
        return input;
    }

    public override void Run(ReadOnlySpan<byte> input)
    {
        if (input.Length < 3)
        {
            return;
        }

        byte config = input[0];
        int adminLength = Math.Min(BinaryPrimitives.ReadUInt16BigEndian(input[1..]), input.Length - 3);
        var admin = input.Slice(3, adminLength).ToArray();
        var io = input[(3 + adminLength)..].ToArray();
        using var cts = new CancellationTokenSource();
        var session = Task.Run(() => SessionAsync(_endpoint, config, cts.Token));
        var controller = Task.Run(() => PlayControllerAsync(session, admin, io));
        try
        {
            Within(session.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default), "the host session");
        }
        finally
        {
            cts.Cancel();
        }

        Within(controller, "the scripted controller");
        try
        {
            session.GetAwaiter().GetResult();
        }
        catch (NvmeException e)
        {
            // A typed refusal: the host did its job.
            Refused(e);
        }
    }

    /// <summary>Answers each connection the host opens with its stream (admin first, then the I/O queue), until the
    /// session ends; later connections get nothing.</summary>
    private async Task PlayControllerAsync(Task session, byte[] admin, byte[] io)
    {
        var streams = new[] { admin, io };
        var served = new List<Task>();
        for (int i = 0; ; i++)
        {
            _accept ??= _listener.AcceptAsync();
            var done = await Task.WhenAny(_accept, session).ConfigureAwait(false);
            if (done == session)
            {
                // Connections the host opened and closed before the session ended are not the next input's.
                while (_accept.IsCompleted)
                {
                    if (_accept.IsCompletedSuccessfully)
                    {
                        _accept.Result.Dispose();
                    }

                    _accept = _listener.AcceptAsync();
                }

                break;
            }

            var socket = await _accept.ConfigureAwait(false);
            _accept = null;
            served.Add(ServeAsync(socket, i < streams.Length ? streams[i] : []));
        }

        await Task.WhenAll(served).ConfigureAwait(false);
    }

    private static async Task ServeAsync(Socket socket, byte[] stream)
    {
        using (socket)
        {
            // As a real controller does (nvmet, ours): without it, a PDU sent while an earlier one is unacknowledged
            // can wait for a delayed ACK.
            socket.NoDelay = true;
            var host = new HostSide();
            var reader = Task.Run(async () =>
            {
                var buffer = new byte[16 * 1024];
                try
                {
                    int n;
                    while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None).ConfigureAwait(false)) > 0)
                    {
                        host.Add(buffer.AsSpan(0, n));
                    }
                }
                catch (SocketException)
                {
                }

                host.Ended();
            });
            try
            {
                var rest = stream.AsMemory();
                while (!rest.IsEmpty)
                {
                    int plen = rest.Length >= 8 ? (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(rest.Span[4..]), int.MaxValue) : 0;
                    if (plen < 8 || plen > rest.Length)
                    {
                        // Not a whole PDU: sent as it is, once the host has said anything.
                        await host.HoldForAsync(1, -1).ConfigureAwait(false);
                        await socket.SendAsync(rest, SocketFlags.None).ConfigureAwait(false);
                        break;
                    }

                    var pdu = rest[..plen].ToArray();
                    rest = rest[plen..];
                    int ordinal = CidOffset(pdu) is int at and > 0 ? BinaryPrimitives.ReadUInt16LittleEndian(pdu.AsSpan(at)) : -1;
                    await host.HoldForAsync(pdu[0] == (byte)NvmeTcpPduType.ICResp ? 1 : 0, ordinal < MaxWaitedOrdinal ? ordinal : -1).ConfigureAwait(false);
                    var commands = host.CommandCids();
                    RewriteCids(pdu, o => o < commands.Length ? commands[o] : o);
                    if (ordinal >= 0 && (pdu[0] == (byte)NvmeTcpPduType.CapsuleResp || (pdu[1] & (byte)NvmeTcpPduFlags.Success) != 0))
                    {
                        host.Answered(ordinal);
                    }

                    await socket.SendAsync(pdu, SocketFlags.None).ConfigureAwait(false);
                }

                socket.Shutdown(SocketShutdown.Send);
            }
            catch (SocketException)
            {
            }

            await reader.ConfigureAwait(false);
        }
    }

    /// <summary>Where a controller PDU names a command: CapsuleResp's CID, C2HData's and R2T's CCCID; null otherwise.</summary>
    private static int? CidOffset(ReadOnlySpan<byte> pdu) =>
        pdu.Length < 24 || pdu[2] != 24 ? null : (NvmeTcpPduType)pdu[0] switch
        {
            NvmeTcpPduType.CapsuleResp => 20,
            NvmeTcpPduType.C2HData or NvmeTcpPduType.R2T => 8,
            _ => null,
        };

    /// <summary>Rewrites the command a controller PDU names through <paramref name="map"/>; the header digest, when
    /// it was right, is made right again. The host picks its CIDs (another run may pick others), so a stream names
    /// commands by ordinal; an ordinal the host has not reached goes out as it is, a CID the host never used.</summary>
    internal static void RewriteCids(Span<byte> pdu, Func<ushort, ushort> map)
    {
        if (CidOffset(pdu) is not int offset)
        {
            return;
        }

        bool digest = (pdu[1] & (byte)NvmeTcpPduFlags.HeaderDigest) != 0 && pdu.Length >= 28
            && BinaryPrimitives.ReadUInt32LittleEndian(pdu[24..]) == Crc32C.Compute(pdu[..24]);
        BinaryPrimitives.WriteUInt16LittleEndian(pdu[offset..], map(BinaryPrimitives.ReadUInt16LittleEndian(pdu[offset..])));
        if (digest)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(pdu[24..], Crc32C.Compute(pdu[..24]));
        }
    }

    /// <summary>What the host has sent on one connection: whole PDUs (framed by PLEN; a PLEN below 12 stops the
    /// framing, as a receiver would stop reading) and its commands' CIDs and opcodes, in order.</summary>
    private sealed class HostSide
    {
        private const byte AsyncEventRequest = 0x0C;
        private readonly byte[] _header = new byte[12];
        private readonly List<(ushort Cid, byte Opcode)> _commands = [];
        private readonly HashSet<int> _answered = [];
        private readonly object _gate = new();
        private int _headerBytes;
        private long _remaining;
        private bool _broken;
        private int _pdus;
        private bool _ended;
        private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Add(ReadOnlySpan<byte> data)
        {
            bool more = false;
            while (!data.IsEmpty && !_broken)
            {
                if (_remaining > 0)
                {
                    int skip = (int)Math.Min(_remaining, data.Length);
                    data = data[skip..];
                    _remaining -= skip;
                    if (_remaining == 0)
                    {
                        lock (_gate)
                        {
                            _pdus++;
                        }

                        more = true;
                    }

                    continue;
                }

                // The common header and, for a CapsuleCmd, the SQE's first dword (opcode, CID).
                int take = Math.Min(12 - _headerBytes, data.Length);
                data[..take].CopyTo(_header.AsSpan(_headerBytes));
                _headerBytes += take;
                data = data[take..];
                if (_headerBytes < 12)
                {
                    continue;
                }

                _headerBytes = 0;
                uint plen = BinaryPrimitives.ReadUInt32LittleEndian(_header.AsSpan(4));
                _broken = plen < 12;
                _remaining = _broken ? 0 : plen - 12;
                lock (_gate)
                {
                    if (!_broken && _header[0] == (byte)NvmeTcpPduType.CapsuleCmd)
                    {
                        _commands.Add((BinaryPrimitives.ReadUInt16LittleEndian(_header.AsSpan(10)), _header[8]));
                        more = true;
                    }

                    if (_remaining == 0 && !_broken)
                    {
                        _pdus++;
                        more = true;
                    }
                }
            }

            if (more)
            {
                Signal();
            }
        }

        public void Ended()
        {
            lock (_gate)
            {
                _ended = true;
            }

            Signal();
        }

        public void Answered(int ordinal)
        {
            lock (_gate)
            {
                _answered.Add(ordinal);
            }
        }

        public ushort[] CommandCids()
        {
            lock (_gate)
            {
                return [.. _commands.Select(c => c.Cid)];
            }
        }

        private void Signal() => Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

        /// <summary>Holds a PDU until the host has sent <paramref name="pdus"/> PDUs and command number
        /// <paramref name="ordinal"/> (-1: none), unless the host left, waits for an answer to a command of its own
        /// (then it will send nothing more first), or <see cref="HoldLimit"/> passed.</summary>
        public async Task HoldForAsync(int pdus, int ordinal)
        {
            var until = DateTime.UtcNow + HoldLimit;
            while (true)
            {
                var changed = Volatile.Read(ref _changed).Task;
                lock (_gate)
                {
                    bool have = _pdus >= pdus && _commands.Count > ordinal;
                    bool hostWaits = _commands.Where((c, i) => c.Opcode != AsyncEventRequest && !_answered.Contains(i)).Any();
                    if (have || _ended || (hostWaits && _pdus >= pdus))
                    {
                        return;
                    }
                }

                var left = until - DateTime.UtcNow;
                if (left <= TimeSpan.Zero || await Task.WhenAny(changed, Task.Delay(left)).ConfigureAwait(false) != changed)
                {
                    return;
                }
            }
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _listener.Dispose();
        }
    }
}
