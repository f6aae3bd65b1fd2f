using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using NvmePS.Engine;
using NvmePS.Engine.Fabrics.Controller;
using NvmePS.Engine.Fabrics.Controller.Tcp;
using NvmePS.Engine.Fabrics.Host;

namespace NvmePS.Bench;

/// <summary>
/// NVMe/TCP benchmark over loopback, one run, figures and ratios to a raw-socket baseline measured in the same run.
/// The controller runs in a child process (this program with --serve) so the host's allocations are measured alone.
/// Run: dotnet run -c Release --project bench/NvmePS.Bench [-- --seconds N]
/// </summary>
internal static class Program
{
    private const string Sub = "nqn.2026-01.io.nvmeps:bench";
    private const long NamespaceBytes = 1L << 30;
    private const int Region = 256 << 20;

    private static double _seconds = 2.0;
    private static Process? _server;

    private static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "--serve")
        {
            return await ServeAsync().ConfigureAwait(false);
        }

        for (int i = 0; i + 1 < args.Length; i++)
        {
            if (args[i] == "--seconds")
            {
                _seconds = double.Parse(args[i + 1], CultureInfo.InvariantCulture);
            }
        }

        Console.WriteLine($"NvmePS NVMe/TCP benchmark: loopback, {Environment.ProcessorCount} cores, {_seconds:0.#} s per figure, .NET {Environment.Version}");
        Console.WriteLine($"CRC-32C hardware: {Crc32C.IsHardwareAccelerated}");
        Console.WriteLine();

        var (baseline, baselineCpuUs) = await RawSocketBaselineAsync().ConfigureAwait(false);
        Console.WriteLine($"{"raw TCP socket → socket, 128 KiB writes (baseline)",-52} {baseline,12:0.000} GB/s  (1.00× baseline)  CPU per 128 KiB, both ends: {baselineCpuUs:0.0} µs");

        double crcBig = CrcThroughput(1 << 20);
        Report("CRC-32C, 1 MiB buffers, one core", crcBig, "GB/s", baseline);
        double crcSmall = CrcThroughput(4096);
        Report("CRC-32C, 4 KiB buffers, one core", crcSmall, "GB/s", baseline);

        using var server = StartServer(out var endPoint);
        _server = server;
        try
        {
            foreach (bool digests in new[] { false, true })
            {
                await using var a = await NvmeHostAssociation.ConnectAsync(endPoint, Sub, new NvmeHostAssociationParameters
                {
                    HeaderDigest = digests,
                    DataDigest = digests,
                    IoQueueCount = 1,
                    IoQueueSize = 128,
                    KeepAliveTimeout = TimeSpan.Zero,
                }, CancellationToken.None).ConfigureAwait(false);
                string d = digests ? "digests on" : "digests off";
                var w = await SequentialAsync(a, write: true, 128 * 1024, queueDepth: 8).ConfigureAwait(false);
                Report($"128 KiB sequential write, QD8, {d}", w.Bytes, "GB/s", baseline, w);
                var r = await SequentialAsync(a, write: false, 128 * 1024, queueDepth: 8).ConfigureAwait(false);
                Report($"128 KiB sequential read, QD8, {d}", r.Bytes, "GB/s", baseline, r);
            }

            await using (var a = await NvmeHostAssociation.ConnectAsync(endPoint, Sub, new NvmeHostAssociationParameters
            {
                IoQueueCount = 1,
                IoQueueSize = 128,
                KeepAliveTimeout = TimeSpan.Zero,
            }, CancellationToken.None).ConfigureAwait(false))
            {
                foreach (int qd in new[] { 1, 32 })
                {
                    var r = await RandomReadAsync(a, qd).ConfigureAwait(false);
                    Console.WriteLine($"{$"4 KiB random read, QD{qd}",-52} {r.Iops,12:N0} IOPS  ({r.Bytes:0.000} GB/s, {r.Bytes / baseline:0.00}× baseline){Detail(r)}");
                }
            }
        }
        finally
        {
            StopServer(server);
        }

        Console.WriteLine();
        Console.WriteLine("Allocation figures are bytes allocated by the host process per I/O in steady state (GC.GetTotalAllocatedBytes);");
        Console.WriteLine("the controller runs in a child process and is not counted. CPU/IO is processor time (user + system) per I/O");
        Console.WriteLine("of each process: it stays meaningful on a loaded machine, where wall-clock throughput does not.");
        return 0;
    }

    private static void Report(string what, double value, string unit, double baseline, Result? r = null)
    {
        Console.WriteLine($"{what,-52} {value,12:0.000} {unit}  ({value / baseline:0.00}× baseline){(r is { } x ? Detail(x) : string.Empty)}");
    }

    private static string Detail(Result r) =>
        $"  {r.AllocPerIo:0.0} B alloc/IO, CPU/IO host {r.HostCpuUs:0.0} µs, controller {r.ControllerCpuUs:0.0} µs";

    // ------------------------------------------------------------------ baseline and CRC

    private static async Task<(double GBs, double CpuUsPer128K)> RawSocketBaselineAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var acceptTask = listener.AcceptAsync();
        await client.ConnectAsync(listener.LocalEndPoint!).ConfigureAwait(false);
        using var server = await acceptTask.ConfigureAwait(false);
        byte[] tx = new byte[128 * 1024];
        byte[] rx = new byte[128 * 1024];
        new Random(1).NextBytes(tx);
        using var stop = new CancellationTokenSource();
        long received = 0;
        var sender = Task.Run(async () =>
        {
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    await server.SendAsync(tx, SocketFlags.None).ConfigureAwait(false);
                }
            }
            catch (SocketException)
            {
            }
        });
        // Warm up, then measure.
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed.TotalSeconds < 0.3)
        {
            await client.ReceiveAsync(rx, SocketFlags.None).ConfigureAwait(false);
        }

        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        sw.Restart();
        while (sw.Elapsed.TotalSeconds < _seconds)
        {
            received += await client.ReceiveAsync(rx, SocketFlags.None).ConfigureAwait(false);
        }

        double gbs = received / sw.Elapsed.TotalSeconds / 1e9;
        double cpuUs = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMicroseconds / Math.Max(1.0, received / (128.0 * 1024));
        stop.Cancel();
        client.Close();
        server.Close();
        await sender.ConfigureAwait(false);
        return (gbs, cpuUs);
    }

    private static double CrcThroughput(int size)
    {
        byte[] data = new byte[size];
        new Random(2).NextBytes(data);
        uint sink = 0;
        for (int i = 0; i < 2000; i++)
        {
            sink ^= Crc32C.Compute(data);
        }

        long bytes = 0;
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed.TotalSeconds < _seconds)
        {
            for (int i = 0; i < 64; i++)
            {
                sink ^= Crc32C.Compute(data);
            }

            bytes += 64L * data.Length;
        }

        GC.KeepAlive(sink);
        return bytes / sw.Elapsed.TotalSeconds / 1e9;
    }

    // ------------------------------------------------------------------ host ↔ controller

    private readonly record struct Result(double Bytes, double Iops, double AllocPerIo, double HostCpuUs, double ControllerCpuUs);

    private static async Task<Result> SequentialAsync(NvmeHostAssociation a, bool write, int size, int queueDepth)
    {
        int blocks = size / 512;
        long next = 0;
        var buffers = Enumerable.Range(0, queueDepth).Select(_ =>
        {
            byte[] b = new byte[size];
            new Random(3).NextBytes(b);
            return b;
        }).ToArray();

        // Not async: the engine's ValueTask goes straight to the worker, so the benchmark adds no allocation per I/O.
        ValueTask Op(int worker)
        {
            long offset = (Interlocked.Add(ref next, size) - size) % Region;
            ulong slba = (ulong)(offset / 512);
            return write
                ? a.WriteAsync(1, slba, blocks, buffers[worker], fua: false, CancellationToken.None)
                : a.ReadAsync(1, slba, blocks, buffers[worker], CancellationToken.None);
        }

        var m = await DriveAsync(Op, queueDepth).ConfigureAwait(false);
        return m.ToResult(size);
    }

    private static async Task<Result> RandomReadAsync(NvmeHostAssociation a, int queueDepth)
    {
        var buffers = Enumerable.Range(0, queueDepth).Select(_ => new byte[4096]).ToArray();
        var rnd = Enumerable.Range(0, queueDepth).Select(i => new Random(10 + i)).ToArray();
        long blocks4k = Region / 4096;

        ValueTask Op(int worker) => a.ReadAsync(1, (ulong)rnd[worker].NextInt64(blocks4k) * 8, 8, buffers[worker], CancellationToken.None);

        var m = await DriveAsync(Op, queueDepth).ConfigureAwait(false);
        return m.ToResult(4096);
    }

    /// <summary>Runs <paramref name="queueDepth"/> workers, each keeping one command in flight, for the configured time
    /// after a warm-up; returns operations, seconds and host bytes allocated during the measured part.</summary>
    private readonly record struct Measured(long Ops, double Seconds, double Allocated, TimeSpan HostCpu, TimeSpan ControllerCpu)
    {
        public Result ToResult(int ioSize)
        {
            double n = Math.Max(1, Ops);
            return new Result(Ops * (double)ioSize / Seconds / 1e9, Ops / Seconds, Allocated / n,
                HostCpu.TotalMicroseconds / n, ControllerCpu.TotalMicroseconds / n);
        }
    }

    private static TimeSpan ServerCpu()
    {
        _server?.Refresh();
        return _server?.TotalProcessorTime ?? TimeSpan.Zero;
    }

    private static async Task<Measured> DriveAsync(Func<int, ValueTask> op, int queueDepth)
    {
        long ops = 0;
        bool measuring = false;
        bool stop = false;
        async Task Worker(int id)
        {
            while (!Volatile.Read(ref stop))
            {
                await op(id).ConfigureAwait(false);
                if (Volatile.Read(ref measuring))
                {
                    Interlocked.Increment(ref ops);
                }
            }
        }

        var workers = Enumerable.Range(0, queueDepth).Select(i => Task.Run(() => Worker(i))).ToArray();
        await Task.Delay(TimeSpan.FromSeconds(Math.Min(0.5, _seconds / 4))).ConfigureAwait(false);
        long alloc0 = GC.GetTotalAllocatedBytes(precise: true);
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var srv0 = ServerCpu();
        long ops0 = Interlocked.Read(ref ops);
        Volatile.Write(ref measuring, true);
        var sw = Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(_seconds)).ConfigureAwait(false);
        long opsDone = Interlocked.Read(ref ops) - ops0;
        double seconds = sw.Elapsed.TotalSeconds;
        long alloc1 = GC.GetTotalAllocatedBytes(precise: true);
        var cpu1 = Process.GetCurrentProcess().TotalProcessorTime;
        var srv1 = ServerCpu();
        Volatile.Write(ref stop, true);
        await Task.WhenAll(workers).ConfigureAwait(false);
        return new Measured(opsDone, seconds, alloc1 - alloc0, cpu1 - cpu0, srv1 - srv0);
    }

    // ------------------------------------------------------------------ controller process

    private static Process StartServer(out IPEndPoint endPoint)
    {
        var psi = new ProcessStartInfo(Environment.ProcessPath!)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        string? entry = System.Reflection.Assembly.GetEntryAssembly()?.Location;
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet" && entry is not null)
        {
            psi.ArgumentList.Add(entry);
        }

        psi.ArgumentList.Add("--serve");
        var p = Process.Start(psi) ?? throw new InvalidOperationException("Cannot start the controller process.");
        string? line = p.StandardOutput.ReadLine();
        if (line is null || !line.StartsWith("PORT ", StringComparison.Ordinal))
        {
            p.Kill();
            throw new InvalidOperationException($"The controller process said '{line}'.");
        }

        endPoint = new IPEndPoint(IPAddress.Loopback, int.Parse(line[5..], CultureInfo.InvariantCulture));
        return p;
    }

    private static void StopServer(Process p)
    {
        // Closing its stdin tells the child to stop; kill it (by its own handle) if it does not.
        p.StandardInput.Close();
        if (!p.WaitForExit(5000))
        {
            p.Kill();
        }
    }

    private static async Task<int> ServeAsync()
    {
        using var target = new NvmeTarget(new NvmeTargetOptions { MaxQueueSize = 128 });
        var sub = target.AddSubsystem(Sub, allowAnyHost: true);
        sub.AddMemoryNamespace(NamespaceBytes);
        await using var tcp = new NvmeTcpTarget(target);
        var port = await tcp.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0)).ConfigureAwait(false);
        Console.WriteLine("PORT " + port.Trsvcid);
        Console.Out.Flush();
        await Console.In.ReadToEndAsync().ConfigureAwait(false);
        return 0;
    }
}
