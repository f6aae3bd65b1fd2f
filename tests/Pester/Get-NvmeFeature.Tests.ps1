#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
    $script:t = Start-TestTarget
    $script:c = Connect-TestController $t -Extra @{ KeepAliveTimeoutSec = 30 }
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'Get-NvmeFeature' {
    It 'reads features by name and number' {
        $f = Get-NvmeFeature -Controller $c -FeatureId KeepAliveTimer, 0x07
        $f[0].Value | Should -Be 30000
        $f[0].Decoded | Should -Be 'KATO=30000 ms'
        $f[1].Name | Should -Be 'NumberOfQueues'
        $f[1].Decoded | Should -Match 'I/O submission queues='
    }

    It 'reads capabilities with -Select SupportedCapabilities' {
        (Get-NvmeFeature $c KeepAliveTimer -Select SupportedCapabilities).Decoded | Should -Match 'Saveable='
    }

    It 'reports an unsupported feature per feature' {
        Get-NvmeFeature $c 0xC7, KeepAliveTimer -ErrorVariable err -ErrorAction SilentlyContinue | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -Be 'NvmeDeviceStatus,NvmePS.Commands.GetNvmeFeatureCommand'
        $err[0].CategoryInfo.Category | Should -Be 'DeviceError'
    }

    It 'rejects an unknown name' {
        { Get-NvmeFeature $c Speed } | Should -Throw -ErrorId 'InvalidFeatureId,NvmePS.Commands.GetNvmeFeatureCommand'
    }
}
