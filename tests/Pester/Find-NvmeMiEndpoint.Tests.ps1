#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
    $script:Fake = Start-TestMctpd
    $script:Fake.AddNetwork(1, [byte[]](8))
    $script:Fake.AddEndpoint(1, 8, [byte[]](0), [guid]::NewGuid(), 'Available', $false, $null)
    $script:Fake.AddEndpoint(1, 29, [byte[]](0, 4), [guid]'11111111-2222-3333-4444-555555555555', 'Available', $false, $null)
    $script:Fake.AddEndpoint(2, 9, [byte[]](0, 4), $null, 'Degraded', $true, $null)
    $script:Fake.StartAsync($script:TestBus.Address).GetAwaiter().GetResult()
}
AfterAll {
    $script:Fake | Stop-TestMctpd
    Remove-NvmePSAfterTest
}

Describe 'Find-NvmeMiEndpoint' {
    It 'lists the NVMe-MI endpoints mctpd publishes, across networks' {
        $e = Find-NvmeMiEndpoint -BusAddress $script:TestBus.Address
        $e.Count | Should -Be 2
        $e[0].Network, $e[0].Eid, $e[0].Uuid | Should -Be 1, 29, '11111111-2222-3333-4444-555555555555'
        $e[1].Connectivity | Should -Be 'Degraded'
        $e[0].MessageTypeNames | Should -Be 'Control, NVMe-MI'
    }

    It 'filters by network and EID, and lists the local EID only with -IncludeAll' {
        (Find-NvmeMiEndpoint -BusAddress $script:TestBus.Address -Network 2).Eid | Should -Be 9
        (Find-NvmeMiEndpoint -BusAddress $script:TestBus.Address -IncludeAll | Where-Object IsLocal).Eid | Should -Be 8
    }

    It 'times out with NvmeTimeout when -Wait sees no match' {
        { Find-NvmeMiEndpoint -BusAddress $script:TestBus.Address -Eid 77 -Wait -TimeoutSec 1 -ErrorAction Stop } |
            Should -Throw -ErrorId 'NvmeTimeout,NvmePS.Commands.FindNvmeMiEndpointCommand'
    }

    It 'says when there is no bus' {
        { Find-NvmeMiEndpoint -BusAddress 'unix:path=/tmp/nvmeps-pester-no-bus' -ErrorAction Stop } |
            Should -Throw -ErrorId 'MctpdNoBus,NvmePS.Commands.FindNvmeMiEndpointCommand'
    }
}
