using System.Globalization;
using Tmds.DBus.Protocol;

namespace NvmePS.Engine.DBus;

/// <summary>
/// Reads MCTP endpoints out of the MCTP daemon's object tree, as org.freedesktop.DBus.ObjectManager.GetManagedObjects
/// returns it (a{oa{sa{sv}}}). Both daemon layouts, and NetworkId published as u (mctpd 2.x, late 1.x builds) or i
/// (mctpd 1.x), are accepted: libnvme reads i only and so misreads 2.x daemons. Objects without the endpoint interface
/// (networks, links, the root) and interfaces it does not know are passed over; an endpoint whose fields have the
/// wrong D-Bus types is left out and named in <see cref="MctpdTree.Skipped"/>, never guessed at.
/// </summary>
public static class MctpdObjectTree
{
    public const string EndpointInterface = "xyz.openbmc_project.MCTP.Endpoint";
    public const string Endpoint1Interface = "au.com.codeconstruct.MCTP.Endpoint1";
    public const string UuidInterface = "xyz.openbmc_project.Common.UUID";
    public const string NetworkInterface = "au.com.codeconstruct.MCTP.Network1";

    /// <summary>Objects read at most from one reply; a daemon with more is cut off there (and says so).</summary>
    public const int MaxObjects = 16384;

    public static MctpdTree Parse(IReadOnlyDictionary<string, Dictionary<string, Dictionary<string, VariantValue>>> objects, MctpdLayout layout)
    {
        ArgumentNullException.ThrowIfNull(objects);
        var skipped = new List<string>();
        var localEids = new Dictionary<uint, HashSet<byte>>();
        foreach (var (path, interfaces) in objects.Take(MaxObjects))
        {
            if (interfaces.TryGetValue(NetworkInterface, out var net) && net.TryGetValue("LocalEIDs", out var local) && IsByteArray(local)
                && TryNetworkFromPath(path, out uint n))
            {
                localEids[n] = local.GetArray<byte>().ToHashSet();
            }
        }

        var endpoints = new List<MctpdEndpoint>();
        foreach (var (path, interfaces) in objects.Take(MaxObjects))
        {
            if (!interfaces.TryGetValue(EndpointInterface, out var props))
            {
                continue;
            }

            if (!TryReadEndpoint(path, interfaces, props, layout, localEids, out var ep, out string? why))
            {
                skipped.Add($"{path}: {why}");
                continue;
            }

            endpoints.Add(ep!);
        }

        if (objects.Count > MaxObjects)
        {
            // The client stops storing objects one past the bound, so how many more there were is not known here.
            skipped.Add($"objects beyond the first {MaxObjects} were not read");
        }

        endpoints.Sort((a, b) => a.Network != b.Network ? a.Network.CompareTo(b.Network) : a.Eid.CompareTo(b.Eid));
        return new MctpdTree(endpoints, skipped);
    }

    private static bool TryReadEndpoint(string path, Dictionary<string, Dictionary<string, VariantValue>> interfaces, Dictionary<string, VariantValue> props,
        MctpdLayout layout, Dictionary<uint, HashSet<byte>> localEids, out MctpdEndpoint? endpoint, out string? why)
    {
        endpoint = null;
        if (!props.TryGetValue("NetworkId", out var netValue) || !TryNetworkId(netValue, out uint network))
        {
            why = props.ContainsKey("NetworkId") ? $"NetworkId is {Describe(props["NetworkId"])}, not u or a non-negative i" : "no NetworkId";
            return false;
        }

        if (!props.TryGetValue("EID", out var eidValue) || eidValue.Type != VariantValueType.Byte)
        {
            why = props.ContainsKey("EID") ? $"EID is {Describe(props["EID"])}, not y" : "no EID";
            return false;
        }

        byte[] types = Array.Empty<byte>();
        if (props.TryGetValue("SupportedMessageTypes", out var typesValue))
        {
            if (!IsByteArray(typesValue))
            {
                why = $"SupportedMessageTypes is {Describe(typesValue)}, not ay";
                return false;
            }

            types = typesValue.GetArray<byte>();
        }

        var vendor = new List<MctpVendorMessageType>();
        if (props.TryGetValue("VendorDefinedMessageTypes", out var vdm) && !TryVendorTypes(vdm, vendor))
        {
            why = $"VendorDefinedMessageTypes is {Describe(vdm)}, not a(yvq)";
            return false;
        }

        Guid? uuid = null;
        if (interfaces.TryGetValue(UuidInterface, out var uuidProps) && uuidProps.TryGetValue("UUID", out var u) && u.Type == VariantValueType.String)
        {
            uuid = Guid.TryParse(u.GetString(), out Guid g) ? g : null;
        }

        string connectivity = interfaces.TryGetValue(Endpoint1Interface, out var e1) && e1.TryGetValue("Connectivity", out var c) && c.Type == VariantValueType.String
            ? c.GetString()
            : string.Empty;
        byte eid = eidValue.GetByte();
        endpoint = new MctpdEndpoint
        {
            Network = network,
            Eid = eid,
            MessageTypes = types,
            VendorMessageTypes = vendor,
            Uuid = uuid,
            Connectivity = connectivity,
            IsLocal = localEids.TryGetValue(network, out var locals) && locals.Contains(eid),
            ObjectPath = path,
            Layout = layout,
        };
        why = null;
        return true;
    }

    private static bool TryNetworkId(VariantValue v, out uint network)
    {
        switch (v.Type)
        {
            case VariantValueType.UInt32:
                network = v.GetUInt32();
                return true;
            case VariantValueType.Int32 when v.GetInt32() >= 0:
                network = (uint)v.GetInt32();
                return true;
            default:
                network = 0;
                return false;
        }
    }

    private static bool TryVendorTypes(VariantValue v, List<MctpVendorMessageType> into)
    {
        if (v.Type != VariantValueType.Array || (v.Count > 0 && v.ItemType != VariantValueType.Struct))
        {
            return false;
        }

        for (int i = 0; i < v.Count; i++)
        {
            VariantValue s = v.GetItem(i);
            if (s.Count != 3 || s.GetItem(0).Type != VariantValueType.Byte || s.GetItem(2).Type != VariantValueType.UInt16)
            {
                return false;
            }

            VariantValue id = s.GetItem(1);
            uint vendorId = id.Type switch
            {
                VariantValueType.UInt16 => id.GetUInt16(),
                VariantValueType.UInt32 => id.GetUInt32(),
                _ => uint.MaxValue,
            };
            if (vendorId == uint.MaxValue && id.Type is not VariantValueType.UInt32)
            {
                return false;
            }

            into.Add(new MctpVendorMessageType(s.GetItem(0).GetByte(), vendorId, s.GetItem(2).GetUInt16()));
        }

        return true;
    }

    // The item type, even of an empty array: an empty au is not an ay, and reading it as one throws (found by the
    // dbus-tree fuzz target).
    private static bool IsByteArray(VariantValue v) => v.Type == VariantValueType.Array && v.ItemType == VariantValueType.Byte;

    private static string Describe(VariantValue v) => v.Type == VariantValueType.Array ? $"an array of {v.ItemType}" : v.Type.ToString();

    /// <summary>The network id in ".../networks/&lt;net&gt;" (mctpd 2.x network objects).</summary>
    private static bool TryNetworkFromPath(string path, out uint network)
    {
        int i = path.LastIndexOf("/networks/", StringComparison.Ordinal);
        network = 0;
        return i >= 0 && uint.TryParse(path.AsSpan(i + "/networks/".Length), NumberStyles.None, CultureInfo.InvariantCulture, out network);
    }
}

/// <summary>The endpoints read from one object tree, and what was left out and why.</summary>
public sealed record MctpdTree(IReadOnlyList<MctpdEndpoint> Endpoints, IReadOnlyList<string> Skipped);
