using System.Globalization;

namespace NvmePS.Engine.Fabrics.Controller;

/// <summary>
/// A namespace described in one string, so front ends (cmdlets, the console) pass user input straight through:
/// <c>memory:SIZE</c> for a thin in-memory namespace, or <c>PATH</c> / <c>file:PATH</c> for a file, each optionally
/// followed by <c>,size=SIZE</c> (create or extend the file), <c>,bs=512|4096</c>, <c>,nsid=N</c>, <c>,ro</c>.
/// SIZE takes K, M, G, T suffixes (powers of 1024, "KiB"/"KB" spellings too).
/// Examples: <c>memory:1G</c>, <c>memory:64M,bs=4096,nsid=3</c>, <c>/var/tmp/disk.img,size=10G</c>, <c>file:/dev/loop0,ro</c>.
/// </summary>
public sealed record NvmeNamespaceSpec(string? Path, long? Size, int BlockSize = 512, uint Nsid = 0, bool ReadOnly = false)
{
    /// <summary>True for an in-memory namespace.</summary>
    public bool IsMemory => Path is null;

    public static NvmeNamespaceSpec Parse(string text)
    {
        if (!TryParse(text, out var spec, out string? error))
        {
            throw new FormatException(error);
        }

        return spec!;
    }

    public static bool TryParse(string? text, out NvmeNamespaceSpec? spec, out string? error)
    {
        spec = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "A namespace is 'memory:SIZE' or a file path.";
            return false;
        }

        string[] parts = text.Split(',');
        string head = parts[0].Trim();
        string? path = null;
        long? size = null;
        if (head.StartsWith("memory:", StringComparison.OrdinalIgnoreCase))
        {
            if (!TryParseSize(head["memory:".Length..], out long s))
            {
                error = $"'{head}': the size after 'memory:' is not a size (e.g. 512M, 1G).";
                return false;
            }

            size = s;
        }
        else
        {
            path = head.StartsWith("file:", StringComparison.OrdinalIgnoreCase) ? head["file:".Length..] : head;
            if (path.Length == 0)
            {
                error = "The file path is empty.";
                return false;
            }
        }

        int blockSize = 512;
        uint nsid = 0;
        bool readOnly = false;
        foreach (string raw in parts.Skip(1))
        {
            string option = raw.Trim();
            int eq = option.IndexOf('=', StringComparison.Ordinal);
            string key = (eq < 0 ? option : option[..eq]).Trim().ToLowerInvariant();
            string value = eq < 0 ? string.Empty : option[(eq + 1)..].Trim();
            switch (key)
            {
                case "size" when TryParseSize(value, out long s):
                    size = s;
                    break;
                case "bs" or "blocksize" when value is "512" or "4096":
                    blockSize = int.Parse(value, CultureInfo.InvariantCulture);
                    break;
                case "nsid" when uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out uint n) && n is > 0 and < 0xFFFFFFFF:
                    nsid = n;
                    break;
                case "ro" or "readonly" when value.Length == 0:
                    readOnly = true;
                    break;
                default:
                    error = $"'{option}' is not a namespace option (size=SIZE, bs=512|4096, nsid=N, ro).";
                    return false;
            }
        }

        if (size is { } sz && (sz < 4096 || sz % blockSize != 0))
        {
            error = $"Size {sz} must be at least 4096 bytes and a multiple of the block size {blockSize}.";
            return false;
        }

        if (path is null && readOnly)
        {
            error = "An in-memory namespace cannot be read-only (it would always read zeroes).";
            return false;
        }

        spec = new NvmeNamespaceSpec(path, size, blockSize, nsid, readOnly);
        error = null;
        return true;
    }

    /// <summary>Parses "4096", "512K", "64MiB", "1G", "2TB" (powers of 1024).</summary>
    public static bool TryParseSize(string text, out long bytes)
    {
        bytes = 0;
        text = text.Trim();
        int end = 0;
        while (end < text.Length && char.IsAsciiDigit(text[end]))
        {
            end++;
        }

        if (end == 0 || !long.TryParse(text.AsSpan(0, end), NumberStyles.None, CultureInfo.InvariantCulture, out long n))
        {
            return false;
        }

        int shift = text[end..].Trim().ToUpperInvariant() switch
        {
            "" or "B" => 0,
            "K" or "KB" or "KIB" => 10,
            "M" or "MB" or "MIB" => 20,
            "G" or "GB" or "GIB" => 30,
            "T" or "TB" or "TIB" => 40,
            _ => -1,
        };
        if (shift < 0 || n > (long.MaxValue >> shift))
        {
            return false;
        }

        bytes = n << shift;
        return true;
    }

    public override string ToString()
    {
        string head = IsMemory ? $"memory:{Size}" : Path!;
        return head + (IsMemory || Size is null ? string.Empty : $",size={Size}") + (BlockSize != 512 ? $",bs={BlockSize}" : string.Empty)
            + (Nsid != 0 ? $",nsid={Nsid}" : string.Empty) + (ReadOnly ? ",ro" : string.Empty);
    }
}
