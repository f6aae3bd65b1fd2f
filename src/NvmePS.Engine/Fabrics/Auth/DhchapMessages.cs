using System.Buffers.Binary;

namespace NvmePS.Engine.Fabrics.Auth;

/// <summary>The header every authentication message starts with (NVMe Base 2.0 §8.13.5): AUTH_Type byte 0, AUTH_Id
/// byte 1, T_ID bytes 4..5 (little-endian).</summary>
public readonly record struct AuthMessageHeader(AuthMessageType Type, AuthMessageId Id, ushort TransactionId)
{
    public const int TypeOffset = 0;
    public const int IdOffset = 1;
    public const int TransactionIdOffset = 4;
    public const int Size = 6;

    /// <summary>Largest message either side accepts: a Reply with SHA-512 and an ffdhe8192 value is 1168 bytes.</summary>
    public const int MaxMessageSize = 4096;

    public static bool TryRead(ReadOnlySpan<byte> s, out AuthMessageHeader header)
    {
        header = default;
        if (s.Length < 8)
        {
            return false;
        }

        header = new((AuthMessageType)s[TypeOffset], (AuthMessageId)s[IdOffset], BinaryPrimitives.ReadUInt16LittleEndian(s[TransactionIdOffset..]));
        return true;
    }

    public void Write(Span<byte> d)
    {
        d[..8].Clear();
        d[TypeOffset] = (byte)Type;
        d[IdOffset] = (byte)Id;
        BinaryPrimitives.WriteUInt16LittleEndian(d[TransactionIdOffset..], TransactionId);
    }

    internal static int HashLength(DhchapHash hash) => hash switch
    {
        DhchapHash.Sha256 => 32,
        DhchapHash.Sha384 => 48,
        DhchapHash.Sha512 => 64,
        _ => 0,
    };
}

/// <summary>AUTH_Negotiate (NVMe Base 2.0 §8.13.5.1, Figure 427): SC_C byte 6, NAPD byte 7, then 64-byte protocol
/// descriptors (AuthID, HALEN, DHLEN, HashIDList at +4, DHGIDList at +34). This record carries the first descriptor.</summary>
public sealed record AuthNegotiate(ushort TransactionId, byte ScC, byte Napd, byte AuthId, IReadOnlyList<DhchapHash> Hashes, IReadOnlyList<DhchapGroup> Groups)
{
    public const int ScCOffset = 6;
    public const int NapdOffset = 7;
    public const int DescriptorOffset = 8;
    public const int DescriptorSize = 64;
    public const byte DhHmacChapAuthId = 0x01;
    private const int HashListOffset = 4;
    private const int GroupListOffset = 34;
    private const int ListCapacity = 30;

    public int Size => DescriptorOffset + (DescriptorSize * Napd);

    public static AuthNegotiate Offer(ushort transactionId, IReadOnlyList<DhchapHash> hashes, IReadOnlyList<DhchapGroup> groups) =>
        new(transactionId, 0, 1, DhHmacChapAuthId, hashes, groups);

    public byte[] ToArray()
    {
        var d = new byte[DescriptorOffset + DescriptorSize];
        new AuthMessageHeader(AuthMessageType.Common, AuthMessageId.Negotiate, TransactionId).Write(d);
        d[ScCOffset] = ScC;
        d[NapdOffset] = 1;
        var p = d.AsSpan(DescriptorOffset);
        p[0] = AuthId;
        p[2] = (byte)Math.Min(Hashes.Count, ListCapacity);
        p[3] = (byte)Math.Min(Groups.Count, ListCapacity);
        for (int i = 0; i < p[2]; i++)
        {
            p[HashListOffset + i] = (byte)Hashes[i];
        }

        for (int i = 0; i < p[3]; i++)
        {
            p[GroupListOffset + i] = (byte)Groups[i];
        }

        return d;
    }

    /// <summary>Parses a Negotiate; false (with the Failure reason to answer) when it is malformed.</summary>
    public static bool TryRead(ReadOnlySpan<byte> s, out AuthNegotiate message, out AuthFailureReason failure)
    {
        message = null!;
        failure = AuthFailureReason.IncorrectPayload;
        if (!AuthMessageHeader.TryRead(s, out var h) || h.Type != AuthMessageType.Common || h.Id != AuthMessageId.Negotiate)
        {
            failure = AuthFailureReason.IncorrectProtocolMessage;
            return false;
        }

        byte napd = s[NapdOffset];
        if (napd == 0 || s.Length < DescriptorOffset + DescriptorSize)
        {
            return false;
        }

        var p = s.Slice(DescriptorOffset, DescriptorSize);
        if (p[2] > ListCapacity || p[3] > ListCapacity)
        {
            return false;
        }

        var hashes = new DhchapHash[p[2]];
        for (int i = 0; i < hashes.Length; i++)
        {
            hashes[i] = (DhchapHash)p[HashListOffset + i];
        }

        var groups = new DhchapGroup[p[3]];
        for (int i = 0; i < groups.Length; i++)
        {
            groups[i] = (DhchapGroup)p[GroupListOffset + i];
        }

        message = new AuthNegotiate(h.TransactionId, s[ScCOffset], napd, p[0], hashes, groups);
        return true;
    }
}

/// <summary>DH-HMAC-CHAP_Challenge (NVMe Base 2.0 §8.13.5.2, Figure 430): HL byte 6, HashID byte 8, DHGID byte 9, DHVLEN
/// bytes 10..11, SEQNUM bytes 12..15, then C1 (HL bytes) and the controller's DH value (DHVLEN bytes).</summary>
public sealed record DhchapChallenge(ushort TransactionId, DhchapHash Hash, DhchapGroup Group, uint SequenceNumber, byte[] Challenge, byte[] DhValue)
{
    public const int HlOffset = 6;
    public const int HashIdOffset = 8;
    public const int DhgidOffset = 9;
    public const int DhvlenOffset = 10;
    public const int SeqnumOffset = 12;
    public const int ChallengeOffset = 16;

    public byte[] ToArray()
    {
        var d = new byte[ChallengeOffset + Challenge.Length + DhValue.Length];
        new AuthMessageHeader(AuthMessageType.DhHmacChap, AuthMessageId.Challenge, TransactionId).Write(d);
        d[HlOffset] = (byte)Challenge.Length;
        d[HashIdOffset] = (byte)Hash;
        d[DhgidOffset] = (byte)Group;
        BinaryPrimitives.WriteUInt16LittleEndian(d.AsSpan(DhvlenOffset), (ushort)DhValue.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(d.AsSpan(SeqnumOffset), SequenceNumber);
        Challenge.CopyTo(d, ChallengeOffset);
        DhValue.CopyTo(d, ChallengeOffset + Challenge.Length);
        return d;
    }

    /// <summary>Parses a Challenge whose lengths fit <paramref name="s"/> (which may be longer: Receive returns AL bytes).</summary>
    public static bool TryRead(ReadOnlySpan<byte> s, out DhchapChallenge message)
    {
        message = null!;
        if (s.Length < ChallengeOffset || !AuthMessageHeader.TryRead(s, out var h))
        {
            return false;
        }

        int hl = s[HlOffset];
        int dhvlen = BinaryPrimitives.ReadUInt16LittleEndian(s[DhvlenOffset..]);
        if (ChallengeOffset + hl + dhvlen > s.Length)
        {
            return false;
        }

        message = new DhchapChallenge(h.TransactionId, (DhchapHash)s[HashIdOffset], (DhchapGroup)s[DhgidOffset], BinaryPrimitives.ReadUInt32LittleEndian(s[SeqnumOffset..]),
            s.Slice(ChallengeOffset, hl).ToArray(), s.Slice(ChallengeOffset + hl, dhvlen).ToArray());
        return true;
    }
}

/// <summary>DH-HMAC-CHAP_Reply (NVMe Base 2.0 §8.13.5.3, Figure 431): HL byte 6, CVALID byte 8, DHVLEN bytes 10..11,
/// SEQNUM (S2) bytes 12..15, then R1 (HL), C2 (HL, zero when CVALID is 0) and the host's DH value.</summary>
public sealed record DhchapReply(ushort TransactionId, uint SequenceNumber, byte[] Response, byte[]? ControllerChallenge, byte[] DhValue)
{
    public const int HlOffset = 6;
    public const int CvalidOffset = 8;
    public const int DhvlenOffset = 10;
    public const int SeqnumOffset = 12;
    public const int ResponseOffset = 16;

    public byte[] ToArray()
    {
        int hl = Response.Length;
        var d = new byte[ResponseOffset + (2 * hl) + DhValue.Length];
        new AuthMessageHeader(AuthMessageType.DhHmacChap, AuthMessageId.Reply, TransactionId).Write(d);
        d[HlOffset] = (byte)hl;
        d[CvalidOffset] = ControllerChallenge is null ? (byte)0 : (byte)1;
        BinaryPrimitives.WriteUInt16LittleEndian(d.AsSpan(DhvlenOffset), (ushort)DhValue.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(d.AsSpan(SeqnumOffset), SequenceNumber);
        Response.CopyTo(d, ResponseOffset);
        ControllerChallenge?.CopyTo(d, ResponseOffset + hl);
        DhValue.CopyTo(d, ResponseOffset + (2 * hl));
        return d;
    }

    public static bool TryRead(ReadOnlySpan<byte> s, out DhchapReply message)
    {
        message = null!;
        if (s.Length < ResponseOffset || !AuthMessageHeader.TryRead(s, out var h))
        {
            return false;
        }

        int hl = s[HlOffset];
        int dhvlen = BinaryPrimitives.ReadUInt16LittleEndian(s[DhvlenOffset..]);
        if (ResponseOffset + (2 * hl) + dhvlen > s.Length || s[CvalidOffset] > 1)
        {
            return false;
        }

        message = new DhchapReply(h.TransactionId, BinaryPrimitives.ReadUInt32LittleEndian(s[SeqnumOffset..]), s.Slice(ResponseOffset, hl).ToArray(),
            s[CvalidOffset] == 1 ? s.Slice(ResponseOffset + hl, hl).ToArray() : null, s.Slice(ResponseOffset + (2 * hl), dhvlen).ToArray());
        return true;
    }
}

/// <summary>DH-HMAC-CHAP_Success1 (NVMe Base 2.0 §8.13.5.4, Figure 432): HL byte 6, RVALID byte 8, R2 (HL bytes, zero
/// when RVALID is 0) at 16.</summary>
public sealed record DhchapSuccess1(ushort TransactionId, int HashLength, byte[]? Response)
{
    public const int HlOffset = 6;
    public const int RvalidOffset = 8;
    public const int ResponseOffset = 16;

    public byte[] ToArray()
    {
        var d = new byte[ResponseOffset + HashLength];
        new AuthMessageHeader(AuthMessageType.DhHmacChap, AuthMessageId.Success1, TransactionId).Write(d);
        d[HlOffset] = (byte)HashLength;
        d[RvalidOffset] = Response is null ? (byte)0 : (byte)1;
        Response?.CopyTo(d, ResponseOffset);
        return d;
    }

    public static bool TryRead(ReadOnlySpan<byte> s, out DhchapSuccess1 message)
    {
        message = null!;
        if (s.Length < ResponseOffset || !AuthMessageHeader.TryRead(s, out var h))
        {
            return false;
        }

        int hl = s[HlOffset];
        bool rvalid = s[RvalidOffset] != 0;
        if (rvalid && ResponseOffset + hl > s.Length)
        {
            return false;
        }

        message = new DhchapSuccess1(h.TransactionId, hl, rvalid ? s.Slice(ResponseOffset, hl).ToArray() : null);
        return true;
    }
}

/// <summary>DH-HMAC-CHAP_Success2 (NVMe Base 2.0 §8.13.5.5): the header and reserved bytes, 16 in all.</summary>
public readonly record struct DhchapSuccess2(ushort TransactionId)
{
    public const int Size = 16;

    public byte[] ToArray()
    {
        var d = new byte[Size];
        new AuthMessageHeader(AuthMessageType.DhHmacChap, AuthMessageId.Success2, TransactionId).Write(d);
        return d;
    }
}

/// <summary>AUTH_Failure1 (controller to host) and AUTH_Failure2 (host to controller) (NVMe Base 2.0 §8.13.5.6,
/// Figure 433): reason code byte 6 (01h), reason code explanation byte 7.</summary>
public readonly record struct AuthFailure(AuthMessageId Id, ushort TransactionId, AuthFailureReason Reason)
{
    public const int ReasonCodeOffset = 6;
    public const int ExplanationOffset = 7;
    public const byte ReasonCodeFailed = 0x01;
    public const int Size = 8;

    public byte[] ToArray()
    {
        var d = new byte[Size];
        new AuthMessageHeader(AuthMessageType.Common, Id, TransactionId).Write(d);
        d[ReasonCodeOffset] = ReasonCodeFailed;
        d[ExplanationOffset] = (byte)Reason;
        return d;
    }

    public static bool TryRead(ReadOnlySpan<byte> s, out AuthFailure message)
    {
        message = default;
        if (!AuthMessageHeader.TryRead(s, out var h) || h.Type != AuthMessageType.Common || h.Id is not (AuthMessageId.Failure1 or AuthMessageId.Failure2))
        {
            return false;
        }

        message = new AuthFailure(h.Id, h.TransactionId, (AuthFailureReason)s[ExplanationOffset]);
        return true;
    }
}
