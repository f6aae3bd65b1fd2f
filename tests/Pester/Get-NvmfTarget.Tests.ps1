#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
    $script:t = Start-TestTarget
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'Get-NvmfTarget' {
    It 'lists running targets' {
        (Get-NvmfTarget).SubsystemNqn | Should -Contain $t.SubsystemNqn
    }

    It 'filters by NQN with wildcards' {
        Get-NvmfTarget -SubsystemNqn 'nqn.2024-01.io.nvmeps.pester:*' | Should -Contain $t
        (Get-NvmfTarget $t.SubsystemNqn).Listen | Should -Be $t.Listen
    }

    It 'completes running targets'' NQNs' {
        $line = "Get-NvmfTarget -SubsystemNqn nqn.2024-01.io.nvmeps.pester:"
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.ListItemText | Should -Contain $t.SubsystemNqn
    }

    It 'reports an exact NQN that matches nothing' {
        Get-NvmfTarget -SubsystemNqn 'nqn.2024-01.io.nvmeps.pester:nobody' -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Be 'NvmfTargetNotFound,NvmePS.Commands.GetNvmfTargetCommand'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }

    It 'formats as a table by default' {
        ($t | Format-Table | Out-String) | Should -Match 'SubsystemNqn\s+Listen'
    }
}

Describe 'Get-NvmfTarget -Kernel' {
    BeforeAll { $script:tree = New-FakeKernelTree }
    AfterAll { $env:NVMEPS_CONFIGFS_PATH = $null; Remove-Item -Recurse -Force $tree.Root }

    It 'reads nvmet subsystems, their namespaces and ports from configfs' {
        $env:NVMEPS_CONFIGFS_PATH = $tree.Config
        try {
            $k = Get-NvmfTarget -Kernel
            $k.SubsystemNqn | Should -Be 'nqn.2024-01.io.nvmeps.pester:kernel'
            $k.AllowAnyHost | Should -BeTrue
            $k.SerialNumber | Should -Be 'PESTERK1'
            $k.Namespaces.DevicePath | Should -Be '/dev/nullb0'
            $k.Namespaces.Enabled | Should -BeTrue
            $k.Listen | Should -Be '127.0.0.1:4420'
            ($k | Format-Table | Out-String -Width 80) | Should -Match 'SubsystemNqn\s+AllowAnyHost\s+Namespaces\s+Listen'
            Get-NvmfTarget -Kernel -SubsystemNqn 'nqn.2024-01.io.nvmeps.pester:none' -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err[0].FullyQualifiedErrorId | Should -Be 'NvmetObjectNotFound,NvmePS.Commands.GetNvmfTargetCommand'
        }
        finally { $env:NVMEPS_CONFIGFS_PATH = $null }
    }

    It 'says configfs is not mounted (skipped where nvmet is configured)' -Skip:(Test-Path /sys/kernel/config/nvmet) {
        { Get-NvmfTarget -Kernel } | Should -Throw -ErrorId 'NvmetConfigfsNotMounted,NvmePS.Commands.GetNvmfTargetCommand'
    }
}
