# Shared by the Pester tests: dot-source in BeforeAll. Tests run against the laid-out module in out/NvmePS.
$script:NvmePSManifest = Join-Path $PSScriptRoot '..' '..' 'out' 'NvmePS' 'NvmePS.psd1'

function Import-NvmePSForTest {
    if (-not (Test-Path $script:NvmePSManifest)) {
        throw "out/NvmePS is missing: run 'dotnet build src/NvmePS' (or ./build.ps1 -Build) first."
    }
    Import-Module $script:NvmePSManifest -Force -ErrorAction Stop
}

function New-TestNqn {
    "nqn.2024-01.io.nvmeps.pester:$([guid]::NewGuid().ToString('N').Substring(0, 12))"
}

# A target on a free loopback port, so test files never collide on 4420.
function Start-TestTarget {
    param(
        [string[]] $Namespace = @('memory:16MB'),
        [string[]] $AllowedHostNqn = @()
    )
    $params = @{ Listen = '127.0.0.1:0'; SubsystemNqn = (New-TestNqn); Namespace = $Namespace }
    if ($AllowedHostNqn.Count -gt 0) { $params.AllowedHostNqn = $AllowedHostNqn }
    Start-NvmfTarget @params
}

function Connect-TestController {
    param(
        [Parameter(Mandatory)] $Target,
        [hashtable] $Extra = @{}
    )
    Connect-NvmfController -TransportAddress $Target.Address -ServiceId $Target.Port -SubsystemNqn $Target.SubsystemNqn @Extra
}

function Remove-NvmePSAfterTest {
    Get-NvmfTarget | Stop-NvmfTarget -Confirm:$false
    Remove-Module NvmePS -Force -ErrorAction SilentlyContinue
}
