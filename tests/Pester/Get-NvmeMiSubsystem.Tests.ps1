#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
    $script:Sim = Start-NvmeMiSimulator -Eid 53
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'Get-NvmeMiSubsystem' {
    It 'describes the subsystem behind the endpoint' {
        $s = $script:Sim | Get-NvmeMiSubsystem
        $s.PortCount | Should -Be 2
        $s.NvmeMiVersion | Should -Be '1.2'
        $s.ControllerIds | Should -Be 1, 2
        $s.OptionalCommands | Should -Contain 'MI 06h'
    }
}
