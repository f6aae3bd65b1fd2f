#Requires -Version 7.4
<#
.SYNOPSIS
An infrastructure test of an NVMe fleet, as an operator writes one: run it from a schedule or a pipeline, and a red
test names the host and the drive.

.DESCRIPTION
Reads every host's drives once with Get-NvmeFleetHealth.ps1 (next to this file), then checks each host:
  - it serves its NVMe/TCP subsystem (its discovery controller lists it, or at least one NVM subsystem);
  - no drive reports a critical warning;
  - every drive's temperature is below its warning threshold (drives without a sensor are left out).

Run it with a container, so the hosts are data, not code:

  $c = New-PesterContainer -Path ./Fleet.Tests.ps1 -Data @{ HostName = 'stor01', 'stor02'; UserName = 'ops'; KeyFilePath = '~/.ssh/fleet_ed25519' }
  Invoke-Pester -Container $c -Output Detailed

or with open sessions: -Data @{ Session = $s }. ExpectedSubsystem maps a host to the NQN it must serve.
#>
param(
    [string[]] $HostName,
    [string] $UserName,
    [string] $KeyFilePath,
    [int] $Port = 22,
    [hashtable] $Options,
    [System.Management.Automation.Runspaces.PSSession[]] $Session,
    [hashtable] $ExpectedSubsystem = @{},
    [hashtable[]] $MiEndpoint = @(),
    [int] $DiscoveryPort = 8009
)

BeforeDiscovery {
    # One block of tests per host, named by the host.
    $hosts = if ($Session) { @($Session.ComputerName) } else { @($HostName) }
}

BeforeAll {
    $reach = if ($Session) { @{ Session = $Session } }
    else {
        $r = @{ HostName = $HostName; Port = $Port }
        if ($UserName) { $r.UserName = $UserName }
        if ($KeyFilePath) { $r.KeyFilePath = $KeyFilePath }
        if ($Options) { $r.Options = $Options }
        $r
    }
    $health = @(& (Join-Path $PSScriptRoot 'Get-NvmeFleetHealth.ps1') @reach -MiEndpoint $MiEndpoint -DiscoveryPort $DiscoveryPort)
    # What each host's discovery controller offers, read on the host (its own address, as the health script does).
    $served = @(Invoke-Command @reach -ArgumentList $DiscoveryPort -ScriptBlock {
            param($DiscoveryPort)
            $address = if ($env:SSH_CONNECTION) { ($env:SSH_CONNECTION -split ' ')[2] } else { '127.0.0.1' }
            Get-NvmfDiscoveryLog $address -ServiceId $DiscoveryPort | Where-Object Subtype -EQ 'nvme subsystem' | Select-Object SubNqn, Traddr, Trsvcid
        } -ErrorAction SilentlyContinue)
}

Describe 'NVMe fleet host <_>' -ForEach $hosts {
    BeforeAll {
        $name = $_
        $drives = @($health | Where-Object ComputerName -EQ $name)
    }

    It 'serves its subsystem' {
        $offered = @($served | Where-Object PSComputerName -EQ $name | ForEach-Object SubNqn)
        if ($ExpectedSubsystem.ContainsKey($name)) {
            $offered | Should -Contain $ExpectedSubsystem[$name]
        }
        else {
            $offered | Should -Not -BeNullOrEmpty -Because "$name's discovery controller should list an NVM subsystem"
        }
    }

    It 'has drives that answer' {
        $drives | Should -Not -BeNullOrEmpty
        @($drives | Where-Object Severity -EQ 'Unreachable' | ForEach-Object { "$($_.Device): $($_.Problem)" }) | Should -BeNullOrEmpty
    }

    It 'has no drive reporting a critical warning' {
        @($drives | Where-Object { $_.CriticalWarning -and $_.CriticalWarning -ne 'None' } | ForEach-Object { "$($_.Device): $($_.CriticalWarning)" }) |
            Should -BeNullOrEmpty
    }

    It "keeps every drive's temperature below its warning threshold" {
        $measured = @($drives | Where-Object { $null -ne $_.TemperatureCelsius -and $null -ne $_.WarningTemperatureCelsius })
        @($measured | Where-Object { $_.TemperatureCelsius -ge $_.WarningTemperatureCelsius } |
                ForEach-Object { "$($_.Device): $($_.TemperatureCelsius) °C, warning at $($_.WarningTemperatureCelsius) °C" }) | Should -BeNullOrEmpty
    }
}
