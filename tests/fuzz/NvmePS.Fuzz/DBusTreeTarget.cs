using System.Text;
using NvmePS.Engine.DBus;
using Tmds.DBus.Protocol;

namespace NvmePS.Fuzz;

/// <summary>The mctpd object-tree parser, structure-aware: the input is decoded into a GetManagedObjects reply
/// (a{oa{sa{sv}}}), objects at the daemon's paths or any path, the endpoint, UUID and network interfaces or others,
/// and properties of every D-Bus type, then parsed for both daemon layouts. The D-Bus wire format itself is read by
/// Tmds.DBus.Protocol before this parser sees it. Invariant: every endpoint is either read or named as skipped;
/// nothing throws.</summary>
public sealed class DBusTreeTarget : FuzzTarget
{
    public const string TargetName = "dbus-tree";

    private static readonly string[] Interfaces =
    [
        MctpdObjectTree.EndpointInterface, MctpdObjectTree.Endpoint1Interface, MctpdObjectTree.UuidInterface,
        MctpdObjectTree.NetworkInterface, "org.freedesktop.DBus.Properties",
    ];

    private static readonly string[] Properties =
    [
        "EID", "NetworkId", "SupportedMessageTypes", "UUID", "LocalEIDs", "Connectivity", "VendorDefinedMessageTypes", "Other",
    ];

    public const string Summary = "the mctpd GetManagedObjects object-tree parser (structure-aware)";

    public override void Run(ReadOnlySpan<byte> input)
    {
        var reader = new InputReader(input);
        var objects = new Dictionary<string, Dictionary<string, Dictionary<string, VariantValue>>>(StringComparer.Ordinal);
        int objectCount = reader.Next() % 9;
        for (int o = 0; o < objectCount && !reader.Done; o++)
        {
            string path = Path(ref reader);
            var interfaces = new Dictionary<string, Dictionary<string, VariantValue>>(StringComparer.Ordinal);
            int interfaceCount = reader.Next() % 4;
            for (int i = 0; i < interfaceCount; i++)
            {
                var properties = new Dictionary<string, VariantValue>(StringComparer.Ordinal);
                int propertyCount = reader.Next() % 6;
                for (int p = 0; p < propertyCount; p++)
                {
                    properties[Properties[reader.Next() % Properties.Length]] = Value(ref reader);
                }

                interfaces[Interfaces[reader.Next() % Interfaces.Length]] = properties;
            }

            objects[path] = interfaces;
        }

        foreach (var layout in new[] { MctpdLayout.V2, MctpdLayout.V1 })
        {
            var tree = MctpdObjectTree.Parse(objects, layout);
            int endpointObjects = objects.Values.Count(i => i.ContainsKey(MctpdObjectTree.EndpointInterface));
            Check(tree.Endpoints.Count + tree.Skipped.Count >= endpointObjects, $"{endpointObjects} endpoint objects, {tree.Endpoints.Count} read and {tree.Skipped.Count} skipped");
            foreach (var endpoint in tree.Endpoints)
            {
                _ = endpoint.ToString();
            }
        }
    }

    private static string Path(ref InputReader reader) => (reader.Next() % 4) switch
    {
        0 => $"/au/com/codeconstruct/mctp1/networks/{reader.Next()}/endpoints/{reader.Next()}",
        1 => $"/xyz/openbmc_project/mctp/{reader.Next()}/{reader.Next()}",
        2 => $"/au/com/codeconstruct/mctp1/networks/{reader.Next()}",
        _ => "/" + reader.Text(),
    };

    private static VariantValue Value(ref InputReader reader) => (reader.Next() % 10) switch
    {
        0 => VariantValue.Byte(reader.Next()),
        1 => VariantValue.UInt32(reader.UInt32()),
        2 => VariantValue.Int32((int)reader.UInt32()),
        3 => VariantValue.String(reader.Text()),
        4 => VariantValue.Array(reader.Bytes()),
        5 => VariantValue.Array(reader.Bytes().Select(b => (uint)b).ToArray()),
        6 => VariantValue.Bool((reader.Next() & 1) != 0),
        7 => VariantValue.ObjectPath(new ObjectPath("/" + new string(reader.Text().Where(char.IsAsciiLetterOrDigit).ToArray()))),
        8 => VariantValue.Array(reader.Bytes().Select(b => b.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray()),
        _ => VariantValue.UInt16((ushort)reader.UInt32()),
    };

    /// <summary>Reads the input as a stream of choices; past its end, every choice is 0.</summary>
    private ref struct InputReader(ReadOnlySpan<byte> input)
    {
        private ReadOnlySpan<byte> _rest = input;

        public readonly bool Done => _rest.IsEmpty;

        public byte Next()
        {
            if (_rest.IsEmpty)
            {
                return 0;
            }

            byte b = _rest[0];
            _rest = _rest[1..];
            return b;
        }

        public uint UInt32() => (uint)(Next() | (Next() << 8) | (Next() << 16) | (Next() << 24));

        public byte[] Bytes()
        {
            int n = Math.Min(Next() % 33, _rest.Length);
            var b = _rest[..n].ToArray();
            _rest = _rest[n..];
            return b;
        }

        public string Text() => Encoding.UTF8.GetString(Bytes());
    }
}
