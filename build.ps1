#Requires -Version 7.4
<#
.SYNOPSIS
    Builds, tests and packages NvmePS with the same dotnet commands the README uses.
.DESCRIPTION
    -Build    dotnet build NvmePS.sln -c <Configuration>; lays out the importable module in out/NvmePS/.
    -Test     dotnet test NvmePS.sln -c <Configuration> (xunit tiers; the cmdlet tests run in real PowerShell
              runspaces), then tests/Pester against out/NvmePS with the Pester that tools/pester restores from NuGet.
    -Package  dotnet publish src/NvmePS, then publishes out/NvmePS as a .nupkg into the local PSResourceGet
              repository out/repository (tools/Publish-NvmePSPackage.ps1), for Install-PSResource.
    -Clean    dotnet clean, and removes out/.
    -Demo     builds the module, then runs tools/demo.ps1 against out/NvmePS in a child pwsh.
    With no switch, -Build runs.
.EXAMPLE
    ./build.ps1 -Build -Test
.EXAMPLE
    dotnet tool restore; dotnet pwsh -NoProfile -File ./build.ps1 -Demo
#>
[CmdletBinding()]
param(
    [switch] $Build,
    [switch] $Test,
    [switch] $Package,
    [switch] $Clean,
    [switch] $Demo,
    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release'
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$root = $PSScriptRoot
$solution = Join-Path $root 'NvmePS.sln'
$moduleDir = Join-Path $root 'out/NvmePS'

# A simple function (no param block) so arguments such as -c pass through to dotnet untouched.
function Invoke-Dotnet {
    Write-Host "dotnet $($args -join ' ')" -ForegroundColor Cyan
    & dotnet @args
    if ($LASTEXITCODE -ne 0) { throw "dotnet $($args -join ' ') failed with exit code $LASTEXITCODE." }
}

# Runs a script in a new pwsh like this one: the apphost of an installed pwsh, or pwsh.dll under dotnet for the
# `dotnet pwsh` local tool (whose $PSHOME has no apphost).
function Invoke-ChildPwsh {
    $dll = Join-Path $PSHOME 'pwsh.dll'
    $exe = Join-Path $PSHOME 'pwsh'
    if (Test-Path $exe) { & $exe -NoProfile -NonInteractive -File @args }
    else { & ([Environment]::ProcessPath) $dll -NoProfile -NonInteractive -File @args }
    if ($LASTEXITCODE -ne 0) { throw "$($args[0]) failed with exit code $LASTEXITCODE." }
}

if (-not ($Build -or $Test -or $Package -or $Clean -or $Demo)) { $Build = $true }

if ($Clean) {
    Invoke-Dotnet clean $solution -c $Configuration
    if (Test-Path (Join-Path $root 'out')) { Remove-Item (Join-Path $root 'out') -Recurse -Force }
}

if ($Build) {
    Invoke-Dotnet build $solution -c $Configuration
    Write-Host "Module laid out in $moduleDir" -ForegroundColor Green
}

if ($Test) {
    Invoke-Dotnet test $solution -c $Configuration
    if (-not (Test-Path (Join-Path $moduleDir 'NvmePS.psd1'))) { throw "out/NvmePS is missing; run ./build.ps1 -Build first." }
    # Pester comes from NuGet (the PowerShell Gallery is not needed): restored into the NuGet cache, imported by path.
    $pesterProject = Join-Path $root 'tools/pester/Pester.Restore.csproj'
    Invoke-Dotnet restore $pesterProject -nologo -v q
    $pester = (& dotnet msbuild $pesterProject -nologo -getProperty:PesterManifest).Trim()
    # A child pwsh, so the tests' module imports do not stay in this session.
    Invoke-ChildPwsh (Join-Path $root 'tests/Pester/Invoke-PesterTier.ps1') -PesterManifest $pester
}

if ($Package) {
    Invoke-Dotnet publish (Join-Path $root 'src/NvmePS/NvmePS.csproj') -c $Configuration
    # A .nupkg in a local PSResourceGet repository (out/repository): Install-PSResource installs it by name.
    $nupkg = & (Join-Path $root 'tools/Publish-NvmePSPackage.ps1') -ModulePath $moduleDir -RepositoryPath (Join-Path $root 'out/repository')
    Write-Host "Packaged $($nupkg.FullName)" -ForegroundColor Green
    Write-Host "Install: Register-PSResourceRepository -Name NvmePSLocal -Uri $(Split-Path $nupkg.FullName) -Trusted; Install-PSResource NvmePS -Repository NvmePSLocal"
}

if ($Demo) {
    if (-not $Build) { Invoke-Dotnet build (Join-Path $root 'src/NvmePS/NvmePS.csproj') -c $Configuration -nologo -v q }
    # A child pwsh, so the demo's module import and targets do not stay in this session.
    Invoke-ChildPwsh (Join-Path $root 'tools/demo.ps1')
}
