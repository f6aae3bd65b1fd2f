using System.Text.Json;
using NvmePS.Interop.Tests.Infrastructure;

namespace NvmePS.Interop.Tests.Kernel;

/// <summary>
/// examples/Get-NvmeFleetHealth.ps1 over real PowerShell remoting inside the VM, where a host has a kernel NVMe drive
/// (qemu's PCIe nvme device): a stand-in host (sshd on 127.0.1.2, tests/fleet) with NvmePS installed by
/// Install-PSResource, reached by host name, reports the drive's health through the passthrough ioctls. nvme-cli
/// is the oracle for the serial number, temperature and warning threshold.
/// </summary>
[Trait("Category", "Interop")]
public sealed class FleetHealthInVmTests(ITestOutputHelper output)
{
    [InteropFact]
    public async Task The_fleet_health_example_reads_the_kernel_drive_of_a_remote_host()
    {
        string root = GuestPwsh.RepoRoot;
        Assert.True(File.Exists("/usr/sbin/sshd"), "sshd is missing in the guest (openssh-server on the host, whose root the guest shares)");
        string work = Directory.CreateTempSubdirectory("nvmeps-fleet-vm-").FullName;
        string script = Path.Combine(work, "fleet.ps1");
        string result = Path.Combine(work, "rows.json");
        await File.WriteAllTextAsync(script, $$"""
            $ErrorActionPreference = 'Stop'
            Import-Module '{{root}}/tests/fleet/NvmePS.SshFleet.psm1'
            $repo = Join-Path '{{work}}' 'repository'
            $null = & '{{root}}/tools/Publish-NvmePSPackage.ps1' -ModulePath '{{root}}/out/NvmePS' -RepositoryPath $repo
            $fleet = New-SshFleet -Count 1 -RepositoryPath $repo
            try {
                $rows = @(& '{{root}}/examples/Get-NvmeFleetHealth.ps1' -HostName $fleet.HostName -Port $fleet.Port -UserName $fleet.UserName -KeyFilePath $fleet.KeyFilePath -Options $fleet.Options)
                ConvertTo-Json -InputObject @($rows) -Depth 3 | Set-Content '{{result}}'
            }
            finally { $fleet | Remove-SshFleet }
            """);

        // A HOME of its own: PSResourceGet keeps its repository list there, and the guest's /root is the host's, read-only.
        var (code, stdout, stderr) = await GuestPwsh.RunAsync(script, TimeSpan.FromMinutes(5), "env", $"HOME={work}");
        output.WriteLine(stdout);
        output.WriteLine(stderr);
        Assert.True(code == 0, $"pwsh exited {code}: {stderr}");

        using var rows = JsonDocument.Parse(await File.ReadAllTextAsync(result));
        var drive = rows.RootElement.EnumerateArray().Single(r => r.GetProperty("Source").GetString() == "Kernel" && r.GetProperty("Device").GetString() == "nvme0");
        Assert.Equal("127.0.1.2", drive.GetProperty("ComputerName").GetString());
        Assert.Equal("OK", drive.GetProperty("Severity").GetString());

        using var idCtrl = JsonDocument.Parse(await Guest.RunCheckedAsync("nvme", "id-ctrl", "/dev/nvme0", "-o", "json"));
        using var smart = JsonDocument.Parse(await Guest.RunCheckedAsync("nvme", "smart-log", "/dev/nvme0", "-o", "json"));
        Assert.Equal(idCtrl.RootElement.GetProperty("sn").GetString()!.Trim(), drive.GetProperty("SerialNumber").GetString());
        Assert.Equal(idCtrl.RootElement.GetProperty("wctemp").GetInt32() - 273, drive.GetProperty("WarningTemperatureCelsius").GetInt32());
        Assert.Equal(smart.RootElement.GetProperty("temperature").GetInt32() - 273, drive.GetProperty("TemperatureCelsius").GetInt32());
        Assert.Equal(0, smart.RootElement.GetProperty("critical_warning").GetInt32());
        Assert.Equal("None", drive.GetProperty("CriticalWarning").GetString());
    }
}
