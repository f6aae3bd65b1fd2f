using System.Diagnostics;
using System.Globalization;
using System.Net;
using NvmePS.Engine;
using NvmePS.Engine.Fabrics.Controller;
using NvmePS.Engine.Fabrics.Controller.Tcp;
using NvmePS.Engine.Fabrics.Host;

namespace NvmePS.Load;

/// <summary>
/// The load run (issue 15 §5): many hosts write random blocks stamped with host, LBA, sequence number and CRC, and
/// read them back, against one controller over loopback; at the end every block is read and checked. Prints IOPS,
/// latency percentiles, errors, lost and corrupt blocks (both must be 0) and the controller's memory. With --file and
/// --restart-at, the controller (a child process) is killed with writes in flight halfway and started again on the
/// same file: every block acknowledged before a Flush must come back.
/// Run: dotnet run -c Release --project bench/NvmePS.Load [-- --hosts 64 --depth 32 --seconds 60 --mib 256
///      --file PATH --restart-at SECONDS]; with --idle N it measures what N idle associations cost instead (IdleRun).
/// </summary>
internal static class Program
{
    public const string Subsystem = "nqn.2026-01.io.nvmeps:load";

    private static async Task<int> Main(string[] args)
    {
        LoadOptions o;
        try
        {
            o = LoadOptions.Parse(args);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
        {
            Console.Error.WriteLine($"NvmePS.Load: {e.Message}");
            Console.Error.WriteLine("usage: NvmePS.Load [--hosts 1..250] [--depth 1..127] [--seconds S] [--mib M] [--file PATH [--restart-at S]] | --idle ASSOCIATIONS");
            return 2;
        }

        if (o.Serve)
        {
            return await ServeAsync(o).ConfigureAwait(false);
        }

        if (o.IdleChild > 0)
        {
            return await IdleRun.ChildAsync(o.IdleChild, o.IdleTrimMilliseconds).ConfigureAwait(false);
        }

        if (o.Idle > 0)
        {
            return await IdleRun.RunAsync(o.Idle).ConfigureAwait(false);
        }

        Console.WriteLine($"NvmePS load run: {o.Hosts} hosts × QD {o.Depth}, {o.IoBlocks * BlockStamp.BlockSize / 1024} KiB random I/O (half writes, half read-back checks), " +
                          $"{o.Seconds:0} s, namespace {o.Mib} MiB {(o.File is null ? "in memory" : $"in {o.File}")}{(o.RestartAt > 0 ? $", controller killed and restarted at {o.RestartAt:0} s" : "")}; " +
                          $"{Environment.ProcessorCount} cores, .NET {Environment.Version}");
        await using var run = new LoadRun(o);
        return await run.RunAsync().ConfigureAwait(false);
    }

    /// <summary>This program again, as a child process with <paramref name="arguments"/>: its apphost, or its dll under
    /// dotnet when it was started that way. Standard output is redirected.</summary>
    internal static ProcessStartInfo ChildStartInfo(params string[] arguments)
    {
        var psi = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
        string? entry = System.Reflection.Assembly.GetEntryAssembly()?.Location;
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet" && entry is not null)
        {
            psi.ArgumentList.Add(entry);
        }

        foreach (string a in arguments)
        {
            psi.ArgumentList.Add(a);
        }

        return psi;
    }

    /// <summary>The controller process: one subsystem, one namespace, open to any host, until stdin closes.</summary>
    private static async Task<int> ServeAsync(LoadOptions o)
    {
        using var target = new NvmeTarget(new NvmeTargetOptions
        {
            MaxConnections = Math.Max(256, o.Hosts * 2 + 16),
            MaxControllersPerSubsystem = Math.Max(64, o.Hosts + 8),
            MaxQueueSize = 128,
        });
        var subsystem = target.AddSubsystem(Subsystem, allowAnyHost: true);
        long bytes = (long)o.Mib << 20;
        if (o.File is null)
        {
            subsystem.AddMemoryNamespace(bytes, BlockStamp.BlockSize);
        }
        else
        {
            subsystem.AddFileNamespace(o.File, bytes, BlockStamp.BlockSize);
        }

        await using var tcp = new NvmeTcpTarget(target);
        var port = await tcp.ListenAsync(new IPEndPoint(IPAddress.Loopback, o.Port)).ConfigureAwait(false);
        Console.WriteLine($"PORT {port.Trsvcid}");
        Console.Out.Flush();
        await Console.In.ReadToEndAsync().ConfigureAwait(false);
        return 0;
    }
}

internal sealed record LoadOptions
{
    public bool Serve { get; init; }
    public int Hosts { get; init; } = 64;
    public int Depth { get; init; } = 32;
    public double Seconds { get; init; } = 60;
    public int Mib { get; init; } = 256;
    public string? File { get; init; }
    public double RestartAt { get; init; }
    public int Port { get; init; }
    public int IoBlocks { get; init; } = 8;
    public int Idle { get; init; }
    public int IdleChild { get; init; }
    public int IdleTrimMilliseconds { get; init; }

    public static LoadOptions Parse(string[] args)
    {
        var o = new LoadOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            o = args[i] switch
            {
                "--serve" => o with { Serve = true },
                "--hosts" => o with { Hosts = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--depth" => o with { Depth = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--seconds" => o with { Seconds = double.Parse(Next(), CultureInfo.InvariantCulture) },
                "--mib" => o with { Mib = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--file" => o with { File = Path.GetFullPath(Next()) },
                "--restart-at" => o with { RestartAt = double.Parse(Next(), CultureInfo.InvariantCulture) },
                "--port" => o with { Port = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--idle" => o with { Idle = int.Parse(Next(), CultureInfo.InvariantCulture) },
                "--idle-child" => o with { IdleChild = int.Parse(Next(), CultureInfo.InvariantCulture), IdleTrimMilliseconds = int.Parse(Next(), CultureInfo.InvariantCulture) },
                _ => throw new ArgumentException($"unknown argument {args[i]}"),
            };
        }

        if (o.Hosts is < 1 or > 250 || o.Depth is < 1 or > 127 || o.Seconds <= 0 || o.Idle is < 0 or > 4000)
        {
            throw new ArgumentException("--hosts 1..250, --depth 1..127, --seconds > 0, --idle 1..4000");
        }

        if (o.RestartAt > 0 && o.File is null)
        {
            throw new ArgumentException("--restart-at needs --file: a memory namespace does not survive its process");
        }

        return o;
    }
}
