#Requires -Version 7.4
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-NvmePSForTest
    # The example secret of NVMe Base 2.0 §8.13.5.8, and its key in hex.
    $script:specExample = 'DHHC-1:00:ia6zGodOr4SEG0Zzaw398rpY0wqipUWj4jWjUh4HWUz6aQ2n:'
    $script:specKey = '89aeb31a874eaf84841b46736b0dfdf2ba58d30aa2a545a3e235a3521e07594c'
    $script:hostNqn = 'nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-000000000001'
}
AfterAll { Remove-NvmePSAfterTest }

Describe 'New-NvmeDhchapKey' {
    It 'writes the DHHC-1 form with the key and its CRC-32' {
        (New-NvmeDhchapKey -Secret $specKey).Secret | Should -BeExactly $specExample
        $k = New-NvmeDhchapKey -KeyLength 48
        $k.Secret | Should -Match '^DHHC-1:00:[A-Za-z0-9+/]{70}==:$'
        $k.KeyLength | Should -Be 48
    }

    It 'transforms the key with the hash and the host NQN, as gen-dhchap-key does' {
        $k = New-NvmeDhchapKey -Secret $specKey -Hash Sha256 -HostNqn $hostNqn
        $k.Secret | Should -BeLike 'DHHC-1:01:*'
        $raw = [Convert]::FromBase64String($k.Secret.Substring(10).TrimEnd(':'))
        [Convert]::ToHexString($raw, 0, 32) | Should -Be '30EC326A9164EF751470FC129B83A2F17593C43D19F4C615C46E65BA3FF72021'
        (New-NvmeDhchapKey -Hash Sha512 -HostNqn $hostNqn).KeyLength | Should -Be 64
    }

    It 'never shows the secret in ToString or the error for a bad one' {
        $k = New-NvmeDhchapKey
        "$k" | Should -Not -Match ([regex]::Escape($k.Secret.Substring(10, 20)))
        $bad = $specExample.Replace('ia6z', 'ia7z')
        { Connect-NvmfController 127.0.0.1 nqn.2024-01.io.example:x -ServiceId 9 -DhchapSecret $bad -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidDhchapSecret,NvmePS.Commands.ConnectNvmfControllerCommand' -ExpectedMessage '*CRC-32*'
        try { Connect-NvmfController 127.0.0.1 nqn.2024-01.io.example:x -ServiceId 9 -DhchapSecret $bad -ErrorAction Stop } catch { "$_" | Should -Not -Match 'ia7z' }
        # A secret given where a host NQN belongs is refused without quoting it.
        $e = { Start-NvmfTarget 127.0.0.1:0 nqn.2024-01.io.nvmeps.pester:leak -AllowedHost $hostNqn, $k.Secret -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidDhchapSecret,*' -PassThru
        "$e" | Should -BeLike '*not a host NQN*'
        "$e" | Should -Not -Match ([regex]::Escape($k.Secret.Substring(10, 20)))
    }

    It 'makes keys a target and a host authenticate with, both ways, over every queue' {
        $hostKey = New-NvmeDhchapKey -Hash Sha384 -HostNqn $hostNqn
        $ctrlKey = New-NvmeDhchapKey -KeyLength 64
        $t = Start-NvmfTarget 127.0.0.1:0 nqn.2024-01.io.nvmeps.pester:auth -AllowedHost @{ HostNqn = $hostNqn; DhchapSecret = $hostKey.Secret; DhchapControllerSecret = $ctrlKey; DhchapHash = 'Sha384'; DhchapGroup = 'Ffdhe2048' }
        try {
            $secure = ConvertTo-SecureString $hostKey.Secret -AsPlainText -Force
            $c = Connect-NvmfController 127.0.0.1 nqn.2024-01.io.nvmeps.pester:auth -ServiceId $t.Port -HostNqn $hostNqn -IoQueueCount 2 -DhchapSecret $secure -DhchapControllerSecret $ctrlKey.Secret
            @($c.QueuePairs.Authentication | Select-Object -Unique) | Should -Be @('DH-HMAC-CHAP Sha384 Ffdhe2048 bidirectional')
            @($c.QueuePairs).Count | Should -Be 3
            (Get-NvmeIdentify $c).SubsystemNqn | Should -Be 'nqn.2024-01.io.nvmeps.pester:auth'
            $c | Disconnect-NvmfController

            # A wrong key, and no key at all: refused, with the stable ErrorId.
            $e = { Connect-NvmfController 127.0.0.1 nqn.2024-01.io.nvmeps.pester:auth -ServiceId $t.Port -HostNqn $hostNqn -DhchapSecret (New-NvmeDhchapKey).Secret -ErrorAction Stop } |
                Should -Throw -ErrorId 'NvmeAuthenticationFailed,NvmePS.Commands.ConnectNvmfControllerCommand' -PassThru
            $e.CategoryInfo.Category | Should -Be 'AuthenticationError'
            $e.Exception.Message | Should -BeLike '*authentication failed*'
            { Connect-NvmfController 127.0.0.1 nqn.2024-01.io.nvmeps.pester:auth -ServiceId $t.Port -HostNqn $hostNqn -ErrorAction Stop } |
                Should -Throw -ErrorId 'NvmeAuthenticationFailed,NvmePS.Commands.ConnectNvmfControllerCommand' -ExpectedMessage '*-DhchapSecret*'
        }
        finally {
            $t | Stop-NvmfTarget -Confirm:$false
        }
    }

    It 'renders its default view without the secret, so it stays out of transcripts' {
        $k = New-NvmeDhchapKey -Secret $specKey
        $text = $k | Out-String -Width 120
        $text | Should -Match 'KeyLength'
        $text | Should -Not -Match 'DHHC-1'
    }

    It 'refuses a length the hash cannot give, and a malformed -Secret without repeating it' {
        { New-NvmeDhchapKey -Hash Sha256 -KeyLength 64 -HostNqn $hostNqn -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidDhchapKey,*' -ExpectedMessage '*32 bytes*'
        $e = { New-NvmeDhchapKey -Secret ('ab' * 20) -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidDhchapKey,*' -PassThru
        "$e" | Should -Not -Match ('ab' * 20)
    }
}
