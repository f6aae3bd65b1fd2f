using System.Management.Automation;
using System.Runtime.InteropServices;
using System.Security;
using NvmePS.Engine.Fabrics.Auth;

namespace NvmePS.Commands;

/// <summary>DH-HMAC-CHAP secrets as cmdlets take them: a DHHC-1 string, a SecureString holding one, or a file holding
/// one. Errors say what is wrong with the secret, never what it is.</summary>
internal static class DhchapArguments
{
    public static DhchapSecret? Resolve(object? value, string parameterName)
    {
        value = value is PSObject pso ? pso.BaseObject : value;
        string? text = value switch
        {
            null => null,
            string s => s,
            SecureString secure => Reveal(secure),
            DhchapSecret secret => secret.Reveal(),
            NvmeDhchapKey key => key.Secret,
            _ => throw new ArgumentException($"-{parameterName} takes a DHHC-1 string or a SecureString, not a {value.GetType().Name}."),
        };

        if (text is null)
        {
            return null;
        }

        return DhchapSecret.TryParse(text, out var parsed, out string error) ? parsed : throw new ArgumentException($"-{parameterName}: {error}");
    }

    /// <summary>-AllowedHostNqn and -AllowedHost together: every allowed host NQN, and the keys of those that must
    /// authenticate. A bad secret ends the cmdlet with InvalidDhchapSecret.</summary>
    public static (string[] Hosts, Dictionary<string, DhchapHostKey> Keys) ResolveAllowedHosts(Cmdlet cmdlet, string[] nqns, NvmfAllowedHost[] hosts)
    {
        var keys = new Dictionary<string, DhchapHostKey>(StringComparer.Ordinal);
        try
        {
            if (nqns.Concat(hosts.Select(h => h.HostNqn)).Any(n => n.StartsWith("DHHC-1:", StringComparison.Ordinal)))
            {
                // Said without the value, which is a secret.
                throw new ArgumentException("An allowed host is a DH-HMAC-CHAP secret, not a host NQN: pair them as @{ HostNqn = ...; DhchapSecret = ... }.");
            }

            foreach (var h in hosts)
            {
                if (h.ToKey() is { } key)
                {
                    keys[h.HostNqn] = key;
                }
            }
        }
        catch (ArgumentException e)
        {
            cmdlet.ThrowTerminatingError(new ErrorRecord(e, "InvalidDhchapSecret", ErrorCategory.InvalidArgument, null));
        }

        return ([.. nqns.Concat(hosts.Select(h => h.HostNqn)).Distinct(StringComparer.Ordinal)], keys);
    }

    /// <summary>Reads a secret file (first non-empty line), as nvme-cli's --dhchap-secret accepts a key file's text.</summary>
    public static DhchapSecret ReadFile(string path, string parameterName)
    {
        string? line = File.ReadLines(path).Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0);
        return DhchapSecret.TryParse(line, out var parsed, out string error) ? parsed : throw new ArgumentException($"-{parameterName} {path}: {error}");
    }

    private static string Reveal(SecureString secure)
    {
        IntPtr p = Marshal.SecureStringToGlobalAllocUnicode(secure);
        try
        {
            return Marshal.PtrToStringUni(p) ?? string.Empty;
        }
        finally
        {
            Marshal.ZeroFreeGlobalAllocUnicode(p);
        }
    }
}
