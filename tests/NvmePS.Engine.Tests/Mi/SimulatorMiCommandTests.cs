using NvmePS.Engine.Mi;
using NvmePS.Engine.Mi.Simulator;

namespace NvmePS.Engine.Tests.Mi;

/// <summary>The MI command set against the simulated endpoint, over the in-process transport and over the demux
/// protocol on a real unix socket.</summary>
public sealed class SimulatorMiCommandTests
{
    public static TheoryData<SimulatorTransportKind> Transports => new() { SimulatorTransportKind.InProcess, SimulatorTransportKind.Demux };

    internal static async Task<(NvmeMiSimulatorHost Host, NvmeMiEndpoint Endpoint)> StartAsync(SimulatorTransportKind kind, SimulatorOptions? sim = null, NvmeMiEndpointOptions? ep = null)
    {
        var host = await NvmeMiSimulatorHost.StartAsync(new SimulatorHostOptions
        {
            Transport = kind,
            DemuxSocketName = $"nvmeps-sim-{Guid.NewGuid():N}",
            Simulator = sim ?? new SimulatorOptions(),
        });
        host.Subsystem.TemperatureOverrideKelvin = 310; // deterministic change flags
        var endpoint = await host.ConnectAsync(ep ?? new NvmeMiEndpointOptions { Timeout = TimeSpan.FromSeconds(10) });
        return (host, endpoint);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Data_structures(SimulatorTransportKind kind)
    {
        var (host, ep) = await StartAsync(kind);
        await using var h = host;
        await using var e = ep;

        var info = await ep.ReadSubsystemInformationAsync();
        Assert.Equal(2, info.PortCount);
        Assert.Equal((1, 2), (info.MajorVersion, info.MinorVersion));

        var pcie = await ep.ReadPortInformationAsync(0);
        Assert.Equal(NvmeMiPortType.Pcie, pcie.PortType);
        Assert.Equal(4224, pcie.MaxMctpTransmissionUnit);
        Assert.Equal(4, pcie.PcieNegotiatedLinkWidth);
        var smbus = await ep.ReadPortInformationAsync(1);
        Assert.Equal(NvmeMiPortType.Smbus, smbus.PortType);
        Assert.Equal(0xD4, smbus.ManagementEndpointSmbusAddress);
        var bad = await Assert.ThrowsAsync<NvmeMiStatusException>(() => ep.ReadPortInformationAsync(2));
        Assert.Equal(NvmeMiStatus.InvalidParameter, bad.Status);
        Assert.Equal((ushort)10, bad.ParameterByte);

        Assert.Equal(new ushort[] { 1, 2 }, await ep.ReadControllerListAsync());
        Assert.Equal(new ushort[] { 2 }, await ep.ReadControllerListAsync(2));

        var c2 = await ep.ReadControllerInformationAsync(2);
        Assert.Equal(0x1B36, c2.PciVendorId);
        Assert.Equal(0x0101, c2.PciRoutingId);
        await Assert.ThrowsAsync<NvmeMiStatusException>(() => ep.ReadControllerInformationAsync(9));

        var optional = await ep.ReadOptionalCommandsAsync();
        Assert.Contains(new OptionalCommand(NvmeMiMessageType.MiCommand, (byte)NvmeMiOpcode.VpdWrite), optional);
        Assert.Contains(new OptionalCommand(NvmeMiMessageType.AdminCommand, 0x84), optional);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Describe_reads_ports_and_controllers(SimulatorTransportKind kind)
    {
        var (host, ep) = await StartAsync(kind);
        await using var h = host;
        await using var e = ep;
        var d = await ep.DescribeAsync();
        Assert.Equal(new[] { NvmeMiPortType.Pcie, NvmeMiPortType.Smbus }, d.Ports.Select(p => p.PortType).ToArray());
        Assert.Equal(new ushort[] { 1, 2 }, d.ControllerIds);
        Assert.Equal(new ushort[] { 0x0100, 0x0101 }, d.Controllers.Select(c => c.PciRoutingId).ToArray());
        Assert.Equal(1, d.Subsystem.MajorVersion);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Health_polls_follow_the_model_and_clear(SimulatorTransportKind kind)
    {
        var (host, ep) = await StartAsync(kind);
        await using var h = host;
        await using var e = ep;

        var first = await ep.PollSubsystemHealthAsync(clear: true);
        Assert.True(first.DriveFunctional);
        Assert.True(first.Port0LinkActive);
        Assert.False(first.Port1LinkActive);
        Assert.Equal(37, first.CompositeTemperatureCelsius);
        Assert.Equal(0x3F, first.SmartWarnings); // inverted: no warning; bits 7:6 reserved, cleared (MI-06)
        Assert.Equal(0, first.CriticalWarning);
        Assert.True(first.CompositeControllerStatus.HasFlag(CompositeControllerStatus.Ready));

        lock (host.Subsystem.Gate)
        {
            host.Subsystem.InjectedCriticalWarning = 0x04; // reliability degraded
            host.Subsystem.TemperatureOverrideKelvin = 350; // 77 °C: over the threshold
        }

        var hot = await ep.PollSubsystemHealthAsync();
        Assert.Equal(77, hot.CompositeTemperatureCelsius);
        Assert.Equal(0x06, hot.CriticalWarning); // injected RD + temperature
        Assert.Equal(0x39, hot.SmartWarnings);
        Assert.True(hot.CompositeControllerStatus.HasFlag(CompositeControllerStatus.CriticalWarningChange));
        Assert.True(hot.CompositeControllerStatus.HasFlag(CompositeControllerStatus.CompositeTemperatureChange));

        await ep.ClearHealthStatusChangeAsync(HealthStatusChangeFlags.CompositeTemperature);
        var cleared = await ep.PollSubsystemHealthAsync();
        Assert.False(cleared.CompositeControllerStatus.HasFlag(CompositeControllerStatus.CompositeTemperatureChange));
        Assert.True(cleared.CompositeControllerStatus.HasFlag(CompositeControllerStatus.CriticalWarningChange));

        var all = await ep.PollControllerHealthAsync();
        Assert.Equal(new ushort[] { 1, 2 }, all.Select(c => c.ControllerId).ToArray());
        Assert.All(all, c =>
        {
            Assert.Equal(350, c.CompositeTemperatureKelvin);
            Assert.Equal(0x06, c.CriticalWarning);
            Assert.Equal(NvmePS.Engine.Admin.NvmeCriticalWarning.Temperature | NvmePS.Engine.Admin.NvmeCriticalWarning.Reliability, c.Warnings);
            Assert.True(c.Ready);
            Assert.False(c.FatalStatus);
            Assert.Equal(1, c.ControllerStatus & 1);
            Assert.True(c.ChangedFlags.HasFlag(ControllerHealthChangeFlags.CriticalWarning));
        });

        var changed = await ep.PollControllerHealthAsync(new ControllerHealthPollRequest { ReportAll = false, ReportFlags = ControllerHealthChangeFlags.CriticalWarning, ClearChangedFlags = true, MaxEntries = 1 });
        Assert.Equal((ushort)1, Assert.Single(changed).ControllerId);
        var rest = await ep.PollControllerHealthAsync(new ControllerHealthPollRequest { ReportAll = false, ReportFlags = ControllerHealthChangeFlags.CriticalWarning, ClearChangedFlags = true });
        Assert.Equal((ushort)2, Assert.Single(rest).ControllerId);
        Assert.Empty(await ep.PollControllerHealthAsync(new ControllerHealthPollRequest { ReportAll = false, ReportFlags = ControllerHealthChangeFlags.All }));
        Assert.Single(await ep.PollControllerHealthAsync(new ControllerHealthPollRequest { StartControllerId = 2 }));
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Configuration_get_and_set(SimulatorTransportKind kind)
    {
        var (host, ep) = await StartAsync(kind);
        await using var h = host;
        await using var e = ep;

        Assert.Equal(SmbusFrequency.Freq100kHz, await ep.GetSmbusFrequencyAsync(1));
        await ep.SetSmbusFrequencyAsync(1, SmbusFrequency.Freq400kHz);
        Assert.Equal(SmbusFrequency.Freq400kHz, await ep.GetSmbusFrequencyAsync(1));
        Assert.Equal(NvmeMiStatus.InvalidParameter, (await Assert.ThrowsAsync<NvmeMiStatusException>(() => ep.SetSmbusFrequencyAsync(0, SmbusFrequency.Freq100kHz))).Status);
        Assert.Equal((ushort)9, (await Assert.ThrowsAsync<NvmeMiStatusException>(() => ep.SetSmbusFrequencyAsync(1, SmbusFrequency.Freq1MHz))).ParameterByte);

        Assert.Equal((ushort)64, await ep.GetMctpTransmissionUnitSizeAsync(1));
        await ep.SetMctpTransmissionUnitSizeAsync(1, 128);
        Assert.Equal((ushort)128, await ep.GetMctpTransmissionUnitSizeAsync(1));
        Assert.Equal((ushort)64, await ep.GetMctpTransmissionUnitSizeAsync(0));
        Assert.Equal((ushort)12, (await Assert.ThrowsAsync<NvmeMiStatusException>(() => ep.SetMctpTransmissionUnitSizeAsync(1, 300))).ParameterByte);

        var events = await ep.GetAsyncEventsAsync();
        Assert.Equal(3, events.Count);
        Assert.All(events, ev => Assert.False(ev.Enabled));
        await ep.SetAsyncEventsAsync([new AsyncEventItem(2, true)]);
        Assert.True((await ep.GetAsyncEventsAsync()).Single(ev => ev.Id == 2).Enabled);
        await Assert.ThrowsAsync<NvmeMiStatusException>(() => ep.SetAsyncEventsAsync([new AsyncEventItem(0x77, true)]));

        // Health Status Change has no Get.
        await Assert.ThrowsAsync<NvmeMiStatusException>(() => ep.SendMiCommandAsync(NvmeMiOpcode.ConfigurationGet, 2, 0));
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Vpd_read_write_and_limits(SimulatorTransportKind kind)
    {
        var (host, ep) = await StartAsync(kind, new SimulatorOptions { MaxVpdWrites = 2 });
        await using var h = host;
        await using var e = ep;

        byte[] header = await ep.ReadVpdAsync(0, 8);
        Assert.Equal(1, header[0]);
        Assert.Equal(0, header.Aggregate(0, (a, b) => (a + b) & 0xFF)); // IPMI common header checksum
        byte[] product = await ep.ReadVpdAsync(8, 64);
        Assert.Contains("NVMEPS-SIM-0001", System.Text.Encoding.ASCII.GetString(product), StringComparison.Ordinal);

        await ep.WriteVpdAsync(200, new byte[] { 0xDE, 0xAD, 0xBE });
        Assert.Equal(new byte[] { 0xDE, 0xAD, 0xBE }, await ep.ReadVpdAsync(200, 3));
        await ep.WriteVpdAsync(250, new byte[] { 1 });
        Assert.Equal(NvmeMiStatus.VpdUpdatesExceeded, (await Assert.ThrowsAsync<NvmeMiStatusException>(() => ep.WriteVpdAsync(0, new byte[] { 1 }))).Status);
        Assert.Equal(NvmeMiStatus.InvalidParameter, (await Assert.ThrowsAsync<NvmeMiStatusException>(() => ep.ReadVpdAsync(250, 10))).Status);
        Assert.Equal(NvmeMiStatus.InvalidCommandOpcode, (await Assert.ThrowsAsync<NvmeMiStatusException>(() => ep.SendMiCommandAsync(NvmeMiOpcode.Shutdown, 0, 0))).Status);
        Assert.Equal(NvmeMiStatus.InvalidCommandInputDataSize, (await Assert.ThrowsAsync<NvmeMiStatusException>(() => ep.SendMiCommandAsync(NvmeMiOpcode.SubsystemHealthStatusPoll, 0, 0, new byte[4]))).Status);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Reset_and_control_primitives(SimulatorTransportKind kind)
    {
        var (host, ep) = await StartAsync(kind);
        await using var h = host;
        await using var e = ep;

        var state = await ep.GetStateAsync();
        Assert.False(state.Paused);
        Assert.False(state.SubsystemResetOccurred);
        Assert.Equal(0, state.SlotState);

        await ep.ResetSubsystemAsync();
        await WaitFor(() => host.Subsystem.ResetCount == 1);
        Assert.True((await ep.GetStateAsync(clearErrorState: true)).SubsystemResetOccurred);
        Assert.False((await ep.GetStateAsync()).SubsystemResetOccurred);
        var health = await ep.PollControllerHealthAsync();
        Assert.All(health, c => Assert.NotEqual(0, c.ControllerStatus & 0x10)); // CSTS NSSRO

        await ep.PauseAsync();
        Assert.True((await ep.GetStateAsync()).Paused);
        await ep.ResumeAsync();
        Assert.False((await ep.GetStateAsync()).Paused);

        Assert.Equal(0, await ep.AbortAsync()); // nothing in progress

        var poll = await ep.PollSubsystemHealthAsync();
        byte[]? replayed = await ep.ReplayAsync();
        Assert.NotNull(replayed);
        var again = NvmeMiResponse.Validate(replayed, NvmeMiMessageType.MiCommand, 0);
        Assert.Equal(16, again.BodyLength); // the 8-byte health structure after the 8-byte header
        Assert.True(NvmSubsystemHealthStatus.TryRead(replayed.AsSpan(8), out var replayedHealth));
        Assert.Equal(poll, replayedHealth);
        // The replayed message did not disturb the next exchange.
        Assert.Equal(2, (await ep.ReadSubsystemInformationAsync()).PortCount);
    }

    [Fact]
    public async Task Pause_holds_responses_until_resume()
    {
        var (host, ep) = await StartAsync(SimulatorTransportKind.InProcess, ep: new NvmeMiEndpointOptions { Timeout = TimeSpan.FromMilliseconds(300) });
        await using var h = host;
        await using var e = ep;
        await ep.PauseAsync();
        await Assert.ThrowsAsync<NvmeTimeoutException>(() => ep.PollSubsystemHealthAsync());
        await ep.ResumeAsync();
        await using var patient = await host.ConnectAsync(new NvmeMiEndpointOptions { Timeout = TimeSpan.FromSeconds(10) });
        Assert.Equal(2, (await patient.ReadSubsystemInformationAsync()).PortCount);
    }

    [Fact]
    public async Task Bad_mic_is_dropped_and_flagged_in_the_endpoint_state()
    {
        var (host, ep) = await StartAsync(SimulatorTransportKind.InProcess);
        await using var h = host;
        await using var e = ep;
        byte[] request = new byte[20];
        NvmeMiCodec.WriteMiRequest(request, NvmeMiOpcode.SubsystemHealthStatusPoll, 0, 0, default);
        request[^1] ^= 1;
        await using (var x = await ep.Transport.OpenExchangeAsync(ep.Address, 4, CancellationToken.None))
        {
            await x.SendAsync(request, CancellationToken.None);
            await Assert.ThrowsAsync<NvmeTimeoutException>(async () => await x.ReceiveAsync(new byte[64], TimeSpan.FromMilliseconds(200), CancellationToken.None));
        }

        await WaitFor(() => host.Responder.DroppedMessages == 1);
        Assert.True((await ep.GetStateAsync()).BadMessageIntegrityCheck);
    }

    [Fact]
    public void Smart_model_moves_with_time()
    {
        var clock = new ManualTimeProvider();
        var s = new SimulatedSubsystem(new SimulatorOptions(), clock);
        var t0 = s.ComputeSmart();
        Assert.Equal(308, t0.TemperatureKelvin);
        clock.Advance(TimeSpan.FromSeconds(15)); // a quarter period: +5 K
        var t1 = s.Refresh();
        Assert.Equal(313, t1.TemperatureKelvin);
        Assert.True(t1.DataUnitsRead > t0.DataUnitsRead);
        Assert.True(s.Controller(1).ChangedFlags.HasFlag(ControllerHealthChangeFlags.CompositeTemperature));
        clock.Advance(TimeSpan.FromHours(2));
        var t2 = s.Refresh();
        Assert.Equal(5, t2.PercentageUsed);
        Assert.Equal(1236UL, t2.PowerOnHours);
        s.TemperatureOverrideKelvin = 345;
        Assert.Equal(0x02, s.ComputeSmart().CriticalWarning & 0x02);
    }

    internal static async Task WaitFor(Func<bool> condition)
    {
        for (int i = 0; i < 1000 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition());
    }

    internal static async Task WaitFor(Func<Task<bool>> condition)
    {
        for (int i = 0; i < 1000; i++)
        {
            if (await condition())
            {
                return;
            }

            await Task.Delay(10);
        }

        Assert.Fail("The condition never held.");
    }
}

public sealed class SimulatorHostTests
{
    [Fact]
    public async Task Foreground_run_serves_demux_clients_until_cancelled()
    {
        string name = $"nvmeps-fg-{Guid.NewGuid():N}";
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var cts = new CancellationTokenSource();
        var run = NvmeMiSimulatorHost.RunUntilCancelledAsync(new SimulatorHostOptions { Transport = SimulatorTransportKind.Demux, DemuxSocketName = name, Eid = 0x20 }, lines.Enqueue, TimeSpan.FromMilliseconds(50), cts.Token);
        await SimulatorMiCommandTests.WaitFor(() => lines.Any(l => l.StartsWith("Serving", StringComparison.Ordinal)));
        await using (var transport = await NvmePS.Engine.Mctp.MctpDemuxTransport.ConnectAsync(name))
        await using (var ep = new NvmeMiEndpoint(transport, new NvmePS.Engine.Mctp.MctpEndpointAddress(0, 0x20)))
        {
            Assert.Equal(2, (await ep.ReadSubsystemInformationAsync()).PortCount);
        }

        await SimulatorMiCommandTests.WaitFor(() => lines.Any(l => l.Contains("1 request(s) answered", StringComparison.Ordinal)));
        await cts.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("Simulator stopped.", lines.Last());
        Assert.Contains(lines, l => l.Contains("EID 32 behind demux socket", StringComparison.Ordinal));
        await Assert.ThrowsAsync<NvmeConnectionException>(() => NvmePS.Engine.Mctp.MctpDemuxTransport.ConnectAsync(name));
    }
}

public sealed class SimulatorBehindDemuxDaemonTests
{
    [Fact]
    public async Task Simulator_as_a_daemon_client_answers_at_the_daemon_eid_with_loopback()
    {
        string name = $"nvmeps-loop-{Guid.NewGuid():N}";
        await using var daemon = NvmePS.Engine.Mctp.MctpDemuxDaemon.Start(name, localEid: 8);
        await using var host = await NvmeMiSimulatorHost.StartAsync(new SimulatorHostOptions
        {
            Transport = SimulatorTransportKind.DemuxClient,
            DemuxSocketName = name,
            DaemonEid = 8,
            Simulator = new SimulatorOptions { SlowCommandTime = TimeSpan.FromMilliseconds(100) },
        });
        // The demux protocol does not acknowledge a registration: wait until the daemon has processed it.
        await SimulatorMiCommandTests.WaitFor(() => daemon.CountRegistered(0x84) == 1);
        await using var ep = await host.ConnectAsync(new NvmeMiEndpointOptions { Timeout = TimeSpan.FromSeconds(10) });
        Assert.Equal(new NvmePS.Engine.Mctp.MctpEndpointAddress(0, 8), ep.Address);

        // Every message to EID 8 is looped back to both clients: the requester skips its own request, the
        // simulator drops the responses (its own included).
        Assert.Equal(2, (await ep.ReadSubsystemInformationAsync()).PortCount);
        var admin = new NvmePS.Engine.Admin.NvmeAdminClient(ep.GetAdminTransport(1));
        Assert.Equal("NVMEPS-SIM-0001", (await admin.IdentifyControllerAsync()).Sn);
        await admin.FormatNvmAsync(1, 1); // MPR then the final response, both through the loopback
        Assert.Equal(1, ep.LastMprCount);
        await SimulatorMiCommandTests.WaitFor(() => host.Responder.DroppedMessages >= 3); // its own responses, looped back
        Assert.Contains("client of the demux daemon", host.Describe(), StringComparison.Ordinal);
    }
}
