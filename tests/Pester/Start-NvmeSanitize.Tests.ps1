#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
    $script:t = Start-TestTarget -Namespace 'memory:2MB', 'memory:1MB'
    $script:c = Connect-TestController $t
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'Start-NvmeSanitize' {
    It 'overwrites every namespace with the pattern, refusing I/O while it runs' {
        $data = [byte[]](1..512 | ForEach-Object { $_ % 256 })
        foreach ($n in 1, 2) { $null = Write-NvmeBlock $c -NamespaceId $n -StartingLba 5 -InputData $data }
        $s = Start-NvmeSanitize $c Overwrite -OverwritePattern 0x5A5A5A5A -OverwritePasses 2 -Force
        $s.State | Should -Be 'InProgress'
        Read-NvmeBlock $c -NamespaceId 1 -StartingLba 5 -BlockCount 1 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].Exception.Message | Should -Match 'Sanitize In Progress'
        $done = Start-NvmeSanitize $c Overwrite -Force -ErrorAction SilentlyContinue -ErrorVariable again
        $again[0].Exception.Message | Should -Match 'Sanitize In Progress'
        while ((Get-NvmeSanitizeStatus $c).State -eq 'InProgress') { Start-Sleep -Milliseconds 100 }
        $after = Get-NvmeSanitizeStatus $c
        $after.State | Should -Be 'Completed'
        $after.LastAction | Should -Be 'Overwrite'
        $after.OverwritePassesCompleted | Should -Be 2
        foreach ($n in 1, 2) {
            (Read-NvmeBlock $c -NamespaceId $n -StartingLba 5 -BlockCount 1).Data | Should -Be ([byte[]]::new(512) | ForEach-Object { 0x5A })
        }
    }

    It 'block-erases with -Wait: the data reads back as zeroes' {
        $null = Write-NvmeBlock $c -NamespaceId 2 -StartingLba 9 -InputData ([byte[]](1..512 | ForEach-Object { 7 }))
        $s = Start-NvmeSanitize $c BlockErase -Wait -Force
        $s.State | Should -Be 'Completed'
        $s.GlobalDataErased | Should -BeTrue
        (Read-NvmeBlock $c -NamespaceId 2 -StartingLba 9 -BlockCount 1).Data | Should -Be ([byte[]]::new(512))
    }

    It 'names the subsystem in -WhatIf and erases nothing' {
        $data = [byte[]](1..512 | ForEach-Object { 3 })
        $null = Write-NvmeBlock $c -NamespaceId 1 -StartingLba 0 -InputData $data
        Get-WhatIfText { Start-NvmeSanitize $c BlockErase -WhatIf } | Should -Match ([regex]::Escape($t.SubsystemNqn))
        (Read-NvmeBlock $c -NamespaceId 1 -StartingLba 0 -BlockCount 1).Data | Should -Be $data
    }

    It 'reports an action the controller cannot do' {
        Start-NvmeSanitize $c CryptoErase -Force -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].Exception.Message | Should -Match 'Invalid Field in Command'
    }
}
