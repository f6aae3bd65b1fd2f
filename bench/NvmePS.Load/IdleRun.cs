using System.Diagnostics;
using System.Net;
using NvmePS.Engine.Fabrics.Controller;
using NvmePS.Engine.Fabrics.Controller.Tcp;
using NvmePS.Engine.Fabrics.Host;

namespace NvmePS.Load;

/// <summary>
/// What an idle connection costs (issue 15 §6): N associations (admin and one I/O queue each) connect to one controller
/// in this process, write one block each, and sit idle. The managed heap they hold, per connection and both ends
/// together, is measured twice in the same run: with buffers kept for the connection's life (the baseline), and with
/// idle connections giving their buffers back (NvmeTcpQueueOptions.IdleTrimAfter).
/// </summary>
internal static class IdleRun
{
    /// <summary>Runs both measurements, each in a child process of its own, and prints them with the ratio.</summary>
    public static async Task<int> RunAsync(int associations)
    {
        Console.WriteLine($"NvmePS idle connections: {associations} associations × 2 queues = {associations * 2} connections, both ends in one process; " +
                          $"{Environment.ProcessorCount} cores, .NET {Environment.Version}");
        var trim = TimeSpan.FromSeconds(1);
        var kept = await MeasureInChildAsync(associations, Timeout.InfiniteTimeSpan).ConfigureAwait(false);
        // Connection setup must not slow down as connections (and descriptors) add up.
        int tenth = Tenth(associations);
        Console.WriteLine($"connecting: the first {tenth} associations took {kept.FirstMicroseconds / 1000.0 / tenth:0.00} ms each, the last {tenth} {kept.LastMicroseconds / 1000.0 / tenth:0.00} ms each");
        var trimmed = await MeasureInChildAsync(associations, trim).ConfigureAwait(false);
        int connections = associations * 2;
        Console.WriteLine($"{"buffers kept (baseline)",-30} {kept.Heap / connections / 1024.0,7:0.0} KiB managed heap per connection (both ends), " +
                          $"of which buffers {kept.Buffers / connections / 1024.0:0.0} KiB; process RSS {kept.Rss / (1024.0 * 1024):0} MiB");
        Console.WriteLine($"{$"given back after {trim.TotalSeconds:0} s idle",-30} {trimmed.Heap / connections / 1024.0,7:0.0} KiB managed heap per connection (both ends), " +
                          $"of which buffers {trimmed.Buffers / connections / 1024.0:0.0} KiB; process RSS {trimmed.Rss / (1024.0 * 1024):0} MiB; " +
                          $"heap {(double)trimmed.Heap / kept.Heap:0.00}× baseline");
        return trimmed.Heap < kept.Heap ? 0 : 1;
    }

    /// <summary>The child: connects, goes idle, prints "IDLE heap buffers rss first last" (the last two: microseconds the
    /// first and the last tenth of the associations took to connect and write).</summary>
    public static async Task<int> ChildAsync(int associations, int trimMilliseconds)
    {
        var (heap, buffers, rss, first, last) = await MeasureAsync(associations, trimMilliseconds < 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(trimMilliseconds)).ConfigureAwait(false);
        Console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"IDLE {heap} {buffers} {rss} {first} {last}"));
        return 0;
    }

    /// <summary>How many associations the first and the last connect times each cover.</summary>
    private static int Tenth(int associations) => Math.Max(1, associations / 10);

    private static async Task<(long Heap, long Buffers, long Rss, long FirstMicroseconds, long LastMicroseconds)> MeasureInChildAsync(int associations, TimeSpan idleTrim)
    {
        var psi = Program.ChildStartInfo("--idle-child", associations.ToString(System.Globalization.CultureInfo.InvariantCulture),
            idleTrim == Timeout.InfiniteTimeSpan ? "-1" : ((int)idleTrim.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var child = Process.Start(psi) ?? throw new InvalidOperationException("Cannot start the measuring process.");
        string output = await child.StandardOutput.ReadToEndAsync().ConfigureAwait(false);
        await child.WaitForExitAsync().ConfigureAwait(false);
        string line = output.Split('\n').Single(l => l.StartsWith("IDLE ", StringComparison.Ordinal));
        long[] f = line[5..].Trim().Split(' ').Select(x => long.Parse(x, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        return (f[0], f[1], f[2], f[3], f[4]);
    }

    private static async Task<(long Heap, long Buffers, long Rss, long FirstMicroseconds, long LastMicroseconds)> MeasureAsync(int associations, TimeSpan idleTrim)
    {
        using var target = new NvmeTarget(new NvmeTargetOptions
        {
            MaxConnections = associations * 2 + 16,
            MaxConnectionsPerHost = associations * 2 + 16,
            MaxControllersPerSubsystem = associations + 8,
            MaxQueueSize = 128,
            IdleTrimAfter = idleTrim,
        });
        var subsystem = target.AddSubsystem(Program.Subsystem, allowAnyHost: true);
        subsystem.AddMemoryNamespace(16 << 20, BlockStamp.BlockSize);
        await using var tcp = new NvmeTcpTarget(target);
        var port = await tcp.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0)).ConfigureAwait(false);
        var ep = new IPEndPoint(IPAddress.Loopback, int.Parse(port.Trsvcid, System.Globalization.CultureInfo.InvariantCulture));
        long before = GC.GetTotalMemory(forceFullCollection: true);
        var hosts = new List<NvmeHostAssociation>();
        byte[] block = new byte[BlockStamp.BlockSize];
        int tenth = Tenth(associations);
        var clock = Stopwatch.StartNew();
        long firstEnd = 0, lastStart = 0;
        for (int i = 0; i < associations; i++)
        {
            if (i == associations - tenth)
            {
                lastStart = clock.ElapsedTicks;
            }

            var a = await NvmeHostAssociation.ConnectAsync(ep, Program.Subsystem, new NvmeHostAssociationParameters
            {
                HostNqn = $"nqn.2026-01.io.nvmeps:idle-host-{i}",
                IoQueueCount = 1,
                IoQueueSize = 32,
                IdleTrimAfter = idleTrim,
            }, CancellationToken.None).ConfigureAwait(false);
            hosts.Add(a);
            await a.WriteAsync(1, (ulong)i, 1, block, fua: false, CancellationToken.None).ConfigureAwait(false);
            if (i == tenth - 1)
            {
                firstEnd = clock.ElapsedTicks;
            }
        }

        long lastEnd = clock.ElapsedTicks;

        // Off the receive thread the last completion resumed on, then idle well past the trim time (keep-alives, every
        // 15 s by default, do not come in this spell).
        await Task.Delay(idleTrim == Timeout.InfiniteTimeSpan ? TimeSpan.FromSeconds(3) : idleTrim * 3).ConfigureAwait(false);
        long buffers = tcp.ConnectionBufferBytes + hosts.Sum(a => (long)a.AdminQueue.Transport.BufferBytes + a.IoQueues.Sum(q => (long)q.Transport.BufferBytes));
        long heap = GC.GetTotalMemory(forceFullCollection: true) - before;
        using var self = Process.GetCurrentProcess();
        GC.KeepAlive(hosts);
        return (heap, buffers, self.WorkingSet64, firstEnd * 1_000_000 / Stopwatch.Frequency, (lastEnd - lastStart) * 1_000_000 / Stopwatch.Frequency);
    }
}
