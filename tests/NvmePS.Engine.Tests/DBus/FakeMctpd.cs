// Explicit usings and #nullable: Pester compiles this file with Add-Type, which has neither by default.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NvmePS.Engine.DBus;
using Tmds.DBus.Protocol;

namespace NvmePS.Engine.Tests.DBus;

/// <summary>
/// A stand-in for CodeConstruct's mctpd on a private bus, with the wire shape its sd-bus produces: the object tree
/// from GetManagedObjects answered only on the manager path, every object also listing sd-bus's standard interfaces
/// (Peer, Introspectable, Properties) with empty property sets, InterfacesAdded/InterfacesRemoved sent from the
/// manager path, and Recover on endpoint objects. Both daemon layouts (2.x and 1.x) can be served.
/// </summary>
public sealed class FakeMctpd : IPathMethodHandler, IDisposable
{
    private static readonly string[] StandardInterfaces = { "org.freedesktop.DBus.Peer", "org.freedesktop.DBus.Introspectable", "org.freedesktop.DBus.Properties" };
    private readonly object _gate = new();
    private readonly SortedDictionary<string, List<FakeInterface>> _objects = new(StringComparer.Ordinal);
    private DBusConnection? _connection;

    // No engine type in the public surface: xunit reflects over public test types before the module under test
    // can be resolved (NvmePS.Tests loads the engine from out/NvmePS).
    public FakeMctpd(bool legacyLayout = false)
    {
        Legacy = legacyLayout;
    }

    /// <summary>True for the mctpd 1.x layout.</summary>
    public bool Legacy { get; }

    public string Path => !Legacy ? MctpdClient.ManagerPath : MctpdClient.LegacyManagerPath;

    public bool HandlesChildPaths => true;

    public string BusName => !Legacy ? MctpdClient.BusName : MctpdClient.LegacyBusName;

    /// <summary>Endpoint object paths Recover was called on.</summary>
    public List<string> Recovered { get; } = new();

    /// <summary>When set, Recover answers with this D-Bus error name.</summary>
    public string? RecoverError { get; set; }

    /// <summary>Connects to the bus, serves the tree and takes the daemon's bus name.</summary>
    public Task StartAsync(string address) =>
        // Off the test framework's synchronization context: the library runs method handlers on the context the
        // connection was made on, and a test that blocks its thread on a cmdlet would starve them.
        Task.Run(async () =>
        {
            _connection = new DBusConnection(address);
            await _connection.ConnectAsync();
            _connection.AddMethodHandler(this);
            await _connection.RequestNameAsync(BusName, RequestNameOptions.None);
        });

    public string EndpointPath(uint net, byte eid) =>
        !Legacy ? $"{MctpdClient.ManagerPath}/networks/{net}/endpoints/{eid}" : $"{MctpdClient.LegacyManagerPath}/{net}/{eid}";

    /// <summary>A network object (2.x) with its local EIDs.</summary>
    public void AddNetwork(uint net, params byte[] localEids) =>
        Add($"{MctpdClient.ManagerPath}/networks/{net}", new FakeInterface(MctpdObjectTree.NetworkInterface, new FakeProperty("LocalEIDs", (ref MessageWriter w) => { w.WriteSignature("ay"); w.WriteArray(localEids); })));

    /// <summary>An interface object (2.x), which discovery must pass over.</summary>
    public void AddLink(string name, uint net) =>
        Add($"{MctpdClient.ManagerPath}/interfaces/{name}", new FakeInterface("au.com.codeconstruct.MCTP.Interface1",
            new FakeProperty("Role", (ref MessageWriter w) => w.WriteVariantString("BusOwner")), new FakeProperty("NetworkId", (ref MessageWriter w) => w.WriteVariantUInt32(net))));

    /// <summary>An endpoint object. <paramref name="networkIdAsInt32"/> publishes NetworkId as i (mctpd 1.x).</summary>
    public void AddEndpoint(uint net, byte eid, byte[] types, Guid? uuid = null, string? connectivity = "Available", bool networkIdAsInt32 = false,
        (byte Format, uint VendorId, ushort CommandSet)[]? vendorTypes = null)
    {
        var props = new List<FakeProperty>
        {
            new("NetworkId", (ref MessageWriter w) =>
            {
                if (networkIdAsInt32)
                {
                    w.WriteVariantInt32((int)net);
                }
                else
                {
                    w.WriteVariantUInt32(net);
                }
            }),
            new("EID", (ref MessageWriter w) => w.WriteVariantByte(eid)),
            new("SupportedMessageTypes", (ref MessageWriter w) => { w.WriteSignature("ay"); w.WriteArray(types); }),
        };
        if (vendorTypes is not null)
        {
            props.Add(new("VendorDefinedMessageTypes", (ref MessageWriter w) =>
            {
                w.WriteSignature("a(yvq)");
                ArrayStart a = w.WriteArrayStart(DBusType.Struct);
                foreach (var (format, id, set) in vendorTypes)
                {
                    w.WriteStructureStart();
                    w.WriteByte(format);
                    if (format == 0)
                    {
                        w.WriteVariantUInt16((ushort)id);
                    }
                    else
                    {
                        w.WriteVariantUInt32(id);
                    }

                    w.WriteUInt16(set);
                }

                w.WriteArrayEnd(a);
            }));
        }

        var interfaces = new List<FakeInterface> { new(MctpdObjectTree.EndpointInterface, props.ToArray()) };
        if (connectivity is not null && !Legacy)
        {
            interfaces.Add(new FakeInterface(MctpdObjectTree.Endpoint1Interface, new FakeProperty("Connectivity", (ref MessageWriter w) => w.WriteVariantString(connectivity))));
        }

        if (uuid is not null)
        {
            interfaces.Add(new FakeInterface(MctpdObjectTree.UuidInterface, new FakeProperty("UUID", (ref MessageWriter w) => w.WriteVariantString(uuid.Value.ToString("D")))));
        }

        Add(EndpointPath(net, eid), interfaces.ToArray());
    }

    /// <summary>An endpoint object whose NetworkId has a type no daemon uses (s), to check it is reported, not guessed.</summary>
    public void AddMalformedEndpoint(uint net, byte eid) =>
        Add(EndpointPath(net, eid), new FakeInterface(MctpdObjectTree.EndpointInterface,
            new FakeProperty("NetworkId", (ref MessageWriter w) => w.WriteVariantString(net.ToString(System.Globalization.CultureInfo.InvariantCulture))),
            new FakeProperty("EID", (ref MessageWriter w) => w.WriteVariantByte(eid))));

    public void RemoveEndpoint(uint net, byte eid)
    {
        string path = EndpointPath(net, eid);
        List<FakeInterface>? removed;
        lock (_gate)
        {
            _objects.Remove(path, out removed);
        }

        if (removed is not null && _connection is not null)
        {
            MessageWriter w = _connection.GetMessageWriter();
            w.WriteSignalHeader(path: Path, @interface: "org.freedesktop.DBus.ObjectManager", member: "InterfacesRemoved", signature: "oas");
            w.WriteObjectPath(path);
            w.WriteArray(removed.Select(i => i.Name).Concat(StandardInterfaces).ToArray());
            _connection.TrySendMessage(w.CreateMessage());
            w.Dispose();
        }
    }

    private void Add(string path, params FakeInterface[] interfaces)
    {
        lock (_gate)
        {
            _objects[path] = interfaces.ToList();
        }

        if (_connection is not null)
        {
            // As sd_bus_emit_object_added: from the manager path, the object's interfaces plus the standard ones.
            MessageWriter w = _connection.GetMessageWriter();
            w.WriteSignalHeader(path: Path, @interface: "org.freedesktop.DBus.ObjectManager", member: "InterfacesAdded", signature: "oa{sa{sv}}");
            w.WriteObjectPath(path);
            WriteInterfaces(ref w, interfaces);
            _connection.TrySendMessage(w.CreateMessage());
            w.Dispose();
        }
    }

    public ValueTask HandleMethodAsync(MethodContext context)
    {
        Message q = context.Request;
        if (q.PathAsString == Path && q.InterfaceAsString == "org.freedesktop.DBus.ObjectManager" && q.MemberAsString == "GetManagedObjects")
        {
            // sd-bus answers GetManagedObjects only on the object manager's own path (elsewhere: UnknownMethod).
            MessageWriter w = context.CreateReplyWriter("a{oa{sa{sv}}}");
            ArrayStart objects = w.WriteDictionaryStart();
            lock (_gate)
            {
                foreach (var (path, interfaces) in _objects)
                {
                    w.WriteDictionaryEntryStart();
                    w.WriteObjectPath(path);
                    WriteInterfaces(ref w, interfaces);
                }
            }

            w.WriteDictionaryEnd(objects);
            context.Reply(w.CreateMessage());
            w.Dispose();
        }
        else if (q.InterfaceAsString == MctpdObjectTree.Endpoint1Interface && q.MemberAsString == "Recover")
        {
            lock (_gate)
            {
                Recovered.Add(q.PathAsString!);
            }

            if (RecoverError is not null)
            {
                context.ReplyError(RecoverError, "Access to au.com.codeconstruct.MCTP.Endpoint1.Recover() not permitted.");
            }
            else
            {
                using MessageWriter w = context.CreateReplyWriter(null);
                context.Reply(w.CreateMessage());
            }
        }

        // Anything else: no reply, and the library answers UnknownMethod.
        return default;
    }

    private static void WriteInterfaces(ref MessageWriter w, IEnumerable<FakeInterface> interfaces)
    {
        ArrayStart ifs = w.WriteDictionaryStart();
        foreach (FakeInterface i in interfaces)
        {
            w.WriteDictionaryEntryStart();
            w.WriteString(i.Name);
            ArrayStart props = w.WriteDictionaryStart();
            foreach (FakeProperty p in i.Properties)
            {
                w.WriteDictionaryEntryStart();
                w.WriteString(p.Name);
                p.WriteVariant(ref w);
            }

            w.WriteDictionaryEnd(props);
        }

        foreach (string standard in StandardInterfaces)
        {
            w.WriteDictionaryEntryStart();
            w.WriteString(standard);
            w.WriteDictionaryEnd(w.WriteDictionaryStart());
        }

        w.WriteDictionaryEnd(ifs);
    }

    public void Dispose() => _connection?.Dispose();

    private sealed record FakeInterface(string Name, params FakeProperty[] Properties);

    private sealed record FakeProperty(string Name, WriteVariantAction WriteVariant);

    public delegate void WriteVariantAction(ref MessageWriter writer);
}
