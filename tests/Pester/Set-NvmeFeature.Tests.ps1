#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
    $script:t = Start-TestTarget
    $script:c = Connect-TestController $t
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'Set-NvmeFeature' {
    It 'sets the keep-alive timer' {
        $f = Set-NvmeFeature -Controller $c -FeatureId KeepAliveTimer -Value 15000
        $f.Select | Should -Be 'Current'
        $f.Value | Should -Be 15000   # the value as read back, not the completion's DW0
        (Get-NvmeFeature $c KeepAliveTimer).Value | Should -Be 15000
    }

    It 'changes nothing with -WhatIf' {
        Set-NvmeFeature $c KeepAliveTimer 5000 -WhatIf
        (Get-NvmeFeature $c KeepAliveTimer).Value | Should -Be 15000
    }

    It 'reports a feature the controller will not change' {
        Set-NvmeFeature $c 0xC7 1 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'NvmeDeviceStatus,NvmePS.Commands.SetNvmeFeatureCommand'
        $err[0].TargetObject | Should -Be $c
    }
}
