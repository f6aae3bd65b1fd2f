using NvmePS.Engine.Mctp;

namespace NvmePS.Engine.DBus;

/// <summary>Which object tree the MCTP daemon publishes.</summary>
public enum MctpdLayout
{
    /// <summary>mctpd 2.x: bus au.com.codeconstruct.MCTP1, endpoints at /au/com/codeconstruct/mctp1/networks/&lt;net&gt;/endpoints/&lt;eid&gt;.</summary>
    V2,

    /// <summary>mctpd 1.x: bus xyz.openbmc_project.MCTP, endpoints at /xyz/openbmc_project/mctp/&lt;net&gt;/&lt;eid&gt;.</summary>
    V1,
}

/// <summary>A vendor-defined message type an endpoint supports (mctpd 2.6+ VendorDefinedMessageTypes, a(yvq)):
/// the vendor id format (0 PCI vendor id, 1 IANA enterprise number), the vendor id and the command set.</summary>
public readonly record struct MctpVendorMessageType(byte Format, uint VendorId, ushort CommandSet);

/// <summary>One MCTP endpoint as the MCTP daemon publishes it on D-Bus.</summary>
public sealed record MctpdEndpoint
{
    public required uint Network { get; init; }

    public required byte Eid { get; init; }

    /// <summary>SupportedMessageTypes (DSP0239): 0x04 is NVMe-MI.</summary>
    public required IReadOnlyList<byte> MessageTypes { get; init; }

    public IReadOnlyList<MctpVendorMessageType> VendorMessageTypes { get; init; } = Array.Empty<MctpVendorMessageType>();

    /// <summary>The UUID the endpoint reported (Get Endpoint UUID), or null when it reported none.</summary>
    public Guid? Uuid { get; init; }

    /// <summary>"Available" or "Degraded" (mctpd 2.x); empty when the daemon does not publish it.</summary>
    public string Connectivity { get; init; } = string.Empty;

    /// <summary>True for the daemon's own local EIDs, which mctpd publishes as endpoints too.</summary>
    public bool IsLocal { get; init; }

    public required string ObjectPath { get; init; }

    public required MctpdLayout Layout { get; init; }

    public bool SupportsNvmeMi => MessageTypes.Contains(MctpMessageTypes.NvmeManagement);

    public MctpEndpointAddress Address => new(Network, Eid);
}
