using System.Diagnostics;
using System.Globalization;

namespace NvmePS.Engine.Tests.Mi.Oracle;

/// <summary>
/// The C compiler as the oracle for a kernel uapi header: a program under tests/oracle prints "key=value" lines
/// (sizeof, offsetof, ioctl numbers) from the installed header; it is built at run time into a temporary directory
/// and its output read into a map the tests compare the engine's constants with.
/// </summary>
internal static class UapiLayoutOracle
{
    /// <summary>Builds and runs tests/oracle/<paramref name="relativeSource"/>; the values it prints by name.</summary>
    public static Dictionary<string, long> Read(string relativeSource, params string[] ccFlags)
    {
        string source = Path.Combine([LibnvmeOracle.RepositoryRoot(), "tests", "oracle", .. relativeSource.Split('/')]);
        string name = Path.GetFileNameWithoutExtension(source);
        string dir = Path.Combine(Path.GetTempPath(), $"nvmeps-{name}-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        string binary = Path.Combine(dir, name);
        Run("cc", [.. ccFlags, "-o", binary, source]);
        var map = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (string line in Run(binary, []).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = line.IndexOf('=', StringComparison.Ordinal);
            map[line[..eq]] = long.Parse(line[(eq + 1)..], CultureInfo.InvariantCulture);
        }

        return map;
    }

    private static string Run(string file, string[] args)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        string stdout = p.StandardOutput.ReadToEnd();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode == 0 ? stdout : throw new InvalidOperationException($"{file} failed: {stderr}");
    }
}

/// <summary>A [Fact] that skips when cc or the uapi header it reads is missing.</summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class UapiOracleFactAttribute : FactAttribute
{
    /// <param name="header">The header under /usr/include, "linux/mctp.h".</param>
    /// <param name="what">The oracle's name for the skip reason.</param>
    public UapiOracleFactAttribute(string header, string what)
    {
        if (!File.Exists("/usr/bin/cc") && !File.Exists("/bin/cc"))
        {
            Skip = $"{what} needs a C compiler: cc not found (install gcc).";
        }
        else if (!File.Exists(Path.Combine("/usr/include", header)))
        {
            Skip = $"{what} needs {header} from the kernel headers (install linux-libc-dev).";
        }
    }
}
