#
# Module manifest for NvmePS: NVMe over Fabrics (TCP) and NVMe-MI over MCTP from PowerShell 7.4+ on Linux.
# `dotnet build src/NvmePS` lays the module out in out/NvmePS/ with this manifest next to NvmePS.dll.
#
@{
    RootModule           = 'NvmePS.dll'
    ModuleVersion        = '0.1.0'
    CompatiblePSEditions = @('Core')
    GUID                 = '7c0ebe45-869d-4a44-b44b-16a1d77d097a'
    Author               = 'NvmePS developers'
    CompanyName          = 'NvmePS developers'
    Copyright            = '(c) NvmePS developers. All rights reserved.'
    Description          = 'Manage NVMe storage from PowerShell on Linux: an NVMe over Fabrics TCP host and target (connect, discover, identify, logs, features, raw commands, block I/O), NVMe-MI over MCTP (mctpd discovery over D-Bus, health, controllers, Admin commands tunnelled over MI, a simulated endpoint), and the kernel''s own NVMe (local controllers through the passthrough ioctls, the kernel host''s connect, the kernel target nvmet through configfs).'
    PowerShellVersion    = '7.4'
    FormatsToProcess     = @('NvmePS.Format.ps1xml')
    TypesToProcess       = @('NvmePS.Types.ps1xml')
    CmdletsToExport      = @(
        'Add-NvmeNamespaceAttachment'
        'Add-NvmfSubsystem'
        'Clear-NvmeBlock'
        'Connect-NvmeMiEndpoint'
        'Connect-NvmfController'
        'Disconnect-NvmeMiEndpoint'
        'Disconnect-NvmfController'
        'Find-NvmeMiEndpoint'
        'Format-NvmeNamespace'
        'Get-NvmeDevice'
        'Get-NvmeFeature'
        'Get-NvmeHostNqn'
        'Get-NvmeIdentify'
        'Get-NvmeLog'
        'Get-NvmeMiConfiguration'
        'Get-NvmeMiController'
        'Get-NvmeMiHealth'
        'Get-NvmeMiPort'
        'Get-NvmeMiSubsystem'
        'Get-NvmeMiVpd'
        'Get-NvmeSanitizeStatus'
        'Get-NvmeSelfTest'
        'Get-NvmfController'
        'Get-NvmfDiscoveryLog'
        'Get-NvmfProperty'
        'Get-NvmfTarget'
        'New-NvmeDhchapKey'
        'New-NvmeHostNqn'
        'New-NvmeNamespace'
        'Read-NvmeBlock'
        'Remove-NvmeNamespace'
        'Remove-NvmeNamespaceAttachment'
        'Repair-NvmeMiEndpoint'
        'Reset-NvmeMiSubsystem'
        'Send-NvmeCommand'
        'Send-NvmfCommand'
        'Set-NvmeFeature'
        'Set-NvmeMiConfiguration'
        'Set-NvmfProperty'
        'Start-NvmeMiSimulator'
        'Start-NvmeSanitize'
        'Start-NvmeSelfTest'
        'Start-NvmfTarget'
        'Stop-NvmeMiSimulator'
        'Stop-NvmeSelfTest'
        'Stop-NvmfTarget'
        'Update-NvmeFirmware'
        'Wait-NvmeMiEvent'
        'Watch-NvmeMiHealth'
        'Write-NvmeBlock'
    )
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            Tags         = @('NVMe', 'NVMeoF', 'MCTP', 'PSEdition_Core', 'Linux', 'Storage', 'NVMe-MI')
            ProjectUri   = 'https://github.com/nvmeps/NvmePS'
            LicenseUri   = 'https://github.com/nvmeps/NvmePS/blob/main/LICENSE'
            ReleaseNotes = 'https://github.com/nvmeps/NvmePS/blob/main/README.md'
        }
    }
}
