#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
    $script:Fake = Start-TestMctpd
    $script:Fake.AddEndpoint(1, 29, [byte[]](0, 4), $null, 'Degraded', $false, $null)
    $script:Fake.StartAsync($script:TestBus.Address).GetAwaiter().GetResult()
}
AfterAll {
    $script:Fake | Stop-TestMctpd
    Remove-NvmePSAfterTest
}

Describe 'Repair-NvmeMiEndpoint' {
    It 'asks mctpd to recover a degraded endpoint from the pipeline' {
        Find-NvmeMiEndpoint -BusAddress $script:TestBus.Address | Where-Object Connectivity -eq Degraded | Repair-NvmeMiEndpoint -Confirm:$false
        $script:Fake.Recovered | Should -Be '/au/com/codeconstruct/mctp1/networks/1/endpoints/29'
    }

    It 'maps a refusal to MctpdAccessDenied with PermissionDenied' {
        $script:Fake.RecoverError = 'org.freedesktop.DBus.Error.AccessDenied'
        Repair-NvmeMiEndpoint 1 29 -BusAddress $script:TestBus.Address -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'MctpdAccessDenied,*'
        $err[0].CategoryInfo.Category | Should -Be 'PermissionDenied'
        $script:Fake.RecoverError = $null
    }
}
