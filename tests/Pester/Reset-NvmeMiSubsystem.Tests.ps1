#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
    $null = Start-NvmeMiSimulator -Eid 52
    # The simulator counts subsystem resets as power cycles in its SMART log.
    function Get-PowerCycles { (Get-NvmeMiController -Network 1 -Eid 52 -ControllerId 1 | Get-NvmeLog -LogId Smart).PowerCycles }
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'Reset-NvmeMiSubsystem' {
    It 'resets nothing with -WhatIf' {
        $before = Get-PowerCycles
        Reset-NvmeMiSubsystem -Network 1 -Eid 52 -WhatIf
        Get-PowerCycles | Should -Be $before
    }

    It 'resets with -Force -Confirm:$false and reads the health back' {
        $before = Get-PowerCycles
        (Reset-NvmeMiSubsystem -Network 1 -Eid 52 -Force -Confirm:$false -PassThru).DriveFunctional | Should -BeTrue
        Get-PowerCycles | Should -Be ($before + 1)
    }
}
