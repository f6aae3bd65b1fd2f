using System.Buffers.Binary;
using NvmePS.Engine.Admin;
using NvmePS.Engine.Mctp;
using NvmePS.Engine.Mi;
using NvmePS.Engine.Mi.Simulator;

namespace NvmePS.Engine.Tests.Mi;

/// <summary>The shared Admin client, unchanged, over the NVMe-MI tunnel to the simulator (in-process and demux).</summary>
public sealed class SimulatorAdminTests
{
    public static TheoryData<SimulatorTransportKind> Transports => SimulatorMiCommandTests.Transports;

    private static readonly SimulatorOptions Fast = new() { SlowCommandTime = TimeSpan.FromMilliseconds(150) };

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Identify_and_logs(SimulatorTransportKind kind)
    {
        var (host, ep) = await SimulatorMiCommandTests.StartAsync(kind, Fast);
        await using var h = host;
        await using var e = ep;
        var admin = new NvmeAdminClient(ep.GetAdminTransport(2));

        var id = await admin.IdentifyControllerAsync();
        Assert.Equal("NVMEPS-SIM-0001", id.Sn);
        Assert.Equal("NvmePS Simulated NVMe-MI SSD", id.Mn);
        Assert.Equal("1.0.0", id.Fr);
        Assert.Equal((ushort)2, id.Cntlid);
        Assert.Equal(0x1B36, id.Vid);
        Assert.Equal(3, (id.Frmw >> 1) & 0x7);
        Assert.Equal(825, id.Psd[0].Mp);
        Assert.Equal("nqn.2026-01.org.nvmeps:sim:NVMEPS-SIM-0001", id.Subnqn);

        Assert.Equal(new uint[] { 1 }, await admin.GetActiveNamespaceIdsAsync());
        var ns = await admin.IdentifyNamespaceAsync(1);
        Assert.Equal(host.Subsystem.Options.CapacityBlocks / 2, ns.Nsze);
        Assert.Equal(512, ns.BlockSize);
        var descriptors = await admin.GetNamespaceIdDescriptorsAsync(1);
        Assert.Contains(descriptors, d => d.Nidt == NvmeNamespaceIdType.Nguid);

        var smart = await admin.GetSmartLogAsync();
        Assert.Equal(310, smart.CompositeTemperature);
        Assert.Equal(100, smart.AvailableSpare);
        lock (host.Subsystem.Gate)
        {
            host.Subsystem.InjectedCriticalWarning = (byte)NvmeCriticalWarning.ReadOnly;
        }

        Assert.True((await admin.GetSmartLogAsync()).CriticalWarning.HasFlag(NvmeCriticalWarning.ReadOnly));

        var fw = await admin.GetFirmwareSlotLogAsync();
        Assert.Equal(1, fw.ActiveSlot);
        Assert.Equal("1.0.0", fw.Frs[0]);
        Assert.Equal("0.9.8", fw.Frs[1]);

        // An unknown log page: Invalid Log Page, recorded in the error log.
        var bad = await Assert.ThrowsAsync<NvmeStatusException>(() => admin.GetLogPageAsync(0x42, 512));
        Assert.Equal("Invalid Log Page", bad.StatusName);
        var errors = await admin.GetErrorLogAsync(2);
        Assert.Equal(1UL, errors[0].ErrorCount);
        Assert.Equal("Invalid Log Page", errors[0].Status.GetName());
        Assert.Equal(0UL, errors[1].ErrorCount);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Log_reads_are_chunked_at_4096_with_rae_on_all_but_the_last(SimulatorTransportKind kind)
    {
        var (host, ep) = await SimulatorMiCommandTests.StartAsync(kind, Fast);
        await using var h = host;
        await using var e = ep;
        var admin = new NvmeAdminClient(ep.GetAdminTransport(1));
        lock (host.Subsystem.Gate)
        {
            host.Subsystem.AdminHistory.Clear();
        }

        byte[] log = await admin.GetLogPageAsync(NvmeLogPageId.ErrorInformation, 8196);
        Assert.Equal(8196, log.Length);
        List<(byte Opcode, ushort Controller, uint DataLength, uint DataOffset, uint Cdw10, uint Cdw12)> seen;
        lock (host.Subsystem.Gate)
        {
            seen = host.Subsystem.AdminHistory.ToList();
        }

        Assert.Equal(3, seen.Count);
        Assert.Equal(new uint[] { 0, 4096, 8192 }, seen.Select(x => x.Cdw12).ToArray());   // log page offset
        Assert.Equal(new uint[] { 4096, 4096, 4 }, seen.Select(x => x.DataLength).ToArray()); // MI DLEN
        Assert.Equal(new[] { true, true, false }, seen.Select(x => (x.Cdw10 & 0x8000) != 0).ToArray()); // RAE
        Assert.Equal(new uint[] { 1023, 1023, 0 }, seen.Select(x => x.Cdw10 >> 16).ToArray()); // NUMDL
    }

    [Fact]
    public async Task Chunked_log_requests_are_byte_exact_on_the_wire()
    {
        var clock = new ManualTimeProvider();
        var t = new ScriptedTransport(clock);
        t.Script.Enqueue((TimeSpan.Zero, Responses.Admin(0, 0, 0, new byte[4096])));
        t.Script.Enqueue((TimeSpan.Zero, Responses.Admin(0, 0, 0, new byte[4096])));
        t.Script.Enqueue((TimeSpan.Zero, Responses.Admin(0, 0, 0, new byte[4])));
        await using var ep = new NvmeMiEndpoint(t, new MctpEndpointAddress(1, 9), null, clock);
        await new NvmeAdminClient(ep.GetAdminTransport(1)).GetLogPageAsync(0x01, 8196);
        Assert.Equal(3, t.Sent.Count);
        (uint Dlen, uint Cdw10, uint Cdw12)[] expect = [(4096, 0x03FF8001, 0), (4096, 0x03FF8001, 4096), (4, 0x00000001, 8192)];
        for (int i = 0; i < 3; i++)
        {
            byte[] m = t.Sent[i];
            Assert.Equal(72, m.Length);
            Assert.Equal(0x02, m[4]);
            Assert.Equal(0x01, m[5]); // DLV
            Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(m.AsSpan(28))); // no DOFST: chunking uses the log page offset
            Assert.Equal(expect[i].Dlen, BinaryPrimitives.ReadUInt32LittleEndian(m.AsSpan(32)));
            Assert.Equal(expect[i].Cdw10, BinaryPrimitives.ReadUInt32LittleEndian(m.AsSpan(44)));
            Assert.Equal(expect[i].Cdw12, BinaryPrimitives.ReadUInt32LittleEndian(m.AsSpan(52)));
        }
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Features_and_namespace_management(SimulatorTransportKind kind)
    {
        var (host, ep) = await SimulatorMiCommandTests.StartAsync(kind, Fast);
        await using var h = host;
        await using var e = ep;
        var admin = new NvmeAdminClient(ep.GetAdminTransport(1));

        Assert.Equal(343, (await admin.GetTemperatureThresholdAsync(new NvmeTemperatureThreshold(0))).Tmpth);
        await admin.SetTemperatureThresholdAsync(new NvmeTemperatureThreshold(305));
        Assert.Equal(305, (await admin.GetTemperatureThresholdAsync(new NvmeTemperatureThreshold(0))).Tmpth);
        Assert.True((await admin.GetSmartLogAsync()).CriticalWarning.HasFlag(NvmeCriticalWarning.Temperature));
        await admin.SetVolatileWriteCacheAsync(new NvmeVolatileWriteCache(false));
        Assert.False((await admin.GetVolatileWriteCacheAsync()).Enabled);
        Assert.Equal("Invalid Field in Command", (await Assert.ThrowsAsync<NvmeStatusException>(() => admin.GetFeatureAsync(0x7E))).StatusName);

        uint nsid = await admin.CreateNamespaceAsync(new NvmeIdentifyNamespace { Nsze = 1 << 20, Ncap = 1 << 20, Flbas = 1 });
        Assert.Equal(2u, nsid);
        Assert.Equal(new uint[] { 1 }, await admin.GetActiveNamespaceIdsAsync());
        await admin.AttachNamespaceAsync(nsid, [1]);
        Assert.Equal(new uint[] { 1, 2 }, await admin.GetActiveNamespaceIdsAsync());
        Assert.Equal(4096, (await admin.IdentifyNamespaceAsync(nsid)).BlockSize);
        Assert.Equal(new uint[] { 2 }, await admin.GetChangedNamespaceListAsync());
        Assert.Empty(await admin.GetChangedNamespaceListAsync());
        var twice = await Assert.ThrowsAsync<NvmeStatusException>(() => admin.AttachNamespaceAsync(nsid, [1]));
        Assert.Equal("Namespace Already Attached", twice.StatusName);
        Assert.Equal("Controller List Invalid", (await Assert.ThrowsAsync<NvmeStatusException>(() => admin.AttachNamespaceAsync(nsid, [7]))).StatusName);

        var controllerHealth = await ep.PollControllerHealthAsync();
        Assert.All(controllerHealth, c => Assert.NotEqual(0, c.ControllerStatus & 0x40)); // CSTS NAC

        await admin.DetachNamespaceAsync(nsid, [1]);
        await admin.DeleteNamespaceAsync(nsid);
        Assert.Equal("Invalid Namespace or Format", (await Assert.ThrowsAsync<NvmeStatusException>(() => admin.DeleteNamespaceAsync(nsid))).StatusName);
        Assert.Equal("Namespace Insufficient Capacity", (await Assert.ThrowsAsync<NvmeStatusException>(() =>
            admin.CreateNamespaceAsync(new NvmeIdentifyNamespace { Nsze = host.Subsystem.Options.CapacityBlocks * 8, Ncap = host.Subsystem.Options.CapacityBlocks * 8 }))).StatusName);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Slow_commands_answer_more_processing_required_first(SimulatorTransportKind kind)
    {
        var (host, ep) = await SimulatorMiCommandTests.StartAsync(kind, Fast);
        await using var h = host;
        await using var e = ep;
        var admin = new NvmeAdminClient(ep.GetAdminTransport(1));

        await admin.FormatNvmAsync(1, 1);
        Assert.Equal(1, ep.LastMprCount);
        Assert.Equal(4096, (await admin.IdentifyNamespaceAsync(1)).BlockSize);
        Assert.Equal(0, ep.LastMprCount);
        Assert.Equal("Invalid Format", (await Assert.ThrowsAsync<NvmeStatusException>(() => admin.FormatNvmAsync(1, 9))).StatusName);

        // The drive has no cryptographic erase (SANICAP bit 0 clear).
        Assert.Equal("Invalid Field in Command", (await Assert.ThrowsAsync<NvmeStatusException>(() => admin.SanitizeAsync(NvmeSanitizeAction.CryptoErase))).StatusName);
        await admin.SanitizeAsync(NvmeSanitizeAction.BlockErase);
        Assert.Equal(1, ep.LastMprCount);
        byte[] sanitizeLog = [];
        await SimulatorMiCommandTests.WaitFor(async () =>
        {
            sanitizeLog = await admin.GetLogPageAsync(NvmeLogPageId.SanitizeStatus, 512);
            return (BinaryPrimitives.ReadUInt16LittleEndian(sanitizeLog.AsSpan(2)) & 7) != 2; // not in progress
        });
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(sanitizeLog.AsSpan(2)) & 7); // SSTAT: completed successfully
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32LittleEndian(sanitizeLog.AsSpan(4)) & 7);
    }

    [Fact]
    public async Task Self_test_and_overwrite_sanitize_run_on_the_shared_controller_core()
    {
        var (host, ep) = await SimulatorMiCommandTests.StartAsync(SimulatorTransportKind.InProcess, Fast);
        await using var h = host;
        await using var e = ep;
        var admin = new NvmeAdminClient(ep.GetAdminTransport(2));

        // Device Self-test was Invalid Command Opcode before the simulator ran the target's Admin command set.
        await admin.DeviceSelfTestAsync((byte)NvmeSelfTestCode.Short);
        NvmeSelfTestLog log = new();
        await SimulatorMiCommandTests.WaitFor(async () => (log = await admin.GetSelfTestLogAsync()).CurrentOperation == 0);
        Assert.Equal((NvmeSelfTestResult.CompletedWithoutError, NvmeSelfTestCode.Short), (log.Results[0].Result, log.Results[0].Code));

        // An overwrite of the 64 GiB thin namespace: every byte reads as the pattern and no page is allocated.
        var ns = host.Subsystem.Nvm.GetNamespace(1)!;
        await ns.Storage.WriteAsync(4096, new byte[] { 1, 2, 3, 4 }, CancellationToken.None);
        await admin.SanitizeAsync(NvmeSanitizeAction.Overwrite, overwritePasses: 1, overwritePattern: 0xA1B2C3D4);
        await SimulatorMiCommandTests.WaitFor(async () => (await admin.GetSanitizeStatusAsync()).State == NvmeSanitizeState.Completed);
        byte[] read = new byte[8];
        await ns.Storage.ReadAsync(ns.Storage.Length - 8, read, CancellationToken.None);
        Assert.Equal("D4C3B2A1D4C3B2A1", Convert.ToHexString(read));
        await ns.Storage.ReadAsync(4096, read, CancellationToken.None);
        Assert.Equal("D4C3B2A1D4C3B2A1", Convert.ToHexString(read));
        Assert.Equal(0L, ns.Storage.AllocatedBytes);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Firmware_download_commit_and_activation(SimulatorTransportKind kind)
    {
        var (host, ep) = await SimulatorMiCommandTests.StartAsync(kind, Fast);
        await using var h = host;
        await using var e = ep;
        var admin = new NvmeAdminClient(ep.GetAdminTransport(1));

        byte[] image = new byte[10_000];
        new Random(7).NextBytes(image);
        "NVMEPSFW"u8.CopyTo(image);
        "2.1.0   "u8.CopyTo(image.AsSpan(8));
        var progress = new List<long>();
        await admin.FirmwareImageDownloadAsync(image, progress: new SyncProgress(progress));
        Assert.Equal(new long[] { 4096, 8192, 10_000 }, progress);
        List<(byte Opcode, ushort Controller, uint DataLength, uint DataOffset, uint Cdw10, uint Cdw12)> downloads;
        lock (host.Subsystem.Gate)
        {
            downloads = host.Subsystem.AdminHistory.Where(x => x.Opcode == NvmeAdminOpcode.FirmwareImageDownload).ToList();
        }

        Assert.Equal(new uint[] { 4096, 4096, 1808 }, downloads.Select(x => x.DataLength).ToArray());

        await admin.FirmwareCommitAsync(2, NvmeFirmwareCommitAction.ReplaceAndActivateImmediately);
        Assert.Equal(1, ep.LastMprCount);
        Assert.Equal("2.1.0", (await admin.IdentifyControllerAsync()).Fr);
        var slots = await admin.GetFirmwareSlotLogAsync();
        Assert.Equal(2, slots.ActiveSlot);
        Assert.Equal("2.1.0", slots.Frs[1]);
        var health = await ep.PollSubsystemHealthAsync();
        Assert.True(health.CompositeControllerStatus.HasFlag(CompositeControllerStatus.FirmwareActivated));

        // Activate slot 1 at the next reset, then reset through MI.
        await admin.FirmwareCommitAsync(1, NvmeFirmwareCommitAction.Activate);
        Assert.Equal(1, (await admin.GetFirmwareSlotLogAsync()).NextResetSlot);
        await ep.ResetSubsystemAsync();
        await SimulatorMiCommandTests.WaitFor(() => host.Subsystem.ResetCount == 1);
        Assert.Equal("1.0.0", (await admin.IdentifyControllerAsync()).Fr);

        Assert.Equal("Invalid Firmware Slot", (await Assert.ThrowsAsync<NvmeStatusException>(() => admin.FirmwareCommitAsync(5, NvmeFirmwareCommitAction.Activate))).StatusName);
        Assert.Equal("Invalid Firmware Image", (await Assert.ThrowsAsync<NvmeStatusException>(() => admin.FirmwareCommitAsync(3, NvmeFirmwareCommitAction.ReplaceAndActivate))).StatusName);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Security_send_and_receive(SimulatorTransportKind kind)
    {
        var (host, ep) = await SimulatorMiCommandTests.StartAsync(kind, Fast);
        await using var h = host;
        await using var e = ep;
        var admin = new NvmeAdminClient(ep.GetAdminTransport(1));

        byte[] list = new byte[16];
        int n = await admin.SecurityReceiveAsync(0x00, 0, list);
        // The reply carries the AL (DLEN) bytes asked for: the 10-byte list, then zeros (finding MI-01).
        Assert.Equal(16, n);
        Assert.Equal("0000000000000002" + "00EA" + "000000000000", Convert.ToHexString(list, 0, 16));

        byte[] payload = [1, 2, 3, 4, 5, 6, 7, 8];
        await admin.SecuritySendAsync(0xEA, 0x0001, payload);
        byte[] back = new byte[8];
        Assert.Equal(8, await admin.SecurityReceiveAsync(0xEA, 0x0001, back));
        Assert.Equal(payload, back);
        await Assert.ThrowsAsync<NvmeStatusException>(() => admin.SecuritySendAsync(0x01, 0, payload));
    }

    [Fact]
    public async Task Abort_cancels_a_command_in_progress()
    {
        var (host, ep) = await SimulatorMiCommandTests.StartAsync(SimulatorTransportKind.InProcess, new SimulatorOptions { SlowCommandTime = TimeSpan.FromSeconds(30) });
        await using var h = host;
        await using var e = ep;
        var admin = new NvmeAdminClient(ep.GetAdminTransport(1));
        using var cts = new CancellationTokenSource();
        var format = admin.FormatNvmAsync(1, 1, cancellationToken: cts.Token);
        await SimulatorMiCommandTests.WaitFor(() => ep.LastMprCount == 1);
        Assert.Equal(2, (await ep.GetStateAsync()).SlotState); // Process

        // A second requester on the busy slot is discarded (CMNICS); slot 1 is independent.
        await using (var other = await host.ConnectAsync(new NvmeMiEndpointOptions { Timeout = TimeSpan.FromMilliseconds(300) }))
        {
            await Assert.ThrowsAsync<NvmeTimeoutException>(() => other.PollSubsystemHealthAsync());
        }

        await using (var slot1 = await host.ConnectAsync(new NvmeMiEndpointOptions { CommandSlot = 1, Timeout = TimeSpan.FromSeconds(10) }))
        {
            Assert.True((await slot1.PollSubsystemHealthAsync()).DriveFunctional);
            Assert.Equal(0, (await slot1.GetStateAsync()).SlotState);
        }

        var busy = await ep.GetStateAsync(clearErrorState: true);
        Assert.True(busy.CommandToNonIdleSlot);
        Assert.Equal(2, await ep.AbortAsync()); // aborted after partial processing
        Assert.Equal(0, (await ep.GetStateAsync()).SlotState);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => format);
        Assert.Equal(512, host.Subsystem.Nvm.GetNamespace(1)!.BlockSize); // never completed
    }

    [Fact]
    public async Task Wrong_controller_is_an_mi_invalid_parameter()
    {
        var (host, ep) = await SimulatorMiCommandTests.StartAsync(SimulatorTransportKind.InProcess, Fast);
        await using var h = host;
        await using var e = ep;
        var ex = await Assert.ThrowsAsync<NvmeMiStatusException>(() => new NvmeAdminClient(ep.GetAdminTransport(9)).IdentifyControllerAsync());
        Assert.Equal(NvmeMiStatus.InvalidParameter, ex.Status);
        Assert.Equal((ushort)6, ex.ParameterByte);
    }

    private sealed class SyncProgress(List<long> values) : IProgress<long>
    {
        public void Report(long value) => values.Add(value);
    }
}

public sealed class SimulatorRobustnessTests
{
    [Fact]
    public async Task Probe_applies_the_known_inter_command_quirk_with_a_partial_identify()
    {
        var (host, ep) = await SimulatorMiCommandTests.StartAsync(SimulatorTransportKind.InProcess, new SimulatorOptions { PciVendorId = 0x144D, ModelNumber = "MZUL2512HCJQ-00A07" });
        await using var h = host;
        await using var e = ep;
        Assert.Equal(TimeSpan.Zero, ep.EffectiveInterCommandDelay);
        string? applied = await ep.ProbeQuirksAsync();
        Assert.Contains("1.2 ms", applied, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromMilliseconds(1.2), ep.EffectiveInterCommandDelay);
        lock (host.Subsystem.Gate)
        {
            var identify = host.Subsystem.AdminHistory.Single(x => x.Opcode == NvmeAdminOpcode.Identify);
            Assert.Equal(72u, identify.DataLength);
            Assert.Equal((ushort)1, identify.Controller);
        }

        var (host2, ep2) = await SimulatorMiCommandTests.StartAsync(SimulatorTransportKind.InProcess);
        await using var h2 = host2;
        await using var e2 = ep2;
        Assert.Null(await ep2.ProbeQuirksAsync());
    }

    [Fact]
    public async Task A_misbehaving_demux_client_does_not_disturb_another()
    {
        var (host, ep) = await SimulatorMiCommandTests.StartAsync(SimulatorTransportKind.Demux);
        await using var h = host;
        await using var e = ep;
        using var bad = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Seqpacket, System.Net.Sockets.ProtocolType.Unspecified);
        await bad.ConnectAsync(MctpDemuxProtocol.EndPoint(host.Options.DemuxSocketName));
        await bad.SendAsync(new byte[] { 0x84 });
        var rng = new Random(99);
        for (int i = 0; i < 50; i++)
        {
            byte[] junk = new byte[rng.Next(1, 300)];
            rng.NextBytes(junk);
            junk[0] = host.Options.Eid;
            await bad.SendAsync(junk);
        }

        await bad.SendAsync(new byte[MctpDemuxProtocol.MaxPacket + 100]); // oversized: the daemon drops this client
        Assert.Equal(2, (await ep.ReadSubsystemInformationAsync()).PortCount);
        Assert.Equal(new ushort[] { 1, 2 }, await ep.ReadControllerListAsync());
        await SimulatorMiCommandTests.WaitFor(() => host.Responder.DroppedMessages >= 40);
    }
}

public sealed class SimulatorAdminEdgeTests
{
    [Fact]
    public async Task Partial_identify_lists_and_inactive_namespaces()
    {
        var (host, ep) = await SimulatorMiCommandTests.StartAsync(SimulatorTransportKind.InProcess);
        await using var h = host;
        await using var e = ep;
        var transport = ep.GetAdminTransport(1);
        var admin = new NvmeAdminClient(transport);

        // DOFST/DLEN select a window of the 4096-byte structure: the serial number lives at bytes 4..23.
        byte[] window = new byte[20];
        var r = await transport.ExecuteAdminAsync(NvmeAdminCommands.Identify(NvmeIdentifyCns.Controller), default, window, 4, null, CancellationToken.None);
        Assert.Equal(20, r.BytesTransferred);
        Assert.Equal("NVMEPS-SIM-0001     ", System.Text.Encoding.ASCII.GetString(window));

        byte[] ctrlList = await admin.IdentifyAsync(NvmeIdentifyCns.ControllerList);
        Assert.Equal("0200" + "0100" + "0200", Convert.ToHexString(ctrlList, 0, 6));
        byte[] attached = await admin.IdentifyAsync(NvmeIdentifyCns.NamespaceAttachedControllerList, 1, 2);
        Assert.Equal("0100" + "0200", Convert.ToHexString(attached, 0, 4));

        uint nsid = await admin.CreateNamespaceAsync(new NvmeIdentifyNamespace { Nsze = 4096, Ncap = 4096 });
        Assert.True((await admin.IdentifyNamespaceAsync(nsid)).Nsze == 0); // allocated but not attached: inactive, zeros
        byte[] allocated = await admin.IdentifyAsync(NvmeIdentifyCns.AllocatedNamespace, nsid);
        Assert.Equal(4096UL, BitConverter.ToUInt64(allocated, 0));
        Assert.Equal(new uint[] { 1 }, await admin.GetActiveNamespaceIdsAsync());
        byte[] allocatedList = await admin.IdentifyAsync(NvmeIdentifyCns.AllocatedNamespaceIdList);
        Assert.Equal(new uint[] { 1, nsid }, NvmeNamespaceList.Read(allocatedList));
        Assert.Equal("Invalid Field in Command", (await Assert.ThrowsAsync<NvmeStatusException>(() => admin.IdentifyAsync(0x55))).StatusName);
        Assert.Equal("Invalid Namespace or Format", (await Assert.ThrowsAsync<NvmeStatusException>(() => admin.IdentifyNamespaceAsync(77))).StatusName);
    }

    [Fact]
    public async Task Log_page_offsets_and_unsupported_commands()
    {
        var (host, ep) = await SimulatorMiCommandTests.StartAsync(SimulatorTransportKind.InProcess);
        await using var h = host;
        await using var e = ep;
        var admin = new NvmeAdminClient(ep.GetAdminTransport(1));

        byte[] whole = await admin.GetLogPageAsync(NvmeLogPageId.SmartHealth, 512);
        byte[] tail = await admin.GetLogPageAsync(NvmeLogPageId.SmartHealth, 256, offset: 256);
        Assert.Equal(whole.AsSpan(256, 32).ToArray(), tail.AsSpan(0, 32).ToArray()); // offset honoured (counters beyond move with time)
        Assert.Equal("Invalid Field in Command", (await Assert.ThrowsAsync<NvmeStatusException>(() => admin.GetLogPageAsync(NvmeLogPageId.SmartHealth, 4, offset: 4096))).StatusName);
        Assert.Equal("Invalid Namespace or Format", (await Assert.ThrowsAsync<NvmeStatusException>(() => admin.GetSmartLogAsync(nsid: 9))).StatusName);
        // Keep Alive means nothing over MI: Invalid Command Opcode from the controller.
        Assert.Equal("Invalid Command Opcode", (await Assert.ThrowsAsync<NvmeStatusException>(() => admin.KeepAliveAsync())).StatusName);
        // Firmware download chunks must not overlap.
        byte[] chunk = new byte[8];
        await admin.FirmwareImageDownloadAsync(chunk, 0);
        Assert.Equal("Overlapping Range", (await Assert.ThrowsAsync<NvmeStatusException>(() => admin.FirmwareImageDownloadAsync(chunk, 4))).StatusName);
        var errors = await admin.GetErrorLogAsync(4);
        // Three failures above, newest first: Keep Alive never reached the controller (the endpoint refused it).
        Assert.Equal(new ulong[] { 3, 2, 1, 0 }, errors.Select(x => x.ErrorCount).ToArray());
        Assert.Equal("Overlapping Range", errors[0].Status.GetName());
    }
}
