#Requires -Version 7.4
BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    $localSkip = Get-KernelNvmeSkipReason -LocalDrive
}
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
    $script:tree = New-FakeKernelTree
}
AfterAll {
    $env:NVMEPS_SYSFS_PATH = $null
    Remove-Item -Recurse -Force $tree.Root
    Remove-NvmePSAfterTest
}

Describe 'Get-NvmeDevice' {
    Context 'over a sysfs laid out as Linux lays it out' {
        BeforeEach { $env:NVMEPS_SYSFS_PATH = $tree.Sys }
        AfterEach { $env:NVMEPS_SYSFS_PATH = $null }

        It 'lists the controller with what sysfs says, trimmed' {
            $d = Get-NvmeDevice
            $d.Name | Should -Be 'nvme0'
            $d.Transport | Should -Be 'pcie'
            $d.Address | Should -Be '0000:00:06.0'
            $d.ModelNumber | Should -Be 'QEMU NVMe Ctrl'
            $d.SerialNumber | Should -Be 'NVMEPS-PCI-0001'
            $d.FirmwareRevision | Should -Be '7.2.22'
            $d.DevicePath | Should -Be '/dev/nvme0'
            $d.BlockDevices | Should -Be 'nvme0n1'
        }

        It 'lists the namespaces with block device, size and LBA format' {
            $ns = (Get-NvmeDevice nvme0).Namespaces
            $ns.NamespaceId | Should -Be 1
            $ns.SizeBytes | Should -Be (64MB)
            $ns.Format | Should -Be '512 B + 0 B'
            $ns.BlockDevice | Should -Be '/dev/nvme0n1'
        }

        It 'filters by name with wildcards and by transport' {
            Get-NvmeDevice 'nvme*' | Should -HaveCount 1
            Get-NvmeDevice -Transport tcp | Should -BeNullOrEmpty
            Get-NvmeDevice -Transport pcie | Should -HaveCount 1
        }

        It 'reports a name that matches nothing' {
            Get-NvmeDevice nvme7 -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err[0].FullyQualifiedErrorId | Should -Be 'NvmeKernelDeviceNotFound,NvmePS.Commands.GetNvmeDeviceCommand'
            $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        }

        It 'completes controller names' {
            $line = 'Get-NvmeDevice nv'
            (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Contain 'nvme0'
        }

        It 'renders the table like nvme list, within 80 columns' {
            $text = (Get-NvmeDevice | Format-Table | Out-String -Width 80).Trim() -split "`n"
            $text[0] | Should -Match '^Name\s+Transport\s+Endpoint\s+ModelNumber\s+State\s+BlockDevices'
            $text[2] | Should -Match '^nvme0\s+pcie\s+0000:00:06.0\s+QEMU NVMe Ctrl\s+live\s+nvme0n1'
        }

        It 'reaches the device node for Admin commands, and says when it is missing' {
            Get-NvmeDevice nvme0 | Get-NvmeIdentify -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err[0].FullyQualifiedErrorId | Should -BeLike 'NvmeKernel*,NvmePS.Commands.GetNvmeIdentifyCommand'
            $err[0].TargetObject.Name | Should -Be 'nvme0'
        }
    }

    Context 'on this machine' {
        It 'lists nothing without an error when there is no NVMe driver' -Skip:(Test-Path /sys/class/nvme) {
            Get-NvmeDevice -ErrorVariable err | Should -BeNullOrEmpty
            $err | Should -BeNullOrEmpty
        }

        It "identifies the local drive as root$(if ($localSkip) { " (skipped here: $localSkip)" })" -Skip:($null -ne $localSkip) {
            $serial = (Get-NvmeDevice nvme0).SerialNumber
            $serial | Should -Not -BeNullOrEmpty
            (Get-NvmeDevice nvme0 | Get-NvmeIdentify).SerialNumber | Should -Be $serial
        }
    }
}
