#Requires -Version 7.4
# NvmePS driven across hosts through PowerShell remoting over SSH, for real: three stand-in hosts, each an sshd of
# its own on 127.0.1.N (tests/fleet/NvmePS.SshFleet.psm1) with NvmePS installed by Install-PSResource from the package
# ./build.ps1 -Package makes. Nothing listens beyond those loopback addresses.
BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot '..' 'fleet' 'NvmePS.SshFleet.psm1') -Force
    # Skipped only off CI, on a machine without openssh-server; .ci/run installs it, so there it must run.
    $script:noSsh = -not (Test-SshFleetSupport) -and -not $env:CI
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
    Import-Module (Join-Path $PSScriptRoot '..' 'fleet' 'NvmePS.SshFleet.psm1') -Force
    $script:examples = Join-Path $PSScriptRoot '..' '..' 'examples'
    if (-not (Test-SshFleetSupport)) {
        if ($env:CI) { throw 'sshd, ssh or ssh-keygen is missing (openssh-server, openssh-client); .ci/run installs them.' }
        return
    }
    $script:repo = Join-Path ([IO.Path]::GetTempPath()) "nvmeps-fleet-repo-$([guid]::NewGuid().ToString('N').Substring(0, 8))"
    $null = & (Join-Path $PSScriptRoot '..' '..' 'tools' 'Publish-NvmePSPackage.ps1') -ModulePath (Split-Path $NvmePSManifest) -RepositoryPath $repo
    $script:fleet = New-SshFleet -Count 3 -RepositoryPath $repo
    $script:conn = $fleet.Connection
    $script:sessions = @(New-PSSession @conn)
    $sessions.Count | Should -Be 3

    # On every host at once: a target on the host's own address (with a discovery controller on 8009) and an NVMe-MI
    # simulator, both living in that host's session.
    $script:targets = @(Invoke-Command -Session $sessions {
            $own = ($env:SSH_CONNECTION -split ' ')[2]
            $null = Start-NvmeMiSimulator
            Start-NvmfTarget "${own}:4420" "nqn.2024-01.io.nvmeps.fleet:$own" -Namespace memory:8MB -DiscoveryListen "${own}:8009"
        } | Sort-Object PSComputerName)
    $script:byHost = @{}
    foreach ($t in $targets) { $byHost[$t.PSComputerName] = $t }
    $script:names = @($fleet.HostName)
}

AfterAll {
    if (Get-Variable sessions -Scope Script -ErrorAction Ignore) { $sessions | Remove-PSSession -ErrorAction Ignore }
    if (Get-Variable fleet -Scope Script -ErrorAction Ignore) { $fleet | Remove-SshFleet }
    if (Get-Variable repo -Scope Script -ErrorAction Ignore) { Remove-Item -Recurse -Force $repo -ErrorAction Ignore }
    Remove-NvmePSAfterTest
}

Describe 'Remoting over SSH to a fleet of stand-in hosts' -Skip:$noSsh {
    It 'imports NvmePS by name on every host, from the module path Install-PSResource put it in' {
        $r = @(Invoke-Command -Session $sessions { [pscustomobject]@{ Home = $HOME; Base = (Get-Module NvmePS).ModuleBase; Own = ($env:SSH_CONNECTION -split ' ')[2] } })
        $r.Count | Should -Be 3
        foreach ($x in $r) {
            $x.Own | Should -Be $x.PSComputerName
            $x.Base | Should -BeLike "$($x.Home)/.local/share/powershell/Modules/NvmePS/*"
        }
        @($r.PSComputerName | Sort-Object) | Should -Be $names
    }

    It 'started a target on each host, on its own address' {
        foreach ($n in $names) {
            $byHost[$n].Address | Should -Be $n
            $byHost[$n].Port | Should -Be 4420
            $byHost[$n].SubsystemNqn | Should -Be "nqn.2024-01.io.nvmeps.fleet:$n"
        }
    }

    It "connects each host's host to the next host's target, and collects Identify, SMART and target status" {
        for ($i = 0; $i -lt 3; $i++) {
            $next = $byHost[$names[($i + 1) % 3]]
            $c = Invoke-Command -Session ($sessions | Where-Object ComputerName -EQ $names[$i]) -ArgumentList $next.Address, $next.SubsystemNqn {
                param($address, $nqn)
                $global:neighbour = Connect-NvmfController $address $nqn -ServiceId 4420 -IoQueueCount 1
                $global:neighbour
            }
            $c.PSComputerName | Should -Be $names[$i]
            $c.SerialNumber | Should -Be $next.SerialNumber
        }

        $ids = @(Invoke-Command -Session $sessions { Get-NvmeIdentify -Controller $global:neighbour })
        $smart = @(Invoke-Command -Session $sessions { Get-NvmeLog -Controller $global:neighbour -LogId Smart })
        $status = @(Invoke-Command -Session $sessions { Get-NvmfTarget })
        foreach ($i in 0..2) {
            $me = $names[$i]
            $next = $byHost[$names[($i + 1) % 3]]
            # Each host's Identify is of its neighbour's subsystem: the fabric really spans hosts.
            ($ids | Where-Object PSComputerName -EQ $me).SerialNumber | Should -Be $next.SerialNumber
            $s = $smart | Where-Object PSComputerName -EQ $me
            $s.CriticalWarningBits | Should -Be 0
            $s.AvailableSparePercent | Should -Be 100
            $t = $status | Where-Object PSComputerName -EQ $me
            $t.Controllers | Should -Be 1
            $t.ActiveConnections | Should -BeGreaterOrEqual 2
        }
    }

    It "collects Get-NvmeMiHealth from the simulator on every host" {
        $h = @(Invoke-Command -Session $sessions { Get-NvmeMiHealth -Network 1 -Eid 29 })
        @($h.PSComputerName | Sort-Object) | Should -Be $names
        foreach ($x in $h) {
            $x.PSObject.TypeNames[0] | Should -Be 'Deserialized.NvmePS.NvmeMiSubsystemHealth'
            $x.DriveFunctional | Should -BeTrue
            $x.TemperatureCelsius | Should -BeGreaterThan 20
            $x.TemperatureCelsius | Should -BeLessThan 50
        }
    }

    It "keeps the properties a runbook reads, and the module's alias properties" {
        $ids = @(Invoke-Command -Session $sessions { Get-NvmeIdentify -Controller $global:neighbour })
        $ids[0].PSObject.TypeNames[0] | Should -Be 'Deserialized.NvmePS.NvmeControllerIdentity'
        foreach ($p in 'ModelNumber', 'SerialNumber', 'FirmwareRevision', 'ControllerId', 'WarningTemperatureCelsius') {
            $ids[0].PSObject.Properties[$p] | Should -Not -BeNullOrEmpty -Because "a runbook reads $p"
        }
        # The Types.ps1xml alias members apply to the deserialized type too.
        $ids[0].Model | Should -Be $ids[0].ModelNumber
    }

    # Each type's table on the client has the labels the same type has live in this session (the module's view, not
    # PowerShell's default list of every property), and PSComputerName.
    It 'renders a remote <Type> with the same view as a live one' -ForEach @(
        @{ Type = 'NvmeControllerIdentity'; Remote = { Get-NvmeIdentify -Controller $global:neighbour }; Local = { param($c) Get-NvmeIdentify -Controller $c } }
        @{ Type = 'NvmeSmartHealth'; Remote = { Get-NvmeLog -Controller $global:neighbour -LogId Smart }; Local = { param($c) Get-NvmeLog -Controller $c -LogId Smart } }
        @{ Type = 'NvmfController'; Remote = { $global:neighbour }; Local = { param($c) $c } }
        @{ Type = 'NvmfTarget'; Remote = { Get-NvmfTarget }; Local = { param($c, $t) $t } }
        @{ Type = 'NvmeMiSubsystemHealth'; Remote = { Get-NvmeMiHealth -Network 1 -Eid 29 }; Local = { param($c, $t, $sim) $sim | Get-NvmeMiHealth } }
    ) {
        function Get-Header($objects) { (((@($objects) | Format-Table | Out-String -Width 200 -Stream) -match '\S')[0]).Trim() -split '\s+' }
        $remote = @(Invoke-Command -Session $sessions $Remote)
        $remote[0].PSObject.TypeNames[0] | Should -Be "Deserialized.NvmePS.$Type"
        $t = Start-TestTarget
        $c = Connect-TestController $t
        $sim = Start-NvmeMiSimulator -Eid 31
        try { $live = & $Local $c $t $sim }
        finally { $c | Disconnect-NvmfController; $t | Stop-NvmfTarget; $sim | Stop-NvmeMiSimulator }
        $live.PSObject.TypeNames[0] | Should -Be "NvmePS.$Type"
        $liveLabels = Get-Header $live
        $liveLabels.Count | Should -BeGreaterThan 2
        # Remoting adds the column that says which host each row came from.
        Get-Header $remote | Should -Be (@($liveLabels) + 'PSComputerName')
    }

    It 'reports an error on one host as an ErrorRecord with its PSComputerName, and the others go on' {
        $down = $names[1]
        Invoke-Command -Session ($sessions | Where-Object ComputerName -EQ $down) { Get-NvmfTarget | Stop-NvmfTarget }
        try {
            $logs = @(Invoke-Command -Session $sessions {
                    Get-NvmfDiscoveryLog (($env:SSH_CONNECTION -split ' ')[2]) -ServiceId 8009 | Where-Object Subtype -EQ 'nvme subsystem'
                } -ErrorAction SilentlyContinue -ErrorVariable err)
            @($logs.PSComputerName | Sort-Object) | Should -Be @($names | Where-Object { $_ -ne $down })
            $err.Count | Should -Be 1
            $err[0].OriginInfo.PSComputerName | Should -Be $down
            $err[0].FullyQualifiedErrorId | Should -Be 'NvmeConnectionError,NvmePS.Commands.GetNvmfDiscoveryLogCommand'

            # A host that is not there at all: the same, from Invoke-Command itself.
            $r = @(Invoke-Command -HostName ($names + '127.0.1.250') -Port $fleet.Port -UserName $fleet.UserName -KeyFilePath $fleet.KeyFilePath -Options $fleet.Options {
                    ($env:SSH_CONNECTION -split ' ')[2]
                } -ErrorAction SilentlyContinue -ErrorVariable err2)
            @($r | Sort-Object) | Should -Be $names
            $err2.Count | Should -Be 1
            $err2[0].TargetObject | Should -Be '127.0.1.250'
            $err2[0].FullyQualifiedErrorId | Should -Be 'PSSessionStateBroken'
        }
        finally {
            $restarted = Invoke-Command -Session ($sessions | Where-Object ComputerName -EQ $down) -ArgumentList $byHost[$down].SerialNumber {
                $own = ($env:SSH_CONNECTION -split ' ')[2]
                Start-NvmfTarget "${own}:4420" "nqn.2024-01.io.nvmeps.fleet:$own" -Namespace memory:8MB -DiscoveryListen "${own}:8009"
            }
            $byHost[$down] = $restarted
            # The neighbour's host reconnects to the restarted target.
            $prev = $names[0]
            Invoke-Command -Session ($sessions | Where-Object ComputerName -EQ $prev) -ArgumentList $restarted.Address, $restarted.SubsystemNqn {
                param($address, $nqn)
                $global:neighbour | Disconnect-NvmfController -ErrorAction Ignore
                $global:neighbour = Connect-NvmfController $address $nqn -ServiceId 4420 -IoQueueCount 1
            }
        }
    }

    # Invoke-Command -HostName has no -ThrottleLimit (PowerShell 7.6's SSHHost parameter set); with SSH it applies to
    # sessions, so that is what is tested, and what the fleet example does.
    It 'honours -ThrottleLimit on SSH sessions: never more hosts at once than -ThrottleLimit <Limit> allows, and as many' -ForEach @(
        @{ Limit = 1 }, @{ Limit = 2 }, @{ Limit = 3 }
    ) {
        # Each host marks itself running in a shared folder, waits until -Limit hosts are running (or every host that
        # can still come is done), records the most it saw, and unmarks itself. Counts, not times, are asserted.
        $dir = Join-Path $fleet.Root "throttle-$Limit"
        $null = New-Item -ItemType Directory $dir
        $seen = @(Invoke-Command -Session $sessions -ThrottleLimit $Limit -ArgumentList $dir, $Limit, $names.Count {
                param($dir, $limit, $total)
                $own = ($env:SSH_CONNECTION -split ' ')[2]
                $mark = Join-Path $dir "$own.running"
                $null = New-Item -ItemType File $mark
                $most = 0
                $deadline = [DateTime]::UtcNow.AddSeconds(60)
                do {
                    $running = @(Get-ChildItem $dir -Filter '*.running').Count
                    $done = @(Get-ChildItem $dir -Filter '*.done').Count
                    $most = [Math]::Max($most, $running)
                    if ($running -ge $limit -or $running + $done -ge $total) { break }
                    Start-Sleep -Milliseconds 50
                } while ([DateTime]::UtcNow -lt $deadline)
                Start-Sleep -Milliseconds 300
                $most = [Math]::Max($most, @(Get-ChildItem $dir -Filter '*.running').Count)
                Move-Item $mark (Join-Path $dir "$own.done")
                $most
            })
        $seen.Count | Should -Be 3
        ($seen | Measure-Object -Maximum).Maximum | Should -Be $Limit
    }
}

Describe 'Objects that hold live connections, across the remoting boundary' -Skip:$noSsh {
    It 'refuses a deserialized target or controller by name of what it was and where it lives' {
        $first = $sessions | Where-Object ComputerName -EQ $names[0]
        $remoteTarget = Invoke-Command -Session $first { Get-NvmfTarget }
        $remoteTarget.PSObject.TypeNames[0] | Should -Be 'Deserialized.NvmePS.NvmfTarget'
        { $remoteTarget | Stop-NvmfTarget -ErrorAction Stop } |
            Should -Throw -ErrorId 'ParameterArgumentTransformationError,NvmePS.Commands.StopNvmfTargetCommand' -ExpectedMessage "*copy of an NvmePS.NvmfTarget object*session on $($names[0])*"
        $remoteController = Invoke-Command -Session $first { $global:neighbour }
        { Get-NvmeLog -Controller $remoteController -LogId Smart -ErrorAction Stop } |
            Should -Throw -ErrorId 'ParameterArgumentTransformationError,NvmePS.Commands.GetNvmeLogCommand' -ExpectedMessage "*copy of an NvmePS.NvmfController object*"
        # The remote target is untouched.
        (Invoke-Command -Session $first { (Get-NvmfTarget).IsRunning }) | Should -BeTrue
    }

    It "does not act on this computer's objects of the same name when remote output binds by property name" {
        # A local target, controller and simulator with the same NQN and MCTP address as the remote ones.
        $nqn = "nqn.2024-01.io.nvmeps.fleet:$($names[0])"
        $local = Start-NvmfTarget 127.0.0.1:0 $nqn -Namespace memory:4MB
        $c = Connect-NvmfController 127.0.0.1 $nqn -ServiceId $local.Port
        $sim = Start-NvmeMiSimulator
        try {
            $first = $sessions | Where-Object ComputerName -EQ $names[0]
            $remoteNqn = Invoke-Command -Session $first { Get-NvmfTarget | Select-Object SubsystemNqn }
            $remoteNqn | Disconnect-NvmfController -ErrorAction SilentlyContinue -ErrorVariable err
            $err[0].FullyQualifiedErrorId | Should -Be 'RemotedInput,NvmePS.Commands.DisconnectNvmfControllerCommand'
            "$($err[0])" | Should -BeLike "*came from $($names[0]) through remoting*"
            $c.IsConnected | Should -BeTrue
            $remoteNqn | Get-NvmfTarget -ErrorAction SilentlyContinue -ErrorVariable err | Should -BeNullOrEmpty
            $err[0].FullyQualifiedErrorId | Should -Be 'RemotedInput,NvmePS.Commands.GetNvmfTargetCommand'
            $remoteNqn | Stop-NvmfTarget -ErrorAction SilentlyContinue -ErrorVariable err
            $err[0].FullyQualifiedErrorId | Should -Be 'RemotedInput,NvmePS.Commands.StopNvmfTargetCommand'
            $local.IsRunning | Should -BeTrue

            Invoke-Command -Session $first { [pscustomobject]@{ Network = 1; Eid = 29 } } | Get-NvmeMiHealth -ErrorAction SilentlyContinue -ErrorVariable err2 | Should -BeNullOrEmpty
            $err2[0].FullyQualifiedErrorId | Should -Be 'RemotedInput,NvmePS.Commands.GetNvmeMiHealthCommand'
        }
        finally { $c | Disconnect-NvmfController; $local | Stop-NvmfTarget; $sim | Stop-NvmeMiSimulator }
    }
}

Describe 'The fleet examples users copy' -Skip:$noSsh {
    It 'Get-NvmeFleetHealth.ps1 returns every drive of every host, worst first' {
        $rows = @(& (Join-Path $examples 'Get-NvmeFleetHealth.ps1') -Session $sessions -MiEndpoint @{ Network = 1; Eid = 29 })
        # Per host: its own target's namespace subsystem over the fabric, and the simulator's two controllers over MI.
        foreach ($n in $names) {
            $mine = @($rows | Where-Object ComputerName -EQ $n)
            @($mine | Where-Object Source -EQ 'Fabrics').Device | Should -Be "nqn.2024-01.io.nvmeps.fleet:$n at ${n}:4420"
            @($mine | Where-Object Source -EQ 'MI').Count | Should -Be 2
        }
        $rows.Severity | Sort-Object -Unique | Should -Be 'OK'
        $rows[0].PSObject.TypeNames[0] | Should -Be 'NvmePS.FleetHealth'

        # One host's drive runs hot: its warning threshold set below its temperature over NVMe-MI.
        $hot = $sessions | Where-Object ComputerName -EQ $names[2]
        Invoke-Command -Session $hot { Get-NvmeMiController -Network 1 -Eid 29 | Select-Object -First 1 | Set-NvmeFeature -FeatureId TemperatureThreshold -Value 290 -Confirm:$false }
        try {
            $rows = @(& (Join-Path $examples 'Get-NvmeFleetHealth.ps1') -Session $sessions -MiEndpoint @{ Network = 1; Eid = 29 })
            $rows[0].ComputerName | Should -Be $names[2]
            $rows[0].Severity | Should -Be 'Critical'
            $rows[0].Problem | Should -BeLike '*critical warning*'
            @($rows | Where-Object Severity -EQ 'Critical').ComputerName | Sort-Object -Unique | Should -Be $names[2]
            $rows[-1].Severity | Should -Be 'OK'
        }
        finally {
            Invoke-Command -Session $hot { Get-NvmeMiController -Network 1 -Eid 29 | Select-Object -First 1 | Set-NvmeFeature -FeatureId TemperatureThreshold -Value 343 -Confirm:$false }
        }
    }

    It 'Get-NvmeFleetHealth.ps1 with host names opens its own sessions, and finds the targets through discovery' {
        # With a host that is not there: an error names it, and the rest are read.
        $rows = @(& (Join-Path $examples 'Get-NvmeFleetHealth.ps1') -HostName ($names + '127.0.1.250') -Port $fleet.Port -UserName $fleet.UserName -KeyFilePath $fleet.KeyFilePath -Options $fleet.Options -ThrottleLimit 2 -ErrorAction SilentlyContinue -ErrorVariable err)
        @($rows | Where-Object Source -EQ 'Fabrics').ComputerName | Sort-Object | Should -Be $names
        $err.Count | Should -Be 1
        "$($err[0].ErrorDetails)$($err[0].Exception.Message)" | Should -BeLike '*127.0.1.250*'
        $rows.Severity | Sort-Object -Unique | Should -Be 'OK'
    }

    It 'Fleet.Tests.ps1 passes on a healthy fleet and names the host and checks that fail on a hot drive' {
        function Invoke-FleetTests {
            $container = New-PesterContainer -Path (Join-Path $examples 'Fleet.Tests.ps1') -Data @{
                Session = $sessions; MiEndpoint = @(@{ Network = 1; Eid = 29 })
                ExpectedSubsystem = @{ $names[0] = "nqn.2024-01.io.nvmeps.fleet:$($names[0])" }
            }
            $config = New-PesterConfiguration
            $config.Run.Container = $container
            $config.Run.PassThru = $true
            $config.Output.Verbosity = 'None'
            Invoke-Pester -Configuration $config
        }
        $healthy = Invoke-FleetTests
        $healthy.PassedCount | Should -Be 12
        $healthy.FailedCount | Should -Be 0

        $hot = $sessions | Where-Object ComputerName -EQ $names[1]
        Invoke-Command -Session $hot { Get-NvmeMiController -Network 1 -Eid 29 | Select-Object -First 1 | Set-NvmeFeature -FeatureId TemperatureThreshold -Value 290 -Confirm:$false }
        try { $sick = Invoke-FleetTests }
        finally { Invoke-Command -Session $hot { Get-NvmeMiController -Network 1 -Eid 29 | Select-Object -First 1 | Set-NvmeFeature -FeatureId TemperatureThreshold -Value 343 -Confirm:$false } }
        $sick.PassedCount | Should -Be 10
        @($sick.Failed | ForEach-Object { "$($_.Block.ExpandedName) / $($_.ExpandedName)" } | Sort-Object) | Should -Be @(
            "NVMe fleet host $($names[1]) / has no drive reporting a critical warning"
            "NVMe fleet host $($names[1]) / keeps every drive's temperature below its warning threshold"
        )
    }
}
