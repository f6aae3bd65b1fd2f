#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
    $null = Start-NvmeMiSimulator -Eid 51
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'Watch-NvmeMiHealth' {
    It 'writes nothing for a quiet endpoint and ends at -TimeoutSec' {
        $events = Watch-NvmeMiHealth -Network 1 -Eid 51 -IntervalSec 1 -TimeoutSec 2
        $events | Should -BeNullOrEmpty
    }

    It 'says what it watches with -Verbose' {
        $v = Watch-NvmeMiHealth -Network 1 -Eid 51 -ControllerId 1 -IntervalSec 1 -TimeoutSec 1 -Verbose 4>&1
        ($v | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message | Should -Match 'Watching NVMe-MI net 1 eid 51'
    }
}
