#Requires -Version 7.4
<#
.SYNOPSIS
Collects NVMe health from many hosts over PowerShell remoting and returns one table, worst first.

.DESCRIPTION
Runs one script block on every host (Invoke-Command over PSSessions, at most -ThrottleLimit hosts at a time). On each host,
NvmePS (installed there with Install-PSResource) reads SMART / Health and Identify Controller from every drive it
can reach, whichever way it is reached:

  Fabrics  every NVM subsystem the host's own discovery controller lists (the address the remoting connection
           reached, port -DiscoveryPort): this finds kernel nvmet targets and NvmePS targets alike;
  Kernel   every controller the host's kernel has (Get-NvmeDevice: local PCIe drives and kernel fabrics hosts);
  MI       every NVMe-MI endpoint mctpd knows (Find-NvmeMiEndpoint), plus the -MiEndpoint addresses (with -Session,
           a simulator started in that session answers at its address).

Each drive is one row: where it is, what it is, its severity (Critical when the controller raises a critical warning,
Warning when it is at or above its warning temperature or has used 90% of its life or its spare is at the
threshold, Unreachable when it could not be read, else OK), and the figures behind it. A host that cannot be
reached at all is an error record from Invoke-Command with its PSComputerName, and the other hosts go on.

The objects that hold connections stay on the hosts: the script connects, reads and disconnects there, and only
plain figures cross the remoting boundary.

.PARAMETER HostName
Hosts to reach over SSH remoting (PowerShell's own remoting; NvmePS must be installed on each).

.PARAMETER UserName
The SSH user on every host.

.PARAMETER KeyFilePath
The SSH private key.

.PARAMETER Port
The SSH port of every host.

.PARAMETER Options
Extra SSH options (ssh_config keywords), for example @{ UserKnownHostsFile = '~/fleet_known_hosts' }.

.PARAMETER Session
Open PSSessions instead of host names: reuses them, and sees what was started in them (targets, MI simulators).

.PARAMETER ThrottleLimit
At most this many hosts at a time.

.PARAMETER DiscoveryPort
The port of each host's discovery controller.

.PARAMETER MiEndpoint
NVMe-MI endpoints to read on every host besides those mctpd lists, as hashtables with Network and Eid.

.EXAMPLE
PS> ./Get-NvmeFleetHealth.ps1 -HostName stor01, stor02, stor03 -UserName ops -KeyFilePath ~/.ssh/fleet_ed25519 | Format-Table

Every drive of three storage servers, critical ones first.

.EXAMPLE
PS> $s = New-PSSession -HostName (Get-Content ./rack7.txt) -UserName ops -KeyFilePath ~/.ssh/fleet_ed25519
PS> ./Get-NvmeFleetHealth.ps1 -Session $s -MiEndpoint @{ Network = 1; Eid = 29 } | Where-Object Severity -ne OK

Only the drives that need attention, through sessions that stay open for the next run, including the NVMe-MI
endpoint at network 1, EID 29 on every host.

.OUTPUTS
NvmePS.FleetHealth: ComputerName, Source, Device, Model, SerialNumber, Severity, CriticalWarning, TemperatureCelsius,
WarningTemperatureCelsius, PercentageUsed, AvailableSparePercent, Problem.
#>
[CmdletBinding(DefaultParameterSetName = 'HostName')]
[OutputType('NvmePS.FleetHealth')]
param(
    [Parameter(Mandatory, Position = 0, ParameterSetName = 'HostName')]
    [string[]] $HostName,
    [Parameter(ParameterSetName = 'HostName')]
    [string] $UserName,
    [Parameter(ParameterSetName = 'HostName')]
    [string] $KeyFilePath,
    [Parameter(ParameterSetName = 'HostName')]
    [ValidateRange(1, 65535)]
    [int] $Port = 22,
    [Parameter(ParameterSetName = 'HostName')]
    [hashtable] $Options,
    [Parameter(Mandatory, ParameterSetName = 'Session')]
    [System.Management.Automation.Runspaces.PSSession[]] $Session,
    [ValidateRange(1, 1000)]
    [int] $ThrottleLimit = 32,
    [ValidateRange(1, 65535)]
    [int] $DiscoveryPort = 8009,
    [hashtable[]] $MiEndpoint = @()
)

$onHost = {
    param([int] $DiscoveryPort, [hashtable[]] $MiEndpoint)
    Import-Module NvmePS -ErrorAction Stop

    # One row per drive, Unreachable until its figures are read.
    function New-HealthRow([string] $Source, [string] $Device, [string] $Problem = '') {
        [ordered]@{
            PSTypeName = 'NvmePS.FleetHealth'; Source = $Source; Device = $Device; Model = ''; SerialNumber = ''
            Severity = 'Unreachable'; CriticalWarning = ''; TemperatureCelsius = $null; WarningTemperatureCelsius = $null
            PercentageUsed = $null; AvailableSparePercent = $null; Problem = $Problem
        }
    }

    function Measure-Drive([string] $Source, [string] $Device, $Controller) {
        $row = New-HealthRow $Source $Device
        try {
            $id = Get-NvmeIdentify -Controller $Controller -ErrorAction Stop
            $smart = Get-NvmeLog -Controller $Controller -LogId Smart -ErrorAction Stop
            $row.Model = $id.ModelNumber
            $row.SerialNumber = $id.SerialNumber
            $row.CriticalWarning = [string]$smart.CriticalWarning
            $row.TemperatureCelsius = $smart.TemperatureCelsius
            $row.WarningTemperatureCelsius = $id.WarningTemperatureCelsius
            $row.PercentageUsed = [int]$smart.PercentageUsed
            $row.AvailableSparePercent = [int]$smart.AvailableSparePercent
            $problems = @(
                if ($smart.CriticalWarningBits -ne 0) { "critical warning: $($smart.CriticalWarning)" }
                if ($null -ne $smart.TemperatureCelsius -and $null -ne $id.WarningTemperatureCelsius -and $smart.TemperatureCelsius -ge $id.WarningTemperatureCelsius) {
                    "$($smart.TemperatureCelsius) °C, at or above the warning temperature ($($id.WarningTemperatureCelsius) °C)"
                }
                if ($smart.PercentageUsed -ge 90) { "$($smart.PercentageUsed)% of rated life used" }
                if ($smart.AvailableSpareThresholdPercent -gt 0 -and $smart.AvailableSparePercent -le $smart.AvailableSpareThresholdPercent) {
                    "spare $($smart.AvailableSparePercent)% at or below its threshold ($($smart.AvailableSpareThresholdPercent)%)"
                }
            )
            $row.Severity = if ($smart.CriticalWarningBits -ne 0) { 'Critical' } elseif ($problems) { 'Warning' } else { 'OK' }
            $row.Problem = $problems -join '; '
        }
        catch { $row.Problem = $_.Exception.Message }
        [pscustomobject]$row
    }

    # Fabrics: the subsystems this host's own discovery controller offers, at the address remoting reached.
    $address = if ($env:SSH_CONNECTION) { ($env:SSH_CONNECTION -split ' ')[2] } else { '127.0.0.1' }
    $entries = @(Get-NvmfDiscoveryLog $address -ServiceId $DiscoveryPort -ErrorAction SilentlyContinue | Where-Object Subtype -EQ 'nvme subsystem')
    foreach ($e in $entries) {
        $c = $null
        try {
            $c = $e | Connect-NvmfController -ErrorAction Stop
            Measure-Drive 'Fabrics' "$($e.SubNqn) at $($e.Traddr):$($e.Trsvcid)" $c
        }
        catch {
            [pscustomobject](New-HealthRow 'Fabrics' "$($e.SubNqn) at $($e.Traddr):$($e.Trsvcid)" $_.Exception.Message)
        }
        finally { if ($c) { $c | Disconnect-NvmfController } }
    }

    # Kernel: the controllers this host's kernel has.
    foreach ($d in @(Get-NvmeDevice -ErrorAction SilentlyContinue)) {
        Measure-Drive 'Kernel' $d.Name $d
    }

    # NVMe-MI: mctpd's endpoints (none when the host has no D-Bus or no mctpd), then the addresses given; each
    # controller of each endpoint.
    $found = try { @(Find-NvmeMiEndpoint -ErrorAction Stop | ForEach-Object { @{ Network = $_.Network; Eid = $_.Eid } }) } catch { @() }
    $endpoints = $found + @($MiEndpoint)
    foreach ($ep in $endpoints) {
        $controllers = @(Get-NvmeMiController -Network $ep.Network -Eid $ep.Eid -ErrorAction SilentlyContinue -ErrorVariable miError)
        if ($controllers.Count -eq 0) {
            [pscustomobject](New-HealthRow 'MI' "net $($ep.Network) eid $($ep.Eid)" "$($miError | Select-Object -First 1)")
        }
        foreach ($mc in $controllers) {
            Measure-Drive 'MI' "net $($ep.Network) eid $($ep.Eid) controller $($mc.ControllerId)" $mc
        }
    }
}

# Invoke-Command -HostName (SSH) has no -ThrottleLimit, so with host names the script opens sessions itself,
# -ThrottleLimit at a time, runs through them with Invoke-Command -Session -ThrottleLimit, and closes them.
$opened = @()
try {
    $sessions = if ($PSCmdlet.ParameterSetName -eq 'Session') { $Session }
    else {
        $ssh = @{ Port = $Port }
        if ($UserName) { $ssh.UserName = $UserName }
        if ($KeyFilePath) { $ssh.KeyFilePath = $KeyFilePath }
        if ($Options) { $ssh.Options = $Options }
        for ($i = 0; $i -lt $HostName.Count; $i += $ThrottleLimit) {
            $batch = $HostName[$i..([Math]::Min($i + $ThrottleLimit, $HostName.Count) - 1)]
            # A host that cannot be reached is an error naming it (TargetObject); the others go on.
            $opened += @(New-PSSession -HostName $batch @ssh)
        }
        $opened
    }

    $rank = @{ Critical = 0; Unreachable = 1; Warning = 2; OK = 3 }
    if ($sessions) {
        Invoke-Command -Session $sessions -ThrottleLimit $ThrottleLimit -ScriptBlock $onHost -ArgumentList $DiscoveryPort, $MiEndpoint |
            Select-Object -Property @{ Name = 'ComputerName'; Expression = { $_.PSComputerName } }, Source, Device, Model, SerialNumber, Severity,
                CriticalWarning, TemperatureCelsius, WarningTemperatureCelsius, PercentageUsed, AvailableSparePercent, Problem |
            ForEach-Object { $_.PSObject.TypeNames.Insert(0, 'NvmePS.FleetHealth'); $_ } |
            Sort-Object -Property @{ Expression = { $rank[$_.Severity] } }, ComputerName, Source, Device
    }
}
finally {
    if ($opened) { $opened | Remove-PSSession }
}
