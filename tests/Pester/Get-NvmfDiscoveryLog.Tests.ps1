#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
    $script:t = Start-TestTarget
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'Get-NvmfDiscoveryLog' {
    It 'lists the subsystem and the discovery controller' {
        $entries = Get-NvmfDiscoveryLog -TransportAddress 127.0.0.1 -ServiceId $t.Port
        $entries.Count | Should -Be 2
        $nvm = $entries | Where-Object Subtype -eq 'nvme subsystem'
        $nvm.SubNqn | Should -Be $t.SubsystemNqn
        $nvm.Trtype | Should -Be 'tcp'
        $nvm.Adrfam | Should -Be 'ipv4'
        $nvm.Traddr | Should -Be '127.0.0.1'
        $nvm.Trsvcid | Should -Be "$($t.Port)"
        ($entries | Where-Object Subtype -eq 'current discovery subsystem').SubNqn | Should -Be 'nqn.2014-08.org.nvmexpress.discovery'
    }

    It 'uses a kept discovery connection' {
        $d = Connect-NvmfController 127.0.0.1 -ServiceId $t.Port
        $d.IsDiscovery | Should -BeTrue
        ($d | Get-NvmfDiscoveryLog).Count | Should -Be 2
        $d | Disconnect-NvmfController
    }

    It 'reports an unreachable discovery controller' {
        $gone = Start-TestTarget
        $gone | Stop-NvmfTarget
        { Get-NvmfDiscoveryLog 127.0.0.1 -ServiceId $gone.Port -ErrorAction Stop } | Should -Throw -ErrorId 'NvmeConnectionError,NvmePS.Commands.GetNvmfDiscoveryLogCommand'
    }
}
