namespace NvmePS.Load;

/// <summary>Latencies in microseconds: 1 µs buckets up to 1 ms, then buckets 1% wide. One per host, merged at the end,
/// so recording takes no lock.</summary>
internal sealed class LatencyHistogram
{
    private const int Linear = 1024;
    private static readonly double LogStep = Math.Log(1.01);
    private readonly long[] _counts = new long[Linear + 1600];

    public long Count { get; private set; }

    public void Record(long microseconds)
    {
        int i = microseconds < Linear ? (int)Math.Max(0, microseconds)
            : Math.Min(_counts.Length - 1, Linear + (int)(Math.Log(microseconds / (double)Linear) / LogStep));
        _counts[i]++;
        Count++;
    }

    public void Add(LatencyHistogram other)
    {
        for (int i = 0; i < _counts.Length; i++)
        {
            _counts[i] += other._counts[i];
        }

        Count += other.Count;
    }

    /// <summary>The latency at <paramref name="quantile"/> (0..1), in microseconds (the bucket's upper edge).</summary>
    public double Percentile(double quantile)
    {
        long rank = (long)Math.Ceiling(quantile * Count);
        long seen = 0;
        for (int i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen >= rank && seen > 0)
            {
                return i < Linear ? i + 1 : Linear * Math.Exp((i - Linear + 1) * LogStep);
            }
        }

        return 0;
    }
}
