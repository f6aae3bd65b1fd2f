using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using NvmePS.Interop.Tests.Infrastructure;

namespace NvmePS.Interop.Tests.Kernel;

/// <summary>
/// The help examples that drive the kernel (every example that uses -Kernel or Get-NvmeDevice), run as written in real
/// pwsh in the VM, where the kernel has a local drive, the nvme-tcp host and nvmet. The host's unit tier runs the same
/// examples to the error a user without those sees; here each must succeed. The world is the one the host's example
/// test builds (a session target serving nqn.2024-01.io.example:disk1 on 4420, discovery also on 8009, $c connected),
/// plus an nvmet subsystem nqn.2024-01.io.example:kdisk on 4430; it is restored before every example.
/// </summary>
[Trait("Category", "Interop")]
public sealed partial class KernelHelpExamplesInVmTests(ITestOutputHelper output)
{
    [GeneratedRegex(@"^### Example \d+[^\n]*\n```powershell\n(?<code>.*?)\n```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex ExampleBlock();

    /// <summary>(id, script) of every example that reaches the kernel.</summary>
    public static List<(string Id, string Script)> KernelExamples()
    {
        var list = new List<(string, string)>();
        foreach (string page in Directory.GetFiles(Path.Combine(GuestPwsh.RepoRoot, "docs", "help"), "*-*.md").Order(StringComparer.Ordinal))
        {
            int n = 0;
            foreach (Match m in ExampleBlock().Matches(File.ReadAllText(page)))
            {
                n++;
                string script = string.Join("\n", m.Groups["code"].Value.Split('\n').Where(l => l.StartsWith("PS> ", StringComparison.Ordinal)).Select(l => l[4..]));
                if (script.Contains("-Kernel", StringComparison.Ordinal) || script.Contains("Get-NvmeDevice", StringComparison.Ordinal))
                {
                    list.Add(($"{Path.GetFileNameWithoutExtension(page)}#{n}", script));
                }
            }
        }

        return list;
    }

    [InteropFact]
    public async Task Every_kernel_help_example_runs_as_written_against_the_VM_kernel()
    {
        string manifest = GuestPwsh.ModuleManifest;
        var examples = KernelExamples();
        Assert.True(examples.Count >= 11, $"only {examples.Count} kernel examples found");
        string dir = Directory.CreateTempSubdirectory("nvmeps-kernel-examples").FullName;
        string result = Path.Combine(dir, "result.json");
        string examplesJson = Path.Combine(dir, "examples.json");
        await File.WriteAllTextAsync(examplesJson, JsonSerializer.Serialize(examples.Select(e => new { e.Id, e.Script })));
        string script = Path.Combine(dir, "run.ps1");
        await File.WriteAllTextAsync(script, $$"""
            Import-Module '{{manifest}}'
            $ConfirmPreference = 'High'
            # The world must be whole: a setup error ends the run, before any example.
            $ErrorActionPreference = 'Stop'
            $global:t = Start-NvmfTarget -Listen 127.0.0.1:4420 -DiscoveryListen 127.0.0.1:8009 -SubsystemNqn nqn.2024-01.io.example:disk1 -Namespace memory:64M
            $null = $t | Add-NvmfSubsystem -SubsystemNqn nqn.2014-08.org.nvmexpress:uuid:6c1e0f0e-5d9b-4bb1-9a43-2f0e0b3f2a11 -Namespace memory:16M
            $global:c = Connect-NvmfController -TransportAddress 127.0.0.1 -ServiceId 4420 -SubsystemNqn nqn.2024-01.io.example:disk1
            function Reset-KernelWorld([switch] $Final) {
                Get-NvmeDevice -Transport tcp | Disconnect-NvmfController -Force
                Get-NvmfTarget -Kernel | Where-Object SubsystemNqn -like 'nqn.2024-01.io.example:*' | Stop-NvmfTarget
                if (-not $Final) { $null = Start-NvmfTarget -Kernel -Listen 127.0.0.1:4430 -SubsystemNqn nqn.2024-01.io.example:kdisk -Namespace /dev/nullb0 }
            }
            Reset-KernelWorld
            $ErrorActionPreference = 'Continue'
            $results = foreach ($e in (Get-Content '{{examplesJson}}' -Raw | ConvertFrom-Json)) {
                Reset-KernelWorld
                $scratch = Join-Path '{{dir}}' ($e.Id -replace '[^A-Za-z0-9]', '_')
                $null = New-Item -ItemType Directory $scratch
                Push-Location $scratch
                $Error.Clear()
                $text = try { & ([scriptblock]::Create($e.Script)) *>&1 | Out-String -Width 200 } catch { $null }
                $errors = @($Error | ForEach-Object { "$($_.FullyQualifiedErrorId): $($_.Exception.Message)" })
                Pop-Location
                [pscustomobject]@{ Id = $e.Id; Errors = $errors; Output = "$text".Trim() }
            }
            Reset-KernelWorld -Final
            $c | Disconnect-NvmfController
            $t | Stop-NvmfTarget
            ConvertTo-Json @($results) -Depth 4 | Set-Content '{{result}}'
            """);

        var clock = Stopwatch.StartNew();
        var (exitCode, stdout, stderr) = await GuestPwsh.RunAsync(script, TimeSpan.FromMinutes(6));
        Assert.True(exitCode == 0 && File.Exists(result), $"pwsh exited {exitCode}:\n{stderr}\n{stdout}");
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(result));
        var failures = new List<string>();
        int ran = 0;
        foreach (var r in json.RootElement.EnumerateArray())
        {
            ran++;
            string id = r.GetProperty("Id").GetString()!;
            var errors = r.GetProperty("Errors").EnumerateArray().Select(x => x.GetString()).ToList();
            string text = r.GetProperty("Output").GetString() ?? string.Empty;
            if (errors.Count > 0)
            {
                failures.Add($"{id}: {string.Join(" | ", errors)}");
            }
            else if (text.Length == 0)
            {
                // Every kernel example shows something; an empty result means it met an empty world.
                failures.Add($"{id}: no output");
            }
            else
            {
                output.WriteLine($"---- {id}\n{r.GetProperty("Output").GetString()}");
            }
        }

        Assert.Equal(examples.Count, ran);
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.False(Directory.Exists("/sys/kernel/config/nvmet/subsystems/nqn.2024-01.io.example:kdisk"));
        Assert.DoesNotContain(Directory.GetDirectories("/sys/class/nvme").Select(d => File.ReadAllText(Path.Combine(d, "transport")).Trim()), t => t == "tcp");
        output.WriteLine($"{ran} kernel help examples ran without an error in {clock.Elapsed.TotalSeconds:0} s: {string.Join(", ", examples.Select(e => e.Id))}");
        Directory.Delete(dir, recursive: true);
    }
}
