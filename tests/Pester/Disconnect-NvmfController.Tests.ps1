#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
    $script:t = Start-TestTarget
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'Disconnect-NvmfController' {
    It 'disconnects a piped controller' {
        $c = Connect-TestController $t
        $c | Disconnect-NvmfController -PassThru | Should -Be $c
        $c.IsConnected | Should -BeFalse
    }

    It 'disconnects by NQN' {
        $c1 = Connect-TestController $t
        $c2 = Connect-TestController $t
        Disconnect-NvmfController -SubsystemNqn $t.SubsystemNqn
        $c1.IsConnected | Should -BeFalse
        $c2.IsConnected | Should -BeFalse
    }

    It 'keeps the controller with -WhatIf' {
        $c = Connect-TestController $t
        $c | Disconnect-NvmfController -WhatIf
        $c.IsConnected | Should -BeTrue
        $c | Disconnect-NvmfController
    }

    It 'makes the controller unusable for other cmdlets' {
        $c = Connect-TestController $t
        $c | Disconnect-NvmfController
        { Get-NvmeIdentify $c -ErrorAction Stop } | Should -Throw -ErrorId 'NvmeControllerDisconnected,NvmePS.Commands.GetNvmeIdentifyCommand'
    }

    It 'reports an NQN with no controller' {
        { Disconnect-NvmfController -SubsystemNqn 'nqn.2024-01.io.nvmeps.pester:nobody' -ErrorAction Stop } | Should -Throw -ErrorId 'NvmfControllerNotFound,NvmePS.Commands.DisconnectNvmfControllerCommand'
    }
}

Describe 'Disconnect-NvmfController for kernel controllers' {
    It 'refuses to disconnect a local PCIe controller' {
        $tree = New-FakeKernelTree
        $env:NVMEPS_SYSFS_PATH = $tree.Sys
        try {
            Get-NvmeDevice nvme0 | Disconnect-NvmfController -ErrorVariable err -ErrorAction SilentlyContinue
            $err[0].FullyQualifiedErrorId | Should -Be 'NvmeKernelNotFabrics,NvmePS.Commands.DisconnectNvmfControllerCommand'
        }
        finally { $env:NVMEPS_SYSFS_PATH = $null; Remove-Item -Recurse -Force $tree.Root }
    }
}
