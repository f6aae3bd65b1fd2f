#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'Add-NvmfSubsystem' {
    It 'serves a second subsystem on the same port, reachable by a host' {
        $t = Start-TestTarget
        try {
            $nqn = New-TestNqn
            $out = $t | Add-NvmfSubsystem -SubsystemNqn $nqn -Namespace memory:1M, memory:2M
            $out | Should -Be $t
            $t.SubsystemNqns | Should -Be @($t.SubsystemNqn, $nqn)
            ($t.Namespaces | Where-Object SubsystemNqn -eq $nqn).SizeBytes | Should -Be @(1MB, 2MB)
            $c = Connect-NvmfController -TransportAddress $t.Address -ServiceId $t.Port -SubsystemNqn $nqn
            (Get-NvmeIdentify $c -ActiveNamespaces).NamespaceId | Should -Be @(1, 2)
            $c | Disconnect-NvmfController
            (Get-NvmfDiscoveryLog -TransportAddress $t.Address -ServiceId $t.Port).SubNqn | Should -Contain $nqn
            Get-NvmfTarget -SubsystemNqn $nqn | Should -Be $t
        }
        finally { $t | Stop-NvmfTarget }
    }

    It 'refuses an NQN the session already serves' {
        $t = Start-TestTarget
        try {
            { $t | Add-NvmfSubsystem -SubsystemNqn $t.SubsystemNqn -ErrorAction Stop } |
                Should -Throw -ErrorId 'NvmfSubsystemNqnInUse,NvmePS.Commands.AddNvmfSubsystemCommand'
        }
        finally { $t | Stop-NvmfTarget }
    }

    It 'names a bad namespace spec and adds nothing' {
        $t = Start-TestTarget
        try {
            $err = $null
            try { $t | Add-NvmfSubsystem -SubsystemNqn (New-TestNqn) -Namespace 'memory:1G,nsid=1,nsid=2' -ErrorAction Stop }
            catch { $err = $_ }
            $err.FullyQualifiedErrorId | Should -Be 'InvalidNamespaceSpec,NvmePS.Commands.AddNvmfSubsystemCommand'
            $err.TargetObject | Should -Be 'memory:1G,nsid=1,nsid=2'
            $t.SubsystemNqns.Count | Should -Be 1
        }
        finally { $t | Stop-NvmfTarget }
    }

    It 'does nothing with -WhatIf' {
        $t = Start-TestTarget
        try {
            $t | Add-NvmfSubsystem -SubsystemNqn (New-TestNqn) -WhatIf
            $t.SubsystemNqns.Count | Should -Be 1
        }
        finally { $t | Stop-NvmfTarget }
    }
}
