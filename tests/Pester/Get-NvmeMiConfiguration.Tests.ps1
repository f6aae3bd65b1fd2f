#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
    $null = Start-NvmeMiSimulator -Eid 55
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'Get-NvmeMiConfiguration' {
    It 'reads each port''s frequency and transmission unit' {
        $c = Get-NvmeMiConfiguration -Network 1 -Eid 55
        $c.Count | Should -Be 2
        $c[1].SmbusFrequency | Should -Be 'Freq100kHz'
        $c[0].SmbusFrequency | Should -Be 'NotSupported'
        $c[0].MctpTransmissionUnit | Should -BeGreaterOrEqual 64
    }
}
