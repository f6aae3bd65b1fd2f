using Tmds.DBus.Protocol;

namespace NvmePS.Engine.DBus;

/// <summary>
/// Asks the MCTP daemon (CodeConstruct's mctpd) which MCTP endpoints exist, over D-Bus. The whole tree is read with one
/// ObjectManager.GetManagedObjects call on the manager path, not with per-property reads: mctpd's shipped bus policy
/// misspells the Properties interface, so Properties.Get is denied to users other than root and mctp-admin, while
/// GetManagedObjects is allowed. mctpd 2.x is asked first, then the 1.x layout.
/// </summary>
public sealed class MctpdClient : IDisposable
{
    public const string BusName = "au.com.codeconstruct.MCTP1";
    public const string ManagerPath = "/au/com/codeconstruct/mctp1";
    public const string LegacyBusName = "xyz.openbmc_project.MCTP";
    public const string LegacyManagerPath = "/xyz/openbmc_project/mctp";
    private const string ObjectManager = "org.freedesktop.DBus.ObjectManager";

    private readonly DBusConnection _connection;
    private readonly SemaphoreSlim _changed = new(0, int.MaxValue);
    private readonly List<IDisposable> _watches = new();

    private MctpdClient(DBusConnection connection, string address)
    {
        _connection = connection;
        Address = address;
    }

    /// <summary>The bus address in use.</summary>
    public string Address { get; }

    /// <summary>How long one call may take before it fails with <see cref="NvmeTimeoutException"/>.</summary>
    public TimeSpan CallTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The system bus address: DBUS_SYSTEM_BUS_ADDRESS, else /run/dbus/system_bus_socket (read each time,
    /// unlike the library's cached one, so a session that sets the variable is honoured).</summary>
    public static string SystemBusAddress =>
        Environment.GetEnvironmentVariable("DBUS_SYSTEM_BUS_ADDRESS") is { Length: > 0 } a ? a : "unix:path=/var/run/dbus/system_bus_socket";

    /// <summary>The socket file of a single unix:path= address (D-Bus specification, "Server Addresses"), else null.</summary>
    internal static string? UnixSocketPath(string address)
    {
        if (!address.StartsWith("unix:", StringComparison.Ordinal) || address.Contains(';', StringComparison.Ordinal))
        {
            return null;
        }

        foreach (string pair in address["unix:".Length..].Split(','))
        {
            if (pair.StartsWith("path=", StringComparison.Ordinal))
            {
                return Uri.UnescapeDataString(pair["path=".Length..]);
            }
        }

        return null;
    }

    /// <summary>Connects to the bus at <paramref name="address"/> (null: the system bus).</summary>
    public static async Task<MctpdClient> ConnectAsync(string? address, CancellationToken cancellationToken)
    {
        address ??= SystemBusAddress;
        var connection = new DBusConnection(address);
        try
        {
            await connection.ConnectAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when ((e as ArgumentException ?? e.InnerException as ArgumentException) is { } a)
        {
            // The library reports an address it cannot parse as a connect failure around an ArgumentException.
            connection.Dispose();
            throw new MctpdException(MctpdFailure.NoBus, $"'{address}' is not a D-Bus address ({ArgumentMessages.WithoutArgumentName(a).TrimEnd('.')}); the system bus is usually unix:path=/run/dbus/system_bus_socket.", inner: e);
        }
        catch (Exception e) when (e is DBusConnectionException or IOException or System.Net.Sockets.SocketException or TimeoutException)
        {
            connection.Dispose();
            // A missing socket file reaches .NET as "Cannot assign requested address": say what is missing instead.
            string why = UnixSocketPath(address) is { } path && !File.Exists(path) ? $"there is no socket at {path}" : e.Message.TrimEnd('.');
            throw new MctpdException(MctpdFailure.NoBus, $"No D-Bus at {address}: {why}. Is dbus-daemon running (or -BusAddress right)?", inner: e);
        }
        catch
        {
            connection.Dispose();
            throw;
        }

        return new MctpdClient(connection, address);
    }

    /// <summary>Reads the daemon's endpoints: mctpd 2.x's tree, or the 1.x tree when no 2.x daemon owns its name.</summary>
    public async Task<MctpdTree> GetEndpointsAsync(CancellationToken cancellationToken)
    {
        try
        {
            return MctpdObjectTree.Parse(await GetManagedObjectsAsync(BusName, ManagerPath, cancellationToken).ConfigureAwait(false), MctpdLayout.V2);
        }
        catch (DBusErrorReplyException e) when (IsNoOwner(e))
        {
            // Not a 2.x daemon: try the 1.x name.
        }
        catch (DBusErrorReplyException e)
        {
            throw Map(e, BusName);
        }

        try
        {
            return MctpdObjectTree.Parse(await GetManagedObjectsAsync(LegacyBusName, LegacyManagerPath, cancellationToken).ConfigureAwait(false), MctpdLayout.V1);
        }
        catch (DBusErrorReplyException e) when (IsNoOwner(e))
        {
            throw new MctpdException(MctpdFailure.NotRunning,
                $"No MCTP daemon on the bus at {Address}: neither {BusName} (mctpd 2.x) nor {LegacyBusName} (mctpd 1.x) is owned. Is mctpd running?", e.ErrorName, e);
        }
        catch (DBusErrorReplyException e)
        {
            throw Map(e, LegacyBusName);
        }
    }

    /// <summary>Subscribes to the daemon's InterfacesAdded/InterfacesRemoved and PropertiesChanged signals (both
    /// layouts). Call before the first <see cref="GetEndpointsAsync"/> so no change between the read and the wait is missed.</summary>
    public async Task WatchAsync(CancellationToken cancellationToken)
    {
        foreach (var (bus, path) in new[] { (BusName, ManagerPath), (LegacyBusName, LegacyManagerPath) })
        {
            foreach (string member in new[] { "InterfacesAdded", "InterfacesRemoved" })
            {
                var rule = new MatchRule { Type = MessageType.Signal, Sender = bus, Path = path, Interface = ObjectManager, Member = member };
                _watches.Add(await AddWatchAsync(rule, cancellationToken).ConfigureAwait(false));
            }

            var props = new MatchRule { Type = MessageType.Signal, Sender = bus, PathNamespace = path, Interface = "org.freedesktop.DBus.Properties", Member = "PropertiesChanged" };
            _watches.Add(await AddWatchAsync(props, cancellationToken).ConfigureAwait(false));
        }
    }

    /// <summary>Waits until the daemon signals a change, or <paramref name="maxWait"/> passes; true when a change came.</summary>
    public Task<bool> WaitForChangeAsync(TimeSpan maxWait, CancellationToken cancellationToken) => _changed.WaitAsync(maxWait, cancellationToken);

    /// <summary>Asks mctpd 2.x to recover an endpoint (au.com.codeconstruct.MCTP.Endpoint1.Recover): it re-queries the
    /// endpoint and marks it Degraded, then removes it if it stays silent.</summary>
    public async Task RecoverAsync(MctpdEndpoint endpoint, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        if (endpoint.Layout != MctpdLayout.V2)
        {
            throw new MctpdException(MctpdFailure.Failed, $"Recover needs mctpd 2.x; {endpoint.ObjectPath} is published by a 1.x daemon.");
        }

        try
        {
            MessageBuffer call;
            using (MessageWriter w = _connection.GetMessageWriter())
            {
                w.WriteMethodCallHeader(destination: BusName, path: endpoint.ObjectPath, @interface: MctpdObjectTree.Endpoint1Interface, member: "Recover");
                call = w.CreateMessage();
            }

            await _connection.CallMethodAsync(call).WaitAsync(CallTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (DBusErrorReplyException e)
        {
            throw Map(e, BusName);
        }
        catch (TimeoutException e)
        {
            throw new NvmeTimeoutException($"mctpd did not answer Recover for {endpoint.ObjectPath} within {CallTimeout.TotalSeconds:0.#} s.", e);
        }
    }

    private async Task<Dictionary<string, Dictionary<string, Dictionary<string, VariantValue>>>> GetManagedObjectsAsync(string bus, string path, CancellationToken cancellationToken)
    {
        MessageBuffer call;
        using (MessageWriter w = _connection.GetMessageWriter())
        {
            w.WriteMethodCallHeader(destination: bus, path: path, @interface: ObjectManager, member: "GetManagedObjects");
            call = w.CreateMessage();
        }

        try
        {
            return await _connection.CallMethodAsync(call, static (m, _) => ReadManagedObjects(m)).WaitAsync(CallTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException e)
        {
            throw new NvmeTimeoutException($"{bus} did not answer GetManagedObjects within {CallTimeout.TotalSeconds:0.#} s.", e);
        }
        catch (DBusConnectionClosedException e)
        {
            throw new MctpdException(MctpdFailure.NoBus, $"The bus at {Address} closed the connection.", inner: e);
        }
    }

    /// <summary>a{oa{sa{sv}}}, bounded by <see cref="MctpdObjectTree.MaxObjects"/> objects.</summary>
    private static Dictionary<string, Dictionary<string, Dictionary<string, VariantValue>>> ReadManagedObjects(Message m)
    {
        if (m.SignatureAsString != "a{oa{sa{sv}}}")
        {
            throw new NvmeProtocolException($"GetManagedObjects answered with signature '{m.SignatureAsString}', not a{{oa{{sa{{sv}}}}}}.");
        }

        var result = new Dictionary<string, Dictionary<string, Dictionary<string, VariantValue>>>(StringComparer.Ordinal);
        Reader r = m.GetBodyReader();
        ArrayEnd objects = r.ReadDictionaryStart();
        while (r.HasNext(objects))
        {
            string path = r.ReadObjectPathAsString();
            var interfaces = new Dictionary<string, Dictionary<string, VariantValue>>(StringComparer.Ordinal);
            ArrayEnd ifs = r.ReadDictionaryStart();
            while (r.HasNext(ifs))
            {
                string name = r.ReadString();
                interfaces[name] = r.ReadDictionaryOfStringToVariantValue();
            }

            if (result.Count <= MctpdObjectTree.MaxObjects)
            {
                result[path] = interfaces;
            }
        }

        return result;
    }

    private async Task<IDisposable> AddWatchAsync(MatchRule rule, CancellationToken cancellationToken)
    {
        try
        {
            SemaphoreSlim changed = _changed;
            // The handler must not throw (a throwing handler disconnects): it only counts the change.
            return await _connection.AddMatchAsync(rule, static (_, _) => true, (Notification<bool> n) =>
            {
                try
                {
                    if (n.HasValue)
                    {
                        changed.Release();
                    }
                }
                catch (ObjectDisposedException)
                {
                    // A signal that raced with Dispose.
                }
            }, emitOnCapturedContext: false).AsTask().WaitAsync(CallTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (DBusErrorReplyException e)
        {
            throw Map(e, rule.Sender ?? BusName);
        }
    }

    private static bool IsNoOwner(DBusErrorReplyException e) =>
        e.ErrorName is "org.freedesktop.DBus.Error.ServiceUnknown" or "org.freedesktop.DBus.Error.NameHasNoOwner";

    private MctpdException Map(DBusErrorReplyException e, string bus) => e.ErrorName switch
    {
        "org.freedesktop.DBus.Error.AccessDenied" => new MctpdException(MctpdFailure.AccessDenied,
            $"The bus at {Address} denied the call to {bus}: {e.ErrorMessage} Listing endpoints is allowed to everyone by mctpd's policy; " +
            "Recover, Remove and SetMTU need root or membership of the mctp-admin group.", e.ErrorName, e),
        _ => new MctpdException(MctpdFailure.Failed, $"{bus} answered {e.ErrorName}: {e.ErrorMessage}", e.ErrorName, e),
    };

    public void Dispose()
    {
        foreach (var w in _watches)
        {
            w.Dispose();
        }

        _connection.Dispose();
        _changed.Dispose();
    }
}
