using System.Diagnostics;
using System.Globalization;

namespace NvmePS.Interop.Tests.Infrastructure;

/// <summary>Facts about, and small helpers for, the interop VM guest.</summary>
public static class Guest
{
    /// <summary>True inside the VM booted by run-in-vm.sh: its init exports NVMEPS_IN_VM=1 and the kernel
    /// command line carries nvmeps.vm=1 (the host's never does).</summary>
    public static bool InVm { get; } =
        Environment.GetEnvironmentVariable("NVMEPS_IN_VM") == "1"
        && File.Exists("/proc/cmdline")
        && File.ReadAllText("/proc/cmdline").Contains("nvmeps.vm=1", StringComparison.Ordinal);

    /// <summary>The harness's tools directory (mctp-util and friends), exported by run-interop.sh.</summary>
    public static string ToolsDir =>
        Environment.GetEnvironmentVariable("NVMEPS_INTEROP_TOOLS")
        ?? throw new InvalidOperationException("NVMEPS_INTEROP_TOOLS is not set (run through tests/interop/run-interop.sh)");

    /// <summary>The result of one finished process.</summary>
    public sealed record ProcessResult(int ExitCode, string StdOut, string StdErr)
    {
        public override string ToString() => $"exit {ExitCode}\nstdout:\n{StdOut}\nstderr:\n{StdErr}";
    }

    /// <summary>Runs a program to completion (bounded by <paramref name="timeout"/>) and captures its output.</summary>
    public static async Task<ProcessResult> RunAsync(string file, IEnumerable<string> args, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {file}");
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout ?? TimeSpan.FromSeconds(60));
        var so = p.StandardOutput.ReadToEndAsync(cts.Token);
        var se = p.StandardError.ReadToEndAsync(cts.Token);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', psi.ArgumentList)} did not finish in time");
        }

        return new ProcessResult(p.ExitCode, await so, await se);
    }

    /// <summary>Runs a program and throws with its output when it fails.</summary>
    public static async Task<string> RunCheckedAsync(string file, params string[] args)
    {
        var r = await RunAsync(file, args);
        if (r.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed: {r}");
        }

        return r.StdOut;
    }

    /// <summary>Writes a configfs/sysfs attribute the way `echo -n` does (one write call).</summary>
    public static void WriteAttr(string path, string value) => File.WriteAllText(path, value);

    /// <summary>Waits (bounded) until <paramref name="condition"/> holds.</summary>
    public static async Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            if (condition())
            {
                return true;
            }

            await Task.Delay(50);
        }

        return condition();
    }

    /// <summary>A position in the kernel log; <see cref="ProblemsAsync"/> lists warnings/errors logged after it.</summary>
    public sealed class KernelLogMark
    {
        private readonly int _count;

        private KernelLogMark(int count) => _count = count;

        public static async Task<KernelLogMark> NowAsync() => new((await ReadAsync()).Count);

        /// <summary>Kernel log lines at level warning or worse logged since the mark, minus the known noise of running
        /// under software emulation (a slow timer interrupt is the emulator's doing, not a peer's).</summary>
        public async Task<IReadOnlyList<string>> ProblemsAsync() =>
            (await ReadAsync()).Skip(_count).Where(l => !EmulationNoise.Any(n => l.Contains(n, StringComparison.Ordinal))).ToList();

        /// <summary>Messages the kernel prints because TCG is slow (kernel/time/hrtimer.c, kernel/sched/rt.c), and the
        /// nvme core's notice that the guest kernel is built without CONFIG_NVME_MULTIPATH (a build choice, printed at
        /// warning level on every connect to a multi-controller subsystem; see tests/interop/kernel.config).</summary>
        public static readonly string[] EmulationNoise =
            ["hrtimer: interrupt took", "sched: RT throttling activated", "Please enable CONFIG_NVME_MULTIPATH for full support of multi-port devices"];

        private static async Task<List<string>> ReadAsync()
        {
            var r = await RunAsync("dmesg", ["--level=emerg,alert,crit,err,warn"]);
            return r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
        }
    }
}
