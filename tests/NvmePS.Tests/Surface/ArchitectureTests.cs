using System.Diagnostics;
using System.Text.RegularExpressions;
using NvmePS.Tests.Support;

namespace NvmePS.Tests.Surface;

/// <summary>The layering the layout shows, guarded: the engine knows nothing of PowerShell, its folders depend only
/// downward (Common, then Admin and Mctp, then Fabrics, DBus and Mi), and no two paths differ only in case.</summary>
public sealed partial class ArchitectureTests
{
    /// <summary>What each engine folder may name besides itself and the root namespace (Common).</summary>
    private static readonly Dictionary<string, string[]> Allowed = new(StringComparer.Ordinal)
    {
        ["Common"] = [],
        ["Admin"] = [],
        ["Mctp"] = [],
        ["Fabrics"] = ["Admin"],
        ["DBus"] = ["Mctp"],
        ["Mi"] = ["Admin", "Mctp"],
        ["Kernel"] = ["Admin", "Fabrics"],
    };

    /// <summary>Subfolders allowed more than their folder: the NVMe-MI simulator's drive runs the target's controller
    /// core (Fabrics/Controller), so the Admin command set is implemented once.</summary>
    private static readonly Dictionary<string, string[]> AllowedBelow = new(StringComparer.Ordinal)
    {
        [Path.Combine("Mi", "Simulator")] = ["Fabrics"],
    };

    [Fact]
    public void The_engine_references_no_PowerShell()
    {
        var refs = ModuleUnderTest.Engine.GetReferencedAssemblies().Select(a => a.Name!).ToList();
        Assert.DoesNotContain(refs, r => r.StartsWith("System.Management.Automation", StringComparison.Ordinal) || r.StartsWith("Microsoft.PowerShell", StringComparison.Ordinal));
        var project = System.Xml.Linq.XDocument.Load(Path.Combine(ModuleUnderTest.RepoRoot, "src", "NvmePS.Engine", "NvmePS.Engine.csproj"));
        var includes = project.Descendants().Select(e => (string?)e.Attribute("Include")).Where(i => i is not null).ToList();
        Assert.DoesNotContain(includes, i => i!.Contains("PowerShell", StringComparison.OrdinalIgnoreCase) || i.Contains("Management.Automation", StringComparison.Ordinal));
    }

    [Fact]
    public void Engine_folders_depend_only_downward()
    {
        string engine = Path.Combine(ModuleUnderTest.RepoRoot, "src", "NvmePS.Engine");
        var problems = new List<string>();
        foreach (string folder in Directory.GetDirectories(engine).Select(Path.GetFileName).Where(f => f is not ("bin" or "obj")).Select(f => f!))
        {
            Assert.True(Allowed.ContainsKey(folder), $"engine folder {folder} has no place in the layering; add it to {nameof(Allowed)}");
            foreach (string file in Directory.GetFiles(Path.Combine(engine, folder), "*.cs", SearchOption.AllDirectories))
            {
                foreach (Match m in EngineNamespace().Matches(File.ReadAllText(file)))
                {
                    string used = m.Groups[1].Value;
                    string relative = Path.GetRelativePath(engine, file);
                    bool allowedBelow = AllowedBelow.Any(b => relative.StartsWith(b.Key + Path.DirectorySeparatorChar, StringComparison.Ordinal) && b.Value.Contains(used));
                    if (used != folder && !Allowed[folder].Contains(used) && !allowedBelow)
                    {
                        problems.Add($"{Path.GetRelativePath(engine, file)} uses NvmePS.Engine.{used}");
                    }
                }
            }
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems.Distinct()));
    }

    [Fact]
    public void The_controller_is_transport_neutral_and_the_TCP_target_sits_beside_it()
    {
        // Fabrics/Controller holds the NVMe controller, subsystem and namespaces, which any transport could serve;
        // Fabrics/Controller/Tcp (NvmeTcpTarget, its connections, NvmeTargetHost) is the one that knows sockets and PDUs.
        string controller = Path.Combine(ModuleUnderTest.RepoRoot, "src", "NvmePS.Engine", "Fabrics", "Controller");
        var neutral = Directory.GetFiles(controller, "*.cs", SearchOption.TopDirectoryOnly);
        Assert.NotEmpty(neutral);
        var problems = neutral
            .SelectMany(f => File.ReadAllLines(f).Select(l => (File: Path.GetFileName(f), Line: l.Trim())))
            .Where(x => x.Line.StartsWith("using ", StringComparison.Ordinal)
                && (x.Line.Contains("System.Net.Sockets", StringComparison.Ordinal) || x.Line.Contains("NvmePS.Engine.Fabrics.Tcp", StringComparison.Ordinal)
                    || x.Line.Contains("NvmePS.Engine.Fabrics.Controller.Tcp", StringComparison.Ordinal)))
            .Select(x => $"{x.File}: {x.Line}")
            .ToList();
        Assert.True(problems.Count == 0, string.Join("\n", problems));
        Assert.True(File.Exists(Path.Combine(controller, "Tcp", "NvmeTcpTarget.cs")));
    }

    [Fact]
    public void No_two_tracked_paths_differ_only_in_case()
    {
        var psi = new ProcessStartInfo("git", ["-C", ModuleUnderTest.RepoRoot, "ls-files"]) { RedirectStandardOutput = true };
        using var git = Process.Start(psi)!;
        var paths = git.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        git.WaitForExit();
        Assert.Equal(0, git.ExitCode);
        Assert.NotEmpty(paths);

        // Every prefix (folder) and every file, compared without case.
        var all = paths.SelectMany(p => Enumerable.Range(1, p.Count(c => c == '/') + 1).Select(n => string.Join('/', p.Split('/').Take(n)))).Distinct(StringComparer.Ordinal);
        var clashes = all.GroupBy(p => p, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1).Select(g => string.Join(" / ", g)).ToList();
        Assert.True(clashes.Count == 0, "paths that collide on a case-insensitive file system: " + string.Join("; ", clashes));
    }

    [GeneratedRegex(@"NvmePS\.Engine\.(Admin|Fabrics|Mi|Mctp|DBus|Kernel|Common)\b")]
    private static partial Regex EngineNamespace();
}
