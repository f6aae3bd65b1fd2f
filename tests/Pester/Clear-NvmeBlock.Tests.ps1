#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
    $script:t = Start-TestTarget -Namespace @('memory:16MB')
    $script:c = Connect-TestController $t
}
AfterAll {
    $c | Disconnect-NvmfController -Confirm:$false
    Remove-NvmePSAfterTest
}

Describe 'Clear-NvmeBlock' {
    BeforeEach {
        $script:pattern = [byte[]]::new(8 * 512)
        [Random]::new(3).NextBytes($pattern)
        $null = Write-NvmeBlock $c 100 $pattern -Confirm:$false
    }

    It 'zeroes exactly the range and reports it' {
        $r = Clear-NvmeBlock $c 102 4 -Force
        $r.Operation | Should -Be 'WriteZeroes'
        $r.StartingLba | Should -Be 102
        $r.BlockCount | Should -Be 4
        $r.Bytes | Should -Be 2048
        $data = (Read-NvmeBlock $c 100 8).Data
        [Convert]::ToHexString($data[0..1023]) | Should -Be ([Convert]::ToHexString($pattern[0..1023]))
        ($data[1024..3071] | Measure-Object -Maximum).Maximum | Should -Be 0
        [Convert]::ToHexString($data[3072..4095]) | Should -Be ([Convert]::ToHexString($pattern[3072..4095]))
    }

    It 'shows the operation whole in its table' {
        $lines = (Clear-NvmeBlock $c 102 4 -Force | Format-Table | Out-String -Width 80).Trim() -split "`n"
        $lines[2] | Should -Match '^WriteZeroes\s+1\s+102\s+4\s+512\s+2 KiB'
        (Clear-NvmeBlock $c 102 4 -Deallocate -Force | Format-Table | Out-String -Width 80) | Should -Match '(?m)^Deallocate\s'
    }

    It 'deallocates with -Deallocate, and the blocks read as zeroes' {
        (Clear-NvmeBlock $c 100 8 -Deallocate -Confirm:$false).Operation | Should -Be 'Deallocate'
        ((Read-NvmeBlock $c 100 8).Data | Measure-Object -Maximum).Maximum | Should -Be 0
    }

    It 'changes nothing under -WhatIf, even with -Force' {
        Clear-NvmeBlock $c 100 8 -WhatIf | Should -BeNullOrEmpty
        Clear-NvmeBlock $c 100 8 -Force -WhatIf | Should -BeNullOrEmpty
        [Convert]::ToHexString((Read-NvmeBlock $c 100 8).Data) | Should -Be ([Convert]::ToHexString($pattern))
    }

    It 'is high impact: it asks before destroying data' {
        (Get-Command Clear-NvmeBlock).ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false).ConfirmImpact | Should -Be 'High'
    }

    It 'refuses a range beyond the namespace before sending anything' {
        Clear-NvmeBlock $c 32760 16 -Force -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Be 'NvmeLbaOutOfRange,NvmePS.Commands.ClearNvmeBlockCommand'
        $err[0].Exception.Message | Should -Match 'which has 32768 blocks'
        # A range that starts inside but runs past the end is refused whole: the blocks inside keep their data.
        Clear-NvmeBlock $c 100 40000 -Force -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        [Convert]::ToHexString((Read-NvmeBlock $c 100 8).Data) | Should -Be ([Convert]::ToHexString($pattern))
    }

    It 'clears more than one command''s worth of blocks' {
        $r = Clear-NvmeBlock $c 0 32768 -Force
        $r.BlockCount | Should -Be 32768
        ((Read-NvmeBlock $c 100 8).Data | Measure-Object -Maximum).Maximum | Should -Be 0
    }
}
