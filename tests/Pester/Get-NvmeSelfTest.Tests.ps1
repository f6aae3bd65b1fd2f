#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
    $script:t = Start-TestTarget
    $script:c = Connect-TestController $t
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'Get-NvmeSelfTest' {
    It 'is empty on a new controller' {
        Get-NvmeSelfTest $c | Should -BeNullOrEmpty
    }

    It 'lists the running test first, then results newest first' {
        $null = Start-NvmeSelfTest $c -NamespaceId 0 -Wait
        $null = Start-NvmeSelfTest $c -Extended
        $all = @(Get-NvmeSelfTest $c)
        $all[0].Status | Should -Be 'InProgress'
        $all[0].PercentComplete | Should -BeOfType [int]
        $all[1].Status | Should -Be 'CompletedWithoutError'
        $all[1].NamespaceId | Should -BeNullOrEmpty   # NSID 0: the controller only
        @(Get-NvmeSelfTest $c -Running).Count | Should -Be 1
        $null = Stop-NvmeSelfTest $c
        (Get-NvmeSelfTest $c)[0].Status | Should -Be 'AbortedBySelfTestCommand'
        (Get-NvmeLog $c DeviceSelfTest)[0].Status | Should -Be 'AbortedBySelfTestCommand'
    }

    It 'renders its default view in 80 columns' {
        $text = Get-NvmeSelfTest $c | Out-String -Width 80
        $text | Should -Match 'AbortedBySelfTestCommand'
        ($text -split "`n" | Where-Object Length -gt 80) | Should -BeNullOrEmpty
    }
}
