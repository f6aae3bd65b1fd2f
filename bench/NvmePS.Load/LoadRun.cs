using System.Diagnostics;
using System.Globalization;
using System.Net;
using NvmePS.Engine;
using NvmePS.Engine.Fabrics.Host;

namespace NvmePS.Load;

/// <summary>One load run: the controller process, the hosts, the phases and the figures.</summary>
internal sealed class LoadRun(LoadOptions options) : IAsyncDisposable
{
    private readonly List<LoadHost> _hosts = [];
    private Process? _controller;
    private IPEndPoint _endpoint = new(IPAddress.Loopback, 0);
    private long _peakRssKib;
    private long _firstQuarterPeakKib;
    private long _lastQuarterPeakKib;

    public async Task<int> RunAsync()
    {
        if (options.File is not null)
        {
            // Every run starts from zeroes: blocks an earlier run stamped would read back as another writer's, and the
            // check would call them corrupt. (The restart reopens the file as it is, which is the point of it.)
            File.WriteAllBytes(options.File, []);
        }

        StartController();
        long blocksPerHost = ((long)options.Mib << 20) / BlockStamp.BlockSize / options.Hosts / options.IoBlocks * options.IoBlocks;
        for (int h = 0; h < options.Hosts; h++)
        {
            _hosts.Add(new LoadHost(h, (ulong)(h * blocksPerHost), (int)blocksPerHost, options));
        }

        await ConnectAllAsync().ConfigureAwait(false);
        var clock = Stopwatch.StartNew();
        using var sampling = new CancellationTokenSource();
        var sampler = SampleMemoryAsync(clock, sampling.Token);
        var end = TimeSpan.FromSeconds(options.Seconds);
        string restartReport = "";
        if (options.RestartAt > 0 && options.RestartAt < options.Seconds)
        {
            await RunPhaseAsync(TimeSpan.FromSeconds(options.RestartAt) - clock.Elapsed).ConfigureAwait(false);
            restartReport = await RestartAsync().ConfigureAwait(false);
        }

        await RunPhaseAsync(end - clock.Elapsed).ConfigureAwait(false);
        double seconds = clock.Elapsed.TotalSeconds;
        var verify = Stopwatch.StartNew();
        await Task.WhenAll(_hosts.Select(h => h.VerifyAllAsync())).ConfigureAwait(false);
        sampling.Cancel();
        await sampler.ConfigureAwait(false);

        var latency = new LatencyHistogram();
        foreach (var h in _hosts)
        {
            latency.Add(h.Latency);
        }

        long ios = _hosts.Sum(h => h.Completed), writes = _hosts.Sum(h => h.Writes), reads = _hosts.Sum(h => h.Reads);
        long errors = _hosts.Sum(h => h.Errors), lost = _hosts.Sum(h => h.Lost), corrupt = _hosts.Sum(h => h.Corrupt);
        long checkedBlocks = _hosts.Sum(h => h.BlocksChecked);
        Console.WriteLine();
        Console.WriteLine($"I/O: {ios:N0} in {seconds:0.0} s = {ios / seconds:N0} IOPS ({writes:N0} writes, {reads:N0} read-back checks)");
        Console.WriteLine($"latency: p50 {latency.Percentile(0.50):0} µs, p99 {latency.Percentile(0.99):0} µs, p99.9 {latency.Percentile(0.999):0} µs");
        Console.WriteLine($"errors: {errors}");
        // A controller that completes out of order must still report SQHD values that never go back on the wire.
        Console.WriteLine($"stale SQHD completions seen by the hosts: {_hosts.Sum(h => h.StaleSqhd):N0}");
        Console.WriteLine($"blocks checked: {checkedBlocks:N0} (the final pass read all {_hosts.Sum(h => (long)h.Blocks):N0} blocks in {verify.Elapsed.TotalSeconds:0.0} s)");
        Console.WriteLine($"lost blocks: {lost}, corrupt blocks: {corrupt}");
        Console.WriteLine($"controller memory (RSS): peak {_peakRssKib / 1024.0:0} MiB; peak in the first quarter {_firstQuarterPeakKib / 1024.0:0} MiB, in the last quarter {_lastQuarterPeakKib / 1024.0:0} MiB" +
                          $"{(options.File is null ? $" (the namespace itself is {options.Mib} MiB of it)" : "")}");
        if (restartReport.Length > 0)
        {
            Console.WriteLine(restartReport);
        }

        bool ok = lost == 0 && corrupt == 0 && errors == 0;
        Console.WriteLine(ok ? "RESULT: nothing lost, nothing corrupt, no errors" : "RESULT: FAILED");
        return ok ? 0 : 1;
    }

    private async Task ConnectAllAsync()
    {
        // A few at a time: 64 hosts connecting at once is a connect storm, not the load this run measures.
        using var gate = new SemaphoreSlim(8);
        await Task.WhenAll(_hosts.Select(async h =>
        {
            await gate.WaitAsync().ConfigureAwait(false);
            try
            {
                await h.ConnectAsync(_endpoint).ConfigureAwait(false);
            }
            finally
            {
                gate.Release();
            }
        })).ConfigureAwait(false);
    }

    private async Task RunPhaseAsync(TimeSpan length)
    {
        if (length <= TimeSpan.Zero)
        {
            return;
        }

        using var stop = new CancellationTokenSource(length);
        await Task.WhenAll(_hosts.Select(h => h.RunAsync(stop.Token))).ConfigureAwait(false);
    }

    /// <summary>The workload keeps running while every host flushes; what each host had acknowledged before it sent
    /// its flush must survive. Right after the flushes complete, with every host's queue full, the controller is
    /// killed (SIGKILL) and a new one starts on the same file.</summary>
    private async Task<string> RestartAsync()
    {
        using var stop = new CancellationTokenSource();
        foreach (var h in _hosts)
        {
            h.ExpectFailures = true;
        }

        var running = Task.WhenAll(_hosts.Select(h => h.RunAsync(stop.Token)));
        await Task.Delay(250).ConfigureAwait(false);
        var durable = _hosts.Select(h => h.Snapshot()).ToArray();
        await Task.WhenAll(_hosts.Select(h => h.FlushAsync())).ConfigureAwait(false);
        _controller!.Kill();
        await _controller.WaitForExitAsync().ConfigureAwait(false);
        stop.Cancel();
        await running.ConfigureAwait(false);
        long failed = _hosts.Sum(h => h.FailedAtRestart);
        foreach (var h in _hosts)
        {
            h.ExpectFailures = false;
            await h.DisconnectAsync().ConfigureAwait(false);
        }

        StartController();
        await ConnectAllAsync().ConfigureAwait(false);
        var found = await Task.WhenAll(_hosts.Select((h, i) => h.CheckDurableAsync(durable[i]))).ConfigureAwait(false);
        long survived = found.Sum(f => f.Survived), newer = found.Sum(f => f.Newer);
        return $"restart: controller killed right after the flushes, with I/O in flight ({failed} I/Os failed on the hosts, as the kill makes them); " +
               $"after the restart every block acknowledged before its host's flush came back: {survived:N0} as flushed, {newer:N0} with a later write that also landed; " +
               $"lost {found.Sum(f => f.Lost)}, corrupt {found.Sum(f => f.Corrupt)}";
    }

    private void StartController()
    {
        var psi = Program.ChildStartInfo("--serve", "--hosts", options.Hosts.ToString(CultureInfo.InvariantCulture), "--mib", options.Mib.ToString(CultureInfo.InvariantCulture),
            "--port", _endpoint.Port.ToString(CultureInfo.InvariantCulture));
        // The controller runs until its standard input closes.
        psi.RedirectStandardInput = true;
        if (options.File is not null)
        {
            psi.ArgumentList.Add("--file");
            psi.ArgumentList.Add(options.File);
        }

        _controller = Process.Start(psi) ?? throw new InvalidOperationException("Cannot start the controller process.");
        string? line = _controller.StandardOutput.ReadLine();
        if (line is null || !line.StartsWith("PORT ", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"The controller process did not start: {line}");
        }

        // The same port after a restart: the hosts reconnect where they were.
        _endpoint = new IPEndPoint(IPAddress.Loopback, int.Parse(line.AsSpan(5), CultureInfo.InvariantCulture));
    }

    private async Task SampleMemoryAsync(Stopwatch clock, CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                long kib = ReadRssKib(_controller);
                double at = clock.Elapsed.TotalSeconds / options.Seconds;
                _peakRssKib = Math.Max(_peakRssKib, kib);
                if (at <= 0.25)
                {
                    _firstQuarterPeakKib = Math.Max(_firstQuarterPeakKib, kib);
                }
                else if (at >= 0.75)
                {
                    _lastQuarterPeakKib = Math.Max(_lastQuarterPeakKib, kib);
                }

                await Task.Delay(250, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static long ReadRssKib(Process? p)
    {
        try
        {
            foreach (string line in File.ReadLines($"/proc/{p?.Id}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
        }

        return 0;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var h in _hosts)
        {
            await h.DisconnectAsync().ConfigureAwait(false);
        }

        if (_controller is { HasExited: false })
        {
            _controller.StandardInput.Close();
            if (!_controller.WaitForExit(5000))
            {
                _controller.Kill();
            }
        }

        _controller?.Dispose();
    }
}
