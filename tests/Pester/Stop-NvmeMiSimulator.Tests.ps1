#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'Stop-NvmeMiSimulator' {
    It 'stops one simulator and closes the connections to it' {
        $s = Start-NvmeMiSimulator -Eid 48
        $ep = Connect-NvmeMiEndpoint 1 48
        $s | Stop-NvmeMiSimulator
        $s.IsRunning | Should -BeFalse
        $ep.IsConnected | Should -BeFalse
    }

    It 'stops every simulator of the session without -InputObject, and nothing with -WhatIf' {
        $a = Start-NvmeMiSimulator -Eid 49
        Stop-NvmeMiSimulator -WhatIf
        $a.IsRunning | Should -BeTrue
        (Stop-NvmeMiSimulator -PassThru).Eid | Should -Be 49
        $a.IsRunning | Should -BeFalse
    }
}
