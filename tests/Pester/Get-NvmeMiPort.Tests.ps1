#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
    $null = Start-NvmeMiSimulator -Eid 54
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'Get-NvmeMiPort' {
    It 'lists a PCIe and an SMBus port' {
        (Get-NvmeMiPort -Network 1 -Eid 54).PortType | Should -Be 'Pcie', 'Smbus'
    }

    It 'reports a port the subsystem does not have' {
        Get-NvmeMiPort -Network 1 -Eid 54 -PortId 9 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'NvmeMiPortNotFound,*'
    }
}
