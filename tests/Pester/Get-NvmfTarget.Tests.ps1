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
