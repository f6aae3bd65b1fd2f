using System.Globalization;

namespace NvmePS.Engine.Fabrics.Controller;

/// <summary>
/// A namespace described in one string, so front ends (cmdlets, the console) pass user input straight through:
/// <c>memory:SIZE</c> for a thin in-memory namespace, or <c>PATH</c> / <c>file:PATH</c> for a file, each optionally
/// followed by <c>,size=SIZE</c> (files only: create or extend the file), <c>,bs=512|4096</c>, <c>,nsid=N</c>, <c>,ro</c>.
/// SIZE takes K, M, G, T suffixes (powers of 1024, "KiB"/"KB" spellings too). A comma inside a path is written twice
/// (<c>/data/a,,b.img</c> is the file <c>/data/a,b.img</c>), as qemu's option syntax does.
/// The parser is strict: an unknown <c>type:</c> prefix, an option given twice, <c>size=</c> on a memory namespace and
/// any value out of range are errors that quote the offending part.
/// Examples: <c>memory:1G</c>, <c>memory:64M,bs=4096,nsid=3</c>, <c>/var/tmp/disk.img,size=10G</c>, <c>file:/dev/loop0,ro</c>.
/// </summary>
public sealed partial record NvmeNamespaceSpec(string? Path, long? Size, int BlockSize = 512, uint Nsid = 0, bool ReadOnly = false)
{
    /// <summary>The largest in-memory namespace (its page table stays small; the data is allocated as written).</summary>
    public const long MaxMemorySize = 1L << 40;

    /// <summary>The smallest namespace the target serves.</summary>
    public const long MinSize = 4096;

    /// <summary>True for an in-memory namespace.</summary>
    public bool IsMemory => Path is null;

    /// <exception cref="FormatException">The spec is malformed; the message quotes the bad part.</exception>
    public static NvmeNamespaceSpec Parse(string text, Func<string, bool>? isPathPrefix = null)
    {
        if (!TryParse(text, out var spec, out string? error, isPathPrefix))
        {
            throw new FormatException(error);
        }

        return spec!;
    }

    /// <summary>Parses a spec. <paramref name="isPathPrefix"/> says whether a <c>name:</c> prefix other than memory and
    /// file starts a path (PowerShell drives such as <c>TestDrive:</c>); without it such a prefix is an error, because
    /// it is far more often a misspelt <c>memory:</c> than a file name.</summary>
    public static bool TryParse(string? text, out NvmeNamespaceSpec? spec, out string? error, Func<string, bool>? isPathPrefix = null)
    {
        spec = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "A namespace is 'memory:SIZE', 'file:PATH' or a file path.";
            return false;
        }

        List<string> parts = SplitFields(text);
        string head = parts[0].Trim();
        string? path = null;
        long? size = null;
        if (head.StartsWith("memory:", StringComparison.OrdinalIgnoreCase))
        {
            string sizeText = head["memory:".Length..];
            if (!TryParseSize(sizeText, out long s))
            {
                error = $"'{head}': '{sizeText}' is not a size (for example 512M or 1G).";
                return false;
            }

            if (s > MaxMemorySize)
            {
                error = $"'{head}': an in-memory namespace is at most {MaxMemorySize >> 40} TiB; use a file for more.";
                return false;
            }

            size = s;
        }
        else if (head.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
        {
            path = head["file:".Length..];
        }
        else
        {
            var prefix = TypePrefix().Match(head);
            if (prefix.Success && !(isPathPrefix?.Invoke(prefix.Groups[1].Value) ?? false))
            {
                error = $"'{prefix.Value}' in '{head}' is not a namespace type: write memory:SIZE, file:PATH or a path (./{head} for a file of that name).";
                return false;
            }

            path = head;
        }

        if (path is { Length: 0 })
        {
            error = $"'{head}': the file path is empty.";
            return false;
        }

        int? blockSize = null;
        uint? nsid = null;
        bool? readOnly = null;
        long? fileSize = null;
        foreach (string raw in parts.Skip(1))
        {
            string option = raw.Trim();
            int eq = option.IndexOf('=', StringComparison.Ordinal);
            string key = (eq < 0 ? option : option[..eq]).Trim().ToLowerInvariant();
            string value = eq < 0 ? string.Empty : option[(eq + 1)..].Trim();
            bool repeated = key switch
            {
                "size" => fileSize is not null,
                "bs" or "blocksize" => blockSize is not null,
                "nsid" => nsid is not null,
                "ro" or "readonly" => readOnly is not null,
                _ => false,
            };
            if (repeated)
            {
                error = $"'{option}': the option '{key}' is given twice in '{text}'.";
                return false;
            }

            switch (key)
            {
                case "size" when path is null:
                    error = $"'{option}': a memory namespace takes its size after 'memory:'; size= sizes a file.";
                    return false;
                case "size":
                    if (!TryParseSize(value, out long s))
                    {
                        error = $"'{option}': '{value}' is not a size (for example 512M or 1G).";
                        return false;
                    }

                    fileSize = s;
                    break;
                case "bs" or "blocksize":
                    if (value is not ("512" or "4096"))
                    {
                        error = $"'{option}': the block size is 512 or 4096.";
                        return false;
                    }

                    blockSize = int.Parse(value, CultureInfo.InvariantCulture);
                    break;
                case "nsid":
                    if (!uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out uint n) || n is 0 or 0xFFFFFFFF)
                    {
                        error = $"'{option}': an NSID is 1 to 4294967294.";
                        return false;
                    }

                    nsid = n;
                    break;
                case "ro" or "readonly":
                    if (value.Length != 0)
                    {
                        error = $"'{option}': '{key}' takes no value.";
                        return false;
                    }

                    readOnly = true;
                    break;
                default:
                    error = $"'{option}' is not a namespace option (size=SIZE, bs=512|4096, nsid=N, ro).";
                    return false;
            }
        }

        size ??= fileSize;
        int bs = blockSize ?? 512;
        if (size is { } sz && (sz < MinSize || sz % bs != 0))
        {
            error = $"'{text}': the size {sz} bytes must be at least {MinSize} and a multiple of the block size {bs}.";
            return false;
        }

        if (path is null && readOnly == true)
        {
            error = $"'{text}': an in-memory namespace cannot be read-only (it would always read zeroes).";
            return false;
        }

        spec = new NvmeNamespaceSpec(path, size, bs, nsid ?? 0, readOnly ?? false);
        error = null;
        return true;
    }

    /// <summary>Splits at single commas; a doubled comma is a literal one.</summary>
    private static List<string> SplitFields(string text)
    {
        var fields = new List<string>();
        var current = new System.Text.StringBuilder();
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] != ',')
            {
                current.Append(text[i]);
            }
            else if (i + 1 < text.Length && text[i + 1] == ',')
            {
                current.Append(',');
                i++;
            }
            else
            {
                fields.Add(current.ToString());
                current.Clear();
            }
        }

        fields.Add(current.ToString());
        return fields;
    }

    [System.Text.RegularExpressions.GeneratedRegex("^([A-Za-z][A-Za-z0-9_-]+):")]
    private static partial System.Text.RegularExpressions.Regex TypePrefix();

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
        string head = IsMemory ? $"memory:{Size}" : Path!.Replace(",", ",,", StringComparison.Ordinal);
        if (!IsMemory && (TypePrefix().IsMatch(head) || head.StartsWith("memory:", StringComparison.OrdinalIgnoreCase)))
        {
            head = "file:" + head;
        }

        return head + (IsMemory || Size is null ? string.Empty : $",size={Size}") + (BlockSize != 512 ? $",bs={BlockSize}" : string.Empty)
            + (Nsid != 0 ? $",nsid={Nsid}" : string.Empty) + (ReadOnly ? ",ro" : string.Empty);
    }
}

/// <summary>A namespace spec that parses but cannot be served (a directory, a file too small); names the spec.</summary>
public sealed class NvmeNamespaceSpecException : FormatException
{
    public NvmeNamespaceSpecException(string spec, string message, Exception? inner = null)
        : base(message, inner)
    {
        Spec = spec;
    }

    /// <summary>The spec as given.</summary>
    public string Spec { get; }
}
