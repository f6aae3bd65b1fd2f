#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
    $null = Start-NvmeMiSimulator -Eid 57
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'Get-NvmeMiVpd' {
    It 'reads the VPD bytes and their text' {
        $v = Get-NvmeMiVpd -Network 1 -Eid 57 -Length 64
        $v.Data.Length | Should -Be 64
        $v.Text | Should -Match 'NvmePS Simulated NVMe-MI SSD'
    }
}
