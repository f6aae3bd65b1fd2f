#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
    $script:Sim = Start-NvmeMiSimulator -Eid 40
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'Connect-NvmeMiEndpoint' {
    It 'connects to the session simulator by network and EID' {
        $ep = Connect-NvmeMiEndpoint -Network 1 -Eid 40
        $ep.Transport | Should -Be 'Simulated'
        $ep.IsConnected | Should -BeTrue
        $ep | Disconnect-NvmeMiEndpoint
    }

    It 'binds Network and Eid from the pipeline' {
        ($script:Sim | Connect-NvmeMiEndpoint -TimeoutSec 2).TimeoutSec | Should -Be 2
    }

    It 'refuses -Transport Simulated where no simulator is' {
        { Connect-NvmeMiEndpoint 1 41 -Transport Simulated -ErrorAction Stop } | Should -Throw -ErrorId 'NvmeInvalidOperation,NvmePS.Commands.ConnectNvmeMiEndpointCommand'
    }
}
