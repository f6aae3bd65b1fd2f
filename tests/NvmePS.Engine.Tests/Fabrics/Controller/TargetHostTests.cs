using System.Net;
using NvmePS.Engine.Fabrics;
using NvmePS.Engine.Fabrics.Controller;
using NvmePS.Engine.Fabrics.Controller.Tcp;
using NvmePS.Engine.Fabrics.Host;

namespace NvmePS.Engine.Tests.Fabrics.Controller;

public class TargetHostTests
{
    private const string Nqn = "nqn.2024-01.io.nvmeps.test:targethost";

    [Fact]
    public async Task Serves_the_subsystem_and_discovery_on_one_loopback_port()
    {
        var specs = new[] { NvmeNamespaceSpec.Parse("memory:1M"), NvmeNamespaceSpec.Parse("memory:64K,bs=4096,nsid=5") };
        await using var host = await NvmeTargetHost.StartAsync(new IPEndPoint(IPAddress.Loopback, 0), Nqn, specs, Array.Empty<string>());
        Assert.True(host.IsRunning);
        Assert.NotEqual(0, host.LocalEndPoint.Port);
        Assert.Equal(Nqn, host.Subsystem.Nqn);
        Assert.True(host.Subsystem.AllowAnyHost);
        Assert.Equal(specs, host.Specs);
        Assert.Same(specs[1], host.SpecOf(5));
        Assert.Null(host.SpecOf(4));

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var parameters = NvmeHostIdentity.Resolve("nqn.2024-01.io.nvmeps.test:h", Guid.NewGuid()).ApplyTo(new NvmeHostAssociationParameters());
        await using (var discovery = await NvmeHostAssociation.ConnectDiscoveryAsync(host.LocalEndPoint, parameters, cts.Token))
        {
            var log = await discovery.GetDiscoveryLogAsync(cts.Token);
            var entry = Assert.Single(log.Entries, e => e.SubNqn == Nqn);
            Assert.Equal(host.LocalEndPoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), entry.Trsvcid.Trim());
        }

        await using var io = await NvmeHostAssociation.ConnectAsync(host.LocalEndPoint, Nqn, parameters, cts.Token);
        Assert.Equal(Nqn, io.SubsystemNqn);
    }

    [Fact]
    public async Task Allowed_hosts_restrict_the_subsystem_and_dispose_stops_it()
    {
        var host = await NvmeTargetHost.StartAsync(new IPEndPoint(IPAddress.Loopback, 0), Nqn, new[] { NvmeNamespaceSpec.Parse("memory:1M") }, new[] { "nqn.2024-01.io.nvmeps.test:ok" });
        Assert.False(host.Subsystem.AllowAnyHost);
        Assert.Equal(new[] { "nqn.2024-01.io.nvmeps.test:ok" }, host.Subsystem.AllowedHosts.ToArray());
        var ep = host.LocalEndPoint;
        await host.DisposeAsync();
        Assert.False(host.IsRunning);
        await host.DisposeAsync(); // idempotent

        using var probe = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        await Assert.ThrowsAsync<System.Net.Sockets.SocketException>(async () => await probe.ConnectAsync(ep));
    }

    [Fact]
    public async Task Refuses_a_non_loopback_listen_address_unless_allowed()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => NvmeTargetHost.StartAsync(new IPEndPoint(IPAddress.Any, 0), Nqn, new[] { NvmeNamespaceSpec.Parse("memory:1M") }, Array.Empty<string>()));
    }

    [Fact]
    public async Task SharesPortWith_matches_same_port_on_same_or_wildcard_address()
    {
        await using var host = await NvmeTargetHost.StartAsync(new IPEndPoint(IPAddress.Loopback, 0), Nqn, new[] { NvmeNamespaceSpec.Parse("memory:1M") }, Array.Empty<string>());
        int port = host.LocalEndPoint.Port;
        Assert.True(host.SharesPortWith(new IPEndPoint(IPAddress.Loopback, port)));
        Assert.True(host.SharesPortWith(new IPEndPoint(IPAddress.Any, port)));
        Assert.True(host.SharesPortWith(new IPEndPoint(IPAddress.IPv6Any, port)));
        Assert.False(host.SharesPortWith(new IPEndPoint(IPAddress.Parse("127.0.0.2"), port)));
        Assert.False(host.SharesPortWith(new IPEndPoint(IPAddress.Loopback, port == 65535 ? 65534 : port + 1)));
        Assert.False(host.SharesPortWith(new IPEndPoint(IPAddress.Loopback, 0)));
    }

    [Fact]
    public void ValidateNamespaces_wants_missing_files_to_have_a_size()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"nvmeps-missing-{Guid.NewGuid():N}.img");
        var e = Assert.Throws<FileNotFoundException>(() => NvmeTargetHost.ValidateNamespaces(new[] { NvmeNamespaceSpec.Parse(missing) }));
        Assert.Equal(missing, e.FileName);
        Assert.Contains(",size=1G", e.Message, StringComparison.Ordinal);
        NvmeTargetHost.ValidateNamespaces(new[] { NvmeNamespaceSpec.Parse(missing + ",size=1M"), NvmeNamespaceSpec.Parse("memory:1M") });
    }

    [Fact]
    public void New_subsystem_nqns_are_unique_uuid_nqns()
    {
        string a = NvmeTargetHost.NewSubsystemNqn(), b = NvmeTargetHost.NewSubsystemNqn();
        Assert.NotEqual(a, b);
        Assert.True(Guid.TryParse(a["nqn.2014-08.org.nvmexpress:uuid:".Length..], out _));
    }
}
