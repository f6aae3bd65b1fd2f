using System.Net.Sockets;
using NvmePS.Engine;
using NvmePS.Engine.Admin;
using NvmePS.Engine.Mctp;
using NvmePS.Engine.Mi;
using NvmePS.Engine.Mi.Simulator;

namespace NvmePS.Fuzz;

/// <summary>An MCTP transport whose peer answers every request with one scripted message, then falls silent: what the
/// requester sees from the kernel when an endpoint sends that message. A second receive is the timeout the kernel
/// would report, at once, so one input costs no wall time.</summary>
internal sealed class ScriptedMctpTransport : IMctpTransport
{
    public byte[] Response { get; set; } = [];

    public string Name => "fuzz";

    public ValueTask<IMctpExchange> OpenExchangeAsync(MctpEndpointAddress peer, byte messageType, CancellationToken cancellationToken) =>
        ValueTask.FromResult<IMctpExchange>(new Exchange(Response));

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private sealed class Exchange(byte[] response) : IMctpExchange
    {
        private bool _answered;

        public bool HoldsTag => false;

        public ValueTask SendAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask<int> ReceiveAsync(Memory<byte> buffer, TimeSpan timeout, CancellationToken cancellationToken)
        {
            if (_answered)
            {
                throw new NvmeTimeoutException("fuzz: the endpoint sent nothing more");
            }

            _answered = true;
            int n = Math.Min(response.Length, buffer.Length);
            response.AsSpan(0, n).CopyTo(buffer.Span);
            return ValueTask.FromResult(n);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

/// <summary>The NVMe-MI requester's response parsing, through <see cref="NvmeMiEndpoint"/>: byte 0 picks the request
/// (MI commands, control primitives, Admin over MI), bit 0 of byte 1 asks for the message integrity check to be made
/// right (so the fuzzer reaches past it), and the rest is the endpoint's response. Also the unsolicited AEM decoder.
/// Invariant: a typed result or a typed NvmeException, nothing else.</summary>
public sealed class MiResponseTarget : FuzzTarget
{
    public const string TargetName = "mi-response";
    public const int Operations = RequestOperations + 1;

    private readonly ScriptedMctpTransport _transport = new();
    private readonly NvmeMiEndpoint _endpoint;
    private readonly NvmeAdminClient _admin;

    public MiResponseTarget()
    {
        _endpoint = new NvmeMiEndpoint(_transport, new MctpEndpointAddress(1, 9), new NvmeMiEndpointOptions { Timeout = TimeSpan.FromMilliseconds(10), MaxMprWait = TimeSpan.FromMilliseconds(10) });
        _admin = new NvmeAdminClient(_endpoint.GetAdminTransport(1));
    }

    public const string Summary = "NVMe-MI response parsing of the requester (MI commands, control primitives, Admin over MI, AEMs)";

    /// <summary>An input: operation, MIC fix-up flag, response message.</summary>
    public static byte[] Compose(int operation, bool fixMic, ReadOnlySpan<byte> response)
    {
        var input = new byte[2 + response.Length];
        input[0] = (byte)operation;
        input[1] = (byte)(fixMic ? 1 : 0);
        response.CopyTo(input.AsSpan(2));
        return input;
    }

    public override void Run(ReadOnlySpan<byte> input)
    {
        if (input.Length < 2)
        {
            return;
        }

        var response = input[2..].ToArray();
        if ((input[1] & 1) != 0 && response.Length >= NvmeMiMic.Size)
        {
            NvmeMiMic.Append(response, response.Length - NvmeMiMic.Size);
        }

        _transport.Response = response;
        try
        {
            Within(RunOperationAsync(input[0] % Operations, response), "an MI request");
        }
        catch (NvmeException e)
        {
            Refused(e);
        }
    }

    private async Task RunOperationAsync(int operation, byte[] response)
    {
        if (operation < RequestOperations)
        {
            await RunRequestAsync(_endpoint, _admin, operation).ConfigureAwait(false);
            return;
        }

        // An unsolicited message: the event listener's decoder.
        if (AsyncEventMessageCodec.TryRead(response, out var aem, out string? error))
        {
            Check(aem is not null, "an AEM read as valid without a value");
        }
        else
        {
            Check(error is not null, "an AEM refused without a reason");
        }
    }

    /// <summary>Operations 0..12 send a request; 13 decodes the input as an unsolicited AEM.</summary>
    public const int RequestOperations = 13;

    /// <summary>The request an operation sends (the seed recorder runs the same ones against the simulator).</summary>
    internal static async Task RunRequestAsync(NvmeMiEndpoint endpoint, NvmeAdminClient admin, int operation)
    {
        switch (operation)
        {
            case 0: await endpoint.ReadSubsystemInformationAsync().ConfigureAwait(false); break;
            case 1: await endpoint.ReadPortInformationAsync(0).ConfigureAwait(false); break;
            case 2: await endpoint.ReadControllerListAsync().ConfigureAwait(false); break;
            case 3: await endpoint.ReadControllerInformationAsync(1).ConfigureAwait(false); break;
            case 4: await endpoint.ReadOptionalCommandsAsync().ConfigureAwait(false); break;
            case 5: await endpoint.PollSubsystemHealthAsync().ConfigureAwait(false); break;
            case 6: await endpoint.PollControllerHealthAsync().ConfigureAwait(false); break;
            case 7: await endpoint.GetAsyncEventsAsync().ConfigureAwait(false); break;
            case 8: await endpoint.ReadVpdAsync(0, 64).ConfigureAwait(false); break;
            case 9: await endpoint.GetStateAsync().ConfigureAwait(false); break;
            case 10: await admin.IdentifyControllerAsync().ConfigureAwait(false); break;
            case 11: await admin.GetSmartLogAsync().ConfigureAwait(false); break;
            default: await endpoint.ReadPortConfigurationAsync(0).ConfigureAwait(false); break;
        }
    }
}

/// <summary>The simulator's request parsing: each input is one request message to the MI responder (the endpoint a
/// BMC talks to). Invariants: every response it sends is a well-formed NVMe-MI response with a valid MIC, and nothing
/// but a response or a drop comes out of it.</summary>
public sealed class MiRequestTarget : FuzzTarget
{
    public const string TargetName = "mi-request";

    private readonly NvmeMiResponder _responder = new(new SimulatedSubsystem());
    private readonly List<byte[]> _responses = [];

    public const string Summary = "the NVMe-MI simulator's request parsing and dispatch (MI commands, Admin over MI, control primitives)";

    public override void Run(ReadOnlySpan<byte> input)
    {
        _responses.Clear();
        var request = input.ToArray();
        Within(_responder.HandleAsync(new MctpEndpointAddress(1, 8), request, (r, _) =>
        {
            _responses.Add(r.ToArray());
            return ValueTask.CompletedTask;
        }, CancellationToken.None).AsTask(), "the MI responder");
        foreach (var response in _responses)
        {
            Check(response.Length >= NvmeMiMessageHeader.Size && NvmeMiMessageHeader.TryRead(response, out var header), "a response without an NVMe-MI message header");
            Check(NvmeMiMic.Verify(response), "a response whose MIC is wrong");
        }
    }
}

/// <summary>The requester's MCTP demux framing (OpenBMC's mctp-demux-daemon protocol over a SOCK_SEQPACKET socket): a
/// scripted daemon registers the client, then sends the input's packets (each prefixed here by a length byte, 0 for
/// 256) while the client waits for a health poll's response. Invariant: success or a typed NvmeException.</summary>
public sealed class MctpDemuxTarget : FuzzTarget
{
    public const string TargetName = "mctp-demux";

    private readonly string _socketName = $"nvmeps-fuzz-demux-{Environment.ProcessId}";
    private readonly Socket _listener;

    public MctpDemuxTarget()
    {
        _listener = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        _listener.Bind(MctpDemuxProtocol.EndPoint(_socketName));
        _listener.Listen(4);
    }

    public const string Summary = "the MCTP demux daemon client's packet framing and message filtering";

    /// <summary>An input from whole packets ([EID][message] as the daemon sends them).</summary>
    public static byte[] Compose(IEnumerable<byte[]> packets)
    {
        var input = new List<byte>();
        foreach (var p in packets)
        {
            input.Add((byte)p.Length);
            input.AddRange(p);
        }

        return [.. input];
    }

    public override void Run(ReadOnlySpan<byte> input)
    {
        var packets = new List<byte[]>();
        var rest = input;
        while (rest.Length > 0)
        {
            int length = rest[0] == 0 ? 256 : rest[0];
            rest = rest[1..];
            length = Math.Min(length, rest.Length);
            packets.Add(rest[..length].ToArray());
            rest = rest[length..];
        }

        Within(RunAsync(packets), "a demux exchange");
    }

    private async Task RunAsync(List<byte[]> packets)
    {
        var accept = _listener.AcceptAsync();
        Trace("connect");
        await using var transport = await MctpDemuxTransport.ConnectAsync(_socketName).ConfigureAwait(false);
        Trace("connected");
        using var daemon = await accept.ConfigureAwait(false);
        var registration = new byte[16];
        await daemon.ReceiveAsync(registration, SocketFlags.None).ConfigureAwait(false);
        await using var endpoint = new NvmeMiEndpoint(transport, new MctpEndpointAddress(0, 9), new NvmeMiEndpointOptions { Timeout = TimeSpan.FromMilliseconds(200), MaxMprWait = TimeSpan.FromMilliseconds(50) });
        var poll = endpoint.PollSubsystemHealthAsync();
        var request = daemon.ReceiveAsync(new byte[MctpDemuxProtocol.MaxPacket], SocketFlags.None);

        // The daemon answers once the request is out; a poll that ended before sending one is not waited for.
        if (await Task.WhenAny(request, poll).ConfigureAwait(false) == request)
        {
            // Once the requester is done it reads no more, and a full socket would block the rest of the packets.
            using var done = new CancellationTokenSource();
            _ = poll.ContinueWith(
                static (_, state) =>
                {
                    try
                    {
                        ((CancellationTokenSource)state!).Cancel();
                    }
                    catch (ObjectDisposedException)
                    {
                        // The packets were all sent first.
                    }
                },
                done, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            try
            {
                foreach (var packet in packets)
                {
                    if (packet.Length > 0)
                    {
                        await daemon.SendAsync(packet, SocketFlags.None, done.Token).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        Trace("packets sent");
        daemon.Shutdown(SocketShutdown.Both);
        try
        {
            await poll.ConfigureAwait(false);
            Trace("poll done");
        }
        catch (NvmeException e)
        {
            Refused(e);
        }
    }

    private static void Trace(string what)
    {
        if (Verbose)
        {
            Console.Error.WriteLine($"  demux: {what}");
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
