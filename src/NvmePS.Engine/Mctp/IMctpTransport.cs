namespace NvmePS.Engine.Mctp;

/// <summary>An MCTP endpoint address: network id and EID (DSP0236 §8.2 "Endpoint ID"; Linux <c>struct mctp_fq_addr</c>).</summary>
/// <param name="Network">Local network id (0 = MCTP_NET_ANY, the kernel's default network).</param>
/// <param name="Eid">Endpoint ID, 8..254 for ordinary endpoints.</param>
public readonly record struct MctpEndpointAddress(uint Network, byte Eid)
{
    public override string ToString() => $"net {Network} eid {Eid}";
}

/// <summary>MCTP message type values (DSP0239) and the integrity-check bit (DSP0236 §8.3 "IC").</summary>
public static class MctpMessageTypes
{
    public const byte Control = 0x00;
    public const byte Pldm = 0x01;
    public const byte NvmeManagement = 0x04;
    public const byte Spdm = 0x05;

    /// <summary>IC: bit 7 of the first message byte, set when a message integrity check trails the message.</summary>
    public const byte IntegrityCheck = 0x80;

    /// <summary>The type bits of the first message byte.</summary>
    public const byte TypeMask = 0x7F;

    /// <summary>The DSP0239 name of a message type ("Control", "NVMe-MI", ...), or its number in hex.</summary>
    public static string Name(byte type) => (type & TypeMask) switch
    {
        Control => "Control",
        Pldm => "PLDM",
        0x02 => "NC-SI",
        0x03 => "Ethernet",
        NvmeManagement => "NVMe-MI",
        Spdm => "SPDM",
        0x06 => "Secured",
        0x07 => "CXL FM-API",
        0x08 => "CXL CCI",
        0x7E => "Vendor (PCI)",
        0x7F => "Vendor (IANA)",
        _ => $"{type:X2}h",
    };
}

/// <summary>
/// The MCTP seam: one request/response exchange with a peer. A message here always starts with its MCTP message
/// type byte (IC bit included), exactly as it appears on the wire; transports that carry the type out of band
/// (AF_MCTP's <c>smctp_type</c>) move it in and out of the first byte.
/// </summary>
public interface IMctpTransport : IAsyncDisposable
{
    /// <summary>A short description ("AF_MCTP", "mctp-demux @mctp-mux", "in-process").</summary>
    string Name { get; }

    /// <summary>Opens one exchange with <paramref name="peer"/> for messages of <paramref name="messageType"/>
    /// (type bits only). The exchange owns the MCTP tag until it is disposed.</summary>
    ValueTask<IMctpExchange> OpenExchangeAsync(MctpEndpointAddress peer, byte messageType, CancellationToken cancellationToken);
}

/// <summary>One request and its response(s) under a single tag. More Processing Required keeps the exchange open
/// for the final response.</summary>
public interface IMctpExchange : IAsyncDisposable
{
    /// <summary>True when the transport holds the tag across several receives (preallocated tag, or a transport
    /// without tags). False when the kernel owns the tag: a response after a long MPR wait may then be lost.</summary>
    bool HoldsTag { get; }

    /// <summary>True when the transport has no tags and delivers every message of the type from the peer to every
    /// requester (the mctp-demux-daemon protocol): a received message may answer someone else's request, and the
    /// caller should skip what is recognisably not its own rather than fail.</summary>
    bool IsShared => false;

    /// <summary>Sends one whole message (first byte = MCTP message type with IC bit).</summary>
    ValueTask SendAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken);

    /// <summary>Receives the next message from the peer into <paramref name="buffer"/> and returns its length.
    /// Throws <see cref="NvmeTimeoutException"/> when nothing arrives within <paramref name="timeout"/>, and
    /// <see cref="NvmeProtocolException"/> when the message does not fit the buffer.</summary>
    ValueTask<int> ReceiveAsync(Memory<byte> buffer, TimeSpan timeout, CancellationToken cancellationToken);
}

/// <summary>The responder side of the seam: a local endpoint that answers requests (the simulator).
/// A handler may call its <c>respond</c> callback more than once (a More Processing Required response, then the
/// final one).</summary>
public interface IMctpResponder
{
    ValueTask HandleAsync(MctpEndpointAddress source, ReadOnlyMemory<byte> request, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> respond, CancellationToken cancellationToken);
}

/// <summary>
/// A transport that can deliver the messages a peer sends on its own (MCTP requests from the peer, TO set by it: the
/// NVMe-MI Asynchronous Event Message), separately from the responses of the requester's own exchanges.
/// </summary>
public interface IMctpEventSource
{
    /// <summary>Starts receiving messages of <paramref name="messageType"/> that <paramref name="peer"/> sends on its
    /// own. Messages from other peers never reach the listener.</summary>
    ValueTask<IMctpListener> ListenAsync(MctpEndpointAddress peer, byte messageType, CancellationToken cancellationToken);
}

/// <summary>Endpoint-initiated messages from one peer, in arrival order.</summary>
public interface IMctpListener : IAsyncDisposable
{
    /// <summary>Receives the next message (first byte = MCTP message type with IC bit). Throws
    /// <see cref="NvmeTimeoutException"/> when nothing arrives within <paramref name="timeout"/>.</summary>
    ValueTask<int> ReceiveAsync(Memory<byte> buffer, TimeSpan timeout, CancellationToken cancellationToken);
}

/// <summary>The responder side's way to send a message on its own initiative (an AEM) to a requester.</summary>
public delegate ValueTask MctpUnsolicitedSender(MctpEndpointAddress destination, ReadOnlyMemory<byte> message, CancellationToken cancellationToken);
