#Requires -Version 7.4
<#
.SYNOPSIS
    The NvmePS demonstration in pwsh: the same steps as `nvmeps demo`, with the cmdlets.
.DESCRIPTION
    Imports out/NvmePS (build it first: dotnet build src/NvmePS -c Release), starts the built-in NVMe/TCP target on a
    free loopback port, and shows discovery, connect, identify, the SMART log, a write and its read-back. Then the
    NVMe-MI half against the simulated endpoint: discovery through mctpd (when the system bus has one; -BusAddress
    names another bus), health, the controllers behind it, Identify and SMART tunnelled over NVMe-MI, and an
    asynchronous event. Everything is printed through the module's own format views.
.EXAMPLE
    pwsh ./tools/demo.ps1
#>
param(
    [string] $Size = '64MB',
    # A D-Bus address where mctpd publishes the simulated drive (net 1, EID 29); default: the system bus.
    [string] $BusAddress
)

$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot '..' 'out' 'NvmePS' 'NvmePS.psd1') -Force

$target = Start-NvmfTarget -Listen 127.0.0.1:0 -SubsystemNqn nqn.2024-01.io.nvmeps:demo -Namespace "memory:$Size"
try {
    $target | Format-Table | Out-Host

    Get-NvmfDiscoveryLog -TransportAddress $target.Address -ServiceId $target.Port | Format-Table | Out-Host

    $c = Connect-NvmfController -TransportAddress $target.Address -ServiceId $target.Port -SubsystemNqn $target.SubsystemNqn -IoQueueCount 2
    $c | Format-Table | Out-Host

    Get-NvmeIdentify -Controller $c | Format-List | Out-Host
    Get-NvmeIdentify -Controller $c -NamespaceId 1 | Format-Table | Out-Host
    Get-NvmeLog -Controller $c -LogId Smart | Format-List | Out-Host

    $data = [byte[]]::new(1MB)
    [System.Security.Cryptography.RandomNumberGenerator]::Fill($data)
    Write-NvmeBlock -Controller $c -StartingLba 0 -InputData $data | Format-Table | Out-Host
    $back = Read-NvmeBlock -Controller $c -StartingLba 0 -BlockCount ($data.Length / 512)
    $back | Format-Table | Out-Host
    $same = [System.Linq.Enumerable]::SequenceEqual($back.Data, $data)
    "Read-back matches: $same"
    "DataUnitsWritten: $((Get-NvmeLog -Controller $c -LogId Smart).DataUnitsWritten)"

    $c | Disconnect-NvmfController
    if (-not $same) { throw 'The data read back differs from the data written.' }
}
finally {
    $target | Stop-NvmfTarget
}

# NVMe-MI: a simulated management endpoint, reached as a BMC reaches a drive (by MCTP network and EID).
$sim = Start-NvmeMiSimulator -Network 1 -Eid 29
try {
    $sim | Format-Table | Out-Host
    # Discovery as a BMC does it: the endpoints mctpd knows that speak NVMe-MI.
    $find = @{}
    if ($BusAddress) { $find.BusAddress = $BusAddress }
    try { Find-NvmeMiEndpoint @find | Format-Table | Out-Host }
    catch { "Discovery: no mctpd to ask ($($_.FullyQualifiedErrorId.Split(',')[0])); using the simulated endpoint's address." }

    $mi = $sim | Connect-NvmeMiEndpoint
    $mi | Format-Table | Out-Host
    $mi | Get-NvmeMiHealth | Format-Table | Out-Host
    $mi | Get-NvmeMiHealth -ControllerId 1, 2 | Format-Table | Out-Host
    $controllers = $mi | Get-NvmeMiController
    $controllers | Format-Table | Out-Host
    $controllers | Select-Object -First 1 | Get-NvmeIdentify | Format-Table | Out-Host
    $controllers | Get-NvmeLog -LogId Smart | Format-Table | Out-Host

    # An asynchronous event: with events enabled, lowering a controller's temperature threshold below the drive's
    # temperature raises a critical warning and a threshold crossing, which the drive holds for this host.
    $null = Wait-NvmeMiEvent $mi -Count 0 -TimeoutSec 1 -KeepEnabled
    Set-NvmeFeature -Controller $controllers[0] -FeatureId TemperatureThreshold -Value 300 -Confirm:$false | Out-Null
    Start-Sleep -Milliseconds 300
    Wait-NvmeMiEvent $mi -Count 2 -TimeoutSec 10 | Format-Table | Out-Host
    $mi | Disconnect-NvmeMiEndpoint
}
finally {
    $sim | Stop-NvmeMiSimulator
}
