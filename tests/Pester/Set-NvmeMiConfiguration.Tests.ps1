#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
    $null = Start-NvmeMiSimulator -Eid 56
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'Set-NvmeMiConfiguration' {
    It 'sets the SMBus frequency, which then reads back' {
        (Set-NvmeMiConfiguration -Network 1 -Eid 56 -PortId 1 -SmbusFrequency Freq400kHz -PassThru).SmbusFrequency | Should -Be 'Freq400kHz'
        (Get-NvmeMiConfiguration -Network 1 -Eid 56 -PortId 1).SmbusFrequency | Should -Be 'Freq400kHz'
    }

    It 'changes nothing with -WhatIf' {
        Set-NvmeMiConfiguration -Network 1 -Eid 56 -PortId 1 -SmbusFrequency Freq100kHz -WhatIf
        (Get-NvmeMiConfiguration -Network 1 -Eid 56 -PortId 1).SmbusFrequency | Should -Be 'Freq400kHz'
    }

    It 'needs something to set' {
        { Set-NvmeMiConfiguration -Network 1 -Eid 56 -ErrorAction Stop } | Should -Throw -ErrorId 'NvmeMiNothingToSet,NvmePS.Commands.SetNvmeMiConfigurationCommand'
    }
}
