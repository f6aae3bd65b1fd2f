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
        [string[]] $AllowedHostNqn = @(),
        [long] $Capacity = 0
    )
    $params = @{ Listen = '127.0.0.1:0'; SubsystemNqn = (New-TestNqn); Namespace = $Namespace; Capacity = $Capacity }
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

# What -WhatIf prints ("What if: ...") goes to the host, not a stream: a transcript is what sees it.
function Get-WhatIfText {
    param([Parameter(Mandatory)] [scriptblock] $Script)
    $log = Join-Path ([IO.Path]::GetTempPath()) "nvmeps-whatif-$([guid]::NewGuid()).txt"
    $null = Start-Transcript -Path $log
    try { & $Script } finally { $null = Stop-Transcript }
    Get-Content -Raw $log
    Remove-Item $log
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

# A sysfs with one local PCIe controller (nvme0, one 64 MiB namespace) and a configfs with one nvmet subsystem, laid
# out as Linux 6.1 lays them out, for the kernel cmdlets on a machine without an NVMe driver or nvmet. Point
# $env:NVMEPS_SYSFS_PATH / $env:NVMEPS_CONFIGFS_PATH at .Sys / .Config.
function New-FakeKernelTree {
    $root = Join-Path ([IO.Path]::GetTempPath()) "nvmeps-pester-kernel-$([guid]::NewGuid().ToString('N'))"
    function Attr($dir, $name, $value) {
        $path = Join-Path $dir $name
        $null = New-Item -ItemType Directory -Force (Split-Path $path)
        Set-Content -LiteralPath $path -Value $value
    }
    $sys = Join-Path $root 'sys'
    $ctrl = Join-Path $sys 'devices/pci0000:00/0000:00:06.0/nvme/nvme0'
    foreach ($kv in @{ transport = 'pcie'; address = '0000:00:06.0'; subsysnqn = 'nqn.2019-08.org.qemu:NVMEPS-PCI-0001'; model = 'QEMU NVMe Ctrl                          '
                       serial = 'NVMEPS-PCI-0001     '; firmware_rev = '7.2.22  '; state = 'live'; cntlid = '0'; queue_count = '3' }.GetEnumerator()) {
        Attr $ctrl $kv.Key $kv.Value
    }
    $ns = Join-Path $ctrl 'nvme0n1'
    Attr $ns 'nsid' '1'; Attr $ns 'size' '131072'; Attr $ns 'queue/logical_block_size' '512'; Attr $ns 'queue/max_hw_sectors_kb' '512'
    $null = New-Item -ItemType Directory -Force (Join-Path $sys 'class/nvme'), (Join-Path $sys 'block')
    $null = New-Item -ItemType SymbolicLink -Path (Join-Path $sys 'class/nvme/nvme0') -Target $ctrl
    $null = New-Item -ItemType SymbolicLink -Path (Join-Path $sys 'block/nvme0n1') -Target $ns

    $config = Join-Path $root 'config'
    $nvmet = Join-Path $config 'nvmet'
    $sub = Join-Path $nvmet 'subsystems/nqn.2024-01.io.nvmeps.pester:kernel'
    Attr $sub 'attr_allow_any_host' '1'; Attr $sub 'attr_serial' 'PESTERK1'; Attr $sub 'attr_model' 'Linux'
    Attr (Join-Path $sub 'namespaces/1') 'device_path' '/dev/nullb0'; Attr (Join-Path $sub 'namespaces/1') 'enable' '1'; Attr (Join-Path $sub 'namespaces/1') 'buffered_io' '0'
    $null = New-Item -ItemType Directory -Force (Join-Path $sub 'allowed_hosts'), (Join-Path $nvmet 'hosts')
    $port = Join-Path $nvmet 'ports/1'
    Attr $port 'addr_trtype' 'tcp'; Attr $port 'addr_adrfam' 'ipv4'; Attr $port 'addr_traddr' '127.0.0.1'; Attr $port 'addr_trsvcid' '4420'; Attr $port 'param_inline_data_size' '-1'
    $null = New-Item -ItemType Directory -Force (Join-Path $port 'subsystems')
    $null = New-Item -ItemType SymbolicLink -Path (Join-Path $port 'subsystems/nqn.2024-01.io.nvmeps.pester:kernel') -Target $sub
    [pscustomobject]@{ Root = $root; Sys = $sys; Config = $config }
}

# Why a test that needs the kernel's NVMe cannot run here; $null when it can.
function Get-KernelNvmeSkipReason([switch] $Nvmet, [switch] $FabricsHost, [switch] $LocalDrive) {
    if ((id -u) -ne '0') { return 'needs root' }
    if ($LocalDrive -and -not (Test-Path /sys/class/nvme/nvme0)) { return 'no local NVMe drive (nvme0)' }
    if ($FabricsHost -and -not (Test-Path /dev/nvme-fabrics)) { return 'no kernel NVMe/TCP host (/dev/nvme-fabrics)' }
    if ($Nvmet -and -not (Test-Path /sys/kernel/config/nvmet)) { return 'no kernel NVMe target (nvmet)' }
    $null
}
