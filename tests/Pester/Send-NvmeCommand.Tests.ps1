#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
    $script:t = Start-TestTarget
    $script:c = Connect-TestController $t
}
AfterAll {
    $c | Disconnect-NvmfController -Confirm:$false
    Remove-NvmePSAfterTest
}

Describe 'Send-NvmeCommand' {
    It 'sends Identify through any controller and returns the data' {
        $r = Send-NvmeCommand $c -Opcode 6 -Cdw10 1 -DataLength 4096
        $r.Success | Should -BeTrue
        $r.BytesTransferred | Should -Be 4096
        [Text.Encoding]::ASCII.GetString($r.Data, 4, 20).Trim() | Should -Be (Get-NvmeIdentify $c).SerialNumber
    }

    It 'takes the controller from the pipeline' {
        ($c | Send-NvmeCommand -Opcode 6 -Cdw10 1 -DataLength 4096).Success | Should -BeTrue
    }

    It 'returns an error completion as data, not as an error' {
        $r = Send-NvmeCommand $c -Opcode 0xEE -ErrorVariable err
        $err | Should -BeNullOrEmpty
        $r.Success | Should -BeFalse
        $r.StatusName | Should -Be 'Invalid Command Opcode'
    }

    It 'keeps the bits of a dword typed as hex' {
        $r = Send-NvmeCommand $c -Opcode 2 -Nsid 0xFFFFFFFF -Cdw10 0x007F0002 -DataLength 512
        $r.Success | Should -BeTrue
        $r.BytesTransferred | Should -Be 512
    }

    It 'refuses data in both directions' {
        Send-NvmeCommand $c -Opcode 9 -InputData ([byte[]]::new(4)) -DataLength 4 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'BidirectionalData,NvmePS.Commands.SendNvmeCommandCommand'
    }

    It 'sends nothing under -WhatIf' {
        Send-NvmeCommand $c -Opcode 6 -Cdw10 1 -DataLength 4096 -WhatIf | Should -BeNullOrEmpty
    }

    It 'names the missing block device of a kernel namespace' {
        $tree = New-FakeKernelTree
        try {
            $env:NVMEPS_SYSFS_PATH = $tree.Sys
            $ns = (Get-NvmeDevice nvme0).Namespaces[0]
            $env:NVMEPS_SYSFS_PATH = $null
            $ns | Send-NvmeCommand -Opcode 2 -DataLength 512 -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            if (-not (Test-Path /dev/nvme0n1)) {
                $err[0].FullyQualifiedErrorId | Should -Be 'NvmeKernelDeviceNotFound,NvmePS.Commands.SendNvmeCommandCommand'
                $err[0].Exception.Message | Should -Match '/dev/nvme0n1'
            }
        }
        finally {
            $env:NVMEPS_SYSFS_PATH = $null
            Remove-Item -Recurse -Force $tree.Root
        }
    }
}
