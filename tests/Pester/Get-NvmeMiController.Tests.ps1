#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
    $null = Start-NvmeMiSimulator -Eid 44
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'Get-NvmeMiController' {
    It 'lists the controllers behind the endpoint' {
        $c = Get-NvmeMiController -Network 1 -Eid 44
        $c.ControllerId | Should -Be 1, 2
        $c[0].PciVendorId | Should -Be '1B36'
    }

    It 'hands controllers to the Admin cmdlets: Identify and SMART over NVMe-MI' {
        $c = Get-NvmeMiController -Network 1 -Eid 44 | Where-Object ControllerId -eq 2
        ($c | Get-NvmeIdentify).SerialNumber | Should -Be 'NVMEPS-SIM-0001'
        ($c | Get-NvmeLog -LogId Smart).AvailableSparePercent | Should -Be 100
    }

    It 'reports an unknown controller id' {
        Get-NvmeMiController -Network 1 -Eid 44 -ControllerId 7 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'NvmeMiControllerNotFound,*'
    }
}
