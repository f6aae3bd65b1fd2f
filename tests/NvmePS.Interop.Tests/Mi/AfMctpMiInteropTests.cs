using NvmePS.Engine;
using NvmePS.Engine.Admin;
using NvmePS.Engine.Mctp;
using NvmePS.Engine.Mi;
using NvmePS.Engine.Mi.Simulator;
using NvmePS.Interop.Tests.Infrastructure;

namespace NvmePS.Interop.Tests.Mi;

/// <summary>
/// NVMe-MI across the real Linux AF_MCTP stack: our client and our simulator with the kernel in between, on a local
/// EID on lo and on a remote EID behind a TUN (kernel fragmentation/reassembly at MTU 68). Results are compared with
/// the same simulator reached in-process (no kernel), field by field and byte by byte.
/// </summary>
[Trait("Category", "Interop")]
public sealed class AfMctpMiInteropTests(ITestOutputHelper output)
{
    public static TheoryData<string> Paths => new() { "lo", "tun" };

    [InteropTheory]
    [MemberData(nameof(Paths))]
    public async Task Mi_data_structures_and_health_equal_the_in_process_oracle(string path)
    {
        await using var rig = await MiRig.StartAsync(path);
        await using var oracle = await MiRig.StartAsync("oracle");
        var ep = rig.Endpoint;
        var or = oracle.Endpoint;

        Assert.Equal(await or.ReadSubsystemInformationAsync(), await ep.ReadSubsystemInformationAsync());
        Assert.Equal(await or.ReadPortInformationAsync(0), await ep.ReadPortInformationAsync(0));
        Assert.Equal(await or.ReadPortInformationAsync(1), await ep.ReadPortInformationAsync(1));
        Assert.Equal(await or.ReadControllerListAsync(), await ep.ReadControllerListAsync());
        Assert.Equal(await or.ReadControllerInformationAsync(1), await ep.ReadControllerInformationAsync(1));
        Assert.Equal(await or.ReadControllerInformationAsync(2), await ep.ReadControllerInformationAsync(2));
        Assert.Equal(await or.ReadOptionalCommandsAsync(), await ep.ReadOptionalCommandsAsync());
        var health = await ep.PollSubsystemHealthAsync();
        Assert.Equal(await or.PollSubsystemHealthAsync(), health);
        Assert.Equal(37, health.CompositeTemperatureCelsius);
        var ctrls = await ep.PollControllerHealthAsync();
        Assert.Equal((await or.PollControllerHealthAsync()).ToArray(), ctrls.ToArray());
        var bad = await Assert.ThrowsAsync<NvmeMiStatusException>(() => ep.ReadPortInformationAsync(2));
        Assert.Equal(NvmeMiStatus.InvalidParameter, bad.Status);

        output.WriteLine($"peer={rig.Describe}: subsystem/port/controller info, optional commands, subsystem + controller health " +
                         $"equal the in-process oracle; port 2 -> {bad.Status}{TunStats(rig)}");
    }

    [InteropTheory]
    [MemberData(nameof(Paths))]
    public async Task Tunnelled_admin_commands_equal_the_in_process_oracle(string path)
    {
        await using var rig = await MiRig.StartAsync(path);
        await using var oracle = await MiRig.StartAsync("oracle");
        var admin = new NvmeAdminClient(rig.Endpoint.GetAdminTransport(1));
        var oracleAdmin = new NvmeAdminClient(oracle.Endpoint.GetAdminTransport(1));

        var raw = await admin.IdentifyAsync(1);
        Assert.Equal(4096, raw.Length);
        Assert.Equal(await oracleAdmin.IdentifyAsync(1), raw);
        var id = await admin.IdentifyControllerAsync();
        Assert.Equal(rig.Subsystem.Options.SerialNumber, id.Sn.Trim());
        Assert.Equal(rig.Subsystem.Options.ModelNumber, id.Mn.Trim());

        var nsids = await admin.GetAllActiveNamespaceIdsAsync();
        Assert.Equal(await oracleAdmin.GetAllActiveNamespaceIdsAsync(), nsids);
        if (nsids.Count > 0)
        {
            Assert.Equal(await oracleAdmin.IdentifyAsync(0, nsids[0]), await admin.IdentifyAsync(0, nsids[0]));
        }

        var smart = await admin.GetLogPageAsync(0x02, 512);
        var oracleSmart = await oracleAdmin.GetLogPageAsync(0x02, 512);
        // Power-on hours etc. may tick between the two reads: compare the stable header (critical warning,
        // temperature, spare, percentage used) byte for byte.
        Assert.Equal(oracleSmart.AsSpan(0, 8).ToArray(), smart.AsSpan(0, 8).ToArray());

        var fw = await admin.GetFirmwareSlotLogAsync();
        var oracleFw = await oracleAdmin.GetFirmwareSlotLogAsync();
        Assert.Equal(oracleFw.Afi, fw.Afi);
        Assert.Equal(oracleFw.Frs, fw.Frs);
        Assert.Equal(rig.Subsystem.Options.FirmwareRevision, fw.Frs[fw.ActiveSlot - 1].Trim());

        var nq = await admin.GetNumberOfQueuesAsync();
        Assert.Equal(await oracleAdmin.GetNumberOfQueuesAsync(), nq);

        output.WriteLine($"peer={rig.Describe}: Identify Controller (4096 bytes) byte-identical to the oracle " +
                         $"(SN '{id.Sn.Trim()}', MN '{id.Mn.Trim()}'); {nsids.Count} active NSIDs + Identify Namespace, " +
                         $"SMART header, firmware slot log, Number of Queues equal{TunStats(rig)}");
        if (rig.Tun is not null)
        {
            // A 4 KiB response cannot fit 64-byte packets: prove the kernel reassembled what we fragmented.
            Assert.True(rig.Tun.PacketsOut > 64, $"expected > 64 response packets on the tun, saw {rig.Tun.PacketsOut}");
        }
    }

    [InteropTheory]
    [MemberData(nameof(Paths))]
    public async Task Configuration_vpd_and_control_primitives(string path)
    {
        await using var rig = await MiRig.StartAsync(path, new SimulatorOptions { MaxVpdWrites = 4 });
        var ep = rig.Endpoint;

        await ep.SetMctpTransmissionUnitSizeAsync(1, 128);
        Assert.Equal((ushort)128, await ep.GetMctpTransmissionUnitSizeAsync(1));
        await ep.SetSmbusFrequencyAsync(1, SmbusFrequency.Freq400kHz);
        Assert.Equal(SmbusFrequency.Freq400kHz, await ep.GetSmbusFrequencyAsync(1));

        var pattern = System.Security.Cryptography.RandomNumberGenerator.GetBytes(100);
        await ep.WriteVpdAsync(120, pattern);
        Assert.Equal(pattern, await ep.ReadVpdAsync(120, 100));
        Assert.Equal(pattern, rig.Subsystem.Vpd.AsSpan(120, 100).ToArray()); // reached the endpoint's model
        var whole = await ep.ReadVpdAsync(0, SimulatedSubsystem.VpdSize);
        Assert.Equal(rig.Subsystem.Vpd, whole);

        await ep.PauseAsync();
        Assert.True((await ep.GetStateAsync()).Paused);
        await ep.ResumeAsync();
        Assert.False((await ep.GetStateAsync()).Paused);
        Assert.Equal(0, await ep.AbortAsync());
        var poll = await ep.PollSubsystemHealthAsync();
        var replayed = await ep.ReplayAsync();
        Assert.NotNull(replayed);
        Assert.True(NvmSubsystemHealthStatus.TryRead(replayed.AsSpan(8), out var again));
        Assert.Equal(poll, again);

        output.WriteLine($"peer={rig.Describe}: MCTP TU size + SMBus frequency set/get, 100-byte VPD write read back and " +
                         $"equal to the endpoint's model, whole VPD equal, Pause/Resume/GetState/Abort/Replay{TunStats(rig)}");
    }

    [InteropTheory]
    [MemberData(nameof(Paths))]
    public async Task More_processing_required_keeps_the_kernel_tag_until_the_final_response(string path)
    {
        // Format NVM is slow in the simulator: it answers More Processing Required first, then the final response
        // under the same tag. With the kernel in between, that only works if the preallocated tag is held.
        await using var rig = await MiRig.StartAsync(path);
        var admin = new NvmeAdminClient(rig.Endpoint.GetAdminTransport(1));
        var nsid = (await admin.GetAllActiveNamespaceIdsAsync())[0];
        var before = await admin.IdentifyNamespaceAsync(nsid);
        var target = (byte)(before.FormattedLbaIndex == 0 ? 1 : 0);
        await admin.FormatNvmAsync(nsid, target);
        var mprs = rig.Endpoint.LastMprCount;
        Assert.True(mprs >= 1, "Format NVM should have been answered with More Processing Required first");
        var after = await admin.IdentifyNamespaceAsync(nsid);
        Assert.Equal(target, after.FormattedLbaIndex);
        var err = await Assert.ThrowsAsync<NvmeStatusException>(() => admin.FormatNvmAsync(nsid, 9));
        Assert.Equal("Invalid Format", err.StatusName);

        var events = await rig.Endpoint.GetAsyncEventsAsync();
        await rig.Endpoint.SetAsyncEventsAsync([new AsyncEventItem(events[0].Id, true)]);
        Assert.True((await rig.Endpoint.GetAsyncEventsAsync()).Single(e => e.Id == events[0].Id).Enabled);

        await rig.Endpoint.ResetSubsystemAsync();
        Assert.True(await Guest.WaitUntilAsync(() => rig.Subsystem.ResetCount == 1, TimeSpan.FromSeconds(10)), "NVM Subsystem Reset did not reach the endpoint");
        Assert.True((await rig.Endpoint.GetStateAsync(clearErrorState: true)).SubsystemResetOccurred);

        output.WriteLine($"peer={rig.Describe}: Format NVM (LBAF {before.FormattedLbaIndex} -> {target}) answered after {mprs} More Processing Required " +
                         $"response(s) under the held tag, Identify Namespace shows block size {after.BlockSize}; bad LBAF -> {err.StatusName}; async event {events[0].Id} enabled; " +
                         $"NVM Subsystem Reset reached the endpoint and Get State reports it{TunStats(rig)}");
    }

    [InteropFact]
    public async Task Silent_endpoint_behind_the_kernel_times_out_then_recovers()
    {
        await using var rig = await MiRig.StartAsync("tun", timeout: TimeSpan.FromSeconds(1));
        rig.Tun!.Silent = true;
        var before = rig.Tun.MessagesIn;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        await Assert.ThrowsAsync<NvmeTimeoutException>(() => rig.Endpoint.PollSubsystemHealthAsync());
        sw.Stop();
        Assert.True(rig.Tun.MessagesIn > before, "the request must have reached the silent endpoint");
        rig.Tun.Silent = false;
        var health = await rig.Endpoint.PollSubsystemHealthAsync();
        Assert.Equal(37, health.CompositeTemperatureCelsius);
        output.WriteLine($"peer={rig.Describe}: silent endpoint -> NvmeTimeoutException after {sw.Elapsed.TotalSeconds:F1}s " +
                         $"(request delivered: {rig.Tun.MessagesIn - before} message(s)), next poll answered");
    }

    [InteropFact]
    public async Task Tag_allocation_ioctls_hold_eight_tags_per_peer_then_refuse()
    {
        MctpNetlink.AddAddress("lo", 0x3A);
        try
        {
            await using var transport = new AfMctpTransport();
            var peer = new MctpEndpointAddress(1, 0x3A);
            var held = new List<IMctpExchange>();
            try
            {
                for (var i = 0; i < 8; i++)
                {
                    var x = await transport.OpenExchangeAsync(peer, MctpMessageTypes.NvmeManagement, CancellationToken.None);
                    held.Add(x);
                    Assert.True(x.HoldsTag, "SIOCMCTPALLOCTAG must give a preallocated tag on 6.1");
                }

                var ninth = await Assert.ThrowsAsync<NvmeConnectionException>(
                    async () => await transport.OpenExchangeAsync(peer, MctpMessageTypes.NvmeManagement, CancellationToken.None));
                await held[0].DisposeAsync();
                held.RemoveAt(0);
                var again = await transport.OpenExchangeAsync(peer, MctpMessageTypes.NvmeManagement, CancellationToken.None);
                held.Add(again);
                Assert.True(again.HoldsTag);
                output.WriteLine($"peer=Linux AF_MCTP tag allocator (lo, EID 0x3A): 8 preallocated tags, 9th refused " +
                                 $"({ninth.Message}), released tag reusable");
            }
            finally
            {
                foreach (var x in held)
                {
                    await x.DisposeAsync();
                }
            }
        }
        finally
        {
            MctpNetlink.RemoveAddress("lo", 0x3A);
        }
    }

    private static string TunStats(MiRig rig) => rig.Tun is null
        ? string.Empty
        : $"; tun saw {rig.Tun.PacketsIn} request packets (max payload {rig.Tun.MaxPayloadIn}) for {rig.Tun.MessagesIn} messages, sent {rig.Tun.PacketsOut} response packets";
}
