#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
    $script:t = Start-TestTarget -Namespace 'memory:4MB', 'memory:2MB'
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'Connect-NvmfController' {
    It 'connects with I/O queues and identifies the controller' {
        $c = Connect-TestController $t -Extra @{ IoQueueCount = 2; QueueSize = 16 }
        $c | Should -BeOfType NvmePS.NvmfController
        $c.IsConnected | Should -BeTrue
        $c.SubsystemNqn | Should -Be $t.SubsystemNqn
        $c.IoQueueCount | Should -Be 2
        $c.QueuePairs.QueueId | Should -Be @(0, 1, 2)
        $c.QueuePairs[1].QueueSize | Should -Be 16
        $c.SerialNumber | Should -Be $t.SerialNumber
        $c | Disconnect-NvmfController
    }

    It 'connects with digests and without SQ flow control' {
        $c = Connect-TestController $t -Extra @{ HeaderDigest = $true; DataDigest = $true; DisableSqFlowControl = $true }
        $c.HeaderDigest | Should -BeTrue
        $c.DataDigest | Should -BeTrue
        $c.SqFlowControl | Should -BeFalse
        $c | Disconnect-NvmfController
    }

    It 'connects from the local address -HostTransportAddress names, on every queue' {
        $c = Connect-TestController $t -Extra @{ IoQueueCount = 2; HostTransportAddress = '127.0.1.23' }
        $c.HostTransportAddress | Should -Be '127.0.1.23'
        # The kernel's table of established connections to the target: all three queues come from 127.0.1.23
        # (1701007F is that address as /proc/net/tcp prints it, in the host's byte order).
        $toTarget = "0100007F:{0:X4}" -f $t.Port
        $fromHost = @(Get-Content /proc/net/tcp | ForEach-Object { , ($_.Trim() -split '\s+') } |
            Where-Object { $_[1] -eq $toTarget -and $_[3] -eq '01' } | ForEach-Object { $_[2].Split(':')[0] })
        @($fromHost | Where-Object { $_ -eq '1701007F' }).Count | Should -Be 3
        $c | Disconnect-NvmfController
        Connect-NvmfController 127.0.0.1 $t.SubsystemNqn -ServiceId $t.Port -HostTransportAddress 'not-an-address' -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'InvalidHostTransportAddress,NvmePS.Commands.ConnectNvmfControllerCommand'
    }

    It 'takes discovery log entries from the pipeline' {
        $c = Get-NvmfDiscoveryLog 127.0.0.1 -ServiceId $t.Port | Where-Object Subtype -eq 'nvme subsystem' | Connect-NvmfController
        $c.SubsystemNqn | Should -Be $t.SubsystemNqn
        $c | Disconnect-NvmfController
    }

    It 'completes target NQNs for -SubsystemNqn' {
        $line = 'Connect-NvmfController 127.0.0.1 -SubsystemNqn nqn.2024-01.io.nvmeps.pester:'
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.ListItemText | Should -Contain $t.SubsystemNqn
    }

    It 'maps a refused host to a device error naming the Connect status' {
        $locked = Start-TestTarget -AllowedHostNqn 'nqn.2014-08.org.nvmexpress:uuid:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee'
        Connect-NvmfController 127.0.0.1 $locked.SubsystemNqn -ServiceId $locked.Port -HostNqn 'nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-000000000001' -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'NvmeDeviceStatus,NvmePS.Commands.ConnectNvmfControllerCommand'
        $err[0].CategoryInfo.Category | Should -Be 'DeviceError'
        $err[0].Exception.StatusName | Should -Be 'Connect Invalid Host'
        $locked | Stop-NvmfTarget
    }

    It 'refuses a malformed -SubsystemNqn by its parameter name before connecting' {
        Connect-NvmfController 127.0.0.1 'not an nqn' -ServiceId $t.Port -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Be 'NvmeInvalidArgument,NvmePS.Commands.ConnectNvmfControllerCommand'
        $err[0].TargetObject | Should -Be 'not an nqn'
        $err[0].ToString() | Should -Be "-SubsystemNqn 'not an nqn' is not an NQN."
        $err[0].ErrorDetails.RecommendedAction | Should -Match 'nqn\.yyyy-mm'
    }

    It 'maps a closed port to a connection error' {
        $gone = Start-TestTarget
        $gone | Stop-NvmfTarget
        { Connect-NvmfController 127.0.0.1 $gone.SubsystemNqn -ServiceId $gone.Port -ErrorAction Stop } | Should -Throw -ErrorId 'NvmeConnectionError,NvmePS.Commands.ConnectNvmfControllerCommand'
    }

    It 'maps a silent peer to a timeout' {
        $l = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
        $l.Start()
        try {
            $port = $l.LocalEndpoint.Port
            { Connect-NvmfController 127.0.0.1 (New-TestNqn) -ServiceId $port -TimeoutSec 1 -ErrorAction Stop } | Should -Throw -ErrorId 'NvmeTimeout,NvmePS.Commands.ConnectNvmfControllerCommand'
        }
        finally { $l.Stop() }
    }
}

Describe 'Connect-NvmfController -Kernel' {
    It 'names the module to load when the kernel host is missing (skipped where /dev/nvme-fabrics exists)' -Skip:(Test-Path /dev/nvme-fabrics) {
        Connect-NvmfController 127.0.0.1 $t.SubsystemNqn -ServiceId $t.Port -Kernel -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Be 'NvmeKernelFabricsUnavailable,NvmePS.Commands.ConnectNvmfControllerCommand'
        $err[0].CategoryInfo.Category | Should -Be 'NotInstalled'
        $err[0].Exception.Message | Should -Match 'modprobe nvme-tcp'
    }

    It 'writes nothing under -WhatIf' {
        Connect-NvmfController 127.0.0.1 $t.SubsystemNqn -ServiceId $t.Port -Kernel -WhatIf -ErrorVariable err | Should -BeNullOrEmpty
        $err | Should -BeNullOrEmpty
    }

    It 'refuses a value that would smuggle an option into /dev/nvme-fabrics' {
        Connect-NvmfController 127.0.0.1 $t.SubsystemNqn -ServiceId $t.Port -Kernel -HostTransportAddress '127.0.0.1,duplicate_connect' -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'InvalidKernelConnectOption,NvmePS.Commands.ConnectNvmfControllerCommand'
        $err[0].Exception.Message | Should -Match 'host_traddr'
    }

    It 'skips discovery subsystems piped from a discovery log, as connect-all does' {
        $entries = Get-NvmfDiscoveryLog 127.0.0.1 -ServiceId $t.Port
        $discovery = @($entries | Where-Object Subtype -like '*discovery*')
        $discovery | Connect-NvmfController -Kernel -Verbose 4>&1 -ErrorVariable err | Where-Object { $_ -is [Management.Automation.VerboseRecord] } |
            ForEach-Object Message | Should -Match '^Skipping .*discovery'
        $err | Should -BeNullOrEmpty
    }
}
