using System.Diagnostics;
using System.Text.Json;
using NvmePS.Interop.Tests.Infrastructure;

namespace NvmePS.Interop.Tests.Kernel;

/// <summary>
/// The kernel cmdlets in real pwsh 7.6.10 inside the VM, as a user runs them: Get-NvmeDevice and the Admin cmdlets on
/// the local PCIe drive (compared with nvme-cli), Send-NvmeCommand for an Admin and an I/O command, Start-NvmfTarget
/// -Kernel making nvmet, `Get-NvmfDiscoveryLog | Connect-NvmfController -Kernel` as connect-all, data through the
/// block device, Disconnect and Stop (each with -WhatIf first), and the errors a user meets. Then a second pwsh
/// without CAP_SYS_ADMIN, which is what a non-root user lacks. sysfs and configfs end as they began.
/// </summary>
[Trait("Category", "Interop")]
public sealed class KernelCmdletsInVmTests(ITestOutputHelper output)
{
    private const string Nqn = "nqn.2024-01.io.nvmeps:cmdlets-nvmet";

    private static SortedSet<string> Tree(string root) =>
        new(Directory.Exists(root) ? Directory.EnumerateFileSystemEntries(root, "*", new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 5, AttributesToSkip = 0 }) : [], StringComparer.Ordinal);

    [InteropFact]
    public async Task The_kernel_cmdlets_list_identify_connect_serve_and_clean_up_as_a_user_runs_them()
    {
        string manifest = GuestPwsh.ModuleManifest;
        Assert.True(File.Exists(manifest), $"{manifest} is missing: the unit tier builds the module before the VM tier");
        var configfsBefore = Tree("/sys/kernel/config/nvmet");
        var sysfsBefore = Tree("/sys/class/nvme");
        string img = "/tmp/kc-nvmet.img";
        using (var fs = new FileStream(img, FileMode.Create))
        {
            fs.SetLength(40L << 20);
        }

        string script = Path.Combine(Path.GetTempPath(), $"nvmeps-kernel-{Guid.NewGuid():N}.ps1");
        string result = Path.ChangeExtension(script, ".json");
        await File.WriteAllTextAsync(script, $$"""
            $ErrorActionPreference = 'Stop'
            Import-Module '{{manifest}}'
            function Id($e) { $e.FullyQualifiedErrorId.Split(',')[0] }
            $r = [ordered]@{}
            $r.Devices = @(Get-NvmeDevice | ForEach-Object { "$($_.Name):$($_.Transport):$($_.ModelNumber):$($_.SerialNumber):$($_.BlockDevices)" })
            $r.Table = (Get-NvmeDevice | Format-Table | Out-String -Width 80).Trim()
            $local = Get-NvmeDevice -Transport pcie | Select-Object -First 1
            $r.Identify = (Get-NvmeIdentify $local).SerialNumber
            $r.Namespace = @(Get-NvmeIdentify $local -ActiveNamespaces | Get-NvmeIdentify | ForEach-Object { "$($_.NamespaceId):$($_.SizeBytes)" })
            $r.Smart = (Get-NvmeLog $local Smart).TemperatureKelvin
            $r.Queues = (Get-NvmeFeature $local NumberOfQueues).Value
            $raw = Send-NvmeCommand $local -Opcode 6 -Cdw10 1 -DataLength 4096
            $r.Raw = "$($raw.Success):$($raw.BytesTransferred):$([Text.Encoding]::ASCII.GetString($raw.Data, 4, 20).Trim())"
            $bad = Send-NvmeCommand $local -Opcode 2 -Nsid 0xFFFFFFFF -Cdw10 0x00FF00EF -DataLength 1024
            $r.BadStatus = "$($bad.Success):$($bad.StatusName)"
            $block = [byte[]]::new(512); [Random]::new(7).NextBytes($block)
            $w = $local.Namespaces[0] | Send-NvmeCommand -Opcode 1 -Cdw10 300 -InputData $block
            $rd = $local.Namespaces[0] | Send-NvmeCommand -Opcode 2 -Cdw10 300 -DataLength 512
            $r.Io = "$($w.Success):$($rd.Success):$([Convert]::ToHexString($rd.Data) -eq [Convert]::ToHexString($block))"
            try { Get-NvmeDevice nvme42 } catch { $r.NoDevice = Id $_ }
            try { Disconnect-NvmfController -KernelController $local } catch { $r.NotFabrics = Id $_ }

            # The kernel target, then connect-all through the kernel host.
            $null = Start-NvmfTarget -Kernel -Listen 127.0.0.1:4490 -SubsystemNqn '{{Nqn}}' -Namespace '{{img}}' -BufferedIo -WhatIf
            $r.WhatIfTarget = @(Get-NvmfTarget -Kernel | Where-Object SubsystemNqn -eq '{{Nqn}}').Count
            $t = Start-NvmfTarget -Kernel -Listen 127.0.0.1:4490 -SubsystemNqn '{{Nqn}}' -Namespace '{{img}}' -BufferedIo -SerialNumber NVMEPSCMDLET1
            $r.Target = "$($t.SubsystemNqn):$($t.AllowAnyHost):$($t.Listen):$($t.Namespaces[0].DevicePath):$($t.Namespaces[0].Enabled)"
            try { Start-NvmfTarget -Kernel -Listen 127.0.0.1:4490 -SubsystemNqn '{{Nqn}}' -Namespace '{{img}}' } catch { $r.Taken = Id $_ }
            $before = @(Get-NvmeDevice).Count
            $null = Get-NvmfDiscoveryLog 127.0.0.1 -ServiceId 4490 | Connect-NvmfController -Kernel -WhatIf
            $r.WhatIfConnect = @(Get-NvmeDevice).Count - $before
            $k = @(Get-NvmfDiscoveryLog 127.0.0.1 -ServiceId 4490 | Connect-NvmfController -Kernel)
            $r.Connected = @($k | ForEach-Object { "$($_.Transport):$($_.SubsystemNqn):$($_.SerialNumber):$($_.State):$($_.Namespaces.Count)" })
            $bdev = $k[0].Namespaces[0].BlockDevice
            $data = [byte[]]::new(1MB); [Random]::new(11).NextBytes($data)
            [IO.File]::WriteAllBytes('/tmp/kc-pattern.bin', $data)
            & dd if=/tmp/kc-pattern.bin of=$bdev bs=64k seek=32 oflag=direct conv=fsync status=none
            $fs = [IO.File]::Open('{{img}}', 'Open', 'Read', 'ReadWrite'); $fs.Position = 2MB; $back = [byte[]]::new(1MB); $fs.ReadExactly($back); $fs.Dispose()
            $r.DataOut = [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData($back)) -eq [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData($data))
            try { Get-NvmfDiscoveryLog 127.0.0.1 -ServiceId 4490 | Connect-NvmfController -Kernel } catch { $r.Duplicate = Id $_ }
            $r.KernelIdentify = (Get-NvmeIdentify $k[0]).ModelNumber
            $k | Disconnect-NvmfController -WhatIf
            $r.AfterWhatIfDisconnect = Test-Path "/sys/class/nvme/$($k[0].Name)"
            $k | Disconnect-NvmfController
            $r.AfterDisconnect = Test-Path "/sys/class/nvme/$($k[0].Name)"
            Get-NvmfTarget -Kernel '{{Nqn}}' | Stop-NvmfTarget -WhatIf
            $r.AfterWhatIfStop = @(Get-NvmfTarget -Kernel '{{Nqn}}').Count
            Get-NvmfTarget -Kernel '{{Nqn}}' | Stop-NvmfTarget -Confirm:$false
            $r.AfterStop = @(Get-NvmfTarget -Kernel | Where-Object SubsystemNqn -eq '{{Nqn}}').Count
            try { Stop-NvmfTarget -Kernel -SubsystemNqn '{{Nqn}}' -Confirm:$false } catch { $r.StopMissing = Id $_ }
            $r | ConvertTo-Json | Set-Content '{{result}}'
            """);

        var clock = Stopwatch.StartNew();
        var (code, stdout, stderr) = await GuestPwsh.RunAsync(script, TimeSpan.FromMinutes(4));
        Assert.True(code == 0, $"pwsh exited {code}:\n{stderr}\n{stdout}");
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(result));
        var root = json.RootElement;
        string S(string name) => root.GetProperty(name).ToString();
        string[] A(string name) => root.GetProperty(name).EnumerateArray().Select(x => x.GetString()!).ToArray();

        // nvme-cli, the independent client, on the same drive.
        using var idCtrl = JsonDocument.Parse(await Guest.RunCheckedAsync("nvme", "id-ctrl", "/dev/nvme0", "-o", "json"));
        using var smart = JsonDocument.Parse(await Guest.RunCheckedAsync("nvme", "smart-log", "/dev/nvme0", "-o", "json"));
        Assert.Equal(new[] { "nvme0:pcie:QEMU NVMe Ctrl:NVMEPS-PCI-0001:nvme0n1" }, A("Devices"));
        string[] table = S("Table").Split('\n');
        Assert.Matches(@"^Name\s+Transport\s+Endpoint\s+ModelNumber\s+State\s+BlockDevices", table[0]);
        Assert.Matches(@"^nvme0\s+pcie\s+\S+\s+QEMU NVMe Ctrl\s+live\s+nvme0n1$", table[2].TrimEnd());
        Assert.Equal(idCtrl.RootElement.GetProperty("sn").GetString()!.Trim(), S("Identify"));
        Assert.Equal(new[] { $"1:{64L << 20}" }, A("Namespace"));
        Assert.Equal(smart.RootElement.GetProperty("temperature").GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture), S("Smart"));
        Assert.True(uint.Parse(S("Queues"), System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.Equal("True:4096:NVMEPS-PCI-0001", S("Raw"));
        Assert.StartsWith("False:", S("BadStatus"), StringComparison.Ordinal);
        Assert.Equal("True:True:True", S("Io"));
        Assert.Equal("NvmeKernelDeviceNotFound", S("NoDevice"));
        Assert.Equal("NvmeKernelNotFabrics", S("NotFabrics"));

        Assert.Equal("0", S("WhatIfTarget"));
        Assert.Equal($"{Nqn}:True:127.0.0.1:4490:{img}:True", S("Target"));
        Assert.Equal("NvmetNameInUse", S("Taken"));
        Assert.Equal("0", S("WhatIfConnect"));
        Assert.Equal(new[] { $"tcp:{Nqn}:NVMEPSCMDLET1:live:1" }, A("Connected"));
        Assert.Equal("True", S("DataOut"));
        Assert.Equal("NvmeKernelAlreadyConnected", S("Duplicate"));
        Assert.Equal("Linux", S("KernelIdentify"));
        Assert.Equal(("True", "False"), (S("AfterWhatIfDisconnect"), S("AfterDisconnect")));
        Assert.Equal(("1", "0"), (S("AfterWhatIfStop"), S("AfterStop")));
        Assert.Equal("NvmetObjectNotFound", S("StopMissing"));
        var firstRun = clock.Elapsed;

        // Without CAP_SYS_ADMIN (what a non-root user lacks) the passthrough ioctl is refused: one clear error.
        string unprivileged = Path.Combine(Path.GetTempPath(), $"nvmeps-kernel-nocap-{Guid.NewGuid():N}.ps1");
        await File.WriteAllTextAsync(unprivileged, $$"""
            Import-Module '{{manifest}}'
            Get-NvmeIdentify (Get-NvmeDevice nvme0) -ErrorVariable e -ErrorAction SilentlyContinue
            "$($e[0].FullyQualifiedErrorId)|$($e[0].CategoryInfo.Category)|$($e[0].TargetObject)|$($e[0].Exception.Message)"
            """);
        var (code2, out2, err2) = await GuestPwsh.RunAsync(unprivileged, TimeSpan.FromMinutes(4), "setpriv", "--bounding-set=-sys_admin", "--inh-caps=-sys_admin", "--");
        Assert.True(code2 == 0, $"{err2}\n{out2}");
        string[] f = out2.Trim().Split('|');
        Assert.True(f.Length == 4, out2);
        Assert.Equal("NvmeKernelPermissionDenied,NvmePS.Commands.GetNvmeIdentifyCommand", f[0]);
        Assert.Equal("PermissionDenied", f[1]);
        Assert.Equal("nvme0", f[2]);
        Assert.Contains("(EACCES): passthrough commands need root or CAP_SYS_ADMIN", f[3], StringComparison.Ordinal);

        Assert.Equal(configfsBefore, Tree("/sys/kernel/config/nvmet"));
        Assert.Equal(sysfsBefore, Tree("/sys/class/nvme"));
        output.WriteLine($"pwsh 7.6.10 in the VM: Get-NvmeDevice listed nvme0 (pcie), Identify/SMART/feature equal nvme-cli's, Send-NvmeCommand Admin and I/O; " +
                         $"nvmet made by Start-NvmfTarget -Kernel, connect-all through the kernel host, 1 MiB through {Nqn}'s block device reached its file; " +
                         $"-WhatIf changed nothing; sysfs and configfs as before; first run {firstRun.TotalSeconds:0} s. Without CAP_SYS_ADMIN: {f[3]}");
        File.Delete(script);
        File.Delete(result);
        File.Delete(unprivileged);
        File.Delete(img);
    }
}
