#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
    $script:t = Start-TestTarget
    $script:c = Connect-TestController $t
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'Set-NvmfProperty' {
    It 'writes CC and returns it read back' {
        $cc = (Get-NvmfProperty $c CC).Value
        (Set-NvmfProperty -Controller $c -Name CC -Value $cc -Confirm:$false).Value | Should -Be $cc
    }

    It 'changes nothing with -WhatIf' {
        Set-NvmfProperty $c CC 0 -WhatIf
        ((Get-NvmfProperty $c CSTS).Fields | Where-Object Name -eq RDY).Value | Should -Be 1
    }

    It 'refuses read-only properties' {
        { Set-NvmfProperty $c VS 1 -Confirm:$false } | Should -Throw -ErrorId 'ParameterArgumentValidationError,NvmePS.Commands.SetNvmfPropertyCommand'
    }
}
