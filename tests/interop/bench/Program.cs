using System.Diagnostics;
using System.Globalization;
using System.Net;
using NvmePS.Engine.Fabrics.Controller;
using NvmePS.Engine.Fabrics.Host;
using NvmePS.Engine.Fabrics.Controller.Tcp;

// usage:
//   InteropBench serve PORT NQN SIZE_MIB        our controller, memory namespace, until stdin closes; prints READY
//   InteropBench host PORT NQN SECONDS           our host: 4 KiB random read QD32, then 128 KiB sequential read QD8
var inv = CultureInfo.InvariantCulture;
if (args.Length >= 4 && args[0] == "serve")
{
    using var target = new NvmeTarget(new NvmeTargetOptions { ModelNumber = "NvmePS bench target" });
    var subsystem = target.AddSubsystem(args[2], allowAnyHost: true);
    subsystem.AddMemoryNamespace(long.Parse(args[3], inv) << 20, blockSize: 512, nsid: 1);
    await using var tcp = new NvmeTcpTarget(target);
    await tcp.ListenAsync(new IPEndPoint(IPAddress.Loopback, int.Parse(args[1], inv)));
    Console.WriteLine("READY");
    await Console.In.ReadToEndAsync();
    return 0;
}

if (args.Length >= 4 && args[0] == "host")
{
    var seconds = double.Parse(args[3], inv);
    var p = new NvmeHostAssociationParameters { IoQueueCount = 2, IoQueueSize = 128 };
    await using var a = await NvmeHostAssociation.ConnectAsync(new IPEndPoint(IPAddress.Loopback, int.Parse(args[1], inv)), args[2], p, CancellationToken.None);
    var ns = await a.Admin.IdentifyNamespaceAsync(1);
    var bs = ns.BlockSize;
    var blocks = (long)Math.Min(ns.Nsze, (ulong)((1L << 30) / bs));
    var (iops, _) = await RunAsync(a, qd: 32, ioBytes: 4096, bs, blocks, random: true, seconds);
    var (_, mibps) = await RunAsync(a, qd: 8, ioBytes: 128 * 1024, bs, blocks, random: false, seconds);
    Console.WriteLine(string.Create(inv, $"RESULT iops_4k_randread_qd32={iops:F0} mibps_128k_seqread_qd8={mibps:F1}"));
    await a.DisconnectAsync(CancellationToken.None);
    return 0;
}

Console.Error.WriteLine("usage: InteropBench serve PORT NQN SIZE_MIB | host PORT NQN SECONDS");
return 2;

static async Task<(double Iops, double MiBps)> RunAsync(NvmeHostAssociation a, int qd, int ioBytes, int bs, long blocks, bool random, double seconds)
{
    var nlb = ioBytes / bs;
    long done = 0;
    long next = 0;
    var sw = Stopwatch.StartNew();
    var deadline = TimeSpan.FromSeconds(seconds);
    var workers = Enumerable.Range(0, qd).Select(async w =>
    {
        var buf = new byte[ioBytes];
        var rng = new Random(w);
        while (sw.Elapsed < deadline)
        {
            long slba = random
                ? rng.NextInt64(0, blocks / nlb) * nlb
                : Interlocked.Add(ref next, nlb) % (blocks - nlb);
            await a.ReadAsync(1, (ulong)slba, nlb, buf, CancellationToken.None);
            Interlocked.Increment(ref done);
        }
    }).ToArray();
    await Task.WhenAll(workers);
    var secs = sw.Elapsed.TotalSeconds;
    return (done / secs, done * (double)ioBytes / secs / (1 << 20));
}
