#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
    $script:T = Start-TestTarget
    $script:C = Connect-TestController $script:T
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'Get-NvmfController' {
    It 'finds a connected controller by NQN wildcard and address' {
        $found = Get-NvmfController -SubsystemNqn 'nqn.2024-01.io.nvmeps.pester:*' -TransportAddress 127.0.0.1
        $found.ControllerId | Should -Contain $script:C.ControllerId
        ($found | Where-Object SubsystemNqn -eq $script:T.SubsystemNqn) | Should -Be $script:C
    }

    It 'reports an NQN that no controller has' {
        Get-NvmfController -SubsystemNqn 'nqn.2024-01.io.nvmeps.pester:none' -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'NvmfControllerNotFound,NvmePS.Commands.GetNvmfControllerCommand'
    }

    It 'no longer lists a disconnected controller' {
        $script:C | Disconnect-NvmfController
        Get-NvmfController -SubsystemNqn $script:T.SubsystemNqn -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }
}
