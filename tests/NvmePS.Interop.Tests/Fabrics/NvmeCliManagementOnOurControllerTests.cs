using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using NvmePS.Engine.Admin;
using NvmePS.Engine.Fabrics.Controller;
using NvmePS.Engine.Fabrics.Controller.Tcp;
using NvmePS.Interop.Tests.Infrastructure;

namespace NvmePS.Interop.Tests.Fabrics;

/// <summary>
/// Debian's nvme-cli, through the Linux kernel's NVMe/TCP host, as a second client of our controller's management
/// commands: create-ns, attach-ns, format, fw-download/fw-commit, device-self-test, sanitize, detach-ns, delete-ns.
/// Oracles: the kernel's view (block devices, their sizes and logical block sizes in sysfs), nvme-cli's id-ctrl, the
/// data read back through the block device, and our target's own state (it runs in this process). Then the same
/// commands from our cmdlets in real pwsh over the kernel controller's passthrough ioctls, checked the same way.
/// </summary>
[Trait("Category", "Interop")]
public sealed class NvmeCliManagementOnOurControllerTests(ITestOutputHelper output)
{
    private const string Nqn = "nqn.2014-08.org.nvmexpress:nvmeps-managed";
    private const int Port = 4474;

    private static async Task<string> Cli(params string[] args)
    {
        var r = await Guest.RunAsync("nvme", args, TimeSpan.FromMinutes(2));
        Assert.True(r.ExitCode == 0, $"nvme {string.Join(' ', args)}: {r}");
        return r.StdOut + r.StdErr;
    }

    private static long SysLong(string dev, string attr) =>
        long.Parse(File.ReadAllText($"/sys/block/{Path.GetFileName(dev)}/{attr}").Trim(), CultureInfo.InvariantCulture);

    private static async Task CmdletsAgreeWithNvmeCliAsync(string ctrl, string controllerName)
    {
        string script = Path.Combine(Path.GetTempPath(), $"nvmeps-mgmt-{Environment.ProcessId}.ps1");
        await File.WriteAllTextAsync(script, $$"""
            $ErrorActionPreference = 'Stop'
            Import-Module '{{GuestPwsh.ModuleManifest}}'
            $c = Connect-NvmfController -TransportAddress 127.0.0.1 -ServiceId {{Port}} -SubsystemNqn '{{Nqn}}'
            [ordered]@{
                SelfTest = @(Get-NvmeSelfTest $c)[0] | Select-Object Code, Status, NamespaceId
                Firmware = Get-NvmeLog $c FirmwareSlot | Select-Object ActiveSlot, NextResetSlot, Revisions
                Sanitize = Get-NvmeSanitizeStatus $c | Select-Object State, LastAction, OverwritePassesCompleted, GlobalDataErased
            } | ConvertTo-Json -Depth 4
            $c | Disconnect-NvmfController
            """);
        var (code, stdout, stderr) = await GuestPwsh.RunAsync(script, TimeSpan.FromMinutes(3));
        Assert.True(code == 0, $"pwsh exit {code}\n{stdout}\n{stderr}");
        using var ours = JsonDocument.Parse(stdout);
        using var st = JsonDocument.Parse(await Cli("self-test-log", ctrl, "-o", "json"));
        using var fw = JsonDocument.Parse(await Cli("fw-log", ctrl, "-o", "json"));
        using var sl = JsonDocument.Parse(await Cli("sanitize-log", ctrl, "-o", "json"));

        var test = ours.RootElement.GetProperty("SelfTest");
        var report = st.RootElement.GetProperty("List of Valid Reports")[0];
        Assert.Equal(((NvmeSelfTestResult)report.GetProperty("Self test result").GetInt32()).ToString(), test.GetProperty("Status").GetString());
        Assert.Equal(((NvmeSelfTestCode)report.GetProperty("Self test code").GetInt32()).ToString(), test.GetProperty("Code").GetString());
        Assert.Equal(report.GetProperty("Namespace Identifier").GetInt64(), test.GetProperty("NamespaceId").GetInt64());

        var slots = ours.RootElement.GetProperty("Firmware");
        var f = fw.RootElement.GetProperty(controllerName);
        int afi = f.GetProperty("Active Firmware Slot (afi)").GetInt32();
        Assert.Equal((afi & 7, afi >> 4), (slots.GetProperty("ActiveSlot").GetInt32(), slots.GetProperty("NextResetSlot").GetInt32()));
        var revisions = slots.GetProperty("Revisions").EnumerateArray().Select(r => r.GetString()).ToArray();
        Assert.Contains("(" + revisions[0], f.GetProperty("Firmware Rev Slot 1").GetString(), StringComparison.Ordinal);
        Assert.Contains("(" + revisions[1], f.GetProperty("Firmware Rev Slot 2").GetString(), StringComparison.Ordinal);

        var sanitize = ours.RootElement.GetProperty("Sanitize");
        var j = sl.RootElement.GetProperty(controllerName);
        Assert.StartsWith("(1)", j.GetProperty("sstat").GetProperty("status").GetString(), StringComparison.Ordinal);
        Assert.Equal("Completed", sanitize.GetProperty("State").GetString());
        Assert.Equal(j.GetProperty("sstat").GetProperty("no_cmplted_passes").GetInt32(), sanitize.GetProperty("OverwritePassesCompleted").GetInt32());
        Assert.Equal(j.GetProperty("sstat").GetProperty("global_erased").GetInt32() == 1, sanitize.GetProperty("GlobalDataErased").GetBoolean());
        Assert.Equal(((NvmeSanitizeAction)(j.GetProperty("cdw10_info").GetInt64() & 7)).ToString(), sanitize.GetProperty("LastAction").GetString());
        File.Delete(script);
    }

    [InteropFact]
    public async Task Nvme_cli_manages_namespaces_firmware_self_test_and_sanitize_on_our_controller()
    {
        var mark = await Guest.KernelLogMark.NowAsync();
        using var target = new NvmeTarget(new NvmeTargetOptions
        {
            ModelNumber = "NvmePS interop target",
            SelfTestShortTime = TimeSpan.FromMilliseconds(300),
            SelfTestExtendedTime = TimeSpan.FromMilliseconds(600),
            SanitizeTime = TimeSpan.FromMilliseconds(300),
        });
        var sub = target.AddSubsystem(Nqn, serialNumber: "NVMEPSMGMT", allowAnyHost: true);
        sub.NamespaceCapacity = 64L << 20;
        await using var tcp = new NvmeTcpTarget(target);
        await tcp.ListenAsync(new IPEndPoint(IPAddress.Loopback, Port));
        var log = new StringBuilder();

        using var kh = KernelNvmeHost.Connect(Port, Nqn);
        string ctrl = "/dev/" + kh.Controller;
        Assert.True(await Guest.WaitUntilAsync(() => File.Exists(ctrl), TimeSpan.FromSeconds(10)), $"{ctrl} did not appear");
        using (var id = JsonDocument.Parse(await Cli("id-ctrl", ctrl, "-o", "json")))
        {
            int oacs = id.RootElement.GetProperty("oacs").GetInt32();
            Assert.Equal(0x1E, oacs & 0x1E); // format, firmware, namespace management, self-test
            Assert.Equal("0.1.0", id.RootElement.GetProperty("fr").GetString()!.Trim());
            log.Append(CultureInfo.InvariantCulture, $"id-ctrl oacs {oacs:X}h; ");
        }

        // create-ns and attach-ns: the kernel rescans on our Namespace Attribute Changed event and makes a block device.
        await Cli("create-ns", ctrl, "--nsze=16384", "--ncap=16384", "--flbas=0", "--dps=0", "--nmic=1");
        var ns = sub.GetNamespace(1);
        Assert.NotNull(ns);
        Assert.Equal(16384L * 512, ns.PoolBytes);
        Assert.False(ns.IsAttachedTo(KernelNvmeHost.HostNqn));
        await Cli("attach-ns", ctrl, "--namespace-id=1", $"--controllers={kh.Attr("cntlid")}");
        await Cli("ns-rescan", ctrl);
        string dev = await kh.WaitForBlockDeviceAsync(1, TimeSpan.FromSeconds(30));
        Assert.Equal(16384, SysLong(dev, "size"));
        Assert.Equal(512, SysLong(dev, "queue/logical_block_size"));
        log.Append(CultureInfo.InvariantCulture, $"create-ns + attach-ns: {dev} 16384 sectors; ");

        // Data in, then format to 4096-byte blocks with user-data erase: the kernel sees the new block size, the data is gone.
        var pattern = Path.GetTempFileName();
        await File.WriteAllBytesAsync(pattern, Enumerable.Range(0, 1 << 20).Select(i => (byte)(i * 13 + 1)).ToArray());
        await Guest.RunCheckedAsync("dd", $"if={pattern}", $"of={dev}", "bs=1M", "count=1", "oflag=direct", "conv=fsync", "status=none");
        byte[] media = new byte[1 << 20];
        await ns.Storage.ReadAsync(0, media, CancellationToken.None);
        Assert.Equal(await File.ReadAllBytesAsync(pattern), media);
        await Cli("format", ctrl, "--namespace-id=1", "--lbaf=1", "--ses=1", "--force");
        Assert.True(await Guest.WaitUntilAsync(() => File.Exists(dev) && SysLong(dev, "queue/logical_block_size") == 4096, TimeSpan.FromSeconds(30)),
            "the kernel did not see the 4096-byte format");
        Assert.Equal(4096, ns.BlockSize);
        Assert.Equal(16384, SysLong(dev, "size"));
        var back = Path.GetTempFileName();
        await Guest.RunCheckedAsync("dd", $"if={dev}", $"of={back}", "bs=1M", "count=1", "iflag=direct", "status=none");
        Assert.Equal(new byte[1 << 20], await File.ReadAllBytesAsync(back));
        log.Append("format --lbaf=1 --ses=1: logical_block_size 4096, 1 MiB read back as zeroes; ");

        // Firmware: download, commit to slot 2 for the next reset, reset the controller, and id-ctrl reports it.
        var image = new byte[12288];
        Encoding.ASCII.GetBytes("NVMEPSFW2.0.0   ").CopyTo(image, 0);
        var fw = Path.GetTempFileName();
        await File.WriteAllBytesAsync(fw, image);
        await Cli("fw-download", ctrl, $"--fw={fw}");
        var commit = await Guest.RunAsync("nvme", ["fw-commit", ctrl, "--slot=2", "--action=1"]);
        Assert.True(commit.ExitCode == 0, commit.ToString());
        var slots = sub.Maintenance.FirmwareSlotLog();
        Assert.Equal((1, 2, "2.0.0"), (slots.ActiveSlot, slots.NextResetSlot, slots.Frs[1]));
        await Cli("reset", ctrl);
        Assert.True(await Guest.WaitUntilAsync(() => kh.Attr("state") == "live", TimeSpan.FromSeconds(30)), "the controller did not come back after reset");
        using (var id = JsonDocument.Parse(await Cli("id-ctrl", ctrl, "-o", "json")))
        {
            Assert.Equal("2.0.0", id.RootElement.GetProperty("fr").GetString()!.Trim());
        }

        Assert.Equal(2, sub.Maintenance.FirmwareSlotLog().ActiveSlot);
        log.Append("fw-download + fw-commit slot 2 action 1 + reset: id-ctrl fr 2.0.0; ");

        // Device self-test of the namespace, to completion; the result is in our log.
        await Cli("device-self-test", ctrl, "--namespace-id=1", "--self-test-code=1");
        Assert.True(await Guest.WaitUntilAsync(() => sub.Maintenance.SelfTestLog().CurrentOperation == NvmeSelfTestCode.None, TimeSpan.FromSeconds(30)));
        var result = sub.Maintenance.SelfTestLog().Results[0];
        Assert.Equal((NvmeSelfTestResult.CompletedWithoutError, NvmeSelfTestCode.Short, 1u), (result.Result, result.Code, result.Nsid));
        using (var st = JsonDocument.Parse(await Cli("self-test-log", ctrl, "-o", "json")))
        {
            Assert.Equal(0, st.RootElement.GetProperty("Current Device Self-Test Operation").GetInt32());
            var report = st.RootElement.GetProperty("List of Valid Reports")[0];
            Assert.Equal((int)result.Result, report.GetProperty("Self test result").GetInt32());
            Assert.Equal((int)result.Code, report.GetProperty("Self test code").GetInt32());
            Assert.Equal((int)result.Nsid, report.GetProperty("Namespace Identifier").GetInt32());
            Assert.Equal(result.ValidDiagnostics, report.GetProperty("Valid Diagnostic Information").GetInt32());
        }

        using (var fwLog = JsonDocument.Parse(await Cli("fw-log", ctrl, "-o", "json")))
        {
            var f = fwLog.RootElement.GetProperty(kh.Controller);
            var ours = sub.Maintenance.FirmwareSlotLog();
            Assert.Equal(ours.Afi, f.GetProperty("Active Firmware Slot (afi)").GetInt32());
            Assert.Contains("(" + ours.Frs[0], f.GetProperty("Firmware Rev Slot 1").GetString(), StringComparison.Ordinal);
            Assert.Contains("(" + ours.Frs[1], f.GetProperty("Firmware Rev Slot 2").GetString(), StringComparison.Ordinal);
        }

        log.Append("self-test-log and fw-log JSON equal our logs; ");
        log.Append("device-self-test short: completed without error; ");

        // Detach (the block device goes), then sanitize the subsystem by overwrite with no block device in use.
        await Cli("detach-ns", ctrl, "--namespace-id=1", $"--controllers={kh.Attr("cntlid")}");
        await Cli("ns-rescan", ctrl);
        Assert.True(await Guest.WaitUntilAsync(() => !File.Exists(dev), TimeSpan.FromSeconds(30)), $"{dev} still present after detach-ns");
        await ns.Storage.WriteAsync(8192, Enumerable.Repeat((byte)0x11, 4096).ToArray(), CancellationToken.None);
        await Cli("sanitize", ctrl, "--sanact=3", "--ovrpat=0xC3C3C3C3", "--owpass=1");
        Assert.True(await Guest.WaitUntilAsync(() => !sub.Maintenance.SanitizeInProgress, TimeSpan.FromSeconds(30)));
        Assert.Equal(NvmeSanitizeState.Completed, sub.Maintenance.SanitizeLog().State);
        byte[] erased = new byte[4096];
        await ns.Storage.ReadAsync(8192, erased, CancellationToken.None);
        Assert.Equal(Enumerable.Repeat((byte)0xC3, 4096).ToArray(), erased);
        using (var sl = JsonDocument.Parse(await Cli("sanitize-log", ctrl, "-o", "json")))
        {
            var j = sl.RootElement.GetProperty(kh.Controller);
            var ours = sub.Maintenance.SanitizeLog();
            Assert.Equal(ours.Sprog, j.GetProperty("sprog").GetInt32());
            Assert.Equal(1, j.GetProperty("sstat").GetProperty("global_erased").GetInt32());
            Assert.Equal(ours.OverwritePassesCompleted, j.GetProperty("sstat").GetProperty("no_cmplted_passes").GetInt32());
            Assert.Equal((long)ours.Scdw10, j.GetProperty("cdw10_info").GetInt64());
            Assert.Equal((long)ours.EstimatedOverwriteSeconds, j.GetProperty("time_over_write").GetInt64());
            Assert.Equal(-1, j.GetProperty("time_crypto_erase").GetInt64());
        }

        // Allocated but attached to no controller: listed by CNS 10h, and identifies as zeroes through CNS 00h.
        using (var all = JsonDocument.Parse(await Cli("list-ns", ctrl, "--all", "-o", "json")))
        {
            Assert.Equal([1], all.RootElement.GetProperty("nsid_list").EnumerateArray().Select(e => e.GetProperty("nsid").GetInt32()));
        }

        using (var idns = JsonDocument.Parse(await Cli("id-ns", ctrl, "--namespace-id=1", "-o", "json")))
        {
            Assert.Equal(0, idns.RootElement.GetProperty("nsze").GetInt64());
        }

        log.Append("sanitize-log JSON equals our log; list-ns --all lists the detached namespace; ");
        log.Append("detach-ns: block device gone; sanitize overwrite 0xC3C3C3C3: media overwritten; ");

        // Our cmdlets (real pwsh, our userspace host) read the same logs nvme-cli read through the kernel.
        await CmdletsAgreeWithNvmeCliAsync(ctrl, kh.Controller);
        log.Append("Get-NvmeSelfTest, Get-NvmeLog FirmwareSlot and Get-NvmeSanitizeStatus equal nvme-cli's JSON; ");

        await Cli("delete-ns", ctrl, "--namespace-id=1");
        Assert.Null(sub.GetNamespace(1));
        Assert.Equal(0, sub.AllocatedCapacity);
        // The kernel logs the reset asked for above at warning level (nvme_reset_ctrl); anything else is a problem.
        Assert.DoesNotContain(await mark.ProblemsAsync(), l => !l.EndsWith($"{kh.Controller}: resetting controller", StringComparison.Ordinal));
        output.WriteLine($"peer=nvme-cli through the Linux nvme-tcp host -> our controller 127.0.0.1:{Port}: {log}delete-ns: capacity returned; kernel log clean");
    }

    [InteropFact]
    public async Task Our_cmdlets_manage_our_controller_through_the_kernel_passthrough_ioctls()
    {
        const string nqn = "nqn.2014-08.org.nvmexpress:nvmeps-managed-by-cmdlets";
        const int port = 4475;
        var mark = await Guest.KernelLogMark.NowAsync();
        using var target = new NvmeTarget(new NvmeTargetOptions
        {
            SelfTestShortTime = TimeSpan.FromMilliseconds(300),
            SanitizeTime = TimeSpan.FromMilliseconds(300),
        });
        var sub = target.AddSubsystem(nqn, serialNumber: "NVMEPSKMGMT", allowAnyHost: true);
        sub.NamespaceCapacity = 64L << 20;
        await using var tcp = new NvmeTcpTarget(target);
        await tcp.ListenAsync(new IPEndPoint(IPAddress.Loopback, port));
        using var kh = KernelNvmeHost.Connect(port, nqn);
        Assert.True(await Guest.WaitUntilAsync(() => File.Exists("/dev/" + kh.Controller), TimeSpan.FromSeconds(10)));

        var image = new byte[8192];
        Encoding.ASCII.GetBytes("NVMEPSFW3.1.4   ").CopyTo(image, 0);
        string fw = Path.GetTempFileName();
        await File.WriteAllBytesAsync(fw, image);
        string script = Path.Combine(Path.GetTempPath(), $"nvmeps-kmgmt-{Environment.ProcessId}.ps1");
        await File.WriteAllTextAsync(script, $$"""
            $ErrorActionPreference = 'Stop'
            Import-Module '{{GuestPwsh.ModuleManifest}}'
            function WaitFor([scriptblock] $condition) {
                $deadline = (Get-Date).AddSeconds(60)
                while (-not (& $condition)) {
                    if ((Get-Date) -gt $deadline) { throw "timed out waiting for $condition" }
                    Start-Sleep -Milliseconds 250
                }
            }
            function Block($name) { "$(Get-Content /sys/block/$name/size):$(Get-Content /sys/block/$name/queue/logical_block_size)" }
            $d = Get-NvmeDevice '{{kh.Controller}}'
            $r = [ordered]@{ Transport = $d.Transport }
            $created = New-NvmeNamespace $d 8MB -Attach -Confirm:$false
            $r.Created = "$($created.NamespaceId):$($created.SizeBlocks):$($created.BlockSize)"
            WaitFor { @((Get-NvmeDevice '{{kh.Controller}}').Namespaces).Count -eq 1 }
            $block = (Get-NvmeDevice '{{kh.Controller}}').Namespaces[0].Name
            $r.Attached = Block $block
            $f = Format-NvmeNamespace $d -NamespaceId $created.NamespaceId -BlockSize 4096 -SecureErase UserData -Force
            $r.Formatted = "$($f.BlockSize):$($f.SizeBlocks)"
            WaitFor { (Get-Content /sys/block/$block/queue/logical_block_size) -eq '4096' }
            $r.KernelFormatted = Block $block
            $t = Start-NvmeSelfTest $d -NamespaceId $created.NamespaceId -Wait
            $r.SelfTest = "$($t.Code):$($t.Status):$($t.NamespaceId)"
            $slots = Update-NvmeFirmware $d -Path '{{fw}}' -Slot 2 -Activate Now -Force
            $r.Firmware = "$($slots.ActiveSlot):$($slots.ActiveRevision):$((Get-NvmeIdentify $d).FirmwareRevision)"
            $null = Remove-NvmeNamespaceAttachment $d -NamespaceId $created.NamespaceId -ControllerId $d.ControllerId -Confirm:$false
            WaitFor { @((Get-NvmeDevice '{{kh.Controller}}').Namespaces).Count -eq 0 }
            $s = Start-NvmeSanitize $d Overwrite -OverwritePattern 0xC3C3C3C3 -OverwritePasses 1 -Wait -Force
            $r.Sanitize = "$($s.State):$($s.LastAction):$($s.OverwritePassesCompleted)"
            Remove-NvmeNamespace $d -NamespaceId $created.NamespaceId -Force
            $r | ConvertTo-Json
            """);
        var (code, stdout, stderr) = await GuestPwsh.RunAsync(script, TimeSpan.FromMinutes(4));
        Assert.True(code == 0, $"pwsh exit {code}\n{stdout}\n{stderr}");
        using var json = JsonDocument.Parse(stdout);
        var r = json.RootElement;
        string Get(string name) => r.GetProperty(name).GetString()!;

        Assert.Equal("tcp", Get("Transport"));
        Assert.Equal("1:16384:512", Get("Created"));
        Assert.Equal("16384:512", Get("Attached"));          // sysfs: 512-byte sectors, logical block size
        Assert.Equal("4096:2048", Get("Formatted"));
        Assert.Equal("16384:4096", Get("KernelFormatted"));
        Assert.Equal("Short:CompletedWithoutError:1", Get("SelfTest"));
        Assert.Equal("2:3.1.4:3.1.4", Get("Firmware"));
        Assert.Equal("Completed:Overwrite:1", Get("Sanitize"));

        // The target saw the same: firmware in slot 2 running, the sanitize logged, the capacity returned.
        var slots = sub.Maintenance.FirmwareSlotLog();
        Assert.Equal((2, "3.1.4"), (slots.ActiveSlot, slots.Frs[1]));
        var sanitize = sub.Maintenance.SanitizeLog();
        Assert.Equal((NvmeSanitizeState.Completed, (uint)NvmeSanitizeAction.Overwrite), (sanitize.State, sanitize.Scdw10 & 7));
        Assert.Null(sub.GetNamespace(1));
        Assert.Equal(0, sub.AllocatedCapacity);
        Assert.Empty(await mark.ProblemsAsync());
        File.Delete(script);
        File.Delete(fw);
        output.WriteLine($"peer=real pwsh cmdlets -> Linux passthrough ioctls on {kh.Controller} -> our controller 127.0.0.1:{port}: " +
                         "New-NvmeNamespace -Attach (kernel block device 16384 sectors), Format-NvmeNamespace 4096 (sysfs logical_block_size 4096), " +
                         "Start-NvmeSelfTest -Wait, Update-NvmeFirmware -Activate Now (Identify FR 3.1.4), Remove-NvmeNamespaceAttachment (block device gone), " +
                         "Start-NvmeSanitize Overwrite -Wait, Remove-NvmeNamespace (capacity returned); kernel log clean");
    }
}
