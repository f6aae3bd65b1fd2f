#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
    $script:t = Start-TestTarget
    $script:c = Connect-TestController $t
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'Get-NvmfProperty' {
    It 'reads and decodes CAP, VS, CC and CSTS' {
        $p = Get-NvmfProperty -Controller $c
        $p.Name | Should -Be @('CAP', 'VS', 'CC', 'CSTS')
        ($p | Where-Object Name -eq CAP).Size | Should -Be 8
        (($p | Where-Object Name -eq CC).Fields | Where-Object Name -eq EN).Value | Should -Be 1
        (($p | Where-Object Name -eq CSTS).Fields | Where-Object Name -eq RDY).Value | Should -Be 1
    }

    It 'reads one property by name' {
        (Get-NvmfProperty $c VS).Decoded | Should -Match '^MJR=\d+ MNR=\d+ TER=\d+$'
    }

    It 'accepts only known property names' {
        { Get-NvmfProperty $c BAR } | Should -Throw -ErrorId 'ParameterArgumentValidationError,NvmePS.Commands.GetNvmfPropertyCommand'
    }
}
