#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'Get-NvmeHostNqn' {
    It 'reads hostnqn and hostid from the config directory' {
        Set-Content TestDrive:/hostnqn 'nqn.2014-08.org.nvmexpress:uuid:12345678-1234-1234-1234-123456789abc'
        Set-Content TestDrive:/hostid '12345678-1234-1234-1234-123456789abc'
        $id = Get-NvmeHostNqn -ConfigDirectory TestDrive:/
        $id.HostNqn | Should -Be 'nqn.2014-08.org.nvmexpress:uuid:12345678-1234-1234-1234-123456789abc'
        $id.HostId | Should -Be ([guid]'12345678-1234-1234-1234-123456789abc')
        $id.Source | Should -Be (Join-Path (Get-PSDrive TestDrive).Root 'hostnqn')
    }

    It 'is the same in another process when no file exists (machine-derived)' -Skip:(-not (Test-Path /etc/machine-id)) {
        $here = Get-NvmeHostNqn -ConfigDirectory TestDrive:/empty
        $here.Source | Should -Be 'derived from /etc/machine-id'
        # pwsh itself, whether it runs as an apphost or as `dotnet pwsh.dll` (the project's tool).
        $pwsh = (Get-Process -Id $PID).Path
        $prefix = @(if ((Split-Path $pwsh -LeafBase) -eq 'dotnet') { [Reflection.Assembly]::GetEntryAssembly().Location })
        $module = (Get-Module NvmePS).Path -replace '\.dll$', '.psd1'
        $dir = Join-Path (Get-PSDrive TestDrive).Root 'empty'
        $there = & $pwsh @prefix -NoProfile -NonInteractive -Command "Import-Module '$module'; (Get-NvmeHostNqn -ConfigDirectory '$dir').HostNqn"
        $there | Should -Be $here.HostNqn
    }

    It 'is what Connect-NvmfController presents' {
        $t = Start-NvmfTarget -Listen 127.0.0.1:0 -SubsystemNqn (New-TestNqn) -AllowedHostNqn (Get-NvmeHostNqn).HostNqn
        try {
            $c = Connect-NvmfController $t.Address $t.SubsystemNqn -ServiceId $t.Port
            $c.HostNqn | Should -Be (Get-NvmeHostNqn).HostNqn
            $c | Disconnect-NvmfController
        }
        finally { $t | Stop-NvmfTarget }
    }
}
