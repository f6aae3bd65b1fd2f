#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
    $script:t = Start-TestTarget -Namespace 'memory:4MB', 'memory:2MB'
    $script:c = Connect-TestController $t
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'Get-NvmeIdentify' {
    It 'identifies the controller' {
        $id = $c | Get-NvmeIdentify
        $id | Should -BeOfType NvmePS.NvmeControllerIdentity
        $id.SerialNumber | Should -Be $t.SerialNumber
        $id.SubsystemNqn | Should -Be $t.SubsystemNqn
        $id.ControllerType | Should -Be 'IO'
        $id.Raw.Length | Should -Be 4096
        ($id | Format-List | Out-String) | Should -Match 'MaxDataTransferBytes'
    }

    It 'lists active namespaces and identifies them' {
        ($c | Get-NvmeIdentify -ActiveNamespaces).NamespaceId | Should -Be @(1, 2)
        $ns = Get-NvmeIdentify $c -NamespaceId 1, 2
        $ns.SizeBytes | Should -Be @(4MB, 2MB)
        $ns.BlockSize | Should -Be @(512, 512)
    }

    It 'reports an inactive namespace and an invalid one as errors' {
        Get-NvmeIdentify $c -NamespaceId 7 -ErrorVariable inactive -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $inactive[0].FullyQualifiedErrorId | Should -Be 'NvmeNamespaceNotActive,NvmePS.Commands.GetNvmeIdentifyCommand'
        Get-NvmeIdentify $c -NamespaceId 5000, 1 -ErrorVariable err -ErrorAction SilentlyContinue | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -Be 'NvmeDeviceStatus,NvmePS.Commands.GetNvmeIdentifyCommand'
        $err[0].TargetObject | Should -Be $c
    }
}
