#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
    $script:t = Start-TestTarget
    $script:c = Connect-TestController $t
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'Stop-NvmeSelfTest' {
    It 'aborts the running test and returns its result' {
        $null = Start-NvmeSelfTest $c -Extended
        $r = Stop-NvmeSelfTest $c
        $r.Status | Should -Be 'AbortedBySelfTestCommand'
        $r.Code | Should -Be 'Extended'
        Get-NvmeSelfTest $c -Running | Should -BeNullOrEmpty
    }

    It 'returns nothing when no test runs' {
        Stop-NvmeSelfTest $c | Should -BeNullOrEmpty
    }

    It 'aborts nothing with -WhatIf' {
        $null = Start-NvmeSelfTest $c -Extended
        Stop-NvmeSelfTest $c -WhatIf | Should -BeNullOrEmpty
        (Get-NvmeSelfTest $c -Running).Status | Should -Be 'InProgress'
        $null = Stop-NvmeSelfTest $c
    }
}
