#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
    $script:t = Start-TestTarget -Capacity 16MB
    $script:c = Connect-TestController $t
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'Remove-NvmeNamespace' {
    It 'deletes a namespace from the pipeline and returns its capacity' {
        $before = (Get-NvmeIdentify $c).UnallocatedCapacityBytes
        $ns = New-NvmeNamespace $c 4MB -Attach
        $ns | Remove-NvmeNamespace -Controller $c -Force
        (Get-NvmeIdentify $c -ActiveNamespaces).NamespaceId | Should -Not -Contain $ns.NamespaceId
        (Get-NvmeIdentify $c).UnallocatedCapacityBytes | Should -Be $before
    }

    It 'names the namespace and subsystem in -WhatIf and deletes nothing' {
        $ns = New-NvmeNamespace $c 1MB -Attach
        $out = Get-WhatIfText { Remove-NvmeNamespace $c $ns.NamespaceId -WhatIf }
        $out | Should -Match "namespace $($ns.NamespaceId) of $([regex]::Escape($t.SubsystemNqn))"
        (Get-NvmeIdentify $c -ActiveNamespaces).NamespaceId | Should -Contain $ns.NamespaceId
    }

    It 'reports a namespace that does not exist' {
        Remove-NvmeNamespace $c 0x77 -Force -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].Exception.Message | Should -Match 'Invalid Namespace or Format'
        $err[0].TargetObject | Should -Be $c
    }

    It 'is ConfirmImpact High' {
        (Get-Command Remove-NvmeNamespace).ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)[0].ConfirmImpact | Should -Be 'High'
    }
}
