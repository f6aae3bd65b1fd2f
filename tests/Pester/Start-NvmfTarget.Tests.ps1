#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'Start-NvmfTarget' {
    It 'starts a target with memory and file namespaces' {
        $file = New-TemporaryFile
        try {
            [IO.File]::WriteAllBytes($file.FullName, [byte[]]::new(1MB))
            $nqn = New-TestNqn
            $t = Start-NvmfTarget -Listen 127.0.0.1:0 -SubsystemNqn $nqn -Namespace 'memory:8MB', $file.FullName
            $t | Should -BeOfType NvmePS.NvmfTarget
            $t.SubsystemNqn | Should -Be $nqn
            $t.Port | Should -BeGreaterThan 0
            $t.IsRunning | Should -BeTrue
            $t.AllowAnyHost | Should -BeTrue
            $t.Namespaces.NamespaceId | Should -Be @(1, 2)
            $t.Namespaces[0].SizeBytes | Should -Be 8MB
            $t.Namespaces[1].Backing | Should -Be $file.FullName
            $t | Stop-NvmfTarget
        }
        finally { Remove-Item $file -Force }
    }

    It 'limits hosts with -AllowedHostNqn' {
        $t = Start-TestTarget -AllowedHostNqn 'nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555'
        $t.AllowAnyHost | Should -BeFalse
        $t.AllowedHostNqns | Should -Be 'nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555'
        $t | Stop-NvmfTarget
    }

    It 'does nothing with -WhatIf' {
        $nqn = New-TestNqn
        Start-NvmfTarget -Listen 127.0.0.1:0 -SubsystemNqn $nqn -WhatIf | Should -BeNullOrEmpty
        Get-NvmfTarget | Where-Object SubsystemNqn -eq $nqn | Should -BeNullOrEmpty
    }

    It 'fails with <Id> for <Case>' -ForEach @(
        @{ Case = 'a bad address'; Params = @{ Listen = 'not-an-address' }; Id = 'InvalidTargetArgument' }
        @{ Case = 'a bad size'; Params = @{ Listen = '127.0.0.1:0'; Namespace = 'memory:lots' }; Id = 'InvalidNamespaceSpec' }
        @{ Case = 'a misspelt type'; Params = @{ Listen = '127.0.0.1:0'; Namespace = 'memroy:1G' }; Id = 'InvalidNamespaceSpec' }
        @{ Case = 'an option given twice'; Params = @{ Listen = '127.0.0.1:0'; Namespace = 'memory:1G,nsid=1,nsid=2' }; Id = 'InvalidNamespaceSpec' }
        @{ Case = 'a bad discovery address'; Params = @{ Listen = '127.0.0.1:0'; DiscoveryListen = 'nowhere' }; Id = 'InvalidTargetArgument' }
        @{ Case = 'a missing file'; Params = @{ Listen = '127.0.0.1:0'; Namespace = '/nonexistent/ns.img' }; Id = 'NamespaceFileNotFound' }
        @{ Case = 'a bad NQN'; Params = @{ Listen = '127.0.0.1:0'; SubsystemNqn = 'not an nqn' }; Id = 'NvmeInvalidArgument' }
        @{ Case = 'a non-loopback address'; Params = @{ Listen = '0.0.0.0:0' }; Id = 'NvmeInvalidArgument' }
    ) {
        { Start-NvmfTarget @Params } | Should -Throw -ErrorId "$Id,NvmePS.Commands.StartNvmfTargetCommand"
    }

    It 'names -AllowNonLoopback when it refuses a non-loopback address' {
        $err = $null
        try { Start-NvmfTarget -Listen 0.0.0.0:0 -Namespace memory:1M } catch { $err = $_ }
        $err.ToString() | Should -Be '-Listen 0.0.0.0 is not a loopback address; add -AllowNonLoopback to serve other networks.'
        $err.TargetObject | Should -Be '0.0.0.0'
        Get-NvmfTarget | Where-Object { $_.Listen -like '0.0.0.0:*' } | Should -BeNullOrEmpty
    }

    It 'serves a PowerShell drive path and a path with a doubled comma' {
        $t = Start-NvmfTarget -Listen 127.0.0.1:0 -SubsystemNqn (New-TestNqn) -Namespace 'TestDrive:/a,,b.img,size=1M'
        try {
            $t.Namespaces[0].Backing | Should -Be (Join-Path (Get-PSDrive TestDrive).Root 'a,b.img')
            (Get-Item 'TestDrive:/a,b.img').Length | Should -Be 1MB
        }
        finally { $t | Stop-NvmfTarget }
    }

    It 'refuses a second target for an NQN the session serves' {
        $t = Start-TestTarget
        try {
            { Start-NvmfTarget -Listen 127.0.0.1:0 -SubsystemNqn $t.SubsystemNqn -Namespace memory:128M } |
                Should -Throw -ErrorId 'NvmfSubsystemNqnInUse,NvmePS.Commands.StartNvmfTargetCommand'
        }
        finally { $t | Stop-NvmfTarget }
    }

    It 'refuses a port a session target already serves' {
        $t = Start-TestTarget
        { Start-NvmfTarget -Listen $t.Listen } | Should -Throw -ErrorId 'NvmfTargetPortInUse,NvmePS.Commands.StartNvmfTargetCommand'
        $t | Stop-NvmfTarget
    }
}

Describe 'Start-NvmfTarget -Kernel' {
    It 'says configfs is not mounted before looking at anything else (skipped where nvmet is configured)' -Skip:(Test-Path /sys/kernel/config/nvmet) {
        { Start-NvmfTarget -Kernel -Listen 127.0.0.1:4421 -Namespace ./missing.img } | Should -Throw -ErrorId 'NvmetConfigfsNotMounted,NvmePS.Commands.StartNvmfTargetCommand'
    }

    It 'needs -Namespace' {
        (Get-Command Start-NvmfTarget).ParameterSets.Where({ $_.Name -eq 'Kernel' }).Parameters.Where({ $_.Name -eq 'Namespace' }).IsMandatory | Should -BeTrue
    }
}
