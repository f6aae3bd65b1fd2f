#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
    $script:t = Start-TestTarget -Capacity 32MB
    $script:c = Connect-TestController $t
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'New-NvmeNamespace' {
    It 'creates an attached namespace that takes I/O and holds its data' {
        $ns = New-NvmeNamespace -Controller $c -Size 4MB -BlockSize 4096 -Attach
        $ns.SizeBlocks | Should -Be 1024
        $ns.BlockSize | Should -Be 4096
        $ns.Shared | Should -BeTrue
        (Get-NvmeIdentify $c -ActiveNamespaces).NamespaceId | Should -Contain $ns.NamespaceId
        $data = [byte[]](1..4096 | ForEach-Object { $_ % 251 })
        $null = Write-NvmeBlock $c -NamespaceId $ns.NamespaceId -StartingLba 7 -InputData $data
        (Read-NvmeBlock $c -NamespaceId $ns.NamespaceId -StartingLba 7 -BlockCount 1).Data | Should -Be $data
        (Get-NvmeIdentify $c).UnallocatedCapacityBytes | Should -Be (28MB)
        $served = $t.Namespaces | Where-Object NamespaceId -eq $ns.NamespaceId
        $served.CreatedByHost | Should -BeTrue
        $served.BlockSize | Should -Be 4096
        $served.AttachedTo | Should -Be $c.HostNqn
    }

    It 'creates an unattached private namespace that no I/O reaches' {
        $ns = New-NvmeNamespace $c 1MB -Private
        $ns.Shared | Should -BeFalse
        ($t.Namespaces | Where-Object NamespaceId -eq $ns.NamespaceId).AttachedTo | Should -Be 'no host'
        (Get-NvmeIdentify $c -ActiveNamespaces).NamespaceId | Should -Not -Contain $ns.NamespaceId
        Read-NvmeBlock $c -NamespaceId $ns.NamespaceId -StartingLba 0 -BlockCount 1 -ErrorVariable err -ErrorAction SilentlyContinue
        $err | Should -Not -BeNullOrEmpty
    }

    It 'reports insufficient capacity and creates nothing' {
        $before = (Get-NvmeIdentify $c).UnallocatedCapacityBytes
        New-NvmeNamespace $c 1GB -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'NvmeDeviceStatus,NvmePS.Commands.NewNvmeNamespaceCommand'
        $err[0].Exception.Message | Should -Match 'Namespace Insufficient Capacity'
        $err[0].TargetObject | Should -Be $c
        (Get-NvmeIdentify $c).UnallocatedCapacityBytes | Should -Be $before
    }

    It 'refuses a size that is not whole blocks before sending anything' {
        { New-NvmeNamespace $c 1000 -BlockSize 512 -ErrorAction Stop } | Should -Throw -ErrorId 'NvmeInvalidArgument,NvmePS.Commands.NewNvmeNamespaceCommand'
    }

    It 'creates nothing with -WhatIf' {
        $before = (Get-NvmeIdentify $c).UnallocatedCapacityBytes
        New-NvmeNamespace $c 1MB -WhatIf | Should -BeNullOrEmpty
        (Get-NvmeIdentify $c).UnallocatedCapacityBytes | Should -Be $before
    }

    It 'is refused by a subsystem without a capacity pool' {
        $plain = Start-TestTarget
        $pc = Connect-TestController $plain
        New-NvmeNamespace $pc 1MB -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].Exception.Message | Should -Match 'Invalid Command Opcode'
    }
}
