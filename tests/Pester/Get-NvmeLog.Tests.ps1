#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
    $script:t = Start-TestTarget
    $script:c = Connect-TestController $t
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'Get-NvmeLog' {
    It 'reads SMART / Health' {
        $s = Get-NvmeLog -Controller $c -LogId Smart
        $s | Should -BeOfType NvmePS.NvmeSmartHealth
        $s.CriticalWarning | Should -Be 'None'
        $s.AvailableSparePercent | Should -Be 100
        ($s | Format-List | Out-String) | Should -Match 'Temperature'
    }

    It 'counts written data in the SMART log' {
        $data = [byte[]]::new(1MB)
        Write-NvmeBlock $c 0 $data
        (Get-NvmeLog $c Smart).DataUnitsWritten | Should -BeGreaterOrEqual 3
    }

    It 'reads the firmware slot log and raw pages' {
        (Get-NvmeLog $c FirmwareSlot).ActiveRevision | Should -Be $c.FirmwareRevision
        $raw = Get-NvmeLog $c -LogId 0x02 -Raw
        $raw.Length | Should -Be 4096
    }

    It 'reads the discovery log from a discovery controller' {
        $d = Connect-NvmfController 127.0.0.1 -ServiceId $t.Port
        (Get-NvmeLog $d Discovery).SubNqn | Should -Contain $t.SubsystemNqn
        $d | Disconnect-NvmfController
    }

    It 'rejects <Case> before sending anything' -ForEach @(
        @{ Case = 'an unknown name'; Params = @{ LogId = 'Smrt' }; Id = 'InvalidLogId' }
        @{ Case = 'a length that is not whole dwords'; Params = @{ LogId = 'Smart'; Length = 6 }; Id = 'InvalidLogLength' }
    ) {
        { Get-NvmeLog $c @Params } | Should -Throw -ErrorId "$Id,NvmePS.Commands.GetNvmeLogCommand"
    }

    It 'completes log names' {
        $line = 'Get-NvmeLog -LogId Fi'
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Contain 'FirmwareSlot'
    }
}
