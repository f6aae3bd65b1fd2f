using System.Diagnostics;

namespace NvmePS.Interop.Tests.Infrastructure;

/// <summary>Real pwsh (the project's tool, 7.6.10) in the VM, on a script file, against the module the unit tier laid
/// out in out/NvmePS.</summary>
public static class GuestPwsh
{
    /// <summary>The repository (the directory holding NvmePS.sln above the test assembly).</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>out/NvmePS/NvmePS.psd1.</summary>
    public static string ModuleManifest => Path.Combine(RepoRoot, "out", "NvmePS", "NvmePS.psd1");

    /// <summary>pwsh.dll of the PowerShell tool package in the NuGet cache.</summary>
    public static string PwshDll => Path.Combine(
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"),
        "powershell", "7.6.10", "tools", "net10.0", "any", "unix", "pwsh.dll");

    /// <summary>Starts pwsh on <paramref name="script"/>, behind <paramref name="prefix"/> (setpriv and its arguments)
    /// when given, with standard output and error redirected.</summary>
    public static Process Start(string script, params string[] prefix)
    {
        string[] command = [.. prefix, "dotnet", PwshDll, "-NoProfile", "-NonInteractive", "-File", script];
        var psi = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = RepoRoot };
        foreach (string a in command.Skip(1))
        {
            psi.ArgumentList.Add(a);
        }

        return Process.Start(psi) ?? throw new InvalidOperationException("cannot start pwsh");
    }

    /// <summary>Runs pwsh on <paramref name="script"/> to completion within <paramref name="bound"/>.</summary>
    public static async Task<(int ExitCode, string Out, string Err)> RunAsync(string script, TimeSpan bound, params string[] prefix)
    {
        using var p = Start(script, prefix);
        var so = p.StandardOutput.ReadToEndAsync();
        var se = p.StandardError.ReadToEndAsync();
        using (var cts = new CancellationTokenSource(bound))
        {
            await p.WaitForExitAsync(cts.Token);
        }

        return (p.ExitCode, await so, await se);
    }

    private static string FindRepoRoot()
    {
        string dir = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(dir, "NvmePS.sln")))
        {
            dir = Path.GetDirectoryName(dir) ?? throw new InvalidOperationException("repository root not found");
        }

        return dir;
    }
}
