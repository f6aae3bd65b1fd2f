using System.Security.Cryptography;

namespace NvmePS.Engine.Fabrics.Auth;

/// <summary>What a controller requires of one host: the host's secret, the controller's own secret (so a host may
/// authenticate the controller too), and the hash and DH group it prefers (as nvmet's dhchap_hash and dhchap_dhgroup).</summary>
public sealed record DhchapHostKey(DhchapSecret HostSecret, DhchapSecret? ControllerSecret = null, DhchapHash Hash = DhchapHash.Sha256,
    DhchapGroup Group = DhchapGroup.Null)
{
    public override string ToString() => $"{HostSecret} (controller secret {(ControllerSecret is null ? "none" : "set")}, {Hash}, {Group})";
}

/// <summary>
/// The controller's side of DH-HMAC-CHAP on one queue (NVMe Base 2.0 §8.13.4): Authentication Send delivers the host's
/// messages and Authentication Receive collects the controller's. Any protocol problem puts an AUTH_Failure1 with its
/// reason in place of the next message and leaves the queue unauthenticated; the commands themselves succeed, as the
/// failure travels in the message. A new Negotiate starts a new transaction at any time (re-authentication); an
/// authenticated queue stays so unless that transaction fails.
/// </summary>
public sealed class DhchapControllerAuthenticator(DhchapHostKey key, string hostNqn, string subsystemNqn, DhchapKeyPairCache? keyPairs = null)
{
    /// <summary><see cref="OnReceive"/>'s answer when another authentication command of this queue is running.</summary>
    public const int Busy = -2;

    /// <summary>Failed transactions a queue may have; after that every Negotiate fails at once, so a host that only
    /// knows an allowed NQN cannot make the controller compute shared secrets without end.</summary>
    public const int MaxFailures = 4;

    private readonly DhchapKeyPairCache _keyPairs = keyPairs ?? new DhchapKeyPairCache();
    private enum Step
    {
        AwaitNegotiate,
        ChallengeReady,
        AwaitReply,
        Success1Ready,
        AwaitSuccess2,
        Failure1Ready,
    }

    private readonly object _lock = new();
    private Step _step;
    private ushort _transactionId;
    private DhchapHash _hash;
    private DhchapGroup _group;
    private byte[] _challenge = [];
    private uint _sequenceNumber;
    private byte[] _privateKey = [];
    private byte[] _publicValue = [];
    private byte[]? _controllerResponse;
    private AuthFailureReason _failure;
    private volatile bool _authenticated;

    /// <summary>True once a transaction succeeded (and no later one failed).</summary>
    public bool Authenticated => _authenticated;

    /// <summary>Transactions completed and failed, for diagnostics.</summary>
    public int Successes { get; private set; }

    public int Failures { get; private set; }

    /// <summary>True once an AUTH_Failure1 went out for a transaction that left the queue unauthenticated: the transport
    /// closes the queue after that completion (a clean end, as nvmet's fatal error is).</summary>
    public bool CloseRequested { get; private set; }

    /// <summary>The reason of the last failure, if any.</summary>
    public AuthFailureReason? LastFailure { get; private set; }

    /// <summary>Authentication Send: takes one host message. False when another authentication command of this
    /// queue is running (the command then fails with Command Sequence Error and changes nothing).</summary>
    public bool OnSend(ReadOnlySpan<byte> message)
    {
        if (!Monitor.TryEnter(_lock))
        {
            return false;
        }

        try
        {
            SendLocked(message);
            return true;
        }
        finally
        {
            Monitor.Exit(_lock);
        }
    }

    private void SendLocked(ReadOnlySpan<byte> message)
    {
        if (!AuthMessageHeader.TryRead(message, out var h))
        {
            FailLocked(AuthFailureReason.IncorrectPayload);
            return;
        }

        if (h.Type == AuthMessageType.Common && h.Id == AuthMessageId.Failure2)
        {
            if (_step == Step.AwaitNegotiate || h.TransactionId != _transactionId)
            {
                // Not about a transaction that runs: nothing to end.
                return;
            }

            // The host gave up on this transaction.
            _step = Step.AwaitNegotiate;
            _authenticated = false;
            Failures++;
            LastFailure = AuthFailure.TryRead(message, out var f) ? f.Reason : AuthFailureReason.AuthenticationFailed;
            return;
        }

        if (h.Type == AuthMessageType.Common && h.Id == AuthMessageId.Negotiate)
        {
            _transactionId = h.TransactionId;
            NegotiateLocked(message);
            return;
        }

        if (h.Type != AuthMessageType.DhHmacChap || (h.Id, _step) is not ((AuthMessageId.Reply, Step.AwaitReply) or (AuthMessageId.Success2, Step.AwaitSuccess2)))
        {
            FailLocked(AuthFailureReason.IncorrectProtocolMessage);
            return;
        }

        if (h.TransactionId != _transactionId)
        {
            FailLocked(AuthFailureReason.IncorrectPayload);
            return;
        }

        if (h.Id == AuthMessageId.Success2)
        {
            SucceedLocked();
            return;
        }

        ReplyLocked(message);
    }

    /// <summary>Authentication Receive: the controller's next message, written to <paramref name="destination"/>; returns
    /// its length, or -1 when it does not fit (the command then fails with Invalid Field, nothing lost).</summary>
    public int OnReceive(Span<byte> destination)
    {
        if (!Monitor.TryEnter(_lock))
        {
            return Busy;
        }

        try
        {
            byte[] message;
            var next = _step;
            switch (_step)
            {
                case Step.ChallengeReady:
                    message = new DhchapChallenge(_transactionId, _hash, _group, _sequenceNumber, _challenge, _publicValue).ToArray();
                    next = Step.AwaitReply;
                    break;
                case Step.Success1Ready:
                    message = new DhchapSuccess1(_transactionId, DhchapCrypto.HashLength(_hash), _controllerResponse).ToArray();
                    next = _controllerResponse is null ? Step.AwaitNegotiate : Step.AwaitSuccess2;
                    break;
                case Step.Failure1Ready:
                    message = new AuthFailure(AuthMessageId.Failure1, _transactionId, _failure).ToArray();
                    next = Step.AwaitNegotiate;
                    break;
                default:
                    // Nothing to send now: the host is out of step.
                    FailLocked(AuthFailureReason.IncorrectProtocolMessage);
                    message = new AuthFailure(AuthMessageId.Failure1, _transactionId, _failure).ToArray();
                    next = Step.AwaitNegotiate;
                    break;
            }

            if (message.Length > destination.Length)
            {
                return -1;
            }

            message.CopyTo(destination);
            destination[message.Length..].Clear();
            if (message[1] == (byte)AuthMessageId.Failure1 && !_authenticated)
            {
                CloseRequested = true;
            }

            _step = next;
            if (_step == Step.AwaitNegotiate && message[1] == (byte)AuthMessageId.Success1)
            {
                SucceedLocked();
            }

            return message.Length;
        }
        finally
        {
            Monitor.Exit(_lock);
        }
    }

    private void NegotiateLocked(ReadOnlySpan<byte> message)
    {
        if (Failures >= MaxFailures)
        {
            FailLocked(AuthFailureReason.AuthenticationFailed);
            return;
        }

        if (!AuthNegotiate.TryRead(message, out var negotiate, out var reason))
        {
            FailLocked(reason);
            return;
        }

        if (negotiate.ScC != 0)
        {
            // Secure channel concatenation (TLS) is not offered.
            FailLocked(AuthFailureReason.ConcatenationMismatch);
            return;
        }

        if (negotiate.AuthId != AuthNegotiate.DhHmacChapAuthId)
        {
            FailLocked(AuthFailureReason.ProtocolUnusable);
            return;
        }

        // The configured hash if the host offers it, else the first the host offers that is known.
        var hash = negotiate.Hashes.Contains(key.Hash) ? key.Hash : negotiate.Hashes.FirstOrDefault(DhchapCrypto.IsKnown);
        if (!DhchapCrypto.IsKnown(hash))
        {
            FailLocked(AuthFailureReason.HashUnusable);
            return;
        }

        if (!negotiate.Groups.Contains(key.Group))
        {
            FailLocked(AuthFailureReason.DhGroupUnusable);
            return;
        }

        _hash = hash;
        _group = key.Group;
        _challenge = RandomNumberGenerator.GetBytes(DhchapCrypto.HashLength(hash));
        _sequenceNumber = DhchapCrypto.NewSequenceNumber();
        (_privateKey, _publicValue) = _group == DhchapGroup.Null ? ([], []) : _keyPairs.For(_group);
        _step = Step.ChallengeReady;
    }

    private void ReplyLocked(ReadOnlySpan<byte> message)
    {
        if (!DhchapReply.TryRead(message, out var reply) || reply.Response.Length != _challenge.Length)
        {
            FailLocked(AuthFailureReason.IncorrectPayload);
            return;
        }

        byte[] sharedSecret = [];
        if (_group == DhchapGroup.Null)
        {
            if (reply.DhValue.Length != 0)
            {
                FailLocked(AuthFailureReason.IncorrectPayload);
                return;
            }
        }
        else
        {
            if (!DhchapCrypto.IsValidPublicValue(_group, reply.DhValue))
            {
                FailLocked(AuthFailureReason.DhGroupUnusable);
                return;
            }

            sharedSecret = DhchapCrypto.SharedSecret(_group, _privateKey, reply.DhValue);
        }

        byte[] hostKey = key.HostSecret.KeyFor(hostNqn);
        byte[] c1 = _group == DhchapGroup.Null ? _challenge : DhchapCrypto.AugmentChallenge(_hash, sharedSecret, _challenge);
        byte[] expected = DhchapCrypto.HostResponse(_hash, hostKey, c1, _sequenceNumber, _transactionId, 0, hostNqn, subsystemNqn);
        CryptographicOperations.ZeroMemory(hostKey);
        if (!CryptographicOperations.FixedTimeEquals(expected, reply.Response))
        {
            CryptographicOperations.ZeroMemory(sharedSecret);
            FailLocked(AuthFailureReason.AuthenticationFailed);
            return;
        }

        _controllerResponse = null;
        if (reply.ControllerChallenge is { } c2)
        {
            if (key.ControllerSecret is null || reply.SequenceNumber == 0)
            {
                // The host wants the controller to prove a secret it was not given (or sent no sequence number).
                FailLocked(AuthFailureReason.AuthenticationFailed);
                return;
            }

            byte[] controllerKey = key.ControllerSecret.KeyFor(subsystemNqn);
            byte[] c2a = _group == DhchapGroup.Null ? c2 : DhchapCrypto.AugmentChallenge(_hash, sharedSecret, c2);
            _controllerResponse = DhchapCrypto.ControllerResponse(_hash, controllerKey, c2a, reply.SequenceNumber, _transactionId, 0, hostNqn, subsystemNqn);
            CryptographicOperations.ZeroMemory(controllerKey);
        }

        CryptographicOperations.ZeroMemory(sharedSecret);
        _step = Step.Success1Ready;
    }

    private void SucceedLocked()
    {
        _authenticated = true;
        _step = Step.AwaitNegotiate;
        Successes++;
    }

    private void FailLocked(AuthFailureReason reason)
    {
        // A stray message while no transaction runs does not undo an earlier success; a failed transaction does.
        if (_step != Step.AwaitNegotiate || !_authenticated)
        {
            _authenticated = false;
        }

        _failure = reason;
        _step = Step.Failure1Ready;
        Failures++;
        LastFailure = reason;
    }
}

/// <summary>The controller's DH key pairs, one per group, made on first use and kept for the association (as nvmet
/// keeps one per controller): a Negotiate then costs no modular exponentiation.</summary>
public sealed class DhchapKeyPairCache
{
    private readonly Dictionary<DhchapGroup, (byte[] PrivateKey, byte[] PublicValue)> _pairs = [];

    internal (byte[] PrivateKey, byte[] PublicValue) For(DhchapGroup group)
    {
        lock (_pairs)
        {
            if (!_pairs.TryGetValue(group, out var pair))
            {
                _pairs[group] = pair = DhchapCrypto.GenerateKeyPair(group);
            }

            return pair;
        }
    }
}
