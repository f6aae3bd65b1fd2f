namespace NvmePS.Engine.Fabrics.Auth;

/// <summary>AUTH_Type (NVMe Base 2.0 §8.13.5): common messages or DH-HMAC-CHAP messages.</summary>
public enum AuthMessageType : byte
{
    Common = 0x00,
    DhHmacChap = 0x01,
}

/// <summary>AUTH_Id (NVMe Base 2.0 §8.13.5, Figures 425-433).</summary>
public enum AuthMessageId : byte
{
    Negotiate = 0x00,
    Challenge = 0x01,
    Reply = 0x02,
    Success1 = 0x03,
    Success2 = 0x04,
    Failure2 = 0xF0,
    Failure1 = 0xF1,
}

/// <summary>DH-HMAC-CHAP hash function identifiers (NVMe Base 2.0 Figure 428).</summary>
public enum DhchapHash : byte
{
    Sha256 = 0x01,
    Sha384 = 0x02,
    Sha512 = 0x03,
}

/// <summary>DH-HMAC-CHAP Diffie-Hellman group identifiers (NVMe Base 2.0 Figure 429); Null means no DH exchange.</summary>
public enum DhchapGroup : byte
{
    Null = 0x00,
    Ffdhe2048 = 0x01,
    Ffdhe3072 = 0x02,
    Ffdhe4096 = 0x03,
    Ffdhe6144 = 0x04,
    Ffdhe8192 = 0x05,
}

/// <summary>AUTH_Failure reason code explanations (NVMe Base 2.0 Figure 433; the reason code itself is always 01h).</summary>
public enum AuthFailureReason : byte
{
    AuthenticationFailed = 0x01,
    ProtocolUnusable = 0x02,
    ConcatenationMismatch = 0x03,
    HashUnusable = 0x04,
    DhGroupUnusable = 0x05,
    IncorrectPayload = 0x06,
    IncorrectProtocolMessage = 0x07,
}
