#Requires -Version 7.4
<#
.SYNOPSIS
Packs a laid-out module (out/NvmePS) as a .nupkg into a local file repository with PSResourceGet, so
Install-PSResource installs it like any module from a gallery.

.DESCRIPTION
Registers the folder as a PSResourceGet repository under a name of its own for the length of the call (and
unregisters it after), publishes the module there, and returns the .nupkg. Install it with:
  Register-PSResourceRepository -Name NvmePSLocal -Uri <folder> -Trusted
  Install-PSResource NvmePS -Repository NvmePSLocal
#>
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $RepositoryPath
)
$ErrorActionPreference = 'Stop'
$null = New-Item -ItemType Directory -Force $RepositoryPath
$repository = Resolve-Path $RepositoryPath
$name = "NvmePSPublish$([guid]::NewGuid().ToString('N').Substring(0, 8))"
$version = (Import-PowerShellDataFile (Join-Path $ModulePath 'NvmePS.psd1')).ModuleVersion
Get-ChildItem $repository -Filter "NvmePS.$version.nupkg" | Remove-Item -Force
Register-PSResourceRepository -Name $name -Uri $repository -Trusted
try {
    Publish-PSResource -Path $ModulePath -Repository $name -SkipDependenciesCheck
}
finally {
    Unregister-PSResourceRepository -Name $name
}
Get-Item (Join-Path $repository "NvmePS.$version.nupkg")
