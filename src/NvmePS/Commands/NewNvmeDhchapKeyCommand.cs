using System.Management.Automation;
using NvmePS.Engine.Fabrics.Auth;
using NvmePS.Engine.Fabrics.Host;

namespace NvmePS.Commands;

/// <summary>New-NvmeDhchapKey: a DH-HMAC-CHAP secret in the DHHC-1 representation, as nvme gen-dhchap-key makes one
/// (same inputs, same output): a random key (or -Secret), optionally transformed with a hash and the host NQN.</summary>
[Cmdlet(VerbsCommon.New, "NvmeDhchapKey")]
[OutputType(typeof(NvmeDhchapKey))]
public sealed class NewNvmeDhchapKeyCommand : PSCmdlet
{
    /// <summary>Key length in bytes: 32, 48 or 64. Default: the hash's length, or 32 without one.</summary>
    [Parameter(Position = 0)]
    [ValidateSet("32", "48", "64")]
    public int KeyLength { get; set; }

    /// <summary>The hash that transforms the key with the host NQN (hh): None, Sha256, Sha384 or Sha512.</summary>
    [Parameter]
    [ValidateSet("None", "Sha256", "Sha384", "Sha512")]
    public string Hash { get; set; } = "None";

    /// <summary>The host NQN the transform uses; default: this machine's (as /etc/nvme/hostnqn gives it).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? HostNqn { get; set; }

    /// <summary>The key itself as hex, instead of random bytes (nvme gen-dhchap-key --secret). Checked in the cmdlet,
    /// not with ValidatePattern, whose error would repeat the key.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Secret { get; set; }

    protected override void ProcessRecord()
    {
        byte hh = Hash switch
        {
            "Sha256" => 1,
            "Sha384" => 2,
            "Sha512" => 3,
            _ => 0,
        };
        byte[] key = [];
        if (Secret is not null && (Secret.Length is not (64 or 96 or 128) || !Secret.All(char.IsAsciiHexDigit)))
        {
            WriteError(new ErrorRecord(new ArgumentException("-Secret must be 64, 96 or 128 hex digits (a 32-, 48- or 64-byte key)."), "InvalidDhchapKey", ErrorCategory.InvalidArgument, null));
            return;
        }

        try
        {
            key = Secret is null ? [] : Convert.FromHexString(Secret);
            // The default length; DhchapSecret.Generate refuses one the hash cannot give (as gen-dhchap-key and Linux 6.1 do).
            int length = KeyLength != 0 ? KeyLength : key.Length != 0 ? key.Length : hh == 0 ? 32 : DhchapCrypto.HashLength((DhchapHash)hh);
            string nqn = hh == 0 ? string.Empty : HostNqn ?? NvmeHostIdentity.Resolve().HostNqn;
            var secret = DhchapSecret.Generate(length, hh, nqn, key);
            WriteObject(new NvmeDhchapKey { Secret = secret.Reveal(), Hash = Hash, KeyLength = secret.KeyLength, HostNqn = nqn });
        }
        catch (ArgumentException e)
        {
            // Says what is wrong with the lengths, never the key.
            WriteError(new ErrorRecord(e, "InvalidDhchapKey", ErrorCategory.InvalidArgument, null));
        }
        finally
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(key);
        }
    }
}
