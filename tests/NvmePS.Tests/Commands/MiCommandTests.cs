using System.Management.Automation;
using NvmePS.Engine.DBus;
using NvmePS.Engine.Tests.DBus;
using NvmePS.Tests.Support;

namespace NvmePS.Tests.Commands;

/// <summary>The MI cmdlets in a real runspace: discovery from a fake mctpd on a real dbus-daemon, and the endpoints
/// themselves served by the session's simulator (the Auto transport picks it for the address mctpd publishes).</summary>
[Collection(ModuleSessionCollection.Name)]
public sealed class MiCommandTests : IDisposable
{
    private static readonly Guid Uuid = Guid.Parse("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
    private readonly ModuleSession _s;
    private readonly PrivateBus _bus;
    private readonly FakeMctpd _mctpd;
    private readonly NvmeMiSimulator _sim;

    // Set up in the constructor, not in IAsyncLifetime.InitializeAsync: a fake service whose connection is made
    // there was not answered while a test body blocked on a cmdlet (seen with xunit 2.9 and Tmds.DBus.Protocol).
    public MiCommandTests(ModuleSession session)
    {
        _s = session;
        _bus = PrivateBus.Start();
        _mctpd = new FakeMctpd();
        _mctpd.AddNetwork(1, 8);
        _mctpd.AddEndpoint(1, 8, new byte[] { 0 }, Guid.NewGuid());          // mctpd's local EID
        _mctpd.AddEndpoint(1, 29, new byte[] { 0, 4 }, Uuid);               // the simulated drive
        _mctpd.AddEndpoint(1, 30, new byte[] { 0, 1 });                     // PLDM only
        _mctpd.StartAsync(_bus.Address).GetAwaiter().GetResult();
        _sim = Assert.IsType<NvmeMiSimulator>(Assert.Single(_s.Host.Command("Start-NvmeMiSimulator").Param("Network", 1u).Param("Eid", (byte)29).Invoke().ThrowIfFailed()));
    }

    public void Dispose()
    {
        _s.Host.Command("Stop-NvmeMiSimulator").Invoke();
        _mctpd.Dispose();
        _bus.Dispose();
    }

    [Fact]
    public void Find_lists_the_NVMe_MI_endpoints_field_by_field()
    {
        var found = _s.Host.Command("Find-NvmeMiEndpoint").Param("BusAddress", _bus.Address).Invoke().ThrowIfFailed();
        MctpEndpointInfo e = Assert.IsType<MctpEndpointInfo>(Assert.Single(found));
        Assert.Equal((1u, (byte)29, Uuid.ToString("D"), "Available", "Control, NVMe-MI", "mctpd 2.x"), (e.Network, e.Eid, e.Uuid, e.Connectivity, e.MessageTypeNames, e.Daemon));
        Assert.Equal(new byte[] { 0, 4 }, e.MessageTypes);
        Assert.Equal(_bus.Address, e.BusAddress);

        var all = _s.Host.Command("Find-NvmeMiEndpoint").Param("BusAddress", _bus.Address).Switch("IncludeAll").Invoke().ThrowIfFailed().Cast<MctpEndpointInfo>().ToList();
        Assert.Equal(new byte[] { 8, 29, 30 }, all.Select(x => x.Eid));
        Assert.True(all[0].IsLocal);
        Assert.Empty(_s.Host.Command("Find-NvmeMiEndpoint").Param("BusAddress", _bus.Address).Param("Network", new uint[] { 2 }).Invoke().ThrowIfFailed());
    }

    [Fact]
    public void Find_pipes_into_health_and_controllers_into_the_Admin_cmdlets()
    {
        // Find-NvmeMiEndpoint | Get-NvmeMiHealth
        var health = Assert.IsType<NvmeMiSubsystemHealth>(Assert.Single(_s.Host.Script("Find-NvmeMiEndpoint -BusAddress $args[0] | Get-NvmeMiHealth", _bus.Address).ThrowIfFailed()));
        Assert.Equal((1u, (byte)29), (health.Network, health.Eid));
        Assert.True(health.DriveFunctional);
        Assert.InRange(health.TemperatureCelsius!.Value, 30, 60);   // the simulated temperature swings between 30 and 40 °C over a minute
        Assert.Equal("OK", health.TemperatureStatus);

        // Find-NvmeMiEndpoint | Get-NvmeMiController | Get-NvmeLog -LogId Smart
        var smart = _s.Host.Script("Find-NvmeMiEndpoint -BusAddress $args[0] | Get-NvmeMiController | Get-NvmeLog -LogId Smart", _bus.Address).ThrowIfFailed().Cast<NvmeSmartHealth>().ToList();
        Assert.Equal(2, smart.Count);
        Assert.All(smart, x => Assert.Contains("NVMe-MI net 1 eid 29 via Simulated controller", x.ControllerName, StringComparison.Ordinal));

        // Get-NvmeMiController | Where-Object ... | Get-NvmeIdentify
        var id = Assert.IsType<NvmeControllerIdentity>(Assert.Single(_s.Host.Script(
            "Get-NvmeMiController -Network 1 -Eid 29 | Where-Object ControllerId -eq 2 | Get-NvmeIdentify").ThrowIfFailed()));
        Assert.Equal((ushort)2, id.ControllerId);
        Assert.Equal("NVMEPS-SIM-0001", id.SerialNumber);

        var controllers = _s.Host.Command("Get-NvmeMiController").Param("Network", 1u).Param("Eid", (byte)29).Invoke().ThrowIfFailed().Cast<NvmeMiController>().ToList();
        Assert.Equal(new ushort[] { 1, 2 }, controllers.Select(c => c.ControllerId));
        Assert.Equal(("1B36", "0010"), (controllers[0].PciVendorId, controllers[0].PciDeviceId));

        // Features through the same Admin seam.
        var kato = _s.Host.Command("Get-NvmeFeature").Arg(controllers[0]).Arg("Arbitration").Invoke();
        Assert.IsType<NvmeFeature>(Assert.Single(kato.ThrowIfFailed()));
    }

    [Fact]
    public void Controller_health_clear_with_WhatIf_and_a_missing_controller()
    {
        var c = Assert.IsType<NvmeMiConnection>(Assert.Single(_s.Host.Command("Connect-NvmeMiEndpoint").Arg(1u).Arg((byte)29).Invoke().ThrowIfFailed()));
        Assert.Equal("Simulated", c.Transport);
        var h = Assert.IsType<NvmeMiControllerHealth>(Assert.Single(_s.Host.Command("Get-NvmeMiHealth").Input(c).Param("ControllerId", new ushort[] { 1 }).Invoke().ThrowIfFailed()));
        Assert.Equal((ushort)1, h.ControllerId);
        Assert.True(h.Ready);

        var whatIf = _s.Host.Command("Get-NvmeMiHealth").Input(c).Switch("Clear").Switch("WhatIf").Invoke();
        Assert.Contains("Clear the Composite Controller Status change flags", Assert.Single(whatIf.WhatIf), StringComparison.Ordinal);
        Assert.IsType<NvmeMiSubsystemHealth>(Assert.Single(whatIf.ThrowIfFailed()));

        var missing = _s.Host.Command("Get-NvmeMiHealth").Input(c).Param("ControllerId", new ushort[] { 9 }).Invoke();
        Assert.Same(c, ErrorAssert.Single(missing, "NvmeMiControllerNotFound", ErrorCategory.ObjectNotFound).TargetObject);

        _s.Host.Command("Disconnect-NvmeMiEndpoint").Input(c).Invoke().ThrowIfFailed();
        Assert.False(c.IsConnected);
        ErrorAssert.Single(_s.Host.Command("Get-NvmeMiHealth").Input(c).Invoke(), "NvmeMiEndpointDisconnected", ErrorCategory.ResourceUnavailable);
    }

    [Fact]
    public void Find_Wait_reports_progress_and_returns_an_endpoint_that_appears_later()
    {
        RunningCommand running = _s.Host.Command("Find-NvmeMiEndpoint").Param("BusAddress", _bus.Address).Param("Eid", new byte[] { 40 }).Switch("Wait").Param("TimeoutSec", 60).Start();
        Assert.True(running.WaitUntil(r => r.Progress.Count > 0, TimeSpan.FromSeconds(30)));
        _mctpd.AddEndpoint(1, 40, new byte[] { 0, 4 });
        CommandResult r = running.Wait(TimeSpan.FromSeconds(30));
        Assert.Equal((byte)40, Assert.IsType<MctpEndpointInfo>(Assert.Single(r.ThrowIfFailed())).Eid);
        Assert.Contains(r.Progress, p => p.Activity == "Waiting for NVMe-MI endpoints" && p.RecordType == ProgressRecordType.Processing);
        Assert.Equal(ProgressRecordType.Completed, r.Progress[^1].RecordType);
        _mctpd.RemoveEndpoint(1, 40);

        var timedOut = _s.Host.Command("Find-NvmeMiEndpoint").Param("BusAddress", _bus.Address).Param("Eid", new byte[] { 41 }).Switch("Wait").Param("TimeoutSec", 1).Invoke();
        Assert.Equal(_bus.Address, ErrorAssert.Single(timedOut, "NvmeTimeout", ErrorCategory.OperationTimeout).TargetObject);
    }

    [Fact]
    public void No_bus_no_daemon_and_access_denied_are_told_apart()
    {
        string missing = $"unix:path=/tmp/nvmeps-no-bus-{Guid.NewGuid():N}";
        ErrorRecord noBus = ErrorAssert.Single(_s.Host.Command("Find-NvmeMiEndpoint").Param("BusAddress", missing).Invoke(), "MctpdNoBus", ErrorCategory.ConnectionError);
        Assert.Equal(missing, noBus.TargetObject);

        using (var empty = PrivateBus.Start())
        {
            ErrorRecord notRunning = ErrorAssert.Single(_s.Host.Command("Find-NvmeMiEndpoint").Param("BusAddress", empty.Address).Invoke(), "MctpdNotRunning", ErrorCategory.ConnectionError);
            Assert.Contains("Is mctpd running?", notRunning.Exception.Message, StringComparison.Ordinal);
        }

        _mctpd.RecoverError = "org.freedesktop.DBus.Error.AccessDenied";
        try
        {
            var denied = _s.Host.Command("Repair-NvmeMiEndpoint").Arg(1u).Arg((byte)29).Param("BusAddress", _bus.Address).Param("Confirm", false).Invoke();
            ErrorRecord e = ErrorAssert.Single(denied, "MctpdAccessDenied", ErrorCategory.PermissionDenied);
            Assert.Contains("mctp-admin", e.Exception.Message, StringComparison.Ordinal);
        }
        finally
        {
            _mctpd.RecoverError = null;
        }
    }

    [Fact]
    public void Repair_calls_mctpds_Recover_on_the_endpoint_from_the_pipeline()
    {
        _mctpd.Recovered.Clear();
        var whatIf = _s.Host.Script("Find-NvmeMiEndpoint -BusAddress $args[0] | Repair-NvmeMiEndpoint -WhatIf", _bus.Address);
        Assert.Single(whatIf.WhatIf);
        Assert.Empty(_mctpd.Recovered);

        var r = _s.Host.Script("Find-NvmeMiEndpoint -BusAddress $args[0] | Repair-NvmeMiEndpoint -PassThru -Confirm:$false", _bus.Address).ThrowIfFailed();
        Assert.Equal(new[] { "/au/com/codeconstruct/mctp1/networks/1/endpoints/29" }, _mctpd.Recovered);
        Assert.Equal((byte)29, Assert.IsType<MctpEndpointInfo>(Assert.Single(r)).Eid);

        ErrorAssert.Single(_s.Host.Command("Repair-NvmeMiEndpoint").Arg(1u).Arg((byte)99).Param("BusAddress", _bus.Address).Invoke(), "MctpEndpointNotFound", ErrorCategory.ObjectNotFound);
    }

    [Fact]
    public void Simulators_are_per_session_and_refuse_a_second_one_at_the_same_address()
    {
        ErrorAssert.Single(_s.Host.Command("Start-NvmeMiSimulator").Param("Network", 1u).Param("Eid", (byte)29).Invoke(), "NvmeMiSimulatorAddressInUse", ErrorCategory.ResourceExists);
        ErrorAssert.Single(_s.Host.Command("Connect-NvmeMiEndpoint").Arg(1u).Arg((byte)77).Param("Transport", "Simulated").Invoke(), "NvmeInvalidOperation", ErrorCategory.InvalidOperation);

        using var other = new ModuleRunspace();
        Assert.Empty(other.Command("Stop-NvmeMiSimulator").Switch("PassThru").Invoke().ThrowIfFailed());
        var sim = Assert.IsType<NvmeMiSimulator>(Assert.Single(other.Command("Start-NvmeMiSimulator").Param("Eid", (byte)50).Invoke().ThrowIfFailed()));
        Assert.Equal((1u, (byte)50, "InProcess", true), (sim.Network, sim.Eid, sim.Transport, sim.IsRunning));
        Assert.Same(sim, Assert.Single(other.Command("Stop-NvmeMiSimulator").Switch("PassThru").Invoke().ThrowIfFailed()));
        Assert.False(sim.IsRunning);
    }

    [Fact]
    public void Watch_writes_each_change_between_polls_and_stops_on_Ctrl_C()
    {
        var subsystem = _sim.Host.Subsystem;
        RunningCommand running = _s.Host.Command("Watch-NvmeMiHealth").Param("Network", 1u).Param("Eid", (byte)29)
            .Param("ControllerId", new ushort[] { 1 }).Param("IntervalSec", 1).Param("TemperatureThresholdCelsius", 60).Switch("Verbose").Start();
        // Its first poll is the baseline, and it says "Watching" after it: a change made before then is no change.
        Assert.True(running.WaitUntil(r => r.Verbose.Any(v => v.StartsWith("Watching", StringComparison.Ordinal)), TimeSpan.FromSeconds(20)));
        subsystem.InjectedCriticalWarning = 0x02;          // the temperature warning bit
        subsystem.TemperatureOverrideKelvin = 273 + 75;    // crosses 60 °C
        try
        {
            Assert.True(running.WaitUntil(r => r.Output.Count >= 4, TimeSpan.FromSeconds(20)),
                string.Join("; ", running.Result.Output.Cast<NvmeMiHealthEvent>().Select(e => $"{e.ControllerId}:{e.Change}")));
            running.Stop();
            CommandResult r = running.Wait(TimeSpan.FromSeconds(20));
            Assert.True(r.Stopped);
            var events = r.Output.Cast<NvmeMiHealthEvent>().ToList();
            string seen = string.Join("; ", events.Select(e => $"{e.ControllerId}:{e.Change}:{e.OldValue}->{e.NewValue}"));
            Assert.True(events.Any(e => e.ControllerId is null && e.Change == "CriticalWarning" && e.OldValue == "None" && e.NewValue == "Temperature"), seen);
            Assert.True(events.Any(e => e.ControllerId is null && e.Change == "TemperatureThreshold" && int.Parse(e.OldValue.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) < 60 && e.NewValue == "75 °C"), seen);
            Assert.Contains(events, e => e.ControllerId == 1 && e.Change == "CriticalWarning");
            Assert.Contains(events, e => e.ControllerId == 1 && e.Change == "TemperatureThreshold");
            Assert.All(events, e => Assert.Equal((1u, (byte)29), (e.Network, e.Eid)));
        }
        finally
        {
            subsystem.InjectedCriticalWarning = 0;
            subsystem.TemperatureOverrideKelvin = 0;
        }

        // -TimeoutSec ends a quiet watch with no output.
        Assert.Empty(_s.Host.Command("Watch-NvmeMiHealth").Param("Network", 1u).Param("Eid", (byte)29).Param("IntervalSec", 1).Param("TimeoutSec", 2).Invoke().ThrowIfFailed());
    }

    [Fact]
    public void Reset_asks_twice_and_resets_with_Force()
    {
        var c = Assert.IsType<NvmeMiConnection>(Assert.Single(_s.Host.Command("Connect-NvmeMiEndpoint").Arg(1u).Arg((byte)29).Invoke().ThrowIfFailed()));
        var whatIf = _s.Host.Command("Reset-NvmeMiSubsystem").Input(c).Switch("WhatIf").Invoke();
        Assert.Contains("every controller resets", Assert.Single(whatIf.WhatIf), StringComparison.Ordinal);
        int resets = _sim.Host.Subsystem.ResetCount;

        // High impact: the default host answers No at the first prompt and nothing is sent.
        var declined = _s.Host.Command("Reset-NvmeMiSubsystem").Input(c).Invoke();
        Assert.Single(declined.Prompts);
        Assert.Equal(resets, _sim.Host.Subsystem.ResetCount);

        var done = _s.Host.Command("Reset-NvmeMiSubsystem").Input(c).Switch("Force").Param("Confirm", false).Switch("PassThru").Invoke();
        Assert.IsType<NvmeMiSubsystemHealth>(Assert.Single(done.ThrowIfFailed()));
        // The endpoint answers first and resets after (as a drive must), so the count may trail the response a little.
        for (int i = 0; i < 1000 && _sim.Host.Subsystem.ResetCount == resets; i++)
        {
            Thread.Sleep(10);
        }

        Assert.Equal(resets + 1, _sim.Host.Subsystem.ResetCount);
        _s.Host.Command("Disconnect-NvmeMiEndpoint").Input(c).Invoke();
    }

    [Fact]
    public void Subsystem_ports_configuration_and_VPD_are_read_and_configuration_set()
    {
        var info = Assert.IsType<NvmeMiSubsystemInfo>(Assert.Single(_s.Host.Command("Get-NvmeMiSubsystem").Param("Network", 1u).Param("Eid", (byte)29).Invoke().ThrowIfFailed()));
        Assert.Equal((2, "1.2"), (info.PortCount, info.NvmeMiVersion));
        Assert.Equal(new ushort[] { 1, 2 }, info.ControllerIds);
        Assert.Contains("MI 06h", info.OptionalCommands);

        var ports = _s.Host.Command("Get-NvmeMiPort").Param("Network", 1u).Param("Eid", (byte)29).Invoke().ThrowIfFailed().Cast<NvmeMiPortInfo>().ToList();
        Assert.Equal(new[] { NvmePS.Engine.Mi.NvmeMiPortType.Pcie, NvmePS.Engine.Mi.NvmeMiPortType.Smbus }, ports.Select(p => p.PortType));
        Assert.Equal("x4 (x4 max)", ports[0].PcieLink);
        ErrorAssert.Single(_s.Host.Command("Get-NvmeMiPort").Param("Network", 1u).Param("Eid", (byte)29).Param("PortId", new byte[] { 5 }).Invoke(), "NvmeMiPortNotFound", ErrorCategory.ObjectNotFound);

        var set = _s.Host.Command("Set-NvmeMiConfiguration").Param("Network", 1u).Param("Eid", (byte)29).Param("PortId", (byte)1)
            .Param("SmbusFrequency", "Freq400kHz").Switch("PassThru").Invoke().ThrowIfFailed();
        Assert.Equal(NvmePS.Engine.Mi.SmbusFrequency.Freq400kHz, Assert.IsType<NvmeMiConfiguration>(Assert.Single(set)).SmbusFrequency);
        ErrorAssert.Single(_s.Host.Command("Get-NvmeMiConfiguration").Param("Network", 1u).Param("Eid", (byte)29).Param("PortId", new byte[] { 5 }).Invoke(), "NvmeMiPortNotFound", ErrorCategory.ObjectNotFound);
        var config = _s.Host.Command("Get-NvmeMiConfiguration").Param("Network", 1u).Param("Eid", (byte)29).Param("PortId", new byte[] { 1 }).Invoke().ThrowIfFailed();
        Assert.Equal(NvmePS.Engine.Mi.SmbusFrequency.Freq400kHz, Assert.IsType<NvmeMiConfiguration>(Assert.Single(config)).SmbusFrequency);
        _s.Host.Command("Set-NvmeMiConfiguration").Param("Network", 1u).Param("Eid", (byte)29).Param("PortId", (byte)1).Param("SmbusFrequency", "Freq100kHz").Invoke().ThrowIfFailed();

        // The endpoint refuses a transmission unit above the port's maximum: its status, not a guess.
        var tooBig = _s.Host.Command("Set-NvmeMiConfiguration").Param("Network", 1u).Param("Eid", (byte)29).Param("MctpTransmissionUnit", (ushort)65000).Invoke();
        Assert.Contains("Invalid Parameter", ErrorAssert.Single(tooBig, "NvmeMiStatus", ErrorCategory.DeviceError).Exception.Message, StringComparison.Ordinal);
        ErrorAssert.Single(_s.Host.Command("Set-NvmeMiConfiguration").Param("Network", 1u).Param("Eid", (byte)29).Invoke(), "NvmeMiNothingToSet", ErrorCategory.InvalidArgument);

        var vpd = Assert.IsType<NvmeMiVpd>(Assert.Single(_s.Host.Command("Get-NvmeMiVpd").Param("Network", 1u).Param("Eid", (byte)29).Param("Length", (ushort)64).Invoke().ThrowIfFailed()));
        Assert.Equal(64, vpd.Data.Length);
        Assert.Contains("NvmePS Simulated NVMe-MI SSD", vpd.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Wait_NvmeMiEvent_writes_an_event_raised_while_it_waits_acknowledges_it_and_restores_the_enables()
    {
        _sim.Host.Subsystem.InjectedCriticalWarning = 0;
        var running = _s.Host.ScriptInvocation("Find-NvmeMiEndpoint -BusAddress $args[0] | Wait-NvmeMiEvent -TimeoutSec 30 -Verbose").Arg(_bus.Address).Start();
        Assert.True(SpinWait.SpinUntil(() => _sim.Host.Responder.AsyncEventDestination is not null, TimeSpan.FromSeconds(20)), "events were not enabled");
        _sim.Host.Subsystem.InjectedCriticalWarning = 0x04;
        var r = running.Wait(TimeSpan.FromSeconds(30));
        _sim.Host.Subsystem.InjectedCriticalWarning = 0;
        var e = Assert.IsType<NvmeMiAsyncEvent>(Assert.Single(r.ThrowIfFailed()));
        Assert.Equal((1u, (byte)29, (byte)0x01, "CriticalWarningChanged", "04"), (e.Network, e.Eid, e.EventId, e.SimulatorEvent, e.SpecificInfoHex));
        Assert.Contains(r.Verbose, v => v.StartsWith("Enabled event(s) 0x01, 0x02, 0x03 on NVMe-MI net 1 eid 29", StringComparison.Ordinal));
        Assert.True(_sim.Host.Responder.AsyncEventsAcknowledged >= 1);
        Assert.NotEmpty(r.Progress);

        // The enables are back as they were (all off), so the drive no longer sends to this host.
        Assert.Null(_sim.Host.Responder.AsyncEventDestination);
        var config = Assert.IsType<NvmeMiConfiguration>(_s.Host.Command("Get-NvmeMiConfiguration").Param("Network", 1u).Param("Eid", (byte)29).Invoke().ThrowIfFailed()[0]);
        Assert.Equal(new[] { "01h disabled", "02h disabled", "03h disabled" }, config.AsyncEvents);
    }

    [Fact]
    public void Wait_NvmeMiEvent_stops_on_Ctrl_C_and_on_its_timeout_and_restores_the_enables_both_times()
    {
        var running = _s.Host.Command("Wait-NvmeMiEvent").Param("Network", 1u).Param("Eid", (byte)29).Param("Count", 0).Start();
        Assert.True(SpinWait.SpinUntil(() => _sim.Host.Responder.AsyncEventDestination is not null, TimeSpan.FromSeconds(20)));
        running.Stop();
        Assert.True(running.Wait(TimeSpan.FromSeconds(30)).Stopped);
        Assert.Null(_sim.Host.Responder.AsyncEventDestination);

        var quiet = _s.Host.Command("Wait-NvmeMiEvent").Param("Network", 1u).Param("Eid", (byte)29).Param("TimeoutSec", 1).Invoke();
        Assert.Empty(quiet.ThrowIfFailed());
        Assert.Null(_sim.Host.Responder.AsyncEventDestination);
    }

    [Fact]
    public void Wait_NvmeMiEvent_stopped_while_the_enable_is_in_flight_still_turns_the_events_off()
    {
        // The drive has enabled the events but its response is held: Ctrl+C lands between the two, which a loaded
        // machine hits by chance (the enables were once left on, pointing at a host that had stopped listening).
        var transport = Assert.IsType<NvmePS.Engine.Mctp.InProcessMctpTransport>(_sim.Host.InProcessTransport);
        var address = new NvmePS.Engine.Mctp.MctpEndpointAddress(1, 29);
        var holding = new EnableHoldingResponder(_sim.Host.Responder);
        transport.Register(address, holding);
        try
        {
            var running = _s.Host.Command("Wait-NvmeMiEvent").Param("Network", 1u).Param("Eid", (byte)29).Param("Count", 0).Start();
            Assert.True(holding.Held.Task.Wait(TimeSpan.FromSeconds(20)), "the enable never reached the drive");
            Assert.NotNull(_sim.Host.Responder.AsyncEventDestination);
            running.Stop();
            var r = running.Wait(TimeSpan.FromSeconds(30));
            Assert.True(r.Stopped);
            Assert.Null(_sim.Host.Responder.AsyncEventDestination);
            Assert.DoesNotContain(r.Warnings, w => w.Contains("Could not restore", StringComparison.Ordinal));
        }
        finally
        {
            holding.Release.TrySetResult();
            transport.Register(address, _sim.Host.Responder);
        }
    }

    /// <summary>Passes requests to the simulator, but holds the response to the request that turned its events on
    /// (the first that left an AEM destination set) until released.</summary>
    private sealed class EnableHoldingResponder(NvmePS.Engine.Mi.Simulator.NvmeMiResponder inner) : NvmePS.Engine.Mctp.IMctpResponder
    {
        private int _holds;

        public TaskCompletionSource Held { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ValueTask HandleAsync(NvmePS.Engine.Mctp.MctpEndpointAddress source, ReadOnlyMemory<byte> request, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> respond, CancellationToken cancellationToken) =>
            inner.HandleAsync(source, request, async (response, ct) =>
            {
                if (inner.AsyncEventDestination is not null && Interlocked.Exchange(ref _holds, 1) == 0)
                {
                    Held.TrySetResult();
                    await Release.Task.WaitAsync(TimeSpan.FromSeconds(60), CancellationToken.None).ConfigureAwait(false);
                }

                await respond(response, ct).ConfigureAwait(false);
            }, cancellationToken);
    }

    [Fact]
    public void Wait_NvmeMiEvent_names_an_event_the_endpoint_does_not_support()
    {
        var r = _s.Host.Command("Wait-NvmeMiEvent").Param("Network", 1u).Param("Eid", (byte)29).Param("EventId", new byte[] { 1, 0x77 }).Param("TimeoutSec", 1).Invoke();
        var e = ErrorAssert.Single(r, "NvmeMiEventNotSupported", ErrorCategory.InvalidArgument);
        Assert.Contains("does not support event(s) 0x77", e.Exception.Message, StringComparison.Ordinal);
        Assert.Null(_sim.Host.Responder.AsyncEventDestination);
    }
}
