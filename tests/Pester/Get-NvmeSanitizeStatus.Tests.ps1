#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
    $script:t = Start-TestTarget
    $script:c = Connect-TestController $t
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'Get-NvmeSanitizeStatus' {
    It 'reports a drive never sanitized' {
        $s = Get-NvmeSanitizeStatus $c
        $s.State | Should -Be 'NeverSanitized'
        $s.LastAction | Should -Be 'None'
        $s.PercentComplete | Should -BeNullOrEmpty
        $s.EstimatedBlockEraseSeconds | Should -BeGreaterThan 0
    }

    It 'reports progress while a sanitize runs, and the result after' {
        $null = Start-NvmeSanitize $c BlockErase -Force
        $during = Get-NvmeSanitizeStatus $c
        $during.State | Should -Be 'InProgress'
        $during.PercentComplete | Should -BeGreaterOrEqual 0
        $during.PercentComplete | Should -BeLessThan 100
        while ((Get-NvmeSanitizeStatus $c).State -eq 'InProgress') { Start-Sleep -Milliseconds 100 }
        (Get-NvmeLog $c SanitizeStatus).State | Should -Be 'Completed'
        (Get-NvmeSanitizeStatus $c | Out-String -Width 80) | Should -Match 'BlockErase'
    }
}
