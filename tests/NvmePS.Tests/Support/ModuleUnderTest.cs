using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.Loader;

namespace NvmePS.Tests.Support;

/// <summary>
/// The module under test is the shipped layout, out/NvmePS. This test assembly compiles against src/NvmePS and the
/// engine but does not copy them: both resolve, once per process, to the dlls in out/NvmePS, the same files
/// Import-Module loads, so typed assertions and the runspace see one and the same assembly.
/// </summary>
public static class ModuleUnderTest
{
    private static readonly string[] ModuleAssemblies = { "NvmePS", "NvmePS.Engine" };

    public static string RepoRoot { get; } = Metadata("RepoRoot");

    public static string Configuration { get; } = Metadata("Configuration");

    public static string NuGetPackageRoot { get; } = Metadata("NuGetPackageRoot");

    public static string LayoutDir => Path.Combine(RepoRoot, "out", "NvmePS");

    public static string ManifestPath => Path.Combine(LayoutDir, "NvmePS.psd1");

    public static string HelpDir => Path.Combine(RepoRoot, "docs", "help");

    [ModuleInitializer]
    internal static void RegisterResolver() => AssemblyLoadContext.Default.Resolving += (context, name) =>
        ModuleAssemblies.Contains(name.Name) && File.Exists(Path.Combine(LayoutDir, name.Name + ".dll"))
            ? context.LoadFromAssemblyPath(Path.Combine(LayoutDir, name.Name + ".dll"))
            : null;

    /// <summary>Loads the shipped module assembly (through the resolver) before any runspace imports it.</summary>
    public static void EnsureLoaded() => _ = Module;

    public static Assembly Module => typeof(NvmePS.Commands.NvmeCmdlet).Assembly;

    /// <summary>True for a parameter users see and the help documents: not a common parameter, not hidden (DontShow,
    /// such as the PSComputerName every cmdlet binds from remoting output).</summary>
    public static bool IsDocumented(System.Management.Automation.CommandInfo command, string parameter) =>
        !System.Management.Automation.Cmdlet.CommonParameters.Contains(parameter)
        && !System.Management.Automation.Cmdlet.OptionalCommonParameters.Contains(parameter)
        && !command.Parameters[parameter].Attributes.OfType<System.Management.Automation.ParameterAttribute>().Any(a => a.DontShow);

    public static Assembly Engine => typeof(NvmePS.Engine.NvmeException).Assembly;

    /// <summary>System.Management.Automation as loaded in this process: the real PowerShell from Microsoft.PowerShell.SDK.</summary>
    public static Assembly PowerShell => typeof(Cmdlet).Assembly;

    /// <summary>PowerShellStandard.Library's reference System.Management.Automation (what the module compiles against).</summary>
    public static string PowerShellStandardReference { get; } = FindReference();

    /// <summary>The module's cmdlets as PowerShell sees them after Import-Module (Get-Command -Module NvmePS).</summary>
    public static IReadOnlyList<CmdletInfo> Cmdlets => CmdletInfos.Value;

    private static readonly Lazy<IReadOnlyList<CmdletInfo>> CmdletInfos = new(() =>
    {
        using var rs = new ModuleRunspace();
        return rs.Script("Get-Command -Module NvmePS -CommandType Cmdlet | Sort-Object Name").ThrowIfFailed().Cast<CmdletInfo>().ToList();
    });

    /// <summary>[OutputType] attributes of a cmdlet class (Get-Command merges them across parameter sets).</summary>
    public static IReadOnlyList<OutputTypeAttribute> OutputTypes(CmdletInfo c) => c.ImplementingType.GetCustomAttributes<OutputTypeAttribute>().ToList();

    public static CmdletAttribute Attribute(CmdletInfo c) => c.ImplementingType.GetCustomAttribute<CmdletAttribute>()!;

    public static bool SupportsShouldProcess(CmdletInfo c) => Attribute(c).SupportsShouldProcess;

    private static string Metadata(string key) =>
        typeof(ModuleUnderTest).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;

    private static string FindReference()
    {
        string dir = Path.Combine(NuGetPackageRoot, "powershellstandard.library");
        string? path = Directory.Exists(dir)
            ? Directory.GetDirectories(dir).OrderByDescending(d => d, StringComparer.Ordinal)
                .Select(v => Path.Combine(v, "lib", "netstandard2.0", "System.Management.Automation.dll")).FirstOrDefault(File.Exists)
            : null;
        return path ?? throw new FileNotFoundException($"PowerShellStandard.Library's reference assembly was not found under {dir}.");
    }
}
