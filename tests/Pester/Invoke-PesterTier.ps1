#Requires -Version 7.4
<#
.SYNOPSIS
    The Pester tier: runs every tests/Pester/*.Tests.ps1 in this pwsh against out/NvmePS with the Pester module at
    -PesterManifest (the NuGet package's tools/Pester.psd1; the PowerShell Gallery is not used), and prints one
    closing line: "pester: N passed, N failed, N skipped". Exits 1 when any test failed or a file did not run.
.EXAMPLE
    dotnet pwsh -NoProfile -File tests/Pester/Invoke-PesterTier.ps1 -PesterManifest ~/.nuget/packages/pester/5.7.1/tools/Pester.psd1
#>
param(
    [Parameter(Mandatory)] [string] $PesterManifest,
    [string] $Path = $PSScriptRoot,
    [string] $ResultPath
)
$ErrorActionPreference = 'Stop'
Import-Module $PesterManifest -Force
$config = New-PesterConfiguration
$config.Run.Path = $Path
$config.Run.PassThru = $true
$config.Run.Exit = $false
$config.Output.Verbosity = 'Detailed'
if ($ResultPath) {
    $config.TestResult.Enabled = $true
    $config.TestResult.OutputPath = $ResultPath
}
$result = Invoke-Pester -Configuration $config
# A file that fails in discovery or BeforeAll shows up in FailedBlocksCount/FailedContainersCount, not FailedCount.
$failed = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount
# One line per failure, by name, for tests/run.sh to repeat at the end of the run.
foreach ($test in $result.Failed) {
    $reason = if ($test.ErrorRecord) { ("$($test.ErrorRecord[0])" -split "`n")[0] } else { '' }
    "pester FAILED: $($test.ExpandedPath): $reason"
}
foreach ($block in $result.FailedBlocks) { "pester FAILED: block $($block.ExpandedPath)" }
foreach ($container in $result.FailedContainers) { "pester FAILED: file $($container.Item)" }
"pester (Pester $((Get-Module Pester).Version), PowerShell $($PSVersionTable.PSVersion)): $($result.PassedCount) passed, $failed failed, $($result.SkippedCount) skipped"
if ($failed -gt 0 -or $result.Result -ne 'Passed') { exit 1 }
exit 0
