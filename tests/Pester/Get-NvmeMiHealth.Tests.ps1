#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
    $script:Sim = Start-NvmeMiSimulator -Eid 43
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'Get-NvmeMiHealth' {
    It 'polls the subsystem health of a simulator from the pipeline' {
        $h = $script:Sim | Get-NvmeMiHealth
        $h.DriveFunctional | Should -BeTrue
        $h.TemperatureCelsius | Should -BeGreaterOrEqual 30   # the simulated temperature swings between 30 and 40 °C over a minute
        $h.CriticalWarning | Should -Be 'None'
    }

    It 'polls single controllers with -ControllerId' {
        $c = Connect-NvmeMiEndpoint 1 43 | Get-NvmeMiHealth -ControllerId 1, 2
        $c.ControllerId | Should -Be 1, 2
        $c | ForEach-Object { $_.Ready | Should -BeTrue }
    }

    It 'reports a controller the endpoint does not have' {
        Get-NvmeMiHealth -Network 1 -Eid 43 -ControllerId 9 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'NvmeMiControllerNotFound,*'
    }
}
