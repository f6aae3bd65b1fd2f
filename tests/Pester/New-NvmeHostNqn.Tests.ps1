#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'New-NvmeHostNqn' {
    It 'makes a uuid NQN and its host id, writing nothing' {
        $n = New-NvmeHostNqn -ConfigDirectory TestDrive:/nvme
        $n.HostNqn | Should -Be "nqn.2014-08.org.nvmexpress:uuid:$($n.HostId)"
        $n.PersistedTo | Should -BeNullOrEmpty
        Test-Path TestDrive:/nvme | Should -BeFalse
    }

    It 'is the machine''s identity unless -Random' -Skip:(-not (Test-Path /etc/machine-id)) {
        (New-NvmeHostNqn).HostNqn | Should -Be (New-NvmeHostNqn).HostNqn
        (New-NvmeHostNqn -Random).HostNqn | Should -Not -Be (New-NvmeHostNqn -Random).HostNqn
    }

    It 'writes hostnqn and hostid with -Persist, and nothing with -WhatIf' {
        New-NvmeHostNqn -Random -Persist -ConfigDirectory TestDrive:/whatif -WhatIf
        Test-Path TestDrive:/whatif/hostnqn | Should -BeFalse
        $n = New-NvmeHostNqn -Random -Persist -ConfigDirectory TestDrive:/nvme -Confirm:$false
        $n.PersistedTo | Should -Be (Join-Path (Get-PSDrive TestDrive).Root 'nvme')
        (Get-Content TestDrive:/nvme/hostnqn) | Should -Be $n.HostNqn
        (Get-Content TestDrive:/nvme/hostid) | Should -Be $n.HostId.ToString()
        (Get-NvmeHostNqn -ConfigDirectory TestDrive:/nvme).HostNqn | Should -Be $n.HostNqn
    }

    It 'reports a directory it cannot write' {
        { New-NvmeHostNqn -Persist -ConfigDirectory /proc/nvmeps-cannot-write -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId 'NvmeFileNotFound,NvmePS.Commands.NewNvmeHostNqnCommand'
    }
}
