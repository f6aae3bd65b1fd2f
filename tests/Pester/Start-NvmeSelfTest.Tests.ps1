#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
    $script:t = Start-TestTarget
    $script:c = Connect-TestController $t
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'Start-NvmeSelfTest' {
    It 'runs a short test to completion with -Wait and reports the result' {
        $r = Start-NvmeSelfTest -Controller $c -NamespaceId 1 -Wait
        $r.Code | Should -Be 'Short'
        $r.Status | Should -Be 'CompletedWithoutError'
        $r.NamespaceId | Should -Be 1
        $r.PercentComplete | Should -BeNullOrEmpty
        (Get-NvmeSelfTest $c)[0].Status | Should -Be 'CompletedWithoutError'
    }

    It 'returns the running test, and refuses a second one while it runs' {
        $running = Start-NvmeSelfTest $c -Extended
        $running.Status | Should -Be 'InProgress'
        $running.Code | Should -Be 'Extended'
        Start-NvmeSelfTest $c -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].Exception.Message | Should -Match 'Device Self-test In Progress'
        $err[0].TargetObject | Should -Be $c
        $null = Stop-NvmeSelfTest $c
    }

    It 'refuses a namespace that is not active' {
        Start-NvmeSelfTest $c -NamespaceId 9 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].Exception.Message | Should -Match 'Invalid Namespace or Format'
    }

    It 'starts nothing with -WhatIf' {
        Start-NvmeSelfTest $c -WhatIf | Should -BeNullOrEmpty
        Get-NvmeSelfTest $c -Running | Should -BeNullOrEmpty
    }
}
