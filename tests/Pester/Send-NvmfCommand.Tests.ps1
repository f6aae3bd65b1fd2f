#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
    $script:t = Start-TestTarget -Namespace 'memory:1MB'
    $script:c = Connect-TestController $t
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'Send-NvmfCommand' {
    It 'keeps the bits of dwords typed as hex, as parameters and in a hashtable' {
        (Send-NvmfCommand $c -Opcode 2 -Nsid 0xFFFFFFFF -Cdw10 0x007F0002 -DataLength 512).Success | Should -BeTrue
        $r = @{ Opcode = 2; Nsid = 0xFFFFFFFF; Cdw10 = 0x007F0002; DataLength = 512 } | Send-NvmfCommand $c
        $r.Success | Should -BeTrue
        $r.BytesTransferred | Should -Be 512
    }

    It 'sends Identify as a raw admin command' {
        $r = Send-NvmfCommand -Controller $c -Opcode 0x06 -Cdw10 1 -DataLength 4096
        $r.Success | Should -BeTrue
        $r.StatusName | Should -Be 'Successful Completion'
        [Text.Encoding]::ASCII.GetString($r.Data, 4, 20).Trim() | Should -Be $c.SerialNumber
    }

    It 'runs piped commands pipelined and returns completions in order' {
        $writes = 0..31 | ForEach-Object { [pscustomobject]@{ Opcode = [byte]1; NamespaceId = 1; Cdw10 = $_; QueueId = 1; InputData = [byte[]](@([byte]($_ + 1)) * 512) } }
        ($writes | Send-NvmfCommand -Controller $c).Success | Should -Not -Contain $false
        $reads = 0..31 | ForEach-Object { [pscustomobject]@{ Opcode = [byte]2; NamespaceId = 1; Cdw10 = $_; QueueId = 1; DataLength = 512 } }
        $done = $reads | Send-NvmfCommand -Controller $c
        $done | ForEach-Object { $_.Data[0] } | Should -Be (1..32)
    }

    It 'returns error statuses as completions' {
        $r = Send-NvmfCommand $c 0x02 -NamespaceId 1 -Cdw10 4096 -QueueId 1 -DataLength 512
        $r.Success | Should -BeFalse
        $r.StatusName | Should -Be 'LBA Out of Range'
    }

    It 'rejects an unknown queue' {
        Send-NvmfCommand $c 0x02 -QueueId 9 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'InvalidQueueId,NvmePS.Commands.SendNvmfCommandCommand'
    }

    It 'sends nothing with -WhatIf' {
        Send-NvmfCommand $c 0x06 -WhatIf | Should -BeNullOrEmpty
    }
}
