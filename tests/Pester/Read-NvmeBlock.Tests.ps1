#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
    $script:t = Start-TestTarget -Namespace 'memory:8MB'
    $script:c = Connect-TestController $t
    $script:data = [byte[]]::new(2MB)
    [Random]::new(7).NextBytes($data)
    Write-NvmeBlock $c 0 $data | Out-Null
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'Read-NvmeBlock' {
    It 'reads blocks into a byte array' {
        $r = Read-NvmeBlock -Controller $c -StartingLba 0 -BlockCount 4096
        $r.Bytes | Should -Be 2MB
        [Linq.Enumerable]::SequenceEqual($r.Data, $data) | Should -BeTrue
    }

    It 'reads blocks into a file' {
        $file = Join-Path ([IO.Path]::GetTempPath()) "nvmeps-$([guid]::NewGuid()).bin"
        try {
            (Read-NvmeBlock $c 0 4096 -Path $file).Path | Should -Be $file
            [Linq.Enumerable]::SequenceEqual([IO.File]::ReadAllBytes($file), $data) | Should -BeTrue
        }
        finally { Remove-Item $file -ErrorAction SilentlyContinue }
    }

    It 'refuses a directory as -Path before reading, and leaves nothing in it' {
        $dir = Join-Path ([IO.Path]::GetTempPath()) "nvmeps-$([guid]::NewGuid())"
        $null = New-Item -ItemType Directory $dir
        try {
            { Read-NvmeBlock $c 0 8 -Path $dir } | Should -Throw -ErrorId 'PathIsDirectory,NvmePS.Commands.ReadNvmeBlockCommand' -ExpectedMessage "-Path '$dir' is a directory; name the file to read into."
            Get-ChildItem -Force $dir | Should -BeNullOrEmpty
            Get-ChildItem -Force (Split-Path $dir) -Filter ".$(Split-Path -Leaf $dir).*.partial" | Should -BeNullOrEmpty
        }
        finally { Remove-Item -Recurse $dir }
    }

    It 'reports a file that cannot be written against -Path, not as a connection error, and stays connected' {
        # /dev/full fails every write with ENOSPC, as a full disk would.
        Read-NvmeBlock $c 0 8 -Path /dev/full -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Be 'NvmeFileError,NvmePS.Commands.ReadNvmeBlockCommand'
        $err[0].CategoryInfo.Category | Should -Be 'WriteError'
        $err[0].TargetObject | Should -Be '/dev/full'
        $err[0].ToString() | Should -BeLike "-Path '/dev/full': No space left on device*"
        $c.IsConnected | Should -BeTrue

        $missing = Join-Path ([IO.Path]::GetTempPath()) "nvmeps-$([guid]::NewGuid())"
        Read-NvmeBlock $c 0 8 -Path (Join-Path $missing 'x.img') -ErrorVariable err2 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err2[0].FullyQualifiedErrorId | Should -Be 'NvmeFileNotFound,NvmePS.Commands.ReadNvmeBlockCommand'
        $err2[0].ToString() | Should -Be "-Path '$(Join-Path $missing 'x.img')': the directory $missing does not exist."
    }

    It 'reports a range past the end of the namespace' {
        Read-NvmeBlock $c 16380 8 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'NvmeDeviceStatus,NvmePS.Commands.ReadNvmeBlockCommand'
        $err[0].Exception.StatusName | Should -Be 'LBA Out of Range'
    }

    It 'reports an inactive namespace' {
        Read-NvmeBlock $c 0 1 -NamespaceId 9 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'NamespaceNotActive,NvmePS.Commands.ReadNvmeBlockCommand'
    }
}
