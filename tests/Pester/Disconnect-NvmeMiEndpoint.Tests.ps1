#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
    $null = Start-NvmeMiSimulator -Eid 42
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'Disconnect-NvmeMiEndpoint' {
    It 'closes the connection, and the MI cmdlets then refuse it' {
        $ep = Connect-NvmeMiEndpoint 1 42
        $closed = $ep | Disconnect-NvmeMiEndpoint -PassThru
        $closed.IsConnected | Should -BeFalse
        { $ep | Get-NvmeMiHealth -ErrorAction Stop } | Should -Throw -ErrorId 'NvmeMiEndpointDisconnected,NvmePS.Commands.GetNvmeMiHealthCommand'
    }

    It 'leaves the connection open with -WhatIf' {
        $ep = Connect-NvmeMiEndpoint 1 42
        $ep | Disconnect-NvmeMiEndpoint -WhatIf
        $ep.IsConnected | Should -BeTrue
        $ep | Disconnect-NvmeMiEndpoint
    }
}
