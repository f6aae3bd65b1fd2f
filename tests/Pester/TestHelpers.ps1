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

# A private dbus-daemon with a fake mctpd on it (the C# fixture the xunit tests use, compiled here by Add-Type against
# the shipped dlls), for the discovery cmdlets. Returns the fake; its bus is in $script:TestBus.
function Start-TestMctpd {
    if (-not ('NvmePS.Engine.Tests.DBus.FakeMctpd' -as [type])) {
        $dir = Join-Path $PSScriptRoot '..' 'NvmePS.Engine.Tests' 'DBus'
        $out = Join-Path $PSScriptRoot '..' '..' 'out' 'NvmePS'
        # The module loads Tmds.DBus.Protocol on first use; the fixture needs it loaded before its types are.
        $null = [System.Reflection.Assembly]::LoadFrom((Join-Path $out 'Tmds.DBus.Protocol.dll'))
        Add-Type -IgnoreWarnings -WarningAction SilentlyContinue -Path (Join-Path $dir 'FakeMctpd.cs'), (Join-Path $dir 'PrivateBus.cs') -ReferencedAssemblies @(
            (Join-Path $out 'Tmds.DBus.Protocol.dll'), (Join-Path $out 'NvmePS.Engine.dll'),
            'System.Diagnostics.Process', 'System.ComponentModel.Primitives', 'System.Collections', 'System.Linq', 'System.Runtime', 'System.Threading', 'System.IO.Pipelines', 'System.Memory')
    }
    $script:TestBus = [NvmePS.Engine.Tests.DBus.PrivateBus]::Start($false)
    $fake = [NvmePS.Engine.Tests.DBus.FakeMctpd]::new($false)
    $fake
}

function Stop-TestMctpd([Parameter(ValueFromPipeline)] $Fake) {
    process { if ($Fake) { $Fake.Dispose() } }
    end { if ($script:TestBus) { $script:TestBus.Dispose(); $script:TestBus = $null } }
}
