#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
    $script:t = Start-TestTarget
    $script:c = Connect-TestController $t
    function New-TestImage([string] $Revision, [int] $Size = 8192) {
        $image = [byte[]]::new($Size)
        [Text.Encoding]::ASCII.GetBytes('NVMEPSFW' + $Revision.PadRight(8)).CopyTo($image, 0)
        , $image
    }
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'Update-NvmeFirmware' {
    It 'commits to a free slot for the next reset' {
        $slots = Update-NvmeFirmware $c -Image (New-TestImage '2.0.0' 300000) -Force
        $slots.ActiveSlot | Should -Be 1
        $slots.NextResetSlot | Should -Be 2
        $slots.Revisions[1] | Should -Be '2.0.0'
        (Get-NvmeIdentify $c).FirmwareRevision | Should -Be '0.1.0'
    }

    It 'activates at once from a file' {
        $path = Join-Path $TestDrive 'fw.bin'
        [IO.File]::WriteAllBytes($path, (New-TestImage '3.1.0' 4096))
        $slots = Update-NvmeFirmware $c $path -Slot 3 -Activate Now -Confirm:$false
        $slots.ActiveRevision | Should -Be '3.1.0'
        (Get-NvmeIdentify $c).FirmwareRevision | Should -Be '3.1.0'
    }

    It 'reports a bad image and a read-only slot, changing nothing' {
        Update-NvmeFirmware $c -Image ([byte[]]::new(4096)) -Slot 2 -Force -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].Exception.Message | Should -Match 'Invalid Firmware Image'
        Update-NvmeFirmware $c -Image (New-TestImage '9.0.0' 4096) -Slot 1 -Force -ErrorVariable err2 -ErrorAction SilentlyContinue
        $err2[0].Exception.Message | Should -Match 'Invalid Firmware Slot'
        (Get-NvmeLog $c FirmwareSlot).Revisions[0] | Should -Be '0.1.0'
    }

    It 'refuses an image that is not whole dwords before sending anything' {
        { Update-NvmeFirmware $c -Image ([byte[]]::new(4097)) -Force -ErrorAction Stop } | Should -Throw -ErrorId 'NvmeInvalidArgument,NvmePS.Commands.UpdateNvmeFirmwareCommand'
    }

    It 'sends nothing with -WhatIf' {
        $before = Get-NvmeLog $c FirmwareSlot
        Update-NvmeFirmware $c -Image (New-TestImage '7.0.0' 4096) -Slot 2 -WhatIf | Should -BeNullOrEmpty
        (Get-NvmeLog $c FirmwareSlot).Revisions | Should -Be $before.Revisions
    }
}
