using NvmePS.Engine.DBus;

namespace NvmePS.Engine.Tests.DBus;

/// <summary>Discovery through a real dbus-daemon (private bus) against a fake mctpd with sd-bus's wire shape.</summary>
public sealed class MctpdDiscoveryTests
{
    private static readonly Guid Uuid12 = Guid.Parse("12345678-9abc-def0-1234-56789abcdef0");

    [Fact]
    public async Task The_2x_tree_is_read_field_by_field_across_networks()
    {
        using var bus = PrivateBus.Start();
        using var mctpd = new FakeMctpd();
        mctpd.AddNetwork(1, 8);
        mctpd.AddNetwork(2, 9);
        mctpd.AddLink("mctpi2c1", 1);
        mctpd.AddEndpoint(1, 8, new byte[] { 0 }, Uuid12);                                   // the local EID
        mctpd.AddEndpoint(1, 12, new byte[] { 0, 4 }, Uuid12, vendorTypes: new[] { ((byte)0, 0x1b96u, (ushort)1), ((byte)1, 0xa015u, (ushort)2) });
        mctpd.AddEndpoint(1, 13, new byte[] { 0, 1 });                                       // PLDM only, no UUID
        mctpd.AddEndpoint(2, 20, new byte[] { 0, 4, 5 }, connectivity: "Degraded");
        await mctpd.StartAsync(bus.Address);

        using var client = await MctpdClient.ConnectAsync(bus.Address, CancellationToken.None);
        MctpdTree tree = await client.GetEndpointsAsync(CancellationToken.None);
        Assert.Empty(tree.Skipped);
        Assert.Equal(new[] { (1u, (byte)8), (1u, (byte)12), (1u, (byte)13), (2u, (byte)20) }, tree.Endpoints.Select(e => (e.Network, e.Eid)));

        MctpdEndpoint local = tree.Endpoints[0];
        Assert.True(local.IsLocal);
        Assert.Equal(new byte[] { 0 }, local.MessageTypes);
        Assert.False(local.SupportsNvmeMi);

        MctpdEndpoint nvme = tree.Endpoints[1];
        Assert.False(nvme.IsLocal);
        Assert.True(nvme.SupportsNvmeMi);
        Assert.Equal(new byte[] { 0, 4 }, nvme.MessageTypes);
        Assert.Equal(Uuid12, nvme.Uuid);
        Assert.Equal("Available", nvme.Connectivity);
        Assert.Equal(MctpdLayout.V2, nvme.Layout);
        Assert.Equal("/au/com/codeconstruct/mctp1/networks/1/endpoints/12", nvme.ObjectPath);
        Assert.Equal(new[] { new MctpVendorMessageType(0, 0x1b96, 1), new MctpVendorMessageType(1, 0xa015, 2) }, nvme.VendorMessageTypes);

        Assert.Null(tree.Endpoints[2].Uuid);
        Assert.False(tree.Endpoints[2].SupportsNvmeMi);
        Assert.Equal("Degraded", tree.Endpoints[3].Connectivity);
        Assert.Equal(new NvmePS.Engine.Mctp.MctpEndpointAddress(2, 20), tree.Endpoints[3].Address);
    }

    [Fact]
    public async Task The_1x_layout_with_a_signed_NetworkId_is_read_when_no_2x_daemon_runs()
    {
        using var bus = PrivateBus.Start();
        using var mctpd = new FakeMctpd(legacyLayout: true);
        mctpd.AddEndpoint(3, 40, new byte[] { 0, 4 }, Uuid12, networkIdAsInt32: true);
        await mctpd.StartAsync(bus.Address);

        using var client = await MctpdClient.ConnectAsync(bus.Address, CancellationToken.None);
        MctpdEndpoint e = Assert.Single((await client.GetEndpointsAsync(CancellationToken.None)).Endpoints);
        Assert.Equal((3u, (byte)40, MctpdLayout.V1, "/xyz/openbmc_project/mctp/3/40"), (e.Network, e.Eid, e.Layout, e.ObjectPath));
        Assert.True(e.SupportsNvmeMi);
        Assert.Equal(Uuid12, e.Uuid);
        Assert.Equal(string.Empty, e.Connectivity);
    }

    [Fact]
    public async Task A_2x_daemon_publishing_NetworkId_as_i_is_read_too_and_a_malformed_endpoint_is_named_not_guessed()
    {
        using var bus = PrivateBus.Start();
        using var mctpd = new FakeMctpd();
        mctpd.AddEndpoint(1, 12, new byte[] { 4 }, networkIdAsInt32: true);
        mctpd.AddMalformedEndpoint(1, 14);
        await mctpd.StartAsync(bus.Address);

        using var client = await MctpdClient.ConnectAsync(bus.Address, CancellationToken.None);
        MctpdTree tree = await client.GetEndpointsAsync(CancellationToken.None);
        Assert.Equal((1u, (byte)12), (Assert.Single(tree.Endpoints).Network, tree.Endpoints[0].Eid));
        Assert.Equal("/au/com/codeconstruct/mctp1/networks/1/endpoints/14: NetworkId is String, not u or a non-negative i", Assert.Single(tree.Skipped));
    }

    [Fact]
    public async Task Endpoints_that_appear_and_disappear_while_a_discovery_waits_are_signalled()
    {
        using var bus = PrivateBus.Start();
        using var mctpd = new FakeMctpd();
        await mctpd.StartAsync(bus.Address);
        using var client = await MctpdClient.ConnectAsync(bus.Address, CancellationToken.None);
        await client.WatchAsync(CancellationToken.None);
        Assert.Empty((await client.GetEndpointsAsync(CancellationToken.None)).Endpoints);

        var waiting = client.WaitForChangeAsync(TimeSpan.FromSeconds(30), CancellationToken.None);
        mctpd.AddEndpoint(1, 30, new byte[] { 0, 4 });
        Assert.True(await waiting);
        Assert.Equal((byte)30, Assert.Single((await client.GetEndpointsAsync(CancellationToken.None)).Endpoints).Eid);

        waiting = client.WaitForChangeAsync(TimeSpan.FromSeconds(30), CancellationToken.None);
        mctpd.RemoveEndpoint(1, 30);
        Assert.True(await waiting);
        Assert.Empty((await client.GetEndpointsAsync(CancellationToken.None)).Endpoints);

        // No signal: the wait ends at its bound and says so.
        Assert.False(await client.WaitForChangeAsync(TimeSpan.FromMilliseconds(200), CancellationToken.None));
    }

    [Fact]
    public async Task No_bus_no_daemon_and_access_denied_each_have_their_own_error()
    {
        string missing = $"unix:path=/tmp/nvmeps-no-such-bus-{Guid.NewGuid():N}";
        var noBus = await Assert.ThrowsAsync<MctpdException>(() => MctpdClient.ConnectAsync(missing, CancellationToken.None));
        Assert.Equal((MctpdFailure.NoBus, "MctpdNoBus"), (noBus.Failure, noBus.ErrorId));
        Assert.Contains(missing, noBus.Message, StringComparison.Ordinal);
        Assert.Contains($"there is no socket at {missing["unix:path=".Length..]}.", noBus.Message, StringComparison.Ordinal);
        var garbage = await Assert.ThrowsAsync<MctpdException>(() => MctpdClient.ConnectAsync("garbage", CancellationToken.None));
        Assert.Equal(MctpdFailure.NoBus, garbage.Failure);
        Assert.StartsWith("'garbage' is not a D-Bus address (", garbage.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("(Parameter", garbage.Message, StringComparison.Ordinal);

        using (var bus = PrivateBus.Start())
        {
            using var client = await MctpdClient.ConnectAsync(bus.Address, CancellationToken.None);
            var notRunning = await Assert.ThrowsAsync<MctpdException>(() => client.GetEndpointsAsync(CancellationToken.None));
            Assert.Equal((MctpdFailure.NotRunning, "MctpdNotRunning", "org.freedesktop.DBus.Error.ServiceUnknown"), (notRunning.Failure, notRunning.ErrorId, notRunning.DBusErrorName));
            Assert.Contains("Is mctpd running?", notRunning.Message, StringComparison.Ordinal);
        }

        using (var bus = PrivateBus.Start(denyGetManagedObjects: true))
        {
            using var mctpd = new FakeMctpd();
            mctpd.AddEndpoint(1, 12, new byte[] { 4 });
            await mctpd.StartAsync(bus.Address);
            using var client = await MctpdClient.ConnectAsync(bus.Address, CancellationToken.None);
            var denied = await Assert.ThrowsAsync<MctpdException>(() => client.GetEndpointsAsync(CancellationToken.None));
            Assert.Equal((MctpdFailure.AccessDenied, "MctpdAccessDenied", "org.freedesktop.DBus.Error.AccessDenied"), (denied.Failure, denied.ErrorId, denied.DBusErrorName));
        }
    }

    [Fact]
    public async Task Recover_calls_the_endpoint_and_a_refusal_names_who_may()
    {
        using var bus = PrivateBus.Start();
        using var mctpd = new FakeMctpd();
        mctpd.AddEndpoint(1, 12, new byte[] { 0, 4 });
        await mctpd.StartAsync(bus.Address);
        using var client = await MctpdClient.ConnectAsync(bus.Address, CancellationToken.None);
        MctpdEndpoint e = Assert.Single((await client.GetEndpointsAsync(CancellationToken.None)).Endpoints);

        await client.RecoverAsync(e, CancellationToken.None);
        Assert.Equal(new[] { e.ObjectPath }, mctpd.Recovered);

        mctpd.RecoverError = "org.freedesktop.DBus.Error.AccessDenied";
        var denied = await Assert.ThrowsAsync<MctpdException>(() => client.RecoverAsync(e, CancellationToken.None));
        Assert.Equal(MctpdFailure.AccessDenied, denied.Failure);
        Assert.Contains("need root or membership of the mctp-admin group", denied.Message, StringComparison.Ordinal);
    }
}

/// <summary>The object-tree parser on trees built in memory, for what a daemon's wire format can carry but the fake
/// mctpd does not publish.</summary>
public sealed class MctpdObjectTreeTests
{
    /// <summary>Regression for tests/fuzz/corpus/dbus-tree/crash-0e9932d6bcb96e2c88eb13a73cdd5eb6e08dc0c9: an empty au
    /// where ay belongs passed the byte-array check (it looked only at non-empty arrays) and then threw.</summary>
    [Fact]
    public void An_empty_array_of_the_wrong_type_is_named_not_read()
    {
        var objects = new Dictionary<string, Dictionary<string, Dictionary<string, Tmds.DBus.Protocol.VariantValue>>>
        {
            ["/au/com/codeconstruct/mctp1/networks/1"] = new()
            {
                [MctpdObjectTree.NetworkInterface] = new() { ["LocalEIDs"] = Tmds.DBus.Protocol.VariantValue.Array(Array.Empty<uint>()) },
            },
            ["/au/com/codeconstruct/mctp1/networks/1/endpoints/12"] = new()
            {
                [MctpdObjectTree.EndpointInterface] = new()
                {
                    ["EID"] = Tmds.DBus.Protocol.VariantValue.Byte(12),
                    ["NetworkId"] = Tmds.DBus.Protocol.VariantValue.UInt32(1),
                    ["SupportedMessageTypes"] = Tmds.DBus.Protocol.VariantValue.Array(Array.Empty<uint>()),
                },
            },
        };

        var tree = MctpdObjectTree.Parse(objects, MctpdLayout.V2);
        Assert.Empty(tree.Endpoints);
        Assert.Contains("SupportedMessageTypes", Assert.Single(tree.Skipped), StringComparison.Ordinal);
        Assert.Contains("UInt32", tree.Skipped[0], StringComparison.Ordinal);
    }
}
