using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;
using NvmePS.Engine;
using NvmePS.Engine.Admin;
using NvmePS.Engine.Fabrics;
using NvmePS.Engine.Fabrics.Auth;
using NvmePS.Engine.Fabrics.Controller;
using NvmePS.Engine.Fabrics.Controller.Tcp;
using NvmePS.Engine.Fabrics.Host;
using NvmePS.Engine.Tests.Fabrics.Controller;

namespace NvmePS.Engine.Tests.Fabrics.Auth;

/// <summary>DH-HMAC-CHAP: the secret representation, the RFC 7919 groups, the messages, and both roles on real sockets.</summary>
public sealed class DhchapTests
{
    // The example secret of NVMe Base 2.0 §8.13.5.8, as quoted in the Linux nvme-auth patches.
    private const string SpecExample = "DHHC-1:00:ia6zGodOr4SEG0Zzaw398rpY0wqipUWj4jWjUh4HWUz6aQ2n:";

    [Fact]
    public void The_spec_example_secret_parses_and_bad_ones_are_refused_without_echoing_the_key()
    {
        Assert.True(DhchapSecret.TryParse(SpecExample, out var s, out _));
        Assert.Equal((0, 32), (s.TransformHash, s.KeyLength));
        Assert.Equal("89AEB31A874EAF84841B46736B0DFDF2BA58D30AA2A545A3E235A3521E07594C", Convert.ToHexString(s.KeyFor("any")));
        Assert.Equal(SpecExample, s.Reveal());
        Assert.DoesNotContain("ia6z", s.ToString(), StringComparison.Ordinal);
        Assert.Equal("DHHC-1:00:<32-byte key hidden>:", s.ToString());

        // One base64 character changed: the CRC catches it, and the error does not quote the secret.
        string typo = SpecExample.Replace("ia6z", "ia7z", StringComparison.Ordinal);
        Assert.False(DhchapSecret.TryParse(typo, out _, out string error));
        Assert.Contains("CRC-32", error, StringComparison.Ordinal);
        Assert.DoesNotContain("ia7z", error, StringComparison.Ordinal);
        Assert.False(DhchapSecret.TryParse("DHHC-1:04:" + SpecExample[10..], out _, out error));
        Assert.Contains("hh", error, StringComparison.Ordinal);
        Assert.False(DhchapSecret.TryParse("DHHC-1:00:" + Convert.ToBase64String(new byte[20]) + ":", out _, out error));
        Assert.Contains("32-, 48- or 64-byte", error, StringComparison.Ordinal);
        Assert.False(DhchapSecret.TryParse("DHHC-2:00:abc:", out _, out _));
        Assert.False(DhchapSecret.TryParse(SpecExample.TrimEnd(':'), out _, out _));
    }

    [Fact]
    public void The_key_transform_is_hmac_of_the_nqn_and_the_seed()
    {
        var s = DhchapSecret.Parse("DHHC-1:01:" + SpecExample[10..]);
        const string nqn = "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-000000000001";
        byte[] key = Convert.FromHexString("89AEB31A874EAF84841B46736B0DFDF2BA58D30AA2A545A3E235A3521E07594C");
        byte[] message = [.. System.Text.Encoding.ASCII.GetBytes(nqn), .. "NVMe-over-Fabrics"u8.ToArray()];
        Assert.Equal(HMACSHA256.HashData(key, message), s.KeyFor(nqn));
        Assert.Equal("30EC326A9164EF751470FC129B83A2F17593C43D19F4C615C46E65BA3FF72021", Convert.ToHexString(s.KeyFor(nqn)));

        // gen-dhchap-key's form: with a hash, the stored key is the transformed one, and its CRC is that key's.
        var generated = DhchapSecret.Generate(32, 1, nqn, key);
        Assert.Equal("30EC326A9164EF751470FC129B83A2F17593C43D19F4C615C46E65BA3FF72021", Convert.ToHexString(Convert.FromBase64String(generated.Reveal()[10..^1]), 0, 32));
        Assert.Throws<ArgumentOutOfRangeException>(() => DhchapSecret.Generate(40));
    }

    [Theory]
    [InlineData(DhchapGroup.Ffdhe2048, 256, "9cd3b7f336872f46c09428d1bbc19877a4d440512cda8d1c1cf0cd6e33698966", "886B423861285C97")]
    [InlineData(DhchapGroup.Ffdhe3072, 384, "0eaf67db3a839156d5013494a5318a772b5697d270d721f37f092efc69ea5a17", "25E41D2B66C62E37")]
    [InlineData(DhchapGroup.Ffdhe4096, 512, "4648414224ac881b3d0dc59b466f96d06a558278776807797ecf1f66ff397b3e", "C68A007E5E655F6A")]
    [InlineData(DhchapGroup.Ffdhe6144, 768, "227ac9066b3ddd9e193670cda2388fa884f65ba0cf98b742d1fe77a6687c79c7", "A40E329CD0E40E65")]
    [InlineData(DhchapGroup.Ffdhe8192, 1024, "770b14efaf6f049929c523113b3fa99a8d11dab1b18af3609590122075d19833", "D68C8BB7C5C6424C")]
    public void The_group_primes_are_rfc_7919s(DhchapGroup group, int bytes, string sha256, string lastWordsBeforeOnes)
    {
        // RFC 7919 Appendix A: every prime starts FFFFFFFF FFFFFFFF ADF85458 A2BB4A9A and ends with 64 one bits; the words
        // before them and the SHA-256 of the whole prime were read from the RFC's text (and match Linux's crypto/dh.c).
        byte[] p = DhchapCrypto.Prime(group);
        Assert.Equal(bytes, p.Length);
        Assert.Equal("FFFFFFFFFFFFFFFFADF85458A2BB4A9A", Convert.ToHexString(p, 0, 16));
        Assert.Equal(lastWordsBeforeOnes + "FFFFFFFFFFFFFFFF", Convert.ToHexString(p, bytes - 16, 16));
        Assert.Equal(sha256, Convert.ToHexString(SHA256.HashData(p)).ToLowerInvariant());
        if (OpenSslPrime(group) is { } fromOpenSsl)
        {
            Assert.Equal(fromOpenSsl, p); // a third, independent copy when openssl is installed
        }
    }

    private static byte[]? OpenSslPrime(DhchapGroup group)
    {
        try
        {
            var psi = new System.Diagnostics.ProcessStartInfo("openssl", $"genpkey -genparam -algorithm DH -pkeyopt group:{group.ToString().ToLowerInvariant()}")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var proc = System.Diagnostics.Process.Start(psi)!;
            string pem = proc.StandardOutput.ReadToEnd();
            proc.WaitForExit();
            if (proc.ExitCode != 0)
            {
                return null;
            }

            // PEM "DH PARAMETERS": DHParameter ::= SEQUENCE { p INTEGER, g INTEGER }
            byte[] der = Convert.FromBase64String(string.Concat(pem.Split('\n').Where(l => l.Length > 0 && !l.StartsWith("-----", StringComparison.Ordinal))));
            var reader = new System.Formats.Asn1.AsnReader(der, System.Formats.Asn1.AsnEncodingRules.DER);
            var seq = reader.ReadSequence();
            var prime = seq.ReadIntegerBytes().ToArray().AsSpan().TrimStart((byte)0).ToArray();
            Assert.Equal(2, (int)seq.ReadInteger());
            return prime;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    [Fact]
    public void Dh_shared_secrets_agree_and_degenerate_public_values_are_refused()
    {
        var (xa, ya) = DhchapCrypto.GenerateKeyPair(DhchapGroup.Ffdhe2048);
        var (xb, yb) = DhchapCrypto.GenerateKeyPair(DhchapGroup.Ffdhe2048);
        Assert.Equal(DhchapCrypto.SharedSecret(DhchapGroup.Ffdhe2048, xa, yb), DhchapCrypto.SharedSecret(DhchapGroup.Ffdhe2048, xb, ya));
        Assert.True(DhchapCrypto.IsValidPublicValue(DhchapGroup.Ffdhe2048, ya));
        byte[] p = DhchapCrypto.Prime(DhchapGroup.Ffdhe2048);
        byte[] one = new byte[256];
        one[^1] = 1;
        byte[] pMinus1 = (byte[])p.Clone();
        pMinus1[^1]--;
        Assert.False(DhchapCrypto.IsValidPublicValue(DhchapGroup.Ffdhe2048, one));
        Assert.False(DhchapCrypto.IsValidPublicValue(DhchapGroup.Ffdhe2048, pMinus1));
        Assert.False(DhchapCrypto.IsValidPublicValue(DhchapGroup.Ffdhe2048, p));
        Assert.False(DhchapCrypto.IsValidPublicValue(DhchapGroup.Ffdhe2048, ya.AsSpan(1)));
    }

    [Fact]
    public void Messages_round_trip_field_by_field()
    {
        var n = AuthNegotiate.Offer(7, [DhchapHash.Sha256, DhchapHash.Sha512], [DhchapGroup.Null, DhchapGroup.Ffdhe4096]).ToArray();
        Assert.Equal(72, n.Length);
        Assert.Equal("0000000007000001" + "01000202" + "0103", Convert.ToHexString(n, 0, 14));
        Assert.Equal(0x03, n[8 + 34 + 1]);
        Assert.True(AuthNegotiate.TryRead(n, out var negotiate, out _));
        Assert.Equal([DhchapGroup.Null, DhchapGroup.Ffdhe4096], negotiate.Groups);

        var c = new DhchapChallenge(9, DhchapHash.Sha384, DhchapGroup.Null, 0xA1B2C3D4, new byte[48], []).ToArray();
        Assert.Equal("0101000009003000" + "02000000D4C3B2A1", Convert.ToHexString(c, 0, 16));
        var r = new DhchapReply(9, 5, Enumerable.Repeat((byte)1, 32).ToArray(), null, [9, 9]).ToArray();
        Assert.Equal(16 + 64 + 2, r.Length);
        Assert.Equal(0, r[8]); // CVALID
        Assert.Equal(new byte[32], r.AsSpan(48, 32).ToArray()); // C2 present, zero
        Assert.True(DhchapReply.TryRead(r, out var reply));
        Assert.Null(reply.ControllerChallenge);
        Assert.Equal([9, 9], reply.DhValue);
        Assert.Equal("00F1000009000106", Convert.ToHexString(new AuthFailure(AuthMessageId.Failure1, 9, AuthFailureReason.IncorrectPayload).ToArray()));
        Assert.False(DhchapChallenge.TryRead(c.AsSpan(0, 40), out _)); // HL says 48 bytes follow
    }

    // ------------------------------------------------------------------ both roles over TCP

    private const string HostNqn = Core.HostNqn;
    private static readonly DhchapSecret HostSecret = DhchapSecret.Generate(32, 1, HostNqn);
    private static readonly DhchapSecret ControllerSecret = DhchapSecret.Generate(48, 2, Core.SubNqn);

    private static async Task<(NvmeTarget Target, NvmeTcpTarget Tcp, NvmeSubsystem Sub)> StartAsync(DhchapHostKey key)
    {
        var target = new NvmeTarget();
        var sub = target.AddSubsystem(Core.SubNqn);
        sub.AllowHost(HostNqn, key);
        sub.AddMemoryNamespace(1 << 20, 512);
        var tcp = new NvmeTcpTarget(target);
        await tcp.ListenAsync(new IPEndPoint(IPAddress.Loopback, 0));
        return (target, tcp, sub);
    }

    private static NvmeHostAssociationParameters Host(DhchapSecret? secret, DhchapSecret? controller = null) => new()
    {
        HostNqn = HostNqn,
        HostId = Core.HostId,
        DhchapSecret = secret,
        DhchapControllerSecret = controller,
        IoQueueCount = 2,
        KeepAliveTimeout = TimeSpan.Zero,
    };

    [Theory]
    [InlineData(DhchapHash.Sha256, DhchapGroup.Null, false)]
    [InlineData(DhchapHash.Sha384, DhchapGroup.Ffdhe2048, true)]
    [InlineData(DhchapHash.Sha512, DhchapGroup.Ffdhe4096, true)]
    [InlineData(DhchapHash.Sha256, DhchapGroup.Ffdhe3072, false)]
    public async Task A_host_with_the_key_authenticates_every_queue_and_then_works(DhchapHash hash, DhchapGroup group, bool bidirectional)
    {
        var (target, tcp, sub) = await StartAsync(new DhchapHostKey(HostSecret, ControllerSecret, hash, group));
        using var t = target;
        await using var l = tcp;
        await using var a = await NvmeHostAssociation.ConnectAsync(tcp.LocalEndPoints[0], Core.SubNqn, Host(HostSecret, bidirectional ? ControllerSecret : null), CancellationToken.None);

        var expected = new DhchapOutcome(hash, group, bidirectional);
        Assert.Equal(expected, a.AdminQueue.Authentication);
        Assert.All(a.IoQueues, q => Assert.Equal(expected, q.Authentication));
        Assert.Equal(Core.SubNqn, (await new NvmeAdminClient(a).IdentifyControllerAsync()).Subnqn);
        byte[] block = RandomNumberGenerator.GetBytes(512);
        await a.WriteAsync(1, 3, 1, block, fua: false, CancellationToken.None);
        byte[] back = new byte[512];
        await a.ReadAsync(1, 3, 1, back, CancellationToken.None);
        Assert.Equal(block, back);
        var controller = Assert.Single(sub.Controllers);
        Assert.Equal(3, controller.Queues.Count(q => q is { IsAuthenticated: true, Authentication.Successes: 1 }));

        // Re-authentication, with I/O in flight on the same queues.
        var io = a.ReadAsync(1, 3, 1, back, CancellationToken.None);
        await a.ReauthenticateAsync();
        await io;
        Assert.Equal(block, back);
        Assert.Equal(3, controller.Queues.Count(q => q is { IsAuthenticated: true, Authentication.Successes: 2 }));
    }

    [Fact]
    public async Task A_wrong_key_a_missing_key_and_a_wrong_controller_key_are_refused_on_both_sides()
    {
        var (target, tcp, sub) = await StartAsync(new DhchapHostKey(HostSecret, ControllerSecret, DhchapHash.Sha256, DhchapGroup.Ffdhe2048));
        using var t = target;
        await using var l = tcp;
        var ep = tcp.LocalEndPoints[0];

        var wrong = await Assert.ThrowsAsync<NvmeAuthenticationException>(() => NvmeHostAssociation.ConnectAsync(ep, Core.SubNqn, Host(DhchapSecret.Generate()), CancellationToken.None));
        Assert.Equal(((byte)AuthFailureReason.AuthenticationFailed, true), (wrong.Reason, wrong.SentByPeer));
        Assert.Equal("NvmeAuthenticationFailed", wrong.ErrorId);
        // The target closed that association once its AUTH_Failure1 was out.
        for (int i = 0; i < 500 && sub.Controllers.Count != 0; i++)
        {
            await Task.Delay(10);
        }

        Assert.Empty(sub.Controllers);

        var none = await Assert.ThrowsAsync<NvmeAuthenticationException>(() => NvmeHostAssociation.ConnectAsync(ep, Core.SubNqn, Host(null), CancellationToken.None));
        Assert.Contains("-DhchapSecret", none.Message, StringComparison.Ordinal);

        // The host authenticates the controller: a controller that knows another controller secret fails to prove itself.
        var impostor = await Assert.ThrowsAsync<NvmeAuthenticationException>(() =>
            NvmeHostAssociation.ConnectAsync(ep, Core.SubNqn, Host(HostSecret, DhchapSecret.Generate(48)), CancellationToken.None));
        Assert.Equal(((byte)AuthFailureReason.AuthenticationFailed, false), (impostor.Reason, impostor.SentByPeer));

        // None of this leaked a secret into a message.
        foreach (var e in new Exception[] { wrong, none, impostor })
        {
            Assert.DoesNotContain(HostSecret.Reveal()[10..^1], e.ToString(), StringComparison.Ordinal);
        }

        // A controller that does not ask for authentication cannot prove the controller secret: refused.
        sub.AllowHost(HostNqn, null);
        var silent = await Assert.ThrowsAsync<NvmeAuthenticationException>(() =>
            NvmeHostAssociation.ConnectAsync(ep, Core.SubNqn, Host(HostSecret, ControllerSecret), CancellationToken.None));
        Assert.Contains("did not ask for authentication", silent.Message, StringComparison.Ordinal);
        sub.AllowHost(HostNqn, new DhchapHostKey(HostSecret, ControllerSecret, DhchapHash.Sha256, DhchapGroup.Ffdhe2048));

        // And the right key still works afterwards.
        await using var a = await NvmeHostAssociation.ConnectAsync(ep, Core.SubNqn, Host(HostSecret, ControllerSecret), CancellationToken.None);
        Assert.True(a.AdminQueue.Authentication?.Bidirectional);
    }

    // ------------------------------------------------------------------ the controller's state machine, message by message

    private static DhchapControllerAuthenticator Controller(DhchapGroup group = DhchapGroup.Ffdhe2048) =>
        new(new DhchapHostKey(HostSecret, ControllerSecret, DhchapHash.Sha256, group), HostNqn, Core.SubNqn);

    private static AuthFailure Failure1Of(DhchapControllerAuthenticator c)
    {
        byte[] buffer = new byte[4096];
        int n = c.OnReceive(buffer);
        Assert.True(AuthFailure.TryRead(buffer.AsSpan(0, n), out var f), $"expected AUTH_Failure1, got {Convert.ToHexString(buffer, 0, Math.Min(n, 8))}");
        Assert.Equal(AuthMessageId.Failure1, f.Id);
        Assert.False(c.Authenticated);
        return f;
    }

    private static DhchapChallenge ChallengeOf(DhchapControllerAuthenticator c, ushort tid = 1, DhchapHash[]? hashes = null)
    {
        c.OnSend(AuthNegotiate.Offer(tid, hashes ?? [DhchapHash.Sha256], [DhchapGroup.Null, DhchapGroup.Ffdhe2048]).ToArray());
        byte[] buffer = new byte[4096];
        int n = c.OnReceive(buffer);
        Assert.True(DhchapChallenge.TryRead(buffer.AsSpan(0, n), out var challenge));
        return challenge;
    }

    [Fact]
    public void Unsupported_hash_concatenation_and_dh_group_get_their_failure_reasons()
    {
        var c = Controller();
        c.OnSend(AuthNegotiate.Offer(1, [(DhchapHash)0x7E], [DhchapGroup.Ffdhe2048]).ToArray());
        Assert.Equal(AuthFailureReason.HashUnusable, Failure1Of(c).Reason);
        c.OnSend(AuthNegotiate.Offer(2, [DhchapHash.Sha256], [DhchapGroup.Null]).ToArray());
        Assert.Equal(AuthFailureReason.DhGroupUnusable, Failure1Of(c).Reason);
        byte[] tls = AuthNegotiate.Offer(3, [DhchapHash.Sha256], [DhchapGroup.Ffdhe2048]).ToArray();
        tls[AuthNegotiate.ScCOffset] = 1;
        c.OnSend(tls);
        Assert.Equal(AuthFailureReason.ConcatenationMismatch, Failure1Of(c).Reason);
        byte[] other = AuthNegotiate.Offer(4, [DhchapHash.Sha256], [DhchapGroup.Ffdhe2048]).ToArray();
        other[AuthNegotiate.DescriptorOffset] = 0x02; // not DH-HMAC-CHAP
        c.OnSend(other);
        Assert.Equal(AuthFailureReason.ProtocolUnusable, Failure1Of(c).Reason);
        c.OnSend(new byte[3]);
        Assert.Equal(AuthFailureReason.IncorrectPayload, Failure1Of(c).Reason);
    }

    [Fact]
    public void Messages_out_of_order_a_transaction_id_mismatch_and_bad_dh_values_fail_cleanly()
    {
        var c = Controller();
        c.OnSend(new DhchapReply(1, 0, new byte[32], null, []).ToArray()); // Reply before Negotiate
        Assert.Equal(AuthFailureReason.IncorrectProtocolMessage, Failure1Of(c).Reason);
        Assert.Equal(AuthFailureReason.IncorrectProtocolMessage, Failure1Of(c).Reason); // Receive with nothing pending

        var challenge = ChallengeOf(c, tid: 5);
        var (_, y) = DhchapCrypto.GenerateKeyPair(DhchapGroup.Ffdhe2048);
        c.OnSend(new DhchapReply(6, 0, new byte[32], null, y).ToArray()); // another T_ID
        Assert.Equal(AuthFailureReason.IncorrectPayload, Failure1Of(c).Reason);

        foreach (byte[] bad in new[] { new byte[255], DhchapCrypto.Prime(DhchapGroup.Ffdhe2048), new byte[256] })
        {
            var fresh = Controller();
            challenge = ChallengeOf(fresh, tid: 7);
            fresh.OnSend(new DhchapReply(7, 0, new byte[32], null, bad).ToArray());
            Assert.Equal(AuthFailureReason.DhGroupUnusable, Failure1Of(fresh).Reason);
        }

        // A right DH value with a wrong response: authentication failed (the fourth failure of this queue).
        challenge = ChallengeOf(c, tid: 8);
        c.OnSend(new DhchapReply(8, 0, new byte[32], null, y).ToArray());
        Assert.Equal(AuthFailureReason.AuthenticationFailed, Failure1Of(c).Reason);
        Assert.Equal(DhchapControllerAuthenticator.MaxFailures, c.Failures);

        // From here every Negotiate fails at once: no more shared secrets computed for this queue.
        c.OnSend(AuthNegotiate.Offer(9, [DhchapHash.Sha256], [DhchapGroup.Ffdhe2048]).ToArray());
        Assert.Equal(AuthFailureReason.AuthenticationFailed, Failure1Of(c).Reason);
    }

    [Fact]
    public void A_stray_message_does_not_undo_an_authenticated_queue_but_a_failed_reauthentication_does()
    {
        var c = Controller(DhchapGroup.Null);
        var challenge = ChallengeOf(c, tid: 1);
        byte[] key = HostSecret.KeyFor(HostNqn);
        byte[] r1 = DhchapCrypto.HostResponse(DhchapHash.Sha256, key, challenge.Challenge, challenge.SequenceNumber, 1, 0, HostNqn, Core.SubNqn);
        c.OnSend(new DhchapReply(1, 0, r1, null, []).ToArray());
        byte[] buffer = new byte[4096];
        Assert.True(DhchapSuccess1.TryRead(buffer.AsSpan(0, c.OnReceive(buffer)), out var success1));
        Assert.Null(success1.Response);
        Assert.True(c.Authenticated);

        c.OnSend(new DhchapSuccess2(1).ToArray()); // a unidirectional host that sends Success2 anyway
        Assert.Equal(AuthFailureReason.IncorrectProtocolMessage, AuthFailure.TryRead(buffer.AsSpan(0, c.OnReceive(buffer)), out var f) ? f.Reason : 0);
        Assert.True(c.Authenticated);

        challenge = ChallengeOf(c, tid: 2);
        c.OnSend(new DhchapReply(2, 0, new byte[32], null, []).ToArray());
        Assert.Equal(AuthFailureReason.AuthenticationFailed, AuthFailure.TryRead(buffer.AsSpan(0, c.OnReceive(buffer)), out f) ? f.Reason : 0);
        Assert.False(c.Authenticated);
    }

    [Fact]
    public async Task Commands_before_authentication_get_authentication_required_and_a_hostile_controller_gets_failure2()
    {
        using var target = Core.Target(out var sub);
        sub.AllowHost(HostNqn, new DhchapHostKey(HostSecret));
        var cqe = target.Connect(Core.ConnectSqe(0), Core.ConnectBytes(), null, out var queue);
        Assert.True(cqe.IsSuccess);
        Assert.Equal(ConnectResponse.AuthreqAtr, ConnectResponse.GetAuthreq(cqe));
        var get = new PropertyGetCommand(PropertySize.EightBytes, ControllerProperty.Cap).ToCommand(2);
        var status = queue!.Begin(get, 0);
        Assert.Equal((NvmeStatusCodeType.CommandSpecific, NvmeStatusNames.AuthenticationRequired), (status.Sct, status.Sc));
        queue.Reject(2, status);

        // The host's side against a controller that sends a challenge with a group the host never offered.
        var channel = new ScriptedChannel(new DhchapChallenge(1, DhchapHash.Sha256, DhchapGroup.Ffdhe8192, 1, new byte[32], new byte[1024]).ToArray());
        var e = await Assert.ThrowsAsync<NvmeAuthenticationException>(() => DhchapHostAuthenticator.AuthenticateAsync(channel,
            new DhchapHostCredentials(HostSecret) { Groups = [DhchapGroup.Null] }, HostNqn, Core.SubNqn, 1, CancellationToken.None));
        Assert.Equal((byte)AuthFailureReason.DhGroupUnusable, e.Reason);
        Assert.True(AuthFailure.TryRead(channel.Sent[^1], out var failure2));
        Assert.Equal((AuthMessageId.Failure2, (ushort)1, AuthFailureReason.DhGroupUnusable), (failure2.Id, failure2.TransactionId, failure2.Reason));

        // ... and one that answers with another transaction's message.
        channel = new ScriptedChannel(new DhchapChallenge(2, DhchapHash.Sha256, DhchapGroup.Null, 1, new byte[32], []).ToArray());
        e = await Assert.ThrowsAsync<NvmeAuthenticationException>(() => DhchapHostAuthenticator.AuthenticateAsync(channel, new DhchapHostCredentials(HostSecret), HostNqn, Core.SubNqn, 1,
            CancellationToken.None));
        Assert.Equal((byte)AuthFailureReason.IncorrectProtocolMessage, e.Reason);
    }

    private sealed class ScriptedChannel(params byte[][] replies) : INvmeAuthenticationChannel
    {
        private int _next;

        public List<byte[]> Sent { get; } = [];

        public ValueTask SendAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
        {
            Sent.Add(message.ToArray());
            return ValueTask.CompletedTask;
        }

        public ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
        {
            byte[] reply = replies[_next++];
            reply.CopyTo(buffer);
            return ValueTask.FromResult(buffer.Length);
        }
    }
}
