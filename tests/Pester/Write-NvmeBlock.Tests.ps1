#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
    $script:t = Start-TestTarget -Namespace 'memory:8MB'
    $script:c = Connect-TestController $t
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'Write-NvmeBlock' {
    It 'writes a byte array that reads back identically' {
        $data = [byte[]]::new(3MB)
        [Random]::new(42).NextBytes($data)
        $w = Write-NvmeBlock -Controller $c -StartingLba 100 -InputData $data
        $w.BlockCount | Should -Be 6144
        [Linq.Enumerable]::SequenceEqual((Read-NvmeBlock $c 100 6144).Data, $data) | Should -BeTrue
    }

    It 'writes a file' {
        $file = New-TemporaryFile
        try {
            $bytes = [byte[]]::new(64KB)
            [Random]::new(1).NextBytes($bytes)
            [IO.File]::WriteAllBytes($file.FullName, $bytes)
            (Write-NvmeBlock $c 0 -Path $file.FullName -ForceUnitAccess).Bytes | Should -Be 64KB
            [Linq.Enumerable]::SequenceEqual((Read-NvmeBlock $c 0 128).Data, $bytes) | Should -BeTrue
        }
        finally { Remove-Item $file -Force }
    }

    It 'writes nothing with -WhatIf' {
        $before = (Read-NvmeBlock $c 0 1).Data
        Write-NvmeBlock $c 0 ([byte[]]::new(512)) -WhatIf
        [Linq.Enumerable]::SequenceEqual((Read-NvmeBlock $c 0 1).Data, $before) | Should -BeTrue
    }

    It 'refuses a directory as -Path' {
        { Write-NvmeBlock $c 0 -Path ([IO.Path]::GetTempPath()) -Confirm:$false } |
            Should -Throw -ErrorId 'PathIsDirectory,NvmePS.Commands.WriteNvmeBlockCommand' -ExpectedMessage '*is a directory; name the file to write from.'
    }

    It 'rejects data that is not whole blocks' {
        { Write-NvmeBlock $c 0 ([byte[]]::new(100)) } | Should -Throw -ErrorId 'DataNotBlockAligned,NvmePS.Commands.WriteNvmeBlockCommand'
    }
}
