#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
    $script:t = Start-TestTarget -Capacity 16MB
    $script:c = Connect-TestController $t
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'Add-NvmeNamespaceAttachment' {
    It 'attaches to this controller by default and reports the attachment' {
        $ns = New-NvmeNamespace $c 1MB
        $a = $ns | Add-NvmeNamespaceAttachment -Controller $c
        $a.NamespaceId | Should -Be $ns.NamespaceId
        $a.AttachedControllerIds | Should -Be @($c.ControllerId)
        (Get-NvmeIdentify $c -ActiveNamespaces).NamespaceId | Should -Contain $ns.NamespaceId
    }

    It 'keeps the attachment for the host across a new connection' {
        $ns = New-NvmeNamespace $c 1MB -Attach
        $again = Connect-TestController $t
        (Get-NvmeIdentify $again -ActiveNamespaces).NamespaceId | Should -Contain $ns.NamespaceId
    }

    It 'reports a namespace already attached and an unknown controller' {
        $ns = New-NvmeNamespace $c 1MB -Attach
        Add-NvmeNamespaceAttachment $c $ns.NamespaceId -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].Exception.Message | Should -Match 'Namespace Already Attached'
        $other = New-NvmeNamespace $c 1MB
        Add-NvmeNamespaceAttachment $c $other.NamespaceId -ControllerId 0x7777 -ErrorVariable err2 -ErrorAction SilentlyContinue
        $err2[0].Exception.Message | Should -Match 'Controller List Invalid'
    }

    It 'changes nothing with -WhatIf' {
        $ns = New-NvmeNamespace $c 1MB
        Add-NvmeNamespaceAttachment $c $ns.NamespaceId -WhatIf | Should -BeNullOrEmpty
        (Get-NvmeIdentify $c -ActiveNamespaces).NamespaceId | Should -Not -Contain $ns.NamespaceId
    }

    It 'renders its default view in 80 columns' {
        $ns = New-NvmeNamespace $c 1MB -Attach
        $text = Remove-NvmeNamespaceAttachment $c $ns.NamespaceId | Out-String -Width 80
        $text | Should -Match 'AttachedControllerIds'
    }
}
