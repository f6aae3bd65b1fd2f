using System.Diagnostics;
using NvmePS.Engine;

namespace NvmePS.Bench;

/// <summary>Prints throughput figures; run with: dotnet run -c Release --project bench/NvmePS.Bench</summary>
internal static class Program
{
    private static void Main()
    {
        byte[] data = new byte[1 << 20];
        new Random(1).NextBytes(data);
        uint sink = 0;
        for (int i = 0; i < 64; i++)
        {
            sink ^= Crc32C.Compute(data);
        }

        var sw = Stopwatch.StartNew();
        long bytes = 0;
        while (sw.ElapsedMilliseconds < 1000)
        {
            sink ^= Crc32C.Compute(data);
            bytes += data.Length;
        }

        Console.WriteLine($"crc32c: {bytes / sw.Elapsed.TotalSeconds / 1e9:F2} GB/s per core (checksum {sink:X8})");
    }
}
