using System.Reflection;
using System.Runtime.Loader;
using NvmePS.Testing;

namespace NvmePS.Tests.Support;

/// <summary>Paths and assemblies the module tests use: the shipped NvmePS.dll (loaded in this process under the
/// stand-in System.Management.Automation), the layout in out/NvmePS, and PowerShellStandard's reference assembly.</summary>
public static class ModuleUnderTest
{
    public static Assembly Module => typeof(NvmePS.Commands.NvmeCmdlet).Assembly;

    public static Assembly StandIn => typeof(System.Management.Automation.Cmdlet).Assembly;

    public static string RepoRoot { get; } = Metadata("RepoRoot");

    public static string Configuration { get; } = Metadata("Configuration");

    public static string LayoutDir => Path.Combine(RepoRoot, "out", "NvmePS");

    public static string HelpDir => Path.Combine(RepoRoot, "docs", "help");

    public static string PowerShellStandardReference { get; } = FindReference();

    private static readonly Lazy<Assembly> ReferenceAssembly = new(() =>
        new AssemblyLoadContext("PowerShellStandard reference", isCollectible: false).LoadFromAssemblyPath(PowerShellStandardReference));

    /// <summary>PowerShellStandard.Library's System.Management.Automation, loaded for reflection only.</summary>
    public static Assembly Reference => ReferenceAssembly.Value;

    public static CmdletHost NewHost() => new(Module);

    /// <summary>Cmdlet classes PowerShell would find in the module: exported, concrete, with [Cmdlet].</summary>
    public static IReadOnlyList<CommandMetadata> Cmdlets { get; } =
        Module.GetExportedTypes()
            .Where(t => !t.IsAbstract && t.GetCustomAttribute<System.Management.Automation.CmdletAttribute>() is not null)
            .Select(t => new CommandMetadata(t))
            .OrderBy(c => c.Name, StringComparer.Ordinal)
            .ToList();

    private static string Metadata(string key) =>
        typeof(ModuleUnderTest).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;

    private static string FindReference()
    {
        string root = Metadata("NuGetPackageRoot");
        string dir = Path.Combine(root, "powershellstandard.library");
        string? path = Directory.Exists(dir)
            ? Directory.GetDirectories(dir).Select(v => Path.Combine(v, "lib", "netstandard2.0", "System.Management.Automation.dll")).FirstOrDefault(File.Exists)
            : null;
        return path ?? throw new FileNotFoundException($"PowerShellStandard.Library's reference assembly was not found under {dir}.");
    }
}
