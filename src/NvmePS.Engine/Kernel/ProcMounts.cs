namespace NvmePS.Engine.Kernel;

/// <summary>
/// The kernel's mount table, /proc/mounts (proc(5)): one mount per line, "source target fstype options 0 0", with
/// spaces inside a field written as \040, so splitting on ' ' is exact. Read by nvmet (is configfs mounted?) and by
/// disconnect (is a block device of this controller mounted?).
/// </summary>
public static class ProcMounts
{
    public const string DefaultPath = "/proc/mounts";

    /// <summary>Every mount as (source, target, type); nothing when the file is absent.</summary>
    public static IEnumerable<(string Source, string Target, string Type)> Read(string path = DefaultPath)
    {
        if (!File.Exists(path))
        {
            yield break;
        }

        foreach (string line in File.ReadLines(path))
        {
            string[] f = line.Split(' ');
            if (f.Length > 2)
            {
                yield return (f[0], f[1], f[2]);
            }
        }
    }

    /// <summary>True when a file system of <paramref name="type"/> is mounted at <paramref name="target"/>.</summary>
    public static bool IsMounted(string type, string target, string path = DefaultPath) =>
        Read(path).Any(m => m.Type == type && m.Target == target);

    /// <summary>Mount sources that are one of <paramref name="blockDevices"/> (/dev/nvme1n1) or a partition of one
    /// (/dev/nvme1n1p2).</summary>
    public static IReadOnlyList<string> SourcesOn(IEnumerable<string> blockDevices, string path = DefaultPath)
    {
        var devices = blockDevices.ToList();
        return Read(path).Select(m => m.Source).Where(source => devices.Any(d => source == d
            || (source.Length > d.Length + 1 && source.StartsWith(d + "p", StringComparison.Ordinal) && char.IsAsciiDigit(source[d.Length + 1]))))
            .ToList();
    }
}
