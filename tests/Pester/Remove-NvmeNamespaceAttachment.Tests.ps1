#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
    $script:t = Start-TestTarget -Capacity 16MB
    $script:c = Connect-TestController $t
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'Remove-NvmeNamespaceAttachment' {
    It 'detaches the namespace: no longer active, I/O refused, data kept' {
        $ns = New-NvmeNamespace $c 1MB -Attach
        $data = [byte[]](1..512 | ForEach-Object { 255 - ($_ % 256) })
        $null = Write-NvmeBlock $c -NamespaceId $ns.NamespaceId -StartingLba 3 -InputData $data
        $a = Remove-NvmeNamespaceAttachment $c $ns.NamespaceId
        $a.AttachedControllerIds | Should -BeNullOrEmpty
        (Get-NvmeIdentify $c -ActiveNamespaces).NamespaceId | Should -Not -Contain $ns.NamespaceId
        Read-NvmeBlock $c -NamespaceId $ns.NamespaceId -StartingLba 3 -BlockCount 1 -ErrorVariable err -ErrorAction SilentlyContinue
        $err | Should -Not -BeNullOrEmpty
        $null = Add-NvmeNamespaceAttachment $c $ns.NamespaceId
        (Read-NvmeBlock $c -NamespaceId $ns.NamespaceId -StartingLba 3 -BlockCount 1).Data | Should -Be $data
    }

    It 'reports a namespace that is not attached' {
        $ns = New-NvmeNamespace $c 1MB
        Remove-NvmeNamespaceAttachment $c $ns.NamespaceId -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].Exception.Message | Should -Match 'Namespace Not Attached'
        $err[0].TargetObject | Should -Be $c
    }

    It 'changes nothing with -WhatIf' {
        $ns = New-NvmeNamespace $c 1MB -Attach
        Remove-NvmeNamespaceAttachment $c $ns.NamespaceId -WhatIf | Should -BeNullOrEmpty
        (Get-NvmeIdentify $c -ActiveNamespaces).NamespaceId | Should -Contain $ns.NamespaceId
    }
}
