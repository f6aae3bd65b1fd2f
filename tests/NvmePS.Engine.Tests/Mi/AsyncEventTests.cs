using System.Buffers.Binary;
using NvmePS.Engine.Mctp;
using NvmePS.Engine.Mi;
using NvmePS.Engine.Mi.Simulator;

namespace NvmePS.Engine.Tests.Mi;

/// <summary>NVMe-MI Asynchronous Event Messages: the wire format both ways, the simulated endpoint's sending,
/// retransmission and acknowledgement on a manual clock, and delivery over the in-process and demux transports.</summary>
public sealed class AsyncEventTests
{
    private static readonly AsyncEventItem[] AllThree = [new(1, true), new(2, true), new(3, true)];

    [Fact]
    public void An_AEM_is_written_and_read_back_byte_for_byte()
    {
        var occurrences = new[]
        {
            new AsyncEventOccurrence(0x01, 0x00010002, 7, [0x04], []),
            new AsyncEventOccurrence(0xC3, 0, 0, [1, 2, 3], [0xAA, 0xBB]),
        };
        byte[] aem = new byte[128];
        int n = AsyncEventMessageCodec.Write(aem, 37, occurrences);
        Assert.Equal(4 + 7 + 10 + 14 + 1 + 4, n);                                 // padded to a whole dword
        Assert.Equal(0, aem[n - 5]);
        Assert.Equal(new byte[] { 0x84, 0x28, 0, 0 }, aem[..4]);                 // ROR 0, NMIMT 5, CSI 0
        Assert.Equal(new byte[] { 2, 0, 31, 0, 0, 7, (37 % 32) << 3 }, aem[4..11]); // NUMAEO, AEOLVER, AEOLTL, AEOLHL, AEMGN
        Assert.Equal(new byte[] { 9, 1, 0, 0x01, 0x02, 0x00, 0x01, 0x00, 7, 0x04 }, aem[11..21]);
        Assert.True(AsyncEventMessageCodec.IsAsyncEventMessage(aem.AsSpan(0, n)));
        Assert.True(AsyncEventMessageCodec.TryRead(aem.AsSpan(0, n), out var back, out string? error), error);
        Assert.Equal(5, back!.Generation);
        Assert.Equal(occurrences.Select(o => (o.Id, o.ControllerInfo, o.ScopeInfo)), back.Occurrences.Select(o => (o.Id, o.ControllerInfo, o.ScopeInfo)));
        Assert.Equal(new byte[] { 0xAA, 0xBB }, back.Occurrences[1].VendorInfo);
        Assert.Equal(new byte[] { 1, 2, 3 }, back.Occurrences[1].SpecificInfo);
    }

    [Theory]
    [InlineData("mic", "MIC")]
    [InlineData("ror", "ROR 1")]
    [InlineData("aeolhl", "AEOLHL is 6")]
    [InlineData("aelhlen", "AELHLEN 8")]
    [InlineData("aeoltl", "AEOLTL is 200")]
    [InlineData("occurrence", "past the list's")]
    [InlineData("version", "AEOLVER is 1")]
    public void A_malformed_AEM_is_refused_naming_the_field(string damage, string expected)
    {
        byte[] aem = new byte[64];
        int n = AsyncEventMessageCodec.Write(aem, 1, [new AsyncEventOccurrence(1, 0, 0, [9, 9], [])]);
        switch (damage)
        {
            case "mic": aem[n - 1] ^= 1; break;
            case "ror": aem[1] |= 0x80; break;
            case "aeolhl": aem[9] = 6; break;
            case "aelhlen": aem[11] = 8; break;
            case "aeoltl": aem[6] = 200; break;
            case "occurrence": aem[12] = 40; break; // AEOSIL past the list
            case "version": aem[5] = 1; break;
        }

        if (damage != "mic")
        {
            NvmeMiMic.Append(aem, n - NvmeMiMic.Size);
        }

        Assert.False(AsyncEventMessageCodec.TryRead(aem.AsSpan(0, n), out _, out string? error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Random_bytes_never_throw_and_never_read_past_the_message()
    {
        var random = new Random(7);
        for (int i = 0; i < 20_000; i++)
        {
            byte[] message = new byte[random.Next(0, 96)];
            random.NextBytes(message);
            if (message.Length > 4)
            {
                message[0] = 0x84;
                message[1] = 0x28;
                NvmeMiMic.Append(message, message.Length - 4);
            }

            _ = AsyncEventMessageCodec.TryRead(message, out _, out _);
        }
    }

    [Fact]
    public void Bytes_after_the_list_beyond_dword_padding_are_refused()
    {
        byte[] aem = new byte[64];
        int n = AsyncEventMessageCodec.Write(aem, 1, []);
        Assert.Equal(16, n);
        byte[] longer = new byte[n + 4];
        aem.AsSpan(0, n - 4).CopyTo(longer);
        NvmeMiMic.Append(longer, n);
        Assert.False(AsyncEventMessageCodec.TryRead(longer, out _, out string? error));
        Assert.Contains("only up to 3 bytes of dword padding", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_acknowledgement_clears_only_what_the_acknowledged_AEM_carried()
    {
        var clock = new ManualTimeProvider();
        await using var host = await NvmeMiSimulatorHost.StartAsync(new SimulatorHostOptions(), clock);
        await using var ep = await host.ConnectAsync();
        await using var events = await ep.ListenForAsyncEventsAsync();
        await ep.SetAsyncEventsAsync(AllThree);
        host.Subsystem.InjectedCriticalWarning = 0x04;
        clock.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Equal(1, (await events.ReceiveAsync(TimeSpan.FromSeconds(10), acknowledge: false)).Generation);

        // The temperature crosses the threshold, then the first AEM's acknowledgement arrives before the next poll.
        host.Subsystem.TemperatureOverrideKelvin = 400;
        clock.Advance(TimeSpan.FromMilliseconds(100));
        await ep.AcknowledgeAsyncEventAsync();
        var second = await events.ReceiveAsync(TimeSpan.FromSeconds(10), acknowledge: false);
        Assert.Equal(2, second.Generation);
        Assert.Contains(second.Occurrences, o => o.Id == (byte)SimulatorAsyncEvent.TemperatureThresholdCrossed);
    }

    [Fact]
    public async Task A_flood_of_bad_or_oversized_messages_does_not_stretch_the_wait_or_end_it()
    {
        await using var host = await NvmeMiSimulatorHost.StartAsync(new SimulatorHostOptions());
        await using var ep = await host.ConnectAsync();
        await using var events = await ep.ListenForAsyncEventsAsync();
        var send = host.InProcessTransport!.SenderFor(host.EndpointAddress);
        using var stop = new CancellationTokenSource();
        var flood = Task.Run(async () =>
        {
            byte[] garbage = new byte[32];
            while (!stop.IsCancellationRequested)
            {
                await send(new MctpEndpointAddress(1, 8), garbage, CancellationToken.None);
                await send(new MctpEndpointAddress(1, 8), new byte[NvmeMiCodec.MaxMessageSize + 1000], CancellationToken.None);
                await Task.Yield();
            }
        });
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.Null(await events.TryReceiveAsync(TimeSpan.FromMilliseconds(500)));
        await stop.CancelAsync();
        await flood;
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "the wait outlived its timeout by far"); // a hang bound, not a speed figure
        Assert.True(events.MalformedMessages > 2);
    }

    [Fact]
    public void Configuration_Set_dword_0_carries_the_delays_and_flags()
    {
        var s = new AsyncEventSettings(RetryDelay100Ms: 5, MessageDelaySeconds: 2, Encfa: true, Envfa: true);
        Assert.Equal(0x05_02_05_04u, s.ToCdw0());
        Assert.Equal(s, AsyncEventSettings.FromCdw0(s.ToCdw0()));
    }

    [Fact]
    public async Task The_simulator_sends_an_AEM_on_a_change_retransmits_it_until_acknowledged_then_stops()
    {
        var clock = new ManualTimeProvider();
        await using var host = await NvmeMiSimulatorHost.StartAsync(new SimulatorHostOptions(), clock);
        await using var ep = await host.ConnectAsync();
        await using var events = await ep.ListenForAsyncEventsAsync();
        var current = await ep.SetAsyncEventsAsync(AllThree);
        Assert.Empty(current!.Occurrences);
        Assert.Equal(new MctpEndpointAddress(1, 8), host.Responder.AsyncEventDestination);

        // Nothing changed: no AEM.
        clock.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Equal(0, host.Responder.AsyncEventMessagesSent);

        host.Subsystem.InjectedCriticalWarning = 0x04;
        clock.Advance(TimeSpan.FromMilliseconds(100));
        var aem = await events.ReceiveAsync(TimeSpan.FromSeconds(10), acknowledge: false);
        var o = Assert.Single(aem.Occurrences);
        Assert.Equal((byte)SimulatorAsyncEvent.CriticalWarningChanged, o.Id);
        Assert.Equal(new byte[] { 0x04 }, o.SpecificInfo);
        Assert.Equal(1, aem.Generation);

        // Unacknowledged: the same generation again a second later, which the listener acknowledges and skips.
        clock.Advance(TimeSpan.FromSeconds(1));
        clock.Advance(TimeSpan.FromMilliseconds(100));
        // The in-process listener times out on the manual clock, so a real-time cancellation ends this wait.
        using (var wait = new CancellationTokenSource(500))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => events.ReceiveAsync(TimeSpan.FromSeconds(5), true, wait.Token));
        }

        Assert.Equal(1, events.DuplicateMessages);
        Assert.Equal(2, host.Responder.AsyncEventMessagesSent);
        Assert.Equal(1, host.Responder.AsyncEventsAcknowledged);

        // Acknowledged: nothing more is sent.
        for (int i = 0; i < 30; i++)
        {
            clock.Advance(TimeSpan.FromMilliseconds(100));
        }

        Assert.Equal(2, host.Responder.AsyncEventMessagesSent);

        // Two changes in one poll travel in one AEM of a new generation.
        host.Subsystem.TemperatureOverrideKelvin = 400;
        host.Subsystem.InjectedCriticalWarning = 0;
        clock.Advance(TimeSpan.FromMilliseconds(100));
        aem = await events.ReceiveAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(2, aem.Generation);
        Assert.Equal(new[] { SimulatorAsyncEvent.CriticalWarningChanged, SimulatorAsyncEvent.TemperatureThresholdCrossed },
            aem.Occurrences.Select(x => (SimulatorAsyncEvent)x.Id).OrderBy(x => x));
        var temperature = aem.Occurrences.Single(x => x.Id == (byte)SimulatorAsyncEvent.TemperatureThresholdCrossed);
        Assert.Equal(400, BinaryPrimitives.ReadUInt16LittleEndian(temperature.SpecificInfo));
        Assert.Equal(1, temperature.SpecificInfo[2]);
    }

    [Fact]
    public async Task Without_acknowledgement_the_endpoint_gives_up_after_its_retries()
    {
        var clock = new ManualTimeProvider();
        await using var host = await NvmeMiSimulatorHost.StartAsync(new SimulatorHostOptions(), clock);
        await using var ep = await host.ConnectAsync();
        await ep.SetAsyncEventsAsync(AllThree, new AsyncEventSettings(RetryDelay100Ms: 20));
        host.Subsystem.InjectedCriticalWarning = 0x01;
        for (int i = 0; i < 200; i++)
        {
            clock.Advance(TimeSpan.FromMilliseconds(100));
        }

        Assert.Equal(1 + NvmeMiResponder.AsyncEventRetries, host.Responder.AsyncEventMessagesSent);
    }

    [Fact]
    public async Task Disabled_events_and_a_disabled_endpoint_send_nothing()
    {
        var clock = new ManualTimeProvider();
        await using var host = await NvmeMiSimulatorHost.StartAsync(new SimulatorHostOptions(), clock);
        await using var ep = await host.ConnectAsync();
        await ep.SetAsyncEventsAsync([new AsyncEventItem(2, true)]); // temperature only
        host.Subsystem.InjectedCriticalWarning = 0x04;
        clock.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Equal(0, host.Responder.AsyncEventMessagesSent);

        await ep.SetAsyncEventsAsync([new AsyncEventItem(2, false)]);
        Assert.Null(host.Responder.AsyncEventDestination);
        host.Subsystem.TemperatureOverrideKelvin = 400;
        clock.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Equal(0, host.Responder.AsyncEventMessagesSent);
    }

    [Fact]
    public async Task A_malformed_message_from_the_endpoint_is_counted_and_skipped()
    {
        await using var host = await NvmeMiSimulatorHost.StartAsync(new SimulatorHostOptions());
        await using var ep = await host.ConnectAsync();
        await using var events = await ep.ListenForAsyncEventsAsync();
        var send = host.InProcessTransport!.SenderFor(host.EndpointAddress);
        byte[] bad = new byte[32];
        int n = AsyncEventMessageCodec.Write(bad, 3, []);
        bad[n - 1] ^= 0xFF;
        await send(new MctpEndpointAddress(1, 8), bad.AsMemory(0, n), CancellationToken.None);
        byte[] good = new byte[32];
        n = AsyncEventMessageCodec.Write(good, 4, []);
        await send(new MctpEndpointAddress(1, 8), good.AsMemory(0, n), CancellationToken.None);
        var aem = await events.ReceiveAsync(TimeSpan.FromSeconds(10), acknowledge: false);
        Assert.Equal(4, aem.Generation);
        Assert.Equal(1, events.MalformedMessages);
        Assert.Equal("The AEM's MIC does not match its contents.", events.LastError);
    }

    [Fact]
    public async Task AEMs_cross_the_demux_daemon_and_do_not_disturb_commands_on_the_shared_connection()
    {
        string socket = "nvmeps-aem-" + Guid.NewGuid().ToString("N")[..8];
        await using var host = await NvmeMiSimulatorHost.StartAsync(new SimulatorHostOptions { Transport = SimulatorTransportKind.Demux, DemuxSocketName = socket });
        await using var ep = await host.ConnectAsync();
        await using var events = await ep.ListenForAsyncEventsAsync();
        await ep.SetAsyncEventsAsync(AllThree);
        host.Subsystem.InjectedCriticalWarning = 0x08;
        var aem = await events.ReceiveAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(new byte[] { 0x08 }, Assert.Single(aem.Occurrences).SpecificInfo);

        // The AEM reached the command connection too (the daemon gives every client of the type every message);
        // the next command skips it and gets its own response.
        Assert.NotNull(await ep.ReadSubsystemInformationAsync());
        Assert.Equal(1, host.Responder.AsyncEventsAcknowledged);
    }
}

/// <summary>The simulator on the system clock, wired by hand as the VM tier wires the drive behind its TUN.</summary>
public sealed class AsyncEventRealClockTests
{
    [Fact]
    public async Task A_responder_on_the_system_clock_sends_an_AEM_within_a_poll_or_two()
    {
        var subsystem = new SimulatedSubsystem(new SimulatorOptions()) { TemperatureOverrideKelvin = 308 };
        var responder = new NvmeMiResponder(subsystem);
        var transport = new InProcessMctpTransport();
        var address = new MctpEndpointAddress(1, 0x21);
        transport.Register(address, responder);
        responder.UnsolicitedSender = transport.SenderFor(address);
        await using var ep = new NvmeMiEndpoint(transport, address);
        await using var events = await ep.ListenForAsyncEventsAsync();
        await ep.GetAsyncEventsAsync();
        await ep.SetAsyncEventsAsync([new AsyncEventItem(1, true), new AsyncEventItem(2, true), new AsyncEventItem(3, true)]);
        lock (subsystem.Gate)
        {
            subsystem.InjectedCriticalWarning = 0x08;
        }

        var aem = await events.ReceiveAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(new byte[] { 0x08 }, Assert.Single(aem.Occurrences).SpecificInfo);
        Assert.Equal(1, responder.AsyncEventMessagesSent);
    }
}
