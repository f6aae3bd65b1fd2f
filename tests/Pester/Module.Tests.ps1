#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'NvmePS module' {
    It 'passes Test-ModuleManifest' {
        $m = Test-ModuleManifest $script:NvmePSManifest
        $m.RootModule | Should -Be 'NvmePS.dll'
        $m.PowerShellVersion | Should -Be ([version]'7.4')
        $m.CompatiblePSEditions | Should -Be 'Core'
    }

    It 'exports exactly the manifest''s cmdlets' {
        $manifest = Import-PowerShellDataFile $script:NvmePSManifest
        (Get-Command -Module NvmePS).Name | Sort-Object | Should -Be ($manifest.CmdletsToExport | Sort-Object)
    }

    It 'has full help with examples for <_>' -ForEach (Import-PowerShellDataFile (Join-Path $PSScriptRoot '..' '..' 'out' 'NvmePS' 'NvmePS.psd1')).CmdletsToExport {
        $help = Get-Help $_ -Full
        $help.Synopsis | Should -Not -BeNullOrEmpty
        @($help.Examples.Example).Count | Should -BeGreaterOrEqual 2
        # Hidden parameters (DontShow, such as the PSComputerName remoting output binds to) are not documented.
        $shown = (Get-Command $_).Parameters.Values | Where-Object { $_.Name -notin [System.Management.Automation.Cmdlet]::CommonParameters -and -not ($_.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] -and $_.DontShow }) }
        foreach ($p in $shown) {
            ($help.Parameters.Parameter | Where-Object Name -eq $p.Name).Description | Should -Not -BeNullOrEmpty -Because "-$($p.Name) of $_ needs help"
        }
    }

    It 'keeps this session''s targets when a parallel runspace removes the module' {
        $t = Start-TestTarget
        $c = Connect-TestController $t
        $manifest = $script:NvmePSManifest
        1 | ForEach-Object -Parallel { Import-Module $using:manifest; $null = Get-NvmfTarget; Remove-Module NvmePS }
        $t.IsRunning | Should -BeTrue
        $c.IsConnected | Should -BeTrue
        (Get-NvmeIdentify $c).SerialNumber | Should -Be $t.SerialNumber
        $c | Disconnect-NvmfController
        $t | Stop-NvmfTarget
    }

    It 'lists only this session''s targets' {
        $t = Start-TestTarget
        $manifest = $script:NvmePSManifest
        $seen = 1 | ForEach-Object -Parallel { Import-Module $using:manifest; @(Get-NvmfTarget).Count }
        $seen | Should -Be 0
        (Get-NvmfTarget).SubsystemNqn | Should -Contain $t.SubsystemNqn
        $t | Stop-NvmfTarget
    }

    It 'has an about_NvmePS topic' {
        Get-Help about_NvmePS | Out-String | Should -Match 'SESSION STATE'
    }

    It 'closes targets and controllers on Remove-Module' {
        $t = Start-TestTarget
        $c = Connect-TestController $t
        Remove-Module NvmePS
        $c.IsConnected | Should -BeFalse
        $t.IsRunning | Should -BeFalse
        Import-NvmePSForTest
    }
}
