using System.Security.Cryptography;

namespace NvmePS.Engine.Fabrics.Auth;

/// <summary>The transport seam of an authentication transaction: Authentication Send and Receive on one queue.</summary>
public interface INvmeAuthenticationChannel
{
    /// <summary>Authentication Send with <paramref name="message"/> (TL = its length).</summary>
    ValueTask SendAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken);

    /// <summary>Authentication Receive into <paramref name="buffer"/> (AL = its length); returns the bytes received.</summary>
    ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken);
}

/// <summary>What a host authenticates with: its secret, the controller's secret for bidirectional authentication, and
/// the hashes and DH groups it offers (all by default).</summary>
public sealed record DhchapHostCredentials(DhchapSecret HostSecret, DhchapSecret? ControllerSecret = null)
{
    public IReadOnlyList<DhchapHash> Hashes { get; init; } = [DhchapHash.Sha256, DhchapHash.Sha384, DhchapHash.Sha512];

    public IReadOnlyList<DhchapGroup> Groups { get; init; } =
        [DhchapGroup.Null, DhchapGroup.Ffdhe2048, DhchapGroup.Ffdhe3072, DhchapGroup.Ffdhe4096, DhchapGroup.Ffdhe6144, DhchapGroup.Ffdhe8192];
}

/// <summary>What one successful transaction used.</summary>
public readonly record struct DhchapOutcome(DhchapHash Hash, DhchapGroup Group, bool Bidirectional);

/// <summary>
/// The host's side of one DH-HMAC-CHAP transaction on one queue (NVMe Base 2.0 §8.13.4): Negotiate, Challenge,
/// Reply, Success1 and, when the host authenticates the controller too, Success2. A problem found after the Challenge
/// is told to the controller with AUTH_Failure2 before the exception is thrown.
/// </summary>
public static class DhchapHostAuthenticator
{
    public static async Task<DhchapOutcome> AuthenticateAsync(INvmeAuthenticationChannel channel, DhchapHostCredentials credentials, string hostNqn, string subsystemNqn,
        ushort transactionId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentNullException.ThrowIfNull(credentials);
        await channel.SendAsync(AuthNegotiate.Offer(transactionId, credentials.Hashes, credentials.Groups).ToArray(), cancellationToken).ConfigureAwait(false);

        byte[] buffer = new byte[AuthMessageHeader.MaxMessageSize];
        var received = buffer.AsMemory(0, await channel.ReceiveAsync(buffer, cancellationToken).ConfigureAwait(false));
        Expect(received.Span, AuthMessageId.Challenge, transactionId, "DH-HMAC-CHAP_Challenge");
        if (!DhchapChallenge.TryRead(received.Span, out var challenge))
        {
            throw await FailAsync(channel, transactionId, AuthFailureReason.IncorrectPayload, "The Challenge's lengths exceed the message.", cancellationToken).ConfigureAwait(false);
        }

        var hash = challenge.Hash;
        if (!DhchapCrypto.IsKnown(hash) || !credentials.Hashes.Contains(hash) || challenge.Challenge.Length != DhchapCrypto.HashLength(hash))
        {
            throw await FailAsync(channel, transactionId, AuthFailureReason.HashUnusable,
                $"The controller chose hash {(byte)hash:X2}h with a {challenge.Challenge.Length}-byte challenge, which this host did not offer.", cancellationToken).ConfigureAwait(false);
        }

        var group = challenge.Group;
        if (!DhchapCrypto.IsKnown(group) || !credentials.Groups.Contains(group))
        {
            throw await FailAsync(channel, transactionId, AuthFailureReason.DhGroupUnusable, $"The controller chose DH group {(byte)group:X2}h, which this host did not offer.",
                cancellationToken).ConfigureAwait(false);
        }

        byte[] sharedSecret = [];
        byte[] hostValue = [];
        if (group == DhchapGroup.Null)
        {
            if (challenge.DhValue.Length != 0)
            {
                throw await FailAsync(channel, transactionId, AuthFailureReason.IncorrectPayload, "The Challenge carries a DH value with the null group.", cancellationToken)
                    .ConfigureAwait(false);
            }
        }
        else
        {
            if (!DhchapCrypto.IsValidPublicValue(group, challenge.DhValue))
            {
                throw await FailAsync(channel, transactionId, AuthFailureReason.IncorrectPayload,
                    $"The controller's DH value ({challenge.DhValue.Length} bytes) is not a valid {group} public value.", cancellationToken).ConfigureAwait(false);
            }

            var (privateKey, publicValue) = DhchapCrypto.GenerateKeyPair(group);
            sharedSecret = DhchapCrypto.SharedSecret(group, privateKey, challenge.DhValue);
            CryptographicOperations.ZeroMemory(privateKey);
            hostValue = publicValue;
        }

        byte[] hostKey = credentials.HostSecret.KeyFor(hostNqn);
        byte[] c1 = group == DhchapGroup.Null ? challenge.Challenge : DhchapCrypto.AugmentChallenge(hash, sharedSecret, challenge.Challenge);
        byte[] r1 = DhchapCrypto.HostResponse(hash, hostKey, c1, challenge.SequenceNumber, transactionId, 0, hostNqn, subsystemNqn);
        CryptographicOperations.ZeroMemory(hostKey);

        bool bidirectional = credentials.ControllerSecret is not null;
        byte[]? c2 = bidirectional ? RandomNumberGenerator.GetBytes(r1.Length) : null;
        uint s2 = bidirectional ? DhchapCrypto.NewSequenceNumber() : 0;
        await channel.SendAsync(new DhchapReply(transactionId, s2, r1, c2, hostValue).ToArray(), cancellationToken).ConfigureAwait(false);

        received = buffer.AsMemory(0, await channel.ReceiveAsync(buffer, cancellationToken).ConfigureAwait(false));
        Expect(received.Span, AuthMessageId.Success1, transactionId, "DH-HMAC-CHAP_Success1");
        if (!DhchapSuccess1.TryRead(received.Span, out var success1) || success1.HashLength != r1.Length)
        {
            throw await FailAsync(channel, transactionId, AuthFailureReason.IncorrectPayload, "Success1 does not carry the negotiated hash length.", cancellationToken)
                .ConfigureAwait(false);
        }

        if (bidirectional)
        {
            // The controller proves it knows its key: R2 must be present and right (a missing R2 is a failure here).
            byte[] controllerKey = credentials.ControllerSecret!.KeyFor(subsystemNqn);
            byte[] c2a = group == DhchapGroup.Null ? c2! : DhchapCrypto.AugmentChallenge(hash, sharedSecret, c2!);
            byte[] expected = DhchapCrypto.ControllerResponse(hash, controllerKey, c2a, s2, transactionId, 0, hostNqn, subsystemNqn);
            CryptographicOperations.ZeroMemory(controllerKey);
            if (success1.Response is null || !CryptographicOperations.FixedTimeEquals(expected, success1.Response))
            {
                throw await FailAsync(channel, transactionId, AuthFailureReason.AuthenticationFailed,
                    success1.Response is null ? "The controller did not answer the host's challenge (RVALID 0)." : "The controller's response does not prove the controller secret.",
                    cancellationToken).ConfigureAwait(false);
            }

            await channel.SendAsync(new DhchapSuccess2(transactionId).ToArray(), cancellationToken).ConfigureAwait(false);
        }

        CryptographicOperations.ZeroMemory(sharedSecret);
        return new DhchapOutcome(hash, group, bidirectional);
    }

    /// <summary>Checks the message is <paramref name="id"/> of this transaction; a Failure1 becomes the exception.</summary>
    private static void Expect(ReadOnlySpan<byte> message, AuthMessageId id, ushort transactionId, string what)
    {
        if (AuthFailure.TryRead(message, out var failure))
        {
            throw new NvmeAuthenticationException($"The controller refused authentication: AUTH_Failure1, {Describe(failure.Reason)}.", (byte)failure.Reason, sentByPeer: true);
        }

        if (!AuthMessageHeader.TryRead(message, out var h) || h.Type != AuthMessageType.DhHmacChap || h.Id != id || h.TransactionId != transactionId)
        {
            throw new NvmeAuthenticationException(
                $"Expected {what} for transaction {transactionId}, received AUTH_Type {(message.Length > 0 ? message[0] : 0):X2}h AUTH_Id {(message.Length > 1 ? message[1] : 0):X2}h" +
                (message.Length >= 6 ? $" T_ID {h.TransactionId}." : "."), (byte)AuthFailureReason.IncorrectProtocolMessage);
        }
    }

    private static async Task<NvmeAuthenticationException> FailAsync(INvmeAuthenticationChannel channel, ushort transactionId, AuthFailureReason reason, string message,
        CancellationToken cancellationToken)
    {
        try
        {
            await channel.SendAsync(new AuthFailure(AuthMessageId.Failure2, transactionId, reason).ToArray(), cancellationToken).ConfigureAwait(false);
        }
        catch (NvmeException)
        {
            // The controller may already have given up; the failure below is what matters.
        }

        return new NvmeAuthenticationException($"{message} ({Describe(reason)}; AUTH_Failure2 sent)", (byte)reason);
    }

    internal static string Describe(AuthFailureReason reason) => reason switch
    {
        AuthFailureReason.AuthenticationFailed => "authentication failed",
        AuthFailureReason.ProtocolUnusable => "authentication protocol not usable",
        AuthFailureReason.ConcatenationMismatch => "secure channel concatenation mismatch",
        AuthFailureReason.HashUnusable => "hash function not usable",
        AuthFailureReason.DhGroupUnusable => "DH group not usable",
        AuthFailureReason.IncorrectPayload => "incorrect payload",
        AuthFailureReason.IncorrectProtocolMessage => "incorrect protocol message",
        _ => $"reason {(byte)reason:X2}h",
    };
}
