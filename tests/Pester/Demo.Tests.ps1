#Requires -Version 7.4
# tools/demo.ps1 runs as a user would run it, in a child pwsh, and shows every step it promises.
Describe 'tools/demo.ps1' {
    It 'runs the fabrics half and the NVMe-MI half, event included' {
        $pwsh = (Get-Process -Id $PID).Path
        $prefix = @(if ((Split-Path $pwsh -LeafBase) -eq 'dotnet') { [Reflection.Assembly]::GetEntryAssembly().Location })
        $demo = Join-Path $PSScriptRoot '..' '..' 'tools' 'demo.ps1'
        $out = & $pwsh @prefix -NoProfile -NonInteractive -File $demo -Size 16MB -BusAddress 'unix:path=/nonexistent/nvmeps-demo-bus' 2>&1 | Out-String -Width 200
        $LASTEXITCODE | Should -Be 0 -Because $out
        $out | Should -Match 'Read-back matches: True'
        $out | Should -Match 'Discovery: no mctpd to ask \(MctpdNoBus\)'
        $out | Should -Match 'NvmePS Simulated'
        $out | Should -Match 'CriticalWarningChanged'
        $out | Should -Match 'TemperatureThresholdCrossed'
    }
}
