using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;

namespace NvmePS.Engine.Fabrics.Auth;

/// <summary>The computations of DH-HMAC-CHAP (NVMe Base 2.0 §8.13.4): HMACs, the responses, the augmented challenge and
/// the finite-field Diffie-Hellman exchange of RFC 7919.</summary>
public static class DhchapCrypto
{
    private static readonly byte[] HostLiteral = "HostHost"u8.ToArray();
    private static readonly byte[] ControllerLiteral = "Controller"u8.ToArray();
    private static readonly Dictionary<DhchapGroup, BigInteger> Primes = new()
    {
        [DhchapGroup.Ffdhe2048] = ParseHex(FfdheGroups.Ffdhe2048PrimeHex),
        [DhchapGroup.Ffdhe3072] = ParseHex(FfdheGroups.Ffdhe3072PrimeHex),
        [DhchapGroup.Ffdhe4096] = ParseHex(FfdheGroups.Ffdhe4096PrimeHex),
        [DhchapGroup.Ffdhe6144] = ParseHex(FfdheGroups.Ffdhe6144PrimeHex),
        [DhchapGroup.Ffdhe8192] = ParseHex(FfdheGroups.Ffdhe8192PrimeHex),
    };

    public static int HashLength(DhchapHash hash) => AuthMessageHeader.HashLength(hash);

    public static bool IsKnown(DhchapHash hash) => HashLength(hash) != 0;

    public static bool IsKnown(DhchapGroup group) => group == DhchapGroup.Null || Primes.ContainsKey(group);

    /// <summary>The group's prime as big-endian bytes (its length is the DH value length, DHVLEN).</summary>
    public static byte[] Prime(DhchapGroup group) => ToFixed(Primes[group], PrimeLength(group));

    public static int PrimeLength(DhchapGroup group) => group == DhchapGroup.Null ? 0 : (int)((Primes[group].GetBitLength() + 7) / 8);

    public static byte[] Hash(DhchapHash hash, ReadOnlySpan<byte> data) => hash switch
    {
        DhchapHash.Sha256 => SHA256.HashData(data),
        DhchapHash.Sha384 => SHA384.HashData(data),
        DhchapHash.Sha512 => SHA512.HashData(data),
        _ => throw new ArgumentOutOfRangeException(nameof(hash)),
    };

    public static byte[] Hmac(DhchapHash hash, ReadOnlySpan<byte> key, ReadOnlySpan<byte> data) => hash switch
    {
        DhchapHash.Sha256 => HMACSHA256.HashData(key, data),
        DhchapHash.Sha384 => HMACSHA384.HashData(key, data),
        DhchapHash.Sha512 => HMACSHA512.HashData(key, data),
        _ => throw new ArgumentOutOfRangeException(nameof(hash)),
    };

    /// <summary>Ca = HMAC(H(g^xy mod p), C): the challenge bound to the DH exchange (§8.13.4.3); the shared secret is
    /// hashed at the prime's full length.</summary>
    public static byte[] AugmentChallenge(DhchapHash hash, ReadOnlySpan<byte> sharedSecret, ReadOnlySpan<byte> challenge) =>
        Hmac(hash, Hash(hash, sharedSecret), challenge);

    /// <summary>R1 = HMAC(Kh, Ca || SEQNUM || T_ID || SC_C || "HostHost" || HostNQN || 00h || SubNQN).</summary>
    public static byte[] HostResponse(DhchapHash hash, ReadOnlySpan<byte> hostKey, ReadOnlySpan<byte> challenge, uint sequenceNumber, ushort transactionId,
        byte scC, string hostNqn, string subsystemNqn) =>
        Response(hash, hostKey, challenge, sequenceNumber, transactionId, scC, HostLiteral, hostNqn, subsystemNqn);

    /// <summary>R2 = HMAC(Kc, Ca2 || SEQNUM || T_ID || SC_C || "Controller" || SubNQN || 00h || HostNQN).</summary>
    public static byte[] ControllerResponse(DhchapHash hash, ReadOnlySpan<byte> controllerKey, ReadOnlySpan<byte> challenge, uint sequenceNumber, ushort transactionId,
        byte scC, string hostNqn, string subsystemNqn) =>
        Response(hash, controllerKey, challenge, sequenceNumber, transactionId, scC, ControllerLiteral, subsystemNqn, hostNqn);

    private static byte[] Response(DhchapHash hash, ReadOnlySpan<byte> key, ReadOnlySpan<byte> challenge, uint sequenceNumber, ushort transactionId, byte scC,
        byte[] literal, string firstNqn, string secondNqn)
    {
        byte[] first = Encoding.ASCII.GetBytes(firstNqn);
        byte[] second = Encoding.ASCII.GetBytes(secondNqn);
        byte[] m = new byte[challenge.Length + 4 + 2 + 1 + literal.Length + first.Length + 1 + second.Length];
        int o = 0;
        challenge.CopyTo(m);
        o += challenge.Length;
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(o), sequenceNumber);
        o += 4;
        BinaryPrimitives.WriteUInt16LittleEndian(m.AsSpan(o), transactionId);
        o += 2;
        m[o++] = scC;
        literal.CopyTo(m, o);
        o += literal.Length;
        first.CopyTo(m, o);
        o += first.Length + 1; // 00h between the NQNs
        second.CopyTo(m, o);
        return Hmac(hash, key, m);
    }

    /// <summary>A fresh DH key pair: a private exponent of 256 bits (ffdhe2048/3072) or 512 bits (larger groups), as
    /// SP 800-56A sizes it for the group's strength, and the public value g^x mod p at the prime's length.</summary>
    public static (byte[] PrivateKey, byte[] PublicValue) GenerateKeyPair(DhchapGroup group)
    {
        var p = Primes[group];
        int bytes = group is DhchapGroup.Ffdhe2048 or DhchapGroup.Ffdhe3072 ? 32 : 64;
        BigInteger x;
        byte[] priv;
        do
        {
            priv = RandomNumberGenerator.GetBytes(bytes);
            x = new BigInteger(priv, isUnsigned: true, isBigEndian: true);
        }
        while (x < 2);

        return (priv, ToFixed(BigInteger.ModPow(2, x, p), PrimeLength(group)));
    }

    /// <summary>True when a peer's public value is the prime's length and 1 &lt; y &lt; p-1 (values that would
    /// force a known shared secret are refused).</summary>
    public static bool IsValidPublicValue(DhchapGroup group, ReadOnlySpan<byte> value)
    {
        if (value.Length != PrimeLength(group))
        {
            return false;
        }

        var y = new BigInteger(value, isUnsigned: true, isBigEndian: true);
        return y > 1 && y < Primes[group] - 1;
    }

    /// <summary>The shared secret y^x mod p, big-endian at the prime's length.</summary>
    public static byte[] SharedSecret(DhchapGroup group, ReadOnlySpan<byte> privateKey, ReadOnlySpan<byte> peerPublicValue)
    {
        var p = Primes[group];
        var x = new BigInteger(privateKey, isUnsigned: true, isBigEndian: true);
        var y = new BigInteger(peerPublicValue, isUnsigned: true, isBigEndian: true);
        return ToFixed(BigInteger.ModPow(y, x, p), PrimeLength(group));
    }

    /// <summary>A random non-zero 32-bit sequence number.</summary>
    public static uint NewSequenceNumber()
    {
        uint s;
        do
        {
            s = BinaryPrimitives.ReadUInt32LittleEndian(RandomNumberGenerator.GetBytes(4));
        }
        while (s == 0);

        return s;
    }

    private static byte[] ToFixed(BigInteger v, int length)
    {
        byte[] raw = v.ToByteArray(isUnsigned: true, isBigEndian: true);
        if (raw.Length == length)
        {
            return raw;
        }

        byte[] padded = new byte[length];
        raw.CopyTo(padded, length - raw.Length);
        return padded;
    }

    private static BigInteger ParseHex(string hex) => BigInteger.Parse("0" + hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
}
