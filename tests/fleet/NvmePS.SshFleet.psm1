#Requires -Version 7.4
<#
Stand-in hosts for PowerShell remoting over SSH, all on this machine: one sshd (Debian's openssh-server) per host,
each listening on its own loopback address 127.0.1.N and nowhere else, with key-based logins (keys generated per
fleet) and the PowerShell subsystem running the pwsh that runs this module (the tool manifest's 7.6.10 under
`dotnet pwsh`). Each host has a HOME of its own, into which NvmePS is installed with Install-PSResource from a local
repository (what ./build.ps1 -Package produces), so a remote `Import-Module NvmePS` (or autoloading) finds it by name.

Used by tests/Pester/Remoting.Tests.ps1, the examples' tests and bench/Measure-Fleet.ps1.
#>
Set-StrictMode -Version Latest

# What the fleet's sshd processes are, by root folder, so Remove-SshFleet can stop them.
$script:fleets = @{}

function Get-SshdPath {
    foreach ($p in '/usr/sbin/sshd', '/usr/bin/sshd') { if (Test-Path $p) { return $p } }
    $null
}

<#
.SYNOPSIS
True when this machine can run the fleet: sshd, ssh and ssh-keygen are installed.
#>
function Test-SshFleetSupport {
    [OutputType([bool])]
    param()
    [bool](Get-SshdPath) -and [bool](Get-Command ssh -ErrorAction Ignore) -and [bool](Get-Command ssh-keygen -ErrorAction Ignore)
}

# The command line that starts a pwsh like this one: the apphost of an installed pwsh, or pwsh.dll under dotnet for
# the `dotnet pwsh` tool (whose $PSHOME has no apphost).
function Get-PwshCommandLine {
    $exe = Join-Path $PSHOME 'pwsh'
    if (Test-Path $exe) { return , @($exe) }
    , @([Environment]::ProcessPath, (Join-Path $PSHOME 'pwsh.dll'))
}

function Invoke-Checked([string] $File, [string[]] $Arguments) {
    $out = & $File @Arguments 2>&1
    if ($LASTEXITCODE -ne 0) { throw "$File $($Arguments -join ' ') failed ($LASTEXITCODE): $($out -join "`n")" }
}

function Get-FreePort([string[]] $Addresses) {
    # One port that is free on every address, so one -Port serves the whole fleet.
    for ($try = 0; $try -lt 20; $try++) {
        $probe = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Parse($Addresses[0]), 0)
        $probe.Start(); $port = $probe.LocalEndpoint.Port; $probe.Stop()
        $free = $true
        foreach ($a in $Addresses) {
            $l = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Parse($a), $port)
            try { $l.Start() } catch { $free = $false } finally { $l.Stop() }
        }
        if ($free) { return $port }
    }
    throw 'No port is free on every fleet address.'
}

function Wait-Listening([string] $Address, [int] $Port, [Diagnostics.Process] $Process, [string] $Log) {
    $deadline = [DateTime]::UtcNow.AddSeconds(20)
    while ([DateTime]::UtcNow -lt $deadline) {
        if ($Process.HasExited) { throw "sshd for $Address exited ($($Process.ExitCode)): $(Get-Content $Log -Raw)" }
        $c = [Net.Sockets.TcpClient]::new()
        try { $c.Connect($Address, $Port); return } catch { Start-Sleep -Milliseconds 100 } finally { $c.Dispose() }
    }
    throw "sshd for $Address did not listen on port $Port within 20 s: $(Get-Content $Log -Raw)"
}

<#
.SYNOPSIS
Starts -Count stand-in hosts (sshd on 127.0.1.2, 127.0.1.3, ...) with NvmePS installed on each from -RepositoryPath.

.DESCRIPTION
Returns the fleet: HostName (the addresses), Port, UserName, KeyFilePath and Options (UserKnownHostsFile with the
fleet's host key, so host keys are checked, not skipped), and Connection, a hashtable to splat into
Invoke-Command or New-PSSession. Stop it with Remove-SshFleet.

.PARAMETER RepositoryPath
A folder holding NvmePS's .nupkg (tools/Publish-NvmePSPackage.ps1); each host installs it with Install-PSResource.
Without it the hosts have no NvmePS.
#>
function New-SshFleet {
    param(
        [ValidateRange(1, 200)] [int] $Count = 3,
        [string] $RepositoryPath,
        [ValidateRange(2, 250)] [int] $FirstHost = 2
    )
    $sshd = Get-SshdPath
    if (-not $sshd) { throw 'sshd is not installed (Debian: apt-get install openssh-server).' }
    $root = Join-Path ([IO.Path]::GetTempPath()) "nvmeps-fleet-$([guid]::NewGuid().ToString('N').Substring(0, 12))"
    $null = New-Item -ItemType Directory $root
    & chmod 700 $root
    $user = [Environment]::UserName
    if ($user -eq 'root') {
        # sshd's privilege separation directory, which a container may lack.
        $null = New-Item -ItemType Directory -Force /run/sshd
    }
    $addresses = @($FirstHost..($FirstHost + $Count - 1) | ForEach-Object { "127.0.1.$_" })
    $key = Join-Path $root 'client_ed25519'
    $hostKey = Join-Path $root 'host_ed25519'
    Invoke-Checked ssh-keygen @('-q', '-t', 'ed25519', '-N', '', '-C', 'nvmeps-fleet-client', '-f', $key)
    Invoke-Checked ssh-keygen @('-q', '-t', 'ed25519', '-N', '', '-C', 'nvmeps-fleet-host', '-f', $hostKey)
    Copy-Item "$key.pub" (Join-Path $root 'authorized_keys')
    $port = Get-FreePort $addresses
    $hostPub = (Get-Content "$hostKey.pub" -Raw).Trim() -replace ' nvmeps-fleet-host$', ''
    $knownHosts = Join-Path $root 'known_hosts'
    Set-Content $knownHosts ($addresses | ForEach-Object { "[$_]:$port $hostPub" })

    $pwsh = Get-PwshCommandLine
    $nuget = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path $HOME '.nuget/packages' }
    $dotnetRoot = Split-Path ([Environment]::ProcessPath)
    $hosts = foreach ($a in $addresses) {
        $dir = Join-Path $root $a
        $null = New-Item -ItemType Directory $dir
        # The subsystem's pwsh: this host's HOME (its own installed modules and PSResourceGet settings), the NuGet
        # cache the tool pwsh loads from, and nothing of the caller's module path.
        $wrapper = Join-Path $dir 'pwsh-subsystem.sh'
        Set-Content $wrapper @(
            '#!/bin/sh'
            "export HOME='$dir' NUGET_PACKAGES='$nuget' DOTNET_ROOT='$dotnetRoot' DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1"
            'unset PSModulePath'
            "exec $(($pwsh | ForEach-Object { "'$_'" }) -join ' ') `"`$@`""
        )
        & chmod 755 $wrapper
        $config = Join-Path $dir 'sshd_config'
        Set-Content $config @(
            "ListenAddress ${a}:$port"
            "HostKey $hostKey"
            "PidFile $(Join-Path $dir 'sshd.pid')"
            "AuthorizedKeysFile $(Join-Path $root 'authorized_keys')"
            'PubkeyAuthentication yes'
            'PasswordAuthentication no'
            'KbdInteractiveAuthentication no'
            'UsePAM no'
            'StrictModes no'
            'PermitRootLogin prohibit-password'
            "AllowUsers $user"
            'MaxStartups 200'
            'MaxSessions 50'
            'LogLevel ERROR'
            "Subsystem powershell $wrapper -sshs -NoLogo"
        )
        Invoke-Checked $sshd @('-t', '-f', $config)
        [pscustomobject]@{ Address = $a; Directory = $dir; Config = $config; Log = (Join-Path $dir 'sshd.log'); Process = $null }
    }

    if ($RepositoryPath) {
        Install-NvmePSOnFleet -Hosts $hosts -RepositoryPath $RepositoryPath -Pwsh $pwsh -NuGet $nuget
    }

    foreach ($h in $hosts) {
        $h.Process = Start-Process $sshd -ArgumentList '-D', '-e', '-f', $h.Config -RedirectStandardError $h.Log -PassThru
    }
    $script:fleets[$root] = @($hosts.Process)
    foreach ($h in $hosts) { Wait-Listening $h.Address $port $h.Process $h.Log }

    $options = @{ UserKnownHostsFile = $knownHosts; StrictHostKeyChecking = 'yes'; IdentitiesOnly = 'yes'; BatchMode = 'yes' }
    [pscustomobject]@{
        PSTypeName  = 'NvmePS.Tests.SshFleet'
        HostName    = $addresses
        Port        = $port
        UserName    = $user
        KeyFilePath = $key
        Options     = $options
        Root        = $root
        Hosts       = @($hosts)
        Connection  = @{ HostName = $addresses; Port = $port; UserName = $user; KeyFilePath = $key; Options = $options }
    }
}

# Each host installs the package into its own HOME, as a user would: a repository registered by name, then
# Install-PSResource -Scope CurrentUser. One child pwsh per host, because PSResourceGet reads HOME when it loads.
function Install-NvmePSOnFleet($Hosts, [string] $RepositoryPath, [string[]] $Pwsh, [string] $NuGet) {
    $repo = (Resolve-Path $RepositoryPath).Path
    $script = @"
`$ErrorActionPreference = 'Stop'
Register-PSResourceRepository -Name NvmePSLocal -Uri '$repo' -Trusted
Install-PSResource NvmePS -Repository NvmePSLocal -Scope CurrentUser -Quiet
"@
    $saved = $env:HOME, $env:PSModulePath, $env:NUGET_PACKAGES
    try {
        foreach ($h in $Hosts) {
            $env:HOME = $h.Directory; $env:PSModulePath = $null; $env:NUGET_PACKAGES = $NuGet
            $exe, $rest = $Pwsh
            $out = & $exe @rest -NoProfile -NonInteractive -Command $script 2>&1
            if ($LASTEXITCODE -ne 0) { throw "Installing NvmePS on $($h.Address) failed: $($out -join "`n")" }
        }
    }
    finally { $env:HOME, $env:PSModulePath, $env:NUGET_PACKAGES = $saved }
}

<#
.SYNOPSIS
Stops a fleet's sshd processes (their sessions end with them) and removes its keys and folders.
#>
function Remove-SshFleet {
    param([Parameter(Mandatory, ValueFromPipeline)] $Fleet)
    process {
        foreach ($p in @($script:fleets[$Fleet.Root])) {
            if ($p -and -not $p.HasExited) {
                # The whole tree: the listener and every session it forked, with the remote pwsh each runs.
                $p.Kill($true)
                $p.WaitForExit(5000) | Out-Null
            }
        }
        $script:fleets.Remove($Fleet.Root)
        Remove-Item -Recurse -Force $Fleet.Root -ErrorAction Ignore
    }
}

Export-ModuleMember -Function Test-SshFleetSupport, New-SshFleet, Remove-SshFleet
