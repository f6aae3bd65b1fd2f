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
    private static AllocationSampler? _sampler;

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

        _sampler = AllocationSampler.Requested ? new AllocationSampler() : null;
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
            await using (var fill = await ConnectAsync(endPoint, ioQueues: 1).ConfigureAwait(false))
            {
                // The controller's memory namespace allocates its backing store on first write: fill the region the
                // figures use first, or the first figure counts that allocation as the controller's per-I/O cost.
                byte[] chunk = new byte[1 << 20];
                for (long offset = 0; offset < Region; offset += chunk.Length)
                {
                    await fill.WriteAsync(1, (ulong)(offset / 512), chunk.Length / 512, chunk, fua: false, CancellationToken.None).ConfigureAwait(false);
                }
            }

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

            Console.WriteLine();
            var shaped1 = ProtocolShapedBaseline(queueDepth: 1);
            var shaped32 = ProtocolShapedBaseline(queueDepth: 32);
            Console.WriteLine($"{"raw TCP, 72 B commands → 4 KiB + 24 B answers, QD1",-52} {shaped1.Iops,12:N0} IOPS  (protocol-shaped baseline)  p50 {shaped1.P50Us:0.0} µs, p99 {shaped1.P99Us:0.0} µs");
            Console.WriteLine($"{"raw TCP, 72 B commands → 4 KiB + 24 B answers, QD32",-52} {shaped32.Iops,12:N0} IOPS  (protocol-shaped baseline)");

            await using (var a = await ConnectAsync(endPoint, ioQueues: 1).ConfigureAwait(false))
            {
                var qd1 = await RandomAsync(a, queueDepth: 1, write: false, recordLatency: true).ConfigureAwait(false);
                Console.WriteLine($"{"4 KiB random read, QD1",-52} {qd1.Iops,12:N0} IOPS  ({qd1.Iops / shaped1.Iops:0.00}× shaped)  p50 {qd1.P50Us:0.0} µs, p99 {qd1.P99Us:0.0} µs{Detail(qd1)}");
                var r32 = await RandomAsync(a, queueDepth: 32, write: false).ConfigureAwait(false);
                Console.WriteLine($"{"4 KiB random read, QD32",-52} {r32.Iops,12:N0} IOPS  ({r32.Iops / shaped32.Iops:0.00}× shaped){Detail(r32)}");
                var w32 = await RandomAsync(a, queueDepth: 32, write: true).ConfigureAwait(false);
                Console.WriteLine($"{"4 KiB random write, QD32",-52} {w32.Iops,12:N0} IOPS  ({w32.Iops / shaped32.Iops:0.00}× shaped){Detail(w32)}");
            }

            await using (var a = await ConnectAsync(endPoint, ioQueues: 1, disableSqFlowControl: true).ConfigureAwait(false))
            {
                // Without SQ flow control the controller may end a read with C2HData's SUCCESS flag: one PDU per read, not two.
                var r = await RandomAsync(a, queueDepth: 32, write: false).ConfigureAwait(false);
                Console.WriteLine($"{"4 KiB random read, QD32, SQ flow control off",-52} {r.Iops,12:N0} IOPS  ({r.Iops / shaped32.Iops:0.00}× shaped){Detail(r)}");
            }

            Console.WriteLine();
            double oneQueue = 0;
            foreach (int queues in new[] { 1, 2, 4 })
            {
                await using var a = await ConnectAsync(endPoint, ioQueues: queues).ConfigureAwait(false);
                var r = await RandomAsync(a, queueDepth: 32 * queues, write: false).ConfigureAwait(false);
                oneQueue = queues == 1 ? r.Iops : oneQueue;
                Console.WriteLine($"{$"4 KiB random read, {queues} I/O queue(s), QD32 each",-52} {r.Iops,12:N0} IOPS  ({r.Iops / oneQueue:0.00}× 1 queue, {r.Iops / shaped32.Iops:0.00}× shaped){Detail(r)}");
            }

            foreach (int connections in new[] { 2, 4, 8 })
            {
                var associations = new List<NvmeHostAssociation>();
                try
                {
                    for (int i = 0; i < connections; i++)
                    {
                        associations.Add(await ConnectAsync(endPoint, ioQueues: 1).ConfigureAwait(false));
                    }

                    var r = await RandomAsync(associations, queueDepthEach: 32 / connections, write: false).ConfigureAwait(false);
                    Console.WriteLine($"{$"4 KiB random read, {connections} connections, QD{32 / connections} each",-52} {r.Iops,12:N0} IOPS  ({r.Iops / oneQueue:0.00}× 1 queue, {r.Iops / shaped32.Iops:0.00}× shaped){Detail(r)}");
                }
                finally
                {
                    foreach (var a in associations)
                    {
                        await a.DisposeAsync().ConfigureAwait(false);
                    }
                }
            }
        }
        finally
        {
            StopServer(server);
        }

        Console.WriteLine();
        Console.WriteLine("Allocation figures are bytes allocated per I/O in steady state (GC.GetTotalAllocatedBytes) by the host (this");
        Console.WriteLine("process) and by the controller (a child process, which reports its own count). CPU/IO is processor time");
        Console.WriteLine("(user + system) per I/O of each process: it stays meaningful on a loaded machine, where wall-clock throughput");
        Console.WriteLine("does not. The protocol-shaped baseline is two threads on one loopback connection with blocking sockets: 72-byte");
        Console.WriteLine("commands one way, 24-byte headers plus 4 KiB the other, pipelined at the same depth, each burst in one write.");
        return 0;
    }

    private static void Report(string what, double value, string unit, double baseline, Result? r = null)
    {
        Console.WriteLine($"{what,-52} {value,12:0.000} {unit}  ({value / baseline:0.00}× baseline){(r is { } x ? Detail(x) : string.Empty)}");
    }

    private static string Detail(Result r) =>
        $"  alloc/IO host {r.AllocPerIo:0.0} B, controller {r.ControllerAllocPerIo:0.0} B; CPU/IO host {r.HostCpuUs:0.0} µs, controller {r.ControllerCpuUs:0.0} µs";

    private static Task<NvmeHostAssociation> ConnectAsync(IPEndPoint endPoint, int ioQueues, bool disableSqFlowControl = false) =>
        NvmeHostAssociation.ConnectAsync(endPoint, Sub, new NvmeHostAssociationParameters
        {
            IoQueueCount = ioQueues,
            DisableSqFlowControl = disableSqFlowControl,
            IoQueueSize = 128,
            KeepAliveTimeout = TimeSpan.Zero,
        }, CancellationToken.None);

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

    private readonly record struct Result(double Bytes, double Iops, double AllocPerIo, double HostCpuUs, double ControllerCpuUs,
        double ControllerAllocPerIo, double P50Us, double P99Us);

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

    private static Task<Result> RandomAsync(NvmeHostAssociation a, int queueDepth, bool write, bool recordLatency = false) =>
        RandomAsync([a], queueDepth, write, recordLatency);

    /// <summary>4 KiB random reads or writes over the first 256 MiB, <paramref name="queueDepthEach"/> workers per association.</summary>
    private static async Task<Result> RandomAsync(IReadOnlyList<NvmeHostAssociation> associations, int queueDepthEach, bool write, bool recordLatency = false)
    {
        int workers = associations.Count * queueDepthEach;
        var buffers = Enumerable.Range(0, workers).Select(_ => new byte[4096]).ToArray();
        var rnd = Enumerable.Range(0, workers).Select(i => new Random(10 + i)).ToArray();
        long blocks4k = Region / 4096;

        ValueTask Op(int worker)
        {
            var a = associations[worker % associations.Count];
            ulong slba = (ulong)rnd[worker].NextInt64(blocks4k) * 8;
            return write
                ? a.WriteAsync(1, slba, 8, buffers[worker], fua: false, CancellationToken.None)
                : a.ReadAsync(1, slba, 8, buffers[worker], CancellationToken.None);
        }

        var m = await DriveAsync(Op, workers, recordLatency).ConfigureAwait(false);
        return m.ToResult(4096);
    }

    /// <summary>The limit for small I/O on this loopback, measured in the same run: one connection, a thread per end with
    /// blocking sockets, 72-byte commands in, a 24-byte header and 4 KiB out per command, <paramref name="queueDepth"/>
    /// in flight, and everything each side has to send in one write. No NVMe/TCP parsing, no storage.</summary>
    private static (double Iops, double P50Us, double P99Us) ProtocolShapedBaseline(int queueDepth)
    {
        const int CommandSize = 72;
        const int AnswerSize = 24 + 4096;
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.Connect(listener.LocalEndPoint!);
        using var server = listener.Accept();
        server.NoDelay = true;

        var serverThread = new Thread(() =>
        {
            byte[] rx = new byte[64 * 1024];
            byte[] tx = new byte[AnswerSize * 64];
            int partial = 0;
            try
            {
                while (true)
                {
                    int n = server.Receive(rx);
                    if (n == 0)
                    {
                        return;
                    }

                    partial += n;
                    int commands = partial / CommandSize;
                    partial %= CommandSize;
                    while (commands > 0)
                    {
                        int batch = Math.Min(commands, 64);
                        server.Send(tx.AsSpan(0, batch * AnswerSize));
                        commands -= batch;
                    }
                }
            }
            catch (SocketException)
            {
            }
        })
        { IsBackground = true };
        serverThread.Start();

        byte[] commandBytes = new byte[CommandSize * queueDepth];
        byte[] answers = new byte[256 * 1024];
        long[] sentAt = new long[queueDepth];
        long[] latencies = new long[1 << 21];
        int latencyCount = 0;
        long ops = 0;
        int head = 0;
        int received = 0;
        var sw = Stopwatch.StartNew();
        double warmUp = Math.Min(0.5, _seconds / 4);
        double end = warmUp + _seconds;
        double measuredFrom = 0;
        long opsAtStart = 0;
        bool measuring = false;
        for (int i = 0; i < queueDepth; i++)
        {
            sentAt[i] = Stopwatch.GetTimestamp();
        }

        client.Send(commandBytes);
        while (true)
        {
            received += client.Receive(answers);
            int done = received / AnswerSize;
            received %= AnswerSize;
            if (done == 0)
            {
                continue;
            }

            long now = Stopwatch.GetTimestamp();
            for (int i = 0; i < done; i++)
            {
                // Answers come back in order: the oldest command in flight is the one answered.
                if (measuring && queueDepth == 1 && latencyCount < latencies.Length)
                {
                    latencies[latencyCount++] = now - sentAt[head];
                }

                sentAt[head] = now;
                head = (head + 1) % queueDepth;
            }

            ops += done;
            double t = sw.Elapsed.TotalSeconds;
            if (!measuring && t >= warmUp)
            {
                measuring = true;
                measuredFrom = t;
                opsAtStart = ops;
            }

            if (t >= end)
            {
                double iops = (ops - opsAtStart) / (t - measuredFrom);
                client.Shutdown(SocketShutdown.Send);
                serverThread.Join(5000);
                var (p50, p99) = Percentiles(latencies, latencyCount);
                return (iops, p50, p99);
            }

            client.Send(commandBytes.AsSpan(0, done * CommandSize));
        }
    }

    private static (double P50Us, double P99Us) Percentiles(long[] ticks, int count)
    {
        if (count == 0)
        {
            return (double.NaN, double.NaN);
        }

        Array.Sort(ticks, 0, count);
        double Us(long t) => t * 1e6 / Stopwatch.Frequency;
        return (Us(ticks[count / 2]), Us(ticks[Math.Min(count - 1, (int)(count * 0.99))]));
    }

    /// <summary>Runs <paramref name="queueDepth"/> workers, each keeping one command in flight, for the configured time
    /// after a warm-up; returns operations, seconds and host bytes allocated during the measured part.</summary>
    private readonly record struct Measured(long Ops, double Seconds, double Allocated, TimeSpan HostCpu, TimeSpan ControllerCpu,
        double ControllerAllocated, double P50Us, double P99Us)
    {
        public Result ToResult(int ioSize)
        {
            double n = Math.Max(1, Ops);
            return new Result(Ops * (double)ioSize / Seconds / 1e9, Ops / Seconds, Allocated / n,
                HostCpu.TotalMicroseconds / n, ControllerCpu.TotalMicroseconds / n, ControllerAllocated / n, P50Us, P99Us);
        }
    }

    /// <summary>Bytes the controller process has allocated so far: it answers a line on its standard input with the count.</summary>
    private static double ServerAllocated()
    {
        if (_server is null)
        {
            return 0;
        }

        _server.StandardInput.WriteLine("alloc");
        _server.StandardInput.Flush();
        string? line = _server.StandardOutput.ReadLine();
        return line is null ? double.NaN : double.Parse(line, CultureInfo.InvariantCulture);
    }

    private static TimeSpan ServerCpu()
    {
        _server?.Refresh();
        return _server?.TotalProcessorTime ?? TimeSpan.Zero;
    }

    private static async Task<Measured> DriveAsync(Func<int, ValueTask> op, int queueDepth, bool recordLatency = false)
    {
        long ops = 0;
        bool measuring = false;
        bool stop = false;
        // Latency of worker 0's commands, preallocated: recording adds no allocation per I/O.
        long[] latencies = new long[recordLatency ? 1 << 21 : 0];
        int latencyCount = 0;
        async Task Worker(int id)
        {
            while (!Volatile.Read(ref stop))
            {
                long started = Stopwatch.GetTimestamp();
                await op(id).ConfigureAwait(false);
                if (Volatile.Read(ref measuring))
                {
                    Interlocked.Increment(ref ops);
                    if (id == 0 && latencyCount < latencies.Length)
                    {
                        latencies[latencyCount++] = Stopwatch.GetTimestamp() - started;
                    }
                }
            }
        }

        var workers = Enumerable.Range(0, queueDepth).Select(i => Task.Run(() => Worker(i))).ToArray();
        await Task.Delay(TimeSpan.FromSeconds(Math.Min(0.5, _seconds / 4))).ConfigureAwait(false);
        double srvAlloc0 = ServerAllocated();
        if (_sampler is not null && _server is not null)
        {
            // Start both samples at the measured part.
            _sampler.TakeReport();
            _server.StandardInput.WriteLine("alloc-types");
            _server.StandardInput.Flush();
            _server.StandardOutput.ReadLine();
        }
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
        double srvAlloc1 = ServerAllocated();
        if (_sampler is not null && _server is not null)
        {
            _server.StandardInput.WriteLine("alloc-types");
            _server.StandardInput.Flush();
            Console.WriteLine($"    allocation samples: host [{_sampler.TakeReport()}], controller [{_server.StandardOutput.ReadLine()}]");
        }
        Volatile.Write(ref measuring, false);
        Volatile.Write(ref stop, true);
        await Task.WhenAll(workers).ConfigureAwait(false);
        var (p50, p99) = Percentiles(latencies, latencyCount);
        return new Measured(opsDone, seconds, alloc1 - alloc0, cpu1 - cpu0, srv1 - srv0, srvAlloc1 - srvAlloc0, p50, p99);
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
        using var sampler = AllocationSampler.Requested ? new AllocationSampler() : null;
        using var target = new NvmeTarget(new NvmeTargetOptions { MaxQueueSize = 128 });
        var sub = target.AddSubsystem(Sub, allowAnyHost: true);
        sub.AddMemoryNamespace(NamespaceBytes);
        await using var tcp = new NvmeTcpTarget(target);
        var port = await tcp.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0)).ConfigureAwait(false);
        Console.WriteLine("PORT " + port.Trsvcid);
        Console.Out.Flush();
        // Each "alloc" line is answered with the bytes this process has allocated so far; end of input stops it.
        while (await Console.In.ReadLineAsync().ConfigureAwait(false) is { } line)
        {
            if (line == "alloc")
            {
                Console.WriteLine(GC.GetTotalAllocatedBytes(precise: true).ToString(CultureInfo.InvariantCulture));
                Console.Out.Flush();
            }
            else if (line == "alloc-types")
            {
                Console.WriteLine(sampler?.TakeReport() ?? string.Empty);
                Console.Out.Flush();
            }
        }

        return 0;
    }
}
