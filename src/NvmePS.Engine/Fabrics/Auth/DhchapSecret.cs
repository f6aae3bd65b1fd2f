using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace NvmePS.Engine.Fabrics.Auth;

/// <summary>
/// A DH-HMAC-CHAP secret in the representation NVMe Base 2.0 §8.13.5.8 defines and nvme-cli's gen-dhchap-key writes:
/// <c>DHHC-1:hh:base64(key || CRC-32):</c>, where hh names the hash (00 none, 01 SHA-256, 02 SHA-384, 03 SHA-512) that
/// transforms the key with the NQN before use, and the CRC-32 (IEEE, little-endian) guards the key. The key never
/// appears in <see cref="ToString"/>, messages or exceptions; <see cref="Reveal"/> is the one way to get the text back.
/// </summary>
public sealed class DhchapSecret
{
    private const string Prefix = "DHHC-1:";
    private static readonly byte[] TransformSeed = "NVMe-over-Fabrics"u8.ToArray();
    private readonly byte[] _key;

    private DhchapSecret(byte transformHash, byte[] key)
    {
        TransformHash = transformHash;
        _key = key;
    }

    /// <summary>hh: 0 (use the key as is) or the <see cref="DhchapHash"/> that transforms it.</summary>
    public byte TransformHash { get; }

    /// <summary>Key length in bytes: 32, 48 or 64.</summary>
    public int KeyLength => _key.Length;

    /// <summary>Parses the DHHC-1 text; false with a reason (never the key) when it is not one.</summary>
    public static bool TryParse(string? text, out DhchapSecret secret, out string error)
    {
        secret = null!;
        text = text?.Trim();
        if (string.IsNullOrEmpty(text) || !text.StartsWith(Prefix, StringComparison.Ordinal) || text.Length < Prefix.Length + 4 || text[Prefix.Length + 2] != ':')
        {
            error = "A DH-HMAC-CHAP secret has the form DHHC-1:<hh>:<base64>: (as nvme gen-dhchap-key writes it).";
            return false;
        }

        if (!byte.TryParse(text.AsSpan(Prefix.Length, 2), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out byte hh) || hh > 3)
        {
            error = "The secret's hash indicator (hh) must be 00, 01, 02 or 03.";
            return false;
        }

        string body = text[(Prefix.Length + 3)..];
        if (!body.EndsWith(':'))
        {
            error = "The secret must end with ':'.";
            return false;
        }

        byte[] raw = new byte[68 + 3];
        if (!Convert.TryFromBase64String(body[..^1], raw, out int n) || n is not (36 or 52 or 68))
        {
            error = "The secret's base64 part must decode to a 32-, 48- or 64-byte key followed by its CRC-32.";
            return false;
        }

        var key = raw.AsSpan(0, n - 4);
        if (BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(n - 4)) != Crc32Ieee(key))
        {
            CryptographicOperations.ZeroMemory(raw);
            error = "The secret's CRC-32 does not match its key: it was mistyped or truncated.";
            return false;
        }

        secret = new DhchapSecret(hh, key.ToArray());
        CryptographicOperations.ZeroMemory(raw);
        error = string.Empty;
        return true;
    }

    public static DhchapSecret Parse(string text) =>
        TryParse(text, out var s, out string error) ? s : throw new FormatException(error);

    /// <summary>A new secret as <c>nvme gen-dhchap-key</c> makes one: <paramref name="key"/> (or random bytes) of
    /// <paramref name="keyLength"/>; with a hash, the stored key is already transformed with <paramref name="nqn"/>, as
    /// nvme-cli 2.x does (the peer transforms it again with hh, so either form authenticates).</summary>
    public static DhchapSecret Generate(int keyLength = 32, byte transformHash = 0, string? nqn = null, ReadOnlySpan<byte> key = default)
    {
        if (keyLength is not (32 or 48 or 64))
        {
            throw new ArgumentOutOfRangeException(nameof(keyLength), "The key length must be 32, 48 or 64 bytes.");
        }

        if (transformHash > 3)
        {
            throw new ArgumentOutOfRangeException(nameof(transformHash), "The hash must be 0 (none), 1 (SHA-256), 2 (SHA-384) or 3 (SHA-512).");
        }

        if (!key.IsEmpty && key.Length != keyLength)
        {
            throw new ArgumentException($"The given key is {key.Length} bytes, not {keyLength}.", nameof(key));
        }

        if (transformHash != 0 && keyLength != DhchapCrypto.HashLength((DhchapHash)transformHash))
        {
            // The transform's output is the hash's length (as nvme gen-dhchap-key insists).
            throw new ArgumentException($"A key transformed with {(DhchapHash)transformHash} is {DhchapCrypto.HashLength((DhchapHash)transformHash)} bytes, not {keyLength}.");
        }

        byte[] bytes = key.IsEmpty ? RandomNumberGenerator.GetBytes(keyLength) : key.ToArray();
        if (transformHash != 0)
        {
            ArgumentException.ThrowIfNullOrEmpty(nqn);
            byte[] transformed = Transform(transformHash, bytes, nqn);
            CryptographicOperations.ZeroMemory(bytes);
            bytes = transformed;
        }

        return new DhchapSecret(transformHash, bytes);
    }

    /// <summary>The DHHC-1 text, key included: for writing a key file or configfs, never for logs.</summary>
    public string Reveal()
    {
        byte[] raw = new byte[_key.Length + 4];
        _key.CopyTo(raw, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(raw.AsSpan(_key.Length), Crc32Ieee(_key));
        string text = $"{Prefix}{TransformHash:D2}:{Convert.ToBase64String(raw)}:";
        CryptographicOperations.ZeroMemory(raw);
        return text;
    }

    /// <summary>The key as used in the HMAC: HMAC-hh(key, NQN || "NVMe-over-Fabrics") for hh 01-03, the key itself for
    /// 00 (NVMe Base 2.0 §8.13.5.7). The host key uses the host NQN, the controller key the subsystem NQN.</summary>
    internal byte[] KeyFor(string nqn) => TransformHash == 0 ? (byte[])_key.Clone() : Transform(TransformHash, _key, nqn);

    public override string ToString() => $"{Prefix}{TransformHash:D2}:<{_key.Length}-byte key hidden>:";

    private static byte[] Transform(byte hash, byte[] key, string nqn)
    {
        byte[] message = [.. Encoding.ASCII.GetBytes(nqn), .. TransformSeed];
        return DhchapCrypto.Hmac((DhchapHash)hash, key, message);
    }

    /// <summary>CRC-32 as zlib computes it (reflected polynomial EDB88320h, initial and final XOR FFFFFFFFh).</summary>
    internal static uint Crc32Ieee(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
            }
        }

        return ~crc;
    }
}
