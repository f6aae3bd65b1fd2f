#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'Start-NvmeMiSimulator' {
    It 'starts an in-process endpoint at the given address' {
        $s = Start-NvmeMiSimulator -Network 2 -Eid 45
        $s.Transport, $s.Network, $s.Eid, $s.IsRunning | Should -Be 'InProcess', 2, 45, $true
        $s | Stop-NvmeMiSimulator
    }

    It 'serves a demux socket other processes can reach' {
        $name = "nvmeps-pester-$PID"
        $s = Start-NvmeMiSimulator -Transport Demux -SocketName $name -Eid 46
        (Connect-NvmeMiEndpoint 1 46 -Transport Demux -SocketName $name | Get-NvmeMiHealth).DriveFunctional | Should -BeTrue
        $s | Stop-NvmeMiSimulator
    }

    It 'refuses a second simulator at the same address' {
        $s = Start-NvmeMiSimulator -Eid 47
        { Start-NvmeMiSimulator -Eid 47 -ErrorAction Stop } | Should -Throw -ErrorId 'NvmeMiSimulatorAddressInUse,NvmePS.Commands.StartNvmeMiSimulatorCommand'
        $s | Stop-NvmeMiSimulator
    }
}
