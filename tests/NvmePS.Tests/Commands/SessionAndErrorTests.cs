using System.Management.Automation;
using System.Net;
using System.Net.Sockets;
using NvmePS.Engine.Fabrics.Host;
using NvmePS.Tests.Support;
using NvmeEndpoint = NvmePS.Engine.Fabrics.NvmeEndpoint;

namespace NvmePS.Tests.Commands;

/// <summary>Pipelines between cmdlets, timeouts and protocol errors from misbehaving peers, and module removal.</summary>
[Collection(ModuleSessionCollection.Name)]
public sealed class SessionAndErrorTests
{
    private readonly ModuleSession _s;

    public SessionAndErrorTests(ModuleSession session) => _s = session;

    [Fact]
    public void Discovery_entries_pipe_into_Connect_by_property_name()
    {
        NvmfTarget t = _s.StartTarget();
        try
        {
            var entries = _s.Host.Command("Get-NvmfDiscoveryLog").Arg("127.0.0.1").Param("ServiceId", t.Port).Invoke().ThrowIfFailed()
                .Cast<NvmfDiscoveryLogEntry>().Where(e => e.Subtype == "nvme subsystem").ToArray();

            // Traddr, Trsvcid (a string) and SubNqn bind to -TransportAddress, -ServiceId and -SubsystemNqn.
            var r = _s.Host.Command("Connect-NvmfController").InputFrom(entries).Invoke();
            NvmfController c = Assert.IsType<NvmfController>(Assert.Single(r.ThrowIfFailed()));
            Assert.Equal((t.SubsystemNqn, t.Port), (c.SubsystemNqn, c.ServiceId));

            // Controllers pipe into the Admin cmdlets and into Disconnect by NQN (ByPropertyName).
            Assert.IsType<NvmeSmartHealth>(Assert.Single(_s.Host.Command("Get-NvmeLog").Param("LogId", "Smart").Input(c).Invoke().ThrowIfFailed()));
            _s.Host.Command("Disconnect-NvmfController").Input(ModuleSession.Record(("SubsystemNqn", t.SubsystemNqn))).Invoke().ThrowIfFailed();
            Assert.False(c.IsConnected);
        }
        finally
        {
            _s.Stop(t);
        }
    }

    [Fact]
    public void Get_NvmfController_finds_a_lost_controller_by_NQN_and_address()
    {
        // Issue 10 item 8: a lost $c could only be found through Disconnect-NvmfController -SubsystemNqn '*'.
        NvmfTarget t = _s.StartTarget();
        try
        {
            NvmfController c = _s.Connect(t);
            Assert.Same(c, Assert.Single(_s.Host.Command("Get-NvmfController").Arg(t.SubsystemNqn).Invoke().ThrowIfFailed()));
            Assert.Contains(c, _s.Host.Command("Get-NvmfController").Param("SubsystemNqn", "nqn.2024-01.io.nvmeps.test:*").Param("TransportAddress", "127.0.0.*").Invoke().ThrowIfFailed());
            Assert.Contains(c, _s.Host.Command("Get-NvmfController").Param("TransportAddress", c.Address).Invoke().ThrowIfFailed());
            Assert.Empty(_s.Host.Command("Get-NvmfController").Param("TransportAddress", "10.9.9.9").Invoke().Output);
            ErrorAssert.Single(_s.Host.Command("Get-NvmfController").Arg("nqn.2024-01.io.nvmeps.test:none").Invoke(), "NvmfControllerNotFound", ErrorCategory.ObjectNotFound);
            _s.Disconnect(c);
            Assert.DoesNotContain(c, _s.Host.Command("Get-NvmfController").Invoke().ThrowIfFailed());
        }
        finally
        {
            _s.Stop(t);
        }
    }

    [Fact]
    public void Block_ranges_negative_LBAs_and_discovery_controllers_get_clear_errors()
    {
        // Issue 10 item 9: a bare OverflowException, "positional parameter cannot be found" for -1, and "Identify CNS 00h
        // failed: Invalid Field" for a discovery controller.
        NvmfTarget t = _s.StartTarget(namespaces: new[] { "memory:4MB" });
        try
        {
            NvmfController c = _s.Connect(t);
            var huge = _s.Host.Command("Read-NvmeBlock").Arg(c).Arg(0).Arg(long.MaxValue).Invoke();
            ErrorRecord e = ErrorAssert.Single(huge, "NvmeLbaOutOfRange", ErrorCategory.InvalidArgument);
            Assert.Contains("which has 8192 blocks (LBA 0 to 8191)", e.Exception.Message, StringComparison.Ordinal);
            // Past the namespace but addressable: the controller's own LBA Out of Range answers.
            ErrorAssert.Single(_s.Host.Command("Read-NvmeBlock").Arg(c).Arg(8190).Arg(4).Invoke(), "NvmeDeviceStatus", ErrorCategory.DeviceError);
            Assert.Single(_s.Host.Command("Read-NvmeBlock").Arg(c).Arg(8184).Arg(8).Invoke().ThrowIfFailed());

            // Typed as a script user types it, so the -1 is a number token for the positional -StartingLba.
            ErrorRecord negative = Assert.Single(_s.Host.Script("Read-NvmeBlock $args[0] -1 1", c).AllErrors);
            Assert.StartsWith("ParameterArgumentValidationError,", negative.FullyQualifiedErrorId, StringComparison.Ordinal);
            Assert.Contains("StartingLba", negative.Exception.Message + negative, StringComparison.Ordinal);

            var d = Assert.IsType<NvmfController>(Assert.Single(_s.Host.Command("Connect-NvmfController").Arg("127.0.0.1").Arg("nqn.2014-08.org.nvmexpress.discovery")
                .Param("ServiceId", t.Port).Invoke().ThrowIfFailed()));
            ErrorRecord disc = ErrorAssert.Single(_s.Host.Command("Read-NvmeBlock").Arg(d).Arg(0).Arg(1).Invoke(), "NvmeDiscoveryControllerHasNoNamespaces", ErrorCategory.InvalidOperation);
            Assert.Same(d, disc.TargetObject);
            _s.Disconnect(d);
            _s.Disconnect(c);
        }
        finally
        {
            _s.Stop(t);
        }
    }

    [Fact]
    public void Host_names_resolve_and_a_name_that_does_not_is_a_clear_error()
    {
        // Issue 10 item 13: -TransportAddress localhost was rejected. Loopback only.
        NvmfTarget t = _s.StartTarget();
        try
        {
            var c = Assert.IsType<NvmfController>(Assert.Single(_s.Host.Command("Connect-NvmfController").Arg("localhost").Arg(t.SubsystemNqn)
                .Param("ServiceId", t.Port).Invoke().ThrowIfFailed()));
            Assert.Equal("127.0.0.1", c.TransportAddress);
            Assert.NotEmpty(_s.Host.Command("Get-NvmfDiscoveryLog").Arg("localhost").Param("ServiceId", t.Port).Invoke().ThrowIfFailed());
            _s.Disconnect(c);

            // A malformed name is refused before any lookup (an unknown name would ask a DNS server, which tests never do).
            var bad = _s.Host.Command("Connect-NvmfController").Arg("not a host!").Arg(t.SubsystemNqn).Param("ServiceId", t.Port).Invoke();
            ErrorRecord e = ErrorAssert.Single(bad, "InvalidTransportAddress", ErrorCategory.InvalidArgument);
            Assert.Equal("not a host!", e.TargetObject);
            Assert.Contains("is not an IP address, address:port or host name", e.Exception.Message, StringComparison.Ordinal);
        }
        finally
        {
            _s.Stop(t);
        }
    }

    [Fact]
    public void An_engine_argument_error_reads_without_the_engines_argument_name()
    {
        // The engine says "(Parameter 'nqn')" of its own argument; the user typed -SubsystemNqn or -HostNqn.
        var target = _s.Host.Command("Start-NvmfTarget").Param("Listen", "127.0.0.1:0").Param("SubsystemNqn", "bad nqn").Param("Namespace", "memory:1M").Invoke();
        ErrorRecord e = ErrorAssert.Single(target, "NvmeInvalidArgument", ErrorCategory.InvalidArgument);
        Assert.Equal("nqn", Assert.IsAssignableFrom<ArgumentException>(e.Exception).ParamName);
        Assert.Equal("'bad nqn' is not a well-formed NQN.", e.ToString());

        var connect = _s.Host.Command("Connect-NvmfController").Arg("127.0.0.1").Arg("nqn.2014-08.org.nvmexpress:nvmeps-x").Param("ServiceId", 1)
            .Param("HostNqn", "bad host").Invoke();
        Assert.Equal("Host NQN 'bad host' is not a valid NQN.", ErrorAssert.Single(connect, "NvmeInvalidArgument", ErrorCategory.InvalidArgument).ToString());
    }

    [Fact]
    public void An_out_of_range_argument_keeps_its_actual_value_on_one_line()
    {
        var e = new ArgumentOutOfRangeException("length", 5, "Get Log Page moves whole dwords.");
        Assert.Equal("Get Log Page moves whole dwords. Actual value was 5.", NvmePS.Commands.ErrorMapping.ToErrorRecord(e, null).ToString());
        Assert.Equal("No argument name here.", NvmePS.Commands.ErrorMapping.ToErrorRecord(new ArgumentException("No argument name here."), null).ToString());
    }

    [Fact]
    public void A_silent_peer_times_out_and_a_garbage_peer_is_a_protocol_error()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        int port = ((IPEndPoint)silent.LocalEndpoint).Port;
        var accepted = new List<Socket>();
        var acceptLoop = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    accepted.Add(await silent.AcceptSocketAsync());
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Listener stopped.
            }
        });

        var r = _s.Host.Command("Connect-NvmfController").Arg("127.0.0.1").Arg("nqn.2024-01.io.nvmeps.test:silent").Param("ServiceId", port).Param("TimeoutSec", 1).Invoke();
        ErrorAssert.Single(r, "NvmeTimeout", ErrorCategory.OperationTimeout);

        // A peer that answers the ICReq with 128 bytes of 0xFF (an unknown PDU type).
        using var garbage = new TcpListener(IPAddress.Loopback, 0);
        garbage.Start();
        int gport = ((IPEndPoint)garbage.LocalEndpoint).Port;
        var serve = Task.Run(async () =>
        {
            using Socket s = await garbage.AcceptSocketAsync();
            var buf = new byte[128];
            int got = 0;
            while (got < 128)
            {
                int n = await s.ReceiveAsync(buf.AsMemory(got));
                if (n == 0)
                {
                    return;
                }

                got += n;
            }

            await s.SendAsync(Enumerable.Repeat((byte)0xFF, 128).ToArray());
            await Task.Delay(2000);
        });
        var g = _s.Host.Command("Connect-NvmfController").Arg("127.0.0.1").Arg("nqn.2024-01.io.nvmeps.test:garbage").Param("ServiceId", gport).Param("TimeoutSec", 5).Invoke();
        ErrorRecord e = ErrorAssert.Single(g, "NvmeProtocolError", ErrorCategory.ProtocolError);
        Assert.IsType<NvmePS.Engine.NvmeProtocolException>(e.Exception);

        silent.Stop();
        acceptLoop.Wait(TimeSpan.FromSeconds(5));
        accepted.ForEach(s => s.Dispose());
    }

    [Fact]
    public void Stopping_a_connect_in_flight_stops_the_pipeline()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        int port = ((IPEndPoint)silent.LocalEndpoint).Port;
        RunningCommand running = _s.Host.Command("Connect-NvmfController").Arg("127.0.0.1").Arg("nqn.2024-01.io.nvmeps.test:silent").Param("ServiceId", port).Param("TimeoutSec", 60).Start();
        using Socket s = silent.AcceptSocket();
        running.Stop();
        CommandResult r = running.Wait(TimeSpan.FromSeconds(20));
        Assert.True(r.Stopped);
        Assert.Empty(r.AllErrors);
    }

}

/// <summary>The endpoint and host identity parsing shared by the cmdlets and nvmeps.</summary>
public sealed class SharedParsingTests
{
    [Theory]
    [InlineData("127.0.0.1:4420", "127.0.0.1", 4420)]
    [InlineData("127.0.0.1", "127.0.0.1", 8009)]
    [InlineData("[::1]:4420", "::1", 4420)]
    [InlineData("::1", "::1", 8009)]
    public void Endpoints_parse_with_a_default_port(string text, string address, int port)
    {
        IPEndPoint ep = NvmeEndpoint.Parse(text, 8009);
        Assert.Equal((IPAddress.Parse(address), port), (ep.Address, ep.Port));
    }

    [Fact]
    public void Host_identity_comes_from_etc_nvme_else_is_generated()
    {
        string dir = Directory.CreateTempSubdirectory().FullName;
        try
        {
            var generated = NvmeHostIdentity.Resolve(null, null, dir);
            Assert.Equal($"nqn.2014-08.org.nvmexpress:uuid:{generated.HostId:D}", generated.HostNqn);
            Assert.Equal(generated, NvmeHostIdentity.Resolve(null, null, dir));

            File.WriteAllText(Path.Combine(dir, "hostnqn"), "nqn.2014-08.org.nvmexpress:uuid:12345678-1234-1234-1234-123456789abc\n");
            File.WriteAllText(Path.Combine(dir, "hostid"), "12345678-1234-1234-1234-123456789abc\n");
            var fromFiles = NvmeHostIdentity.Resolve(null, null, dir);
            Assert.Equal("nqn.2014-08.org.nvmexpress:uuid:12345678-1234-1234-1234-123456789abc", fromFiles.HostNqn);
            Assert.Equal(Guid.Parse("12345678-1234-1234-1234-123456789abc"), fromFiles.HostId);

            // Explicit arguments win.
            Assert.Equal("nqn.x:y", NvmeHostIdentity.Resolve("nqn.x:y", Guid.Empty, dir).HostNqn);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
