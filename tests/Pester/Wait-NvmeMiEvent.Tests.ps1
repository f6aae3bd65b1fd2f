#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'Wait-NvmeMiEvent' {
    BeforeEach {
        $sim = Start-NvmeMiSimulator -Network 1 -Eid 57
        $ep = Connect-NvmeMiEndpoint -Network 1 -Eid 57
    }
    AfterEach {
        $ep | Disconnect-NvmeMiEndpoint
        $sim | Stop-NvmeMiSimulator
    }

    It 'returns nothing when no event comes within -TimeoutSec, and leaves the events off' {
        Wait-NvmeMiEvent $ep -TimeoutSec 1 | Should -BeNullOrEmpty
        (Get-NvmeMiConfiguration $ep -PortId 0).AsyncEvents | Should -Be @('01h disabled', '02h disabled', '03h disabled')
    }

    It 'reports the occurrences the endpoint held while nobody listened, once' {
        $null = Wait-NvmeMiEvent $ep -Count 0 -TimeoutSec 1 -KeepEnabled
        (Get-NvmeMiConfiguration $ep -PortId 0).AsyncEvents | Should -Be @('01h enabled', '02h enabled', '03h enabled')
        Set-NvmeFeature -Controller (Get-NvmeMiController $ep)[0] -FeatureId TemperatureThreshold -Value 300 -Confirm:$false | Out-Null
        Start-Sleep -Milliseconds 500
        $events = @(Wait-NvmeMiEvent $ep -Count 2 -TimeoutSec 10)
        $events.SimulatorEvent | Sort-Object | Should -Be @('CriticalWarningChanged', 'TemperatureThresholdCrossed')
        ($events | Where-Object EventId -eq 1).SpecificInfoHex | Should -Be '02'
        # Acknowledged: a second wait sees nothing more.
        Wait-NvmeMiEvent $ep -TimeoutSec 2 | Should -BeNullOrEmpty
    }

    It 'refuses an event identifier the endpoint does not support' {
        { Wait-NvmeMiEvent $ep -EventId 0x77 -TimeoutSec 1 -ErrorAction Stop } |
            Should -Throw -ErrorId 'NvmeMiEventNotSupported,NvmePS.Commands.WaitNvmeMiEventCommand'
    }
}
