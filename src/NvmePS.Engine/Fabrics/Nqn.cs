using System.Text;

namespace NvmePS.Engine.Fabrics;

/// <summary>NVMe Qualified Names in fixed 256-byte fields (NVMe Base 2.0 §4.5): UTF-8, at most 223 bytes, NUL-terminated.</summary>
public static class Nqn
{
    /// <summary>Largest NQN in bytes, without the NUL.</summary>
    public const int MaxLength = 223;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>An NQN of the UUID form, "nqn.2014-08.org.nvmexpress:uuid:&lt;uuid&gt;" (NVMe Base 2.0 §4.5).</summary>
    public static string FromUuid(Guid uuid) => "nqn.2014-08.org.nvmexpress:uuid:" + uuid.ToString("D");

    /// <summary>True when <paramref name="nqn"/> fits the field and looks like "nqn.yyyy-mm.domain[:...]".</summary>
    public static bool IsWellFormed(string nqn)
    {
        if (string.IsNullOrEmpty(nqn) || nqn.Contains('\0', StringComparison.Ordinal) || Encoding.UTF8.GetByteCount(nqn) > MaxLength)
        {
            return false;
        }

        // "nqn." + 4-digit year + "-" + 2-digit month + "." + at least one character.
        return nqn.Length > 12 && nqn.StartsWith("nqn.", StringComparison.Ordinal)
            && char.IsAsciiDigit(nqn[4]) && char.IsAsciiDigit(nqn[5]) && char.IsAsciiDigit(nqn[6]) && char.IsAsciiDigit(nqn[7])
            && nqn[8] == '-' && char.IsAsciiDigit(nqn[9]) && char.IsAsciiDigit(nqn[10]) && nqn[11] == '.';
    }

    /// <summary>Writes <paramref name="nqn"/> NUL-terminated and NUL-padded into <paramref name="field"/>.</summary>
    public static void Write(string nqn, Span<byte> field)
    {
        ArgumentNullException.ThrowIfNull(nqn);
        if (nqn.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("An NQN cannot contain NUL.", nameof(nqn));
        }

        int n = Encoding.UTF8.GetByteCount(nqn);
        if (n > MaxLength || n >= field.Length)
        {
            throw new ArgumentException($"NQN is {n} bytes; at most {MaxLength} fit.", nameof(nqn));
        }

        field.Clear();
        Encoding.UTF8.GetBytes(nqn, field);
    }

    /// <summary>Reads a NUL-terminated NQN; fails on a missing NUL within 224 bytes, an empty name, or invalid UTF-8.</summary>
    public static bool TryRead(ReadOnlySpan<byte> field, out string? nqn, out string? reason)
    {
        nqn = null;
        int nul = field[..Math.Min(field.Length, MaxLength + 1)].IndexOf((byte)0);
        if (nul < 0)
        {
            reason = "no NUL terminator within 224 bytes";
            return false;
        }

        if (nul == 0)
        {
            reason = "empty";
            return false;
        }

        try
        {
            nqn = StrictUtf8.GetString(field[..nul]);
        }
        catch (DecoderFallbackException)
        {
            reason = "not valid UTF-8";
            return false;
        }

        reason = null;
        return true;
    }
}
