#Requires -Version 7.4
<#
.SYNOPSIS
    Builds, tests and packages NvmePS with the same dotnet commands the README uses.
.DESCRIPTION
    -Build    dotnet build NvmePS.sln -c <Configuration>; lays out the importable module in out/NvmePS/.
    -Test     dotnet test NvmePS.sln -c <Configuration> (xunit tiers, including the cmdlet host tests), then the
              Pester tests in tests/Pester against out/NvmePS when Pester 5+ is installed.
    -Package  dotnet publish src/NvmePS, then zips out/NvmePS into out/NvmePS-<version>.zip.
    -Clean    dotnet clean, and removes out/.
    -Demo     runs tools/demo.ps1 against out/NvmePS (the pwsh twin of `nvmeps demo`).
    With no switch, -Build runs.
.EXAMPLE
    ./build.ps1 -Build -Test
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
    $pester = Get-Module -ListAvailable -Name Pester | Where-Object Version -GE ([version]'5.0') | Sort-Object Version -Descending | Select-Object -First 1
    if (-not $pester) {
        Write-Warning 'Pester 5 or later is not installed, so tests/Pester was NOT run. Install it with: Install-Module Pester -MinimumVersion 5.0 -Scope CurrentUser'
    }
    elseif (-not (Test-Path (Join-Path $moduleDir 'NvmePS.psd1'))) {
        throw "out/NvmePS is missing; run ./build.ps1 -Build first."
    }
    else {
        Import-Module $pester -Force
        $config = New-PesterConfiguration
        $config.Run.Path = Join-Path $root 'tests/Pester'
        $config.Run.Exit = $false
        $config.Run.PassThru = $true
        $config.Output.Verbosity = 'Detailed'
        # Each test file imports out/NvmePS itself (BeforeAll) and removes it afterwards (AfterAll).
        $result = Invoke-Pester -Configuration $config
        if ($result.FailedCount -gt 0) { throw "$($result.FailedCount) Pester test(s) failed." }
    }
}

if ($Package) {
    Invoke-Dotnet publish (Join-Path $root 'src/NvmePS/NvmePS.csproj') -c $Configuration
    $manifest = Import-PowerShellDataFile (Join-Path $moduleDir 'NvmePS.psd1')
    $zip = Join-Path $root "out/NvmePS-$($manifest.ModuleVersion).zip"
    if (Test-Path $zip) { Remove-Item $zip -Force }
    Compress-Archive -Path $moduleDir -DestinationPath $zip
    Write-Host "Packaged $zip" -ForegroundColor Green
}

if ($Demo) {
    # A child pwsh, so the demo's module import and targets do not stay in this session.
    & (Join-Path $PSHOME 'pwsh') -NoProfile -File (Join-Path $root 'tools/demo.ps1')
    if ($LASTEXITCODE -ne 0) { throw "The demo failed with exit code $LASTEXITCODE." }
}
