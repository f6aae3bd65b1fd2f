#Requires -Version 7.4
# The module installed the PowerShell way: packed by tools/Publish-NvmePSPackage.ps1 (what ./build.ps1 -Package runs)
# into a local PSResourceGet repository, installed with Install-PSResource, imported by name in a fresh pwsh. Each
# child pwsh gets a HOME of its own, so nothing is registered or installed for the user running the tests.
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    $script:moduleDir = Split-Path $script:NvmePSManifest
    $script:pwsh = (Get-Process -Id $PID).Path
    $script:prefix = @(if ((Split-Path $pwsh -LeafBase) -eq 'dotnet') { [Reflection.Assembly]::GetEntryAssembly().Location })
    $script:home2 = Join-Path ([IO.Path]::GetTempPath()) "nvmeps-package-$([guid]::NewGuid().ToString('N'))"
    $null = New-Item -ItemType Directory $home2
    # The tool's pwsh finds its packages through NUGET_PACKAGES, not through HOME.
    $script:nuget = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path $HOME '.nuget/packages' }

    function Invoke-IsolatedPwsh([string] $Command) {
        $saved = $env:HOME, $env:NUGET_PACKAGES, $env:PSModulePath
        try {
            $env:HOME = $home2; $env:NUGET_PACKAGES = $nuget; $env:PSModulePath = $null
            $out = & $pwsh @prefix -NoProfile -NonInteractive -Command $Command 2>&1
            [pscustomobject]@{ ExitCode = $LASTEXITCODE; Output = @($out | ForEach-Object { "$_" }) }
        }
        finally { $env:HOME, $env:NUGET_PACKAGES, $env:PSModulePath = $saved }
    }
}
AfterAll { Remove-Item -Recurse -Force $home2 -ErrorAction SilentlyContinue }

Describe 'NvmePS as an installable module' {
    It 'packs into a local repository, installs with Install-PSResource and imports by name with its help' {
        $repo = Join-Path $home2 'repository'
        $nupkg = & (Join-Path $PSScriptRoot '..' '..' 'tools' 'Publish-NvmePSPackage.ps1') -ModulePath $moduleDir -RepositoryPath $repo
        $manifest = Import-PowerShellDataFile (Join-Path $moduleDir 'NvmePS.psd1')
        $nupkg.Name | Should -Be "NvmePS.$($manifest.ModuleVersion).nupkg"

        $r = Invoke-IsolatedPwsh @"
`$ErrorActionPreference = 'Stop'
Register-PSResourceRepository -Name NvmePSLocal -Uri '$repo' -Trusted
`$found = Find-PSResource NvmePS -Repository NvmePSLocal
"FOUND `$(`$found.Version) `$(`$found.ProjectUri) `$(`$found.Tags -join ',')"
"LICENSE `$(`$found.LicenseUri)"
"NOTES `$(`$found.ReleaseNotes)"
Install-PSResource NvmePS -Repository NvmePSLocal -Scope CurrentUser
"INSTALLED `$((Get-InstalledPSResource NvmePS).InstalledLocation)"
"LICENSEFILE `$((Get-Content (Join-Path (Get-Module NvmePS -ListAvailable).ModuleBase 'LICENSE') -TotalCount 1))"
"@
        $r.ExitCode | Should -Be 0 -Because ($r.Output -join "`n")
        $r.Output | Should -Contain "FOUND $($manifest.ModuleVersion) $($manifest.PrivateData.PSData.ProjectUri) $($manifest.PrivateData.PSData.Tags -join ',')"
        ($r.Output | Where-Object { $_ -like 'INSTALLED *' }) | Should -BeLike "INSTALLED $home2*"
        # What PSResourceGet shows of the manifest's metadata, and the license file installed with the module.
        $r.Output | Should -Contain "LICENSE $($manifest.PrivateData.PSData.LicenseUri)"
        $manifest.PrivateData.PSData.LicenseUri | Should -Match '/LICENSE$'
        $r.Output | Should -Contain "NOTES $($manifest.PrivateData.PSData.ReleaseNotes)"
        $r.Output | Should -Contain 'LICENSEFILE MIT License'

        # A fresh pwsh, the module by name only: every cmdlet, the views, and the MAML help without Update-Help.
        $r = Invoke-IsolatedPwsh @'
$ErrorActionPreference = 'Stop'
Import-Module NvmePS
$m = Get-Module NvmePS
"PATH $($m.ModuleBase)"
"CMDLETS $(($m.ExportedCmdlets.Keys | Sort-Object) -join ',')"
"HELP $((Get-Help Get-NvmeDevice).Synopsis)"
"EXAMPLES $(@((Get-Help Start-NvmfTarget -Examples).examples.example).Count)"
$t = Start-NvmfTarget -Listen 127.0.0.1:0 -Namespace memory:4MB
"VIEW $(($t | Format-Table | Out-String).Trim().Split("`n")[0])"
$t | Stop-NvmfTarget
'@
        $r.ExitCode | Should -Be 0 -Because ($r.Output -join "`n")
        ($r.Output | Where-Object { $_ -like 'PATH *' }) | Should -BeLike "PATH $home2*"
        ($r.Output | Where-Object { $_ -like 'CMDLETS *' }) | Should -Be "CMDLETS $(($manifest.CmdletsToExport | Sort-Object) -join ',')"
        # The synopsis the help page in docs/help gives, so the MAML shipped in the package is what was read.
        $page = Get-Content (Join-Path $PSScriptRoot '..' '..' 'docs' 'help' 'Get-NvmeDevice.md')
        $synopsis = $page[[array]::IndexOf($page, '## SYNOPSIS') + 1]
        $synopsis | Should -Not -BeNullOrEmpty
        $r.Output | Should -Contain "HELP $synopsis"
        ($r.Output | Where-Object { $_ -like 'EXAMPLES *' }) | Should -Be 'EXAMPLES 5'
        ($r.Output | Where-Object { $_ -like 'VIEW *' }) | Should -Match '^VIEW SubsystemNqn\s+Listen'
    }
}
