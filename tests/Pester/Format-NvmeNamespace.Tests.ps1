#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
    $script:t = Start-TestTarget -Capacity 16MB
    $script:c = Connect-TestController $t
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'Format-NvmeNamespace' {
    It 'erases user data: blocks written before read back as zeroes' {
        $ns = New-NvmeNamespace $c 1MB -Attach
        $data = [byte[]](1..512 | ForEach-Object { ($_ * 3) % 256 })
        $null = Write-NvmeBlock $c -NamespaceId $ns.NamespaceId -StartingLba 10 -InputData $data
        (Read-NvmeBlock $c -NamespaceId $ns.NamespaceId -StartingLba 10 -BlockCount 1).Data | Should -Be $data
        $after = Format-NvmeNamespace $c $ns.NamespaceId -SecureErase UserData -Force
        $after.BlockSize | Should -Be 512
        (Read-NvmeBlock $c -NamespaceId $ns.NamespaceId -StartingLba 10 -BlockCount 1).Data | Should -Be ([byte[]]::new(512))
    }

    It 'changes the block size and the size in blocks' {
        $ns = New-NvmeNamespace $c 1MB -Attach
        $after = $ns | Format-NvmeNamespace -Controller $c -BlockSize 4096 -Confirm:$false
        $after.BlockSize | Should -Be 4096
        $after.SizeBlocks | Should -Be 256
        $after.FormattedLbaIndex | Should -Be 1
    }

    It 'names the namespace and subsystem in -WhatIf and formats nothing' {
        $ns = New-NvmeNamespace $c 1MB -Attach
        $out = Get-WhatIfText { Format-NvmeNamespace $c $ns.NamespaceId -BlockSize 4096 -WhatIf }
        $out | Should -Match "namespace $($ns.NamespaceId) of $([regex]::Escape($t.SubsystemNqn))"
        (Get-NvmeIdentify $c -NamespaceId $ns.NamespaceId).BlockSize | Should -Be 512
    }

    It 'reports an erase the controller cannot do' {
        $ns = New-NvmeNamespace $c 1MB -Attach
        Format-NvmeNamespace $c $ns.NamespaceId -SecureErase Cryptographic -Force -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].Exception.Message | Should -Match 'Invalid Field in Command'
    }
}
