using System.Diagnostics;
using System.Text.Json;
using NvmePS.Engine.Mctp;
using NvmePS.Engine.Mi;
using NvmePS.Engine.Mi.Simulator;
using NvmePS.Engine.Tests.DBus;
using NvmePS.Interop.Tests.Infrastructure;

namespace NvmePS.Interop.Tests.Mi;

/// <summary>
/// The MI cmdlets in real pwsh (7.6.10, the project's tool) inside the VM, against simulated drives on the kernel's
/// AF_MCTP: one bound to a local EID on lo, one behind a TUN link (MTU 68, so the kernel fragments). A real
/// dbus-daemon carries an mctpd stand-in that publishes both, so discovery is Find-NvmeMiEndpoint as on a BMC. The
/// event crosses the kernel for real: the drive behind the TUN sends its AEM as an MCTP request, the kernel routes it
/// to the socket Wait-NvmeMiEvent bound, and the cmdlet acknowledges it over AF_MCTP.
/// </summary>
[Trait("Category", "Interop")]
public sealed class MiCmdletsInVmTests(ITestOutputHelper output)
{
    private const byte LoEid = 0x1E;

    [InteropFact]
    public async Task Discovery_health_controllers_SMART_and_an_event_through_the_cmdlets_over_AF_MCTP()
    {
        string manifest = GuestPwsh.ModuleManifest;
        Assert.True(File.Exists(manifest), $"{manifest} is missing: the unit tier builds the module before the VM tier");

        // The drive on lo: the simulator bound to its own EID only, so the kernel gives it nothing addressed elsewhere.
        MctpNetlink.AddAddress("lo", LoEid);
        using var removeAddress = new Cleanup(() => MctpNetlink.RemoveAddress("lo", LoEid));
        await using var lo = await NvmeMiSimulatorHost.StartAsync(new SimulatorHostOptions
        {
            Transport = SimulatorTransportKind.AfMctp,
            Network = 1,
            Eid = LoEid,
            AfMctpLocalEid = LoEid,
        });
        lo.Subsystem.TemperatureOverrideKelvin = 310;

        // The drive behind the TUN, which sends its AEMs as MCTP requests through the TUN.
        var tunSubsystem = new SimulatedSubsystem(new SimulatorOptions { SerialNumber = "NVMEPS-TUN-0001" }) { TemperatureOverrideKelvin = 308 };
        var tunResponder = new NvmeMiResponder(tunSubsystem);
        await using var tun = await MctpTunEndpoint.CreateAsync("mctpmi1", MiRig.TunLocalEid, MiRig.TunRemoteEid, 68,
            (src, msg, respond, ct) => tunResponder.HandleAsync(new MctpEndpointAddress(1, src), msg, respond, ct));
        tunResponder.UnsolicitedSender = (destination, message, ct) => tun.SendRequestAsync(destination.Eid, message, ct);

        using var bus = PrivateBus.Start();
        using var mctpd = new FakeMctpd();
        mctpd.AddNetwork(1, MiRig.TunLocalEid);
        mctpd.AddEndpoint(1, LoEid, [0, 4], Guid.Parse("6a1f9d3e-0000-4000-8000-00000000001e"));
        mctpd.AddEndpoint(1, MiRig.TunRemoteEid, [0, 4], Guid.Parse("6a1f9d3e-0000-4000-8000-000000000021"));
        mctpd.AddEndpoint(1, 0x30, [0, 1]); // PLDM only: not listed
        await mctpd.StartAsync(bus.Address);

        string script = Path.Combine(Path.GetTempPath(), $"nvmeps-mi-{Guid.NewGuid():N}.ps1");
        string result = Path.ChangeExtension(script, ".json");
        await File.WriteAllTextAsync(script, $$"""
            $ErrorActionPreference = 'Stop'
            Import-Module '{{manifest}}'
            $found = Find-NvmeMiEndpoint -BusAddress '{{bus.Address}}'
            $r = [ordered]@{
                Found = @($found | ForEach-Object { "$($_.Network):$($_.Eid):$($_.Uuid):$($_.Connectivity)" })
                Health = @($found | Get-NvmeMiHealth | ForEach-Object { "$($_.Eid):$($_.TemperatureCelsius):$($_.DriveFunctional)" })
                Controllers = @($found | Get-NvmeMiController | ForEach-Object { "$($_.Eid):$($_.ControllerId)" })
                Serial = @($found | Get-NvmeMiController | Where-Object ControllerId -eq 1 | Get-NvmeIdentify | ForEach-Object SerialNumber)
                Smart = @($found | Get-NvmeMiController | Where-Object ControllerId -eq 1 | Get-NvmeLog -LogId Smart | ForEach-Object { "$($_.TemperatureCelsius):$($_.CriticalWarning)" })
            }
            $e = @($found | Where-Object Eid -eq {{MiRig.TunRemoteEid}} | Wait-NvmeMiEvent -Count 1 -TimeoutSec 60 -WarningVariable warned -Verbose 4>&1 | Tee-Object -Variable all | Where-Object { $_ -is [NvmePS.NvmeMiAsyncEvent] })
            $r.Log = @($all | Where-Object { $_ -isnot [NvmePS.NvmeMiAsyncEvent] } | ForEach-Object { "$_" }) + @($warned | ForEach-Object { "WARNING: $_" })
            $r.Event = @($e | ForEach-Object { "$($_.Eid):$($_.EventId):$($_.SpecificInfoHex):$($_.SimulatorEvent)" })
            $r | ConvertTo-Json | Set-Content '{{result}}'
            """);

        var clock = Stopwatch.StartNew();
        using var pwsh = GuestPwsh.Start(script);
        var stdout = pwsh.StandardOutput.ReadToEndAsync();
        var stderr = pwsh.StandardError.ReadToEndAsync();

        // The cmdlet enables the events (the drive records this host as their destination); then the drive changes.
        // A pool thread watches, so the change follows the enable at once whatever the test's own context is doing.
        var watcher = Task.Run(async () =>
        {
            var enabledBy = DateTime.UtcNow.AddMinutes(4);
            while (tunResponder.AsyncEventDestination is null && !pwsh.HasExited && DateTime.UtcNow < enabledBy)
            {
                await Task.Delay(20).ConfigureAwait(false);
            }

            if (tunResponder.AsyncEventDestination is null)
            {
                return (Enabled: false, After: clock.Elapsed, State: tunResponder.AsyncEventState);
            }

            var after = clock.Elapsed;
            string state = tunResponder.AsyncEventState;
            lock (tunSubsystem.Gate)
            {
                tunSubsystem.InjectedCriticalWarning = 0x08; // media read-only
            }

            return (Enabled: true, After: after, State: state);
        });

        using (var bound = new CancellationTokenSource(TimeSpan.FromMinutes(3)))
        {
            await pwsh.WaitForExitAsync(bound.Token);
        }

        var (enabled, enabledAfter, stateAtEnable) = await watcher;
        Assert.True(enabled, $"Wait-NvmeMiEvent never enabled events:\n{await stderr}\n{await stdout}");
        Assert.True(pwsh.ExitCode == 0, $"pwsh exited {pwsh.ExitCode}:\n{await stderr}\n{await stdout}");
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(result));
        string[] Get(string name) => json.RootElement.GetProperty(name).EnumerateArray().Select(x => x.GetString()!).ToArray();

        Assert.Equal(new[] { $"1:{LoEid}:6a1f9d3e-0000-4000-8000-00000000001e:Available", $"1:{MiRig.TunRemoteEid}:6a1f9d3e-0000-4000-8000-000000000021:Available" }, Get("Found"));
        Assert.Equal(new[] { $"{LoEid}:37:True", $"{MiRig.TunRemoteEid}:35:True" }, Get("Health"));
        Assert.Equal(new[] { $"{LoEid}:1", $"{LoEid}:2", $"{MiRig.TunRemoteEid}:1", $"{MiRig.TunRemoteEid}:2" }, Get("Controllers"));
        Assert.Equal(new[] { "NVMEPS-SIM-0001", "NVMEPS-TUN-0001" }, Get("Serial"));
        Assert.Equal(new[] { "37:None", "35:None" }, Get("Smart"));
        Assert.True(Get("Event").SequenceEqual(new[] { $"{MiRig.TunRemoteEid}:1:08:" }),
            $"event: [{string.Join(", ", Get("Event"))}]; AEMs sent {tunResponder.AsyncEventMessagesSent}, acknowledged {tunResponder.AsyncEventsAcknowledged}, polls {tunResponder.AsyncEventPolls}; " +
            $"state at enable: {stateAtEnable}; " +
            $"thread pool {ThreadPool.ThreadCount} threads, {ThreadPool.PendingWorkItemCount} pending; warning now 0x{tunSubsystem.ComputeSmart().CriticalWarning:X2}; " +
            $"TUN packets in/out {tun.PacketsIn}/{tun.PacketsOut}, dropped {tun.DroppedPackets}; cmdlet log: {string.Join(" | ", Get("Log"))}");
        Assert.True(tunResponder.AsyncEventsAcknowledged >= 1, "the AEM was not acknowledged over AF_MCTP");
        Assert.Null(tunResponder.AsyncEventDestination); // the cmdlet restored the enables

        output.WriteLine($"pwsh 7.6.10 in the VM: Find-NvmeMiEndpoint over a real dbus-daemon found EIDs {LoEid} (lo) and {MiRig.TunRemoteEid} (TUN); " +
                         $"health, controllers, Identify and SMART over AF_MCTP; events enabled after {enabledAfter.TotalSeconds:0.0} s, " +
                         $"the AEM crossed the kernel and was acknowledged ({tunResponder.AsyncEventMessagesSent} AEM(s) sent); whole run {clock.Elapsed.TotalSeconds:0.0} s; " +
                         $"TUN packets in/out {tun.PacketsIn}/{tun.PacketsOut}");
        File.Delete(script);
        File.Delete(result);
    }

    private sealed class Cleanup(Action action) : IDisposable
    {
        public void Dispose() => action();
    }
}
