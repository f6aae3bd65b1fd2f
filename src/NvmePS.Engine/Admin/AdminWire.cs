using System.Text;

namespace NvmePS.Engine.Admin;

/// <summary>Helpers for the fixed-width text fields of Admin data structures.</summary>
internal static class AdminWire
{
    /// <summary>Reads an ASCII field padded with spaces (SN, MN, FR) or NULs (SUBNQN), trailing padding removed.</summary>
    public static string ReadAscii(ReadOnlySpan<byte> field)
    {
        int end = field.IndexOf((byte)0);
        if (end >= 0)
        {
            field = field[..end];
        }

        // Non-printable bytes are shown as '?', never passed through: these strings end up in consoles and logs.
        Span<char> chars = field.Length <= 256 ? stackalloc char[field.Length] : new char[field.Length];
        for (int i = 0; i < field.Length; i++)
        {
            byte b = field[i];
            chars[i] = b is >= 0x20 and < 0x7F ? (char)b : '?';
        }

        return new string(chars).TrimEnd(' ');
    }

    /// <summary>Writes <paramref name="value"/> as ASCII into <paramref name="field"/>, padded with <paramref name="pad"/>;
    /// throws when it does not fit or is not ASCII.</summary>
    public static void WriteAscii(Span<byte> field, string? value, byte pad)
    {
        value ??= string.Empty;
        if (value.Length > field.Length)
        {
            throw new ArgumentException($"'{value}' is longer than the {field.Length}-byte field.", nameof(value));
        }

        if (!Ascii.IsValid(value))
        {
            throw new ArgumentException($"'{value}' is not ASCII.", nameof(value));
        }

        field.Fill(pad);
        Encoding.ASCII.GetBytes(value, field);
    }

    public static byte[] CopyOrZero(byte[]? value, int length, string name)
    {
        if (value is null)
        {
            return new byte[length];
        }

        if (value.Length != length)
        {
            throw new ArgumentException($"{name} must be {length} bytes.", name);
        }

        return value;
    }
}
