#Requires -Version 7.4
<#
.SYNOPSIS
What driving N hosts through PowerShell remoting over SSH costs: time for N = 1, 4 and 16 stand-in hosts, per host and
against one host measured in the same run, at a given ThrottleLimit; and the memory each open session costs.

.DESCRIPTION
Starts the stand-in hosts of the remoting tests (tests/fleet/NvmePS.SshFleet.psm1: one sshd per 127.0.1.N, NvmePS
installed on each with Install-PSResource from a package built here), then for each N times three ways of running
one unit of work on every host:

  fresh     Invoke-Command -HostName (a new SSH connection and remote pwsh per host; no -ThrottleLimit with SSH)
  sessions  New-PSSession -HostName in batches of -ThrottleLimit, then Invoke-Command -Session -ThrottleLimit
  warm      Invoke-Command -Session -ThrottleLimit over sessions already open (what a runbook that keeps them pays)

The unit of work is what a health run does on a host: import NvmePS, start a target on the host's own address,
connect to it, read SMART and Identify, disconnect, stop. Every host of this run is on this machine, so the figures
include both ends' CPU: they show how the cost grows with N, not what a rack of real hosts would take.

Needs out/NvmePS (./build.ps1 -Build), sshd and ssh.
.EXAMPLE
dotnet pwsh -NoProfile -File bench/Measure-Fleet.ps1 -ThrottleLimit 4
#>
param(
    [int[]] $HostCount = @(1, 4, 16),
    [ValidateRange(1, 1000)] [int] $ThrottleLimit = 4,
    [ValidateRange(1, 20)] [int] $Repeat = 3
)
$ErrorActionPreference = 'Stop'
$root = Join-Path $PSScriptRoot '..'
Import-Module (Join-Path $root 'tests/fleet/NvmePS.SshFleet.psm1') -Force
if (-not (Test-SshFleetSupport)) { throw 'sshd, ssh and ssh-keygen are needed (openssh-server, openssh-client).' }
$repo = Join-Path ([IO.Path]::GetTempPath()) "nvmeps-fleet-bench-$([guid]::NewGuid().ToString('N').Substring(0, 8))"
$null = & (Join-Path $root 'tools/Publish-NvmePSPackage.ps1') -ModulePath (Join-Path $root 'out/NvmePS') -RepositoryPath $repo

$work = {
    $own = ($env:SSH_CONNECTION -split ' ')[2]
    Import-Module NvmePS
    $t = Start-NvmfTarget "${own}:0" -Namespace memory:4MB
    $c = Connect-NvmfController $own $t.SubsystemNqn -ServiceId $t.Port -IoQueueCount 1
    $smart = Get-NvmeLog -Controller $c -LogId Smart
    $id = Get-NvmeIdentify -Controller $c
    $c | Disconnect-NvmfController
    $t | Stop-NvmfTarget
    [pscustomobject]@{ Serial = $id.SerialNumber; Warning = $smart.CriticalWarningBits }
}

function Measure-Run([scriptblock] $Run, [int] $Expected) {
    # The median of -Repeat runs, each checked for one result per host.
    $times = foreach ($i in 1..$Repeat) {
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $r = @(& $Run)
        $sw.Stop()
        if ($r.Count -ne $Expected) { throw "expected $Expected results, got $($r.Count)" }
        $sw.Elapsed.TotalSeconds
    }
    ($times | Sort-Object)[[int][Math]::Floor($Repeat / 2)]
}

$max = ($HostCount | Measure-Object -Maximum).Maximum
$fleet = New-SshFleet -Count $max -RepositoryPath $repo
$results = [Collections.Generic.List[object]]::new()
$memory = $null
$concurrency = $null
try {
    $ssh = @{ Port = $fleet.Port; UserName = $fleet.UserName; KeyFilePath = $fleet.KeyFilePath; Options = $fleet.Options }
    foreach ($n in $HostCount) {
        $names = $fleet.HostName[0..($n - 1)]
        $fresh = Measure-Run { Invoke-Command -HostName $names @ssh -ScriptBlock $work } $n
        $sessions = Measure-Run {
            $opened = @(for ($i = 0; $i -lt $n; $i += $ThrottleLimit) {
                    New-PSSession -HostName $names[$i..([Math]::Min($i + $ThrottleLimit, $n) - 1)] @ssh
                })
            try { Invoke-Command -Session $opened -ThrottleLimit $ThrottleLimit -ScriptBlock $work }
            finally { $opened | Remove-PSSession }
        } $n
        $open = @(New-PSSession -HostName $names @ssh)
        try {
            # The first run in a session imports the module; warm runs are the ones after it.
            $null = Invoke-Command -Session $open -ScriptBlock $work
            $warm = Measure-Run { Invoke-Command -Session $open -ThrottleLimit $ThrottleLimit -ScriptBlock $work } $n
            if ($n -eq $max) {
                $rss = @(Invoke-Command -Session $open { (Get-Process -Id $PID).WorkingSet64 })
                $memory = [pscustomobject]@{
                    Sessions              = $n
                    'RemotePwshMiB(median)' = [Math]::Round((($rss | Sort-Object)[[int]($rss.Count / 2)]) / 1MB, 1)
                }
            }
        }
        finally { $open | Remove-PSSession }
        if ($n -eq $max) {
            # How many hosts Invoke-Command -HostName runs at once when nothing limits it: each host marks itself
            # running for a second and records the most markers it saw.
            $dir = Join-Path $fleet.Root 'concurrency'
            $null = New-Item -ItemType Directory $dir
            $seen = @(Invoke-Command -HostName $names @ssh -ArgumentList $dir {
                    param($dir)
                    $mark = Join-Path $dir ((($env:SSH_CONNECTION -split ' ')[2]) + '.running')
                    $null = New-Item -ItemType File $mark
                    $most = 0
                    foreach ($i in 1..20) { $most = [Math]::Max($most, @(Get-ChildItem $dir).Count); Start-Sleep -Milliseconds 50 }
                    Remove-Item $mark
                    $most
                })
            $concurrency = ($seen | Measure-Object -Maximum).Maximum
        }
        foreach ($m in @(@{ Mode = 'fresh'; S = $fresh }, @{ Mode = 'sessions'; S = $sessions }, @{ Mode = 'warm'; S = $warm })) {
            $results.Add([pscustomobject]@{ Hosts = $n; Mode = $m.Mode; ThrottleLimit = $(if ($m.Mode -eq 'fresh') { 'n/a' } else { $ThrottleLimit }); Seconds = [Math]::Round($m.S, 2); SecondsPerHost = [Math]::Round($m.S / $n, 3) })
        }
    }
}
finally {
    $fleet | Remove-SshFleet
    Remove-Item -Recurse -Force $repo -ErrorAction Ignore
}

# Ratios against one host of the same mode, measured above.
foreach ($r in $results) {
    $one = $results | Where-Object { $_.Hosts -eq ($HostCount | Measure-Object -Minimum).Minimum -and $_.Mode -eq $r.Mode } | Select-Object -First 1
    $r | Add-Member RatioToOneHost ([Math]::Round($r.Seconds / $one.Seconds, 2))
}
"Fleet over SSH remoting: $([Environment]::ProcessorCount) cores, PowerShell $($PSVersionTable.PSVersion), median of $Repeat runs, every host on this machine"
$results | Format-Table -AutoSize | Out-String -Width 200
if ($null -ne $concurrency) { "Invoke-Command -HostName with $max hosts and no limit: at most $concurrency hosts running the script block at once." }
if ($memory) { "Memory of one open session on its host (the remote pwsh process, NvmePS imported, after a run):"; $memory | Format-Table -AutoSize | Out-String }
