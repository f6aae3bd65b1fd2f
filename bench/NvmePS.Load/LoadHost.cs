using System.Diagnostics;
using System.Net;
using NvmePS.Engine;
using NvmePS.Engine.Fabrics.Host;

namespace NvmePS.Load;

/// <summary>One host: its own association, loopback address and region of the namespace, and what every block of
/// the region must hold (the sequence number of the last acknowledged write).</summary>
internal sealed class LoadHost(int index, ulong firstLba, int blocks, LoadOptions options)
{
    private const uint Nsid = 1;
    private readonly ulong[] _expected = new ulong[blocks];
    private readonly int[] _busy = new int[blocks / options.IoBlocks];
    private readonly List<LatencyHistogram> _latencies = [];
    private NvmeHostAssociation? _association;
    private long _nextSequence;
    private long _completed, _writes, _reads, _errors, _lost, _corrupt, _checked, _failedAtRestart, _staleSqhdBefore;

    /// <summary>While the controller is being killed: I/O failures are what the kill causes, counted apart.</summary>
    public bool ExpectFailures { get; set; }

    public long FailedAtRestart => Interlocked.Read(ref _failedAtRestart);

    public int Blocks => blocks;
    public long Completed => Interlocked.Read(ref _completed);
    public long Writes => Interlocked.Read(ref _writes);
    public long Reads => Interlocked.Read(ref _reads);
    public long Errors => Interlocked.Read(ref _errors);
    public long Lost => Interlocked.Read(ref _lost);
    public long Corrupt => Interlocked.Read(ref _corrupt);
    public long BlocksChecked => Interlocked.Read(ref _checked);

    /// <summary>Completions whose SQHD was behind one the host had already seen, over every association this host had.</summary>
    public long StaleSqhd => Interlocked.Read(ref _staleSqhdBefore) + StaleSqhdOf(Volatile.Read(ref _association));

    private static long StaleSqhdOf(NvmeHostAssociation? a) =>
        a is null ? 0 : a.AdminQueue.StaleSqhdCompletions + a.IoQueues.Sum(q => q.StaleSqhdCompletions);

    public LatencyHistogram Latency
    {
        get
        {
            var all = new LatencyHistogram();
            lock (_latencies)
            {
                foreach (var l in _latencies)
                {
                    all.Add(l);
                }
            }

            return all;
        }
    }

    private int Extents => _busy.Length;

    public async Task ConnectAsync(IPEndPoint endpoint)
    {
        _association = await NvmeHostAssociation.ConnectAsync(endpoint, Program.Subsystem, new NvmeHostAssociationParameters
        {
            HostNqn = $"nqn.2026-01.io.nvmeps:load-host-{index}",
            HostId = new Guid(index + 1, 0x6e76, 0x6d65, 0x70, 0x73, 0x6c, 0x6f, 0x61, 0x64, 0, 0),
            // Each host leaves from its own loopback address, as hosts on a network would.
            HostTransportAddress = new IPAddress([127, 0, 1, (byte)(index + 1)]),
            IoQueueCount = 1,
            IoQueueSize = 128,
        }, CancellationToken.None).ConfigureAwait(false);
    }

    public async Task DisconnectAsync()
    {
        var a = Interlocked.Exchange(ref _association, null);
        Interlocked.Add(ref _staleSqhdBefore, StaleSqhdOf(a));
        if (a is not null)
        {
            try
            {
                await a.DisposeAsync().ConfigureAwait(false);
            }
            catch (NvmeException)
            {
                // The controller is gone (the restart): nothing to disconnect from.
            }
        }
    }

    /// <summary>QD workers until <paramref name="stop"/>; each I/O runs to its end (cancelling one would close the queue).</summary>
    public Task RunAsync(CancellationToken stop) =>
        Task.WhenAll(Enumerable.Range(0, options.Depth).Select(w => Task.Run(() => WorkerAsync(w, stop), CancellationToken.None)));

    private async Task WorkerAsync(int worker, CancellationToken stop)
    {
        var latency = new LatencyHistogram();
        lock (_latencies)
        {
            _latencies.Add(latency);
        }

        var random = new Random(HashCode.Combine(index, worker, Environment.TickCount));
        byte[] buffer = new byte[options.IoBlocks * BlockStamp.BlockSize];
        while (!stop.IsCancellationRequested)
        {
            int extent = TakeExtent(random);
            ulong lba = firstLba + (ulong)(extent * options.IoBlocks);
            long started = Stopwatch.GetTimestamp();
            try
            {
                if (random.Next(2) == 0)
                {
                    ulong sequence = (ulong)Interlocked.Increment(ref _nextSequence);
                    Stamp(buffer, lba, sequence);
                    await _association!.WriteAsync(Nsid, lba, options.IoBlocks, buffer, fua: false, CancellationToken.None).ConfigureAwait(false);
                    for (int i = 0; i < options.IoBlocks; i++)
                    {
                        _expected[(extent * options.IoBlocks) + i] = sequence;
                    }

                    Interlocked.Increment(ref _writes);
                }
                else
                {
                    await _association!.ReadAsync(Nsid, lba, options.IoBlocks, buffer, CancellationToken.None).ConfigureAwait(false);
                    CheckExact(buffer, extent);
                    Interlocked.Increment(ref _reads);
                }

                Interlocked.Increment(ref _completed);
                latency.Record((long)Stopwatch.GetElapsedTime(started).TotalMicroseconds);
            }
            catch (NvmeException e)
            {
                if (ExpectFailures)
                {
                    Interlocked.Increment(ref _failedAtRestart);
                }
                else if (Interlocked.Increment(ref _errors) <= 3)
                {
                    Console.WriteLine($"host {index}: {e.Message}");
                }

                if (_association?.Failure is not null)
                {
                    // The association is gone: every further I/O would fail at once.
                    return;
                }
            }
            finally
            {
                Volatile.Write(ref _busy[extent], 0);
            }
        }
    }

    /// <summary>A random extent no other worker of this host is using, so an extent's expected contents are exact.</summary>
    private int TakeExtent(Random random)
    {
        while (true)
        {
            int e = random.Next(Extents);
            if (Interlocked.CompareExchange(ref _busy[e], 1, 0) == 0)
            {
                return e;
            }
        }
    }

    private void Stamp(byte[] buffer, ulong lba, ulong sequence)
    {
        for (int i = 0; i < options.IoBlocks; i++)
        {
            BlockStamp.Write(buffer.AsSpan(i * BlockStamp.BlockSize, BlockStamp.BlockSize), index, lba + (ulong)i, sequence);
        }
    }

    private void CheckExact(byte[] buffer, int extent)
    {
        for (int i = 0; i < options.IoBlocks; i++)
        {
            int b = (extent * options.IoBlocks) + i;
            ulong lba = firstLba + (ulong)b;
            ulong? found = BlockStamp.Read(buffer.AsSpan(i * BlockStamp.BlockSize, BlockStamp.BlockSize), index, lba);
            Interlocked.Increment(ref _checked);
            ulong expected = _expected[b];
            if (found == expected)
            {
                continue;
            }

            if (found is { } f && f < expected)
            {
                Interlocked.Increment(ref _lost);
            }
            else
            {
                Interlocked.Increment(ref _corrupt);
            }

            Console.WriteLine($"host {index} LBA {lba}: holds {(found is null ? "a damaged or foreign block" : $"write {found}")}, expected write {expected}");
        }
    }

    /// <summary>Reads every block of the region, eight extents at a time, and checks it against what was acknowledged.</summary>
    public async Task VerifyAllAsync()
    {
        int next = -1;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            byte[] buffer = new byte[options.IoBlocks * BlockStamp.BlockSize];
            int e;
            while ((e = Interlocked.Increment(ref next)) < Extents)
            {
                await _association!.ReadAsync(Nsid, firstLba + (ulong)(e * options.IoBlocks), options.IoBlocks, buffer, CancellationToken.None).ConfigureAwait(false);
                CheckExact(buffer, e);
            }
        })).ConfigureAwait(false);
    }

    public Task FlushAsync() => _association!.FlushAsync(Nsid, CancellationToken.None);

    public ulong[] Snapshot() => (ulong[])_expected.Clone();

    /// <summary>After the restart: every block holds what it held at the flush, or a later write of this host; never
    /// less, never damage. What it holds becomes what it must hold from now on.</summary>
    public async Task<(long Survived, long Newer, long Lost, long Corrupt)> CheckDurableAsync(ulong[] durable)
    {
        long survived = 0, newer = 0, lost = 0, corrupt = 0;
        byte[] buffer = new byte[options.IoBlocks * BlockStamp.BlockSize];
        ulong issued = (ulong)Interlocked.Read(ref _nextSequence);
        for (int e = 0; e < Extents; e++)
        {
            ulong lba = firstLba + (ulong)(e * options.IoBlocks);
            await _association!.ReadAsync(Nsid, lba, options.IoBlocks, buffer, CancellationToken.None).ConfigureAwait(false);
            for (int i = 0; i < options.IoBlocks; i++)
            {
                int b = (e * options.IoBlocks) + i;
                ulong? found = BlockStamp.Read(buffer.AsSpan(i * BlockStamp.BlockSize, BlockStamp.BlockSize), index, lba + (ulong)i);
                if (found is null || found > issued)
                {
                    corrupt++;
                    Console.WriteLine($"host {index} LBA {lba + (ulong)i}: damaged after the restart");
                }
                else if (found < durable[b])
                {
                    lost++;
                    Console.WriteLine($"host {index} LBA {lba + (ulong)i}: holds write {found}, flushed write {durable[b]} lost");
                }
                else if (durable[b] > 0)
                {
                    if (found == durable[b])
                    {
                        survived++;
                    }
                    else
                    {
                        newer++;
                    }
                }

                _expected[b] = found ?? 0;
            }
        }

        Interlocked.Add(ref _lost, lost);
        Interlocked.Add(ref _corrupt, corrupt);
        return (survived, newer, lost, corrupt);
    }
}
