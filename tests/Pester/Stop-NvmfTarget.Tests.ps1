#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'Stop-NvmfTarget' {
    It 'stops a piped target and frees its port' {
        $t = Start-TestTarget
        $stopped = $t | Stop-NvmfTarget -PassThru
        $stopped.IsRunning | Should -BeFalse
        Get-NvmfTarget | Where-Object SubsystemNqn -eq $t.SubsystemNqn | Should -BeNullOrEmpty
        { $l = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, $t.Port); $l.Start(); $l.Stop() } | Should -Not -Throw
    }

    It 'stops by NQN' {
        $t = Start-TestTarget
        Stop-NvmfTarget -SubsystemNqn $t.SubsystemNqn
        $t.IsRunning | Should -BeFalse
    }

    It 'ends the associations of connected hosts' {
        $t = Start-TestTarget
        $c = Connect-TestController $t
        $t | Stop-NvmfTarget
        Start-Sleep -Milliseconds 500
        { Get-NvmeIdentify $c -ErrorAction Stop } | Should -Throw
        $c | Disconnect-NvmfController -ErrorAction SilentlyContinue
    }

    It 'does nothing with -WhatIf' {
        $t = Start-TestTarget
        $t | Stop-NvmfTarget -WhatIf
        $t.IsRunning | Should -BeTrue
        $t | Stop-NvmfTarget
    }

    It 'reports an NQN with no target' {
        { Stop-NvmfTarget -SubsystemNqn 'nqn.2024-01.io.nvmeps.pester:nobody' -ErrorAction Stop } | Should -Throw -ErrorId 'NvmfTargetNotFound,NvmePS.Commands.StopNvmfTargetCommand'
    }
}

Describe 'Stop-NvmfTarget -Kernel' {
    It 'removes nothing under -WhatIf and binds kernel subsystems from the pipeline' {
        $tree = New-FakeKernelTree
        $env:NVMEPS_CONFIGFS_PATH = $tree.Config
        try {
            Get-NvmfTarget -Kernel | Stop-NvmfTarget -WhatIf
            Test-Path (Join-Path $tree.Config 'nvmet/subsystems/nqn.2024-01.io.nvmeps.pester:kernel') | Should -BeTrue
        }
        finally { $env:NVMEPS_CONFIGFS_PATH = $null; Remove-Item -Recurse -Force $tree.Root }
    }

    It 'says configfs is not mounted (skipped where nvmet is configured)' -Skip:(Test-Path /sys/kernel/config/nvmet) {
        { Stop-NvmfTarget -Kernel -SubsystemNqn 'nqn.2024-01.io.nvmeps.pester:x' -Confirm:$false } | Should -Throw -ErrorId 'NvmetConfigfsNotMounted,NvmePS.Commands.StopNvmfTargetCommand'
    }
}
