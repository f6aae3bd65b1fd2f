using System.Security.Cryptography;
using System.Text;

namespace NvmePS.Engine.Fabrics.Host;

/// <summary>
/// A host UUID that stays the same across processes and reboots without any file of ours, derived from
/// /etc/machine-id: an HMAC-SHA256 keyed with it over an application id gives a version 4 UUID (the machine-id itself
/// is never exposed, as systemd asks of applications). Not the firmware's DMI product UUID, which libnvme prefers:
/// that file is readable by root only, so root and other users would present two different hosts.
/// </summary>
public static class MachineIdentity
{
    /// <summary>The application id the machine-id derivation is keyed for.</summary>
    private static readonly byte[] AppId = Encoding.ASCII.GetBytes("NvmePS host identity v1");

    public const string MachineIdSource = "derived from /etc/machine-id";

    /// <summary>The machine's host UUID and where it came from, or null when there is nothing to derive it from.</summary>
    public static (Guid Id, string Source)? Read(string root = "/")
    {
        ArgumentNullException.ThrowIfNull(root);
        string? machineId = ReadSmall(Path.Combine(root, "etc/machine-id"));
        if (machineId is { Length: 32 } && machineId.All(char.IsAsciiHexDigitLower))
        {
            return (FromMachineId(Convert.FromHexString(machineId)), MachineIdSource);
        }

        return null;
    }

    /// <summary>HMAC-SHA256(machine-id, app id), first 16 bytes, stamped as an RFC 4122 version 4 UUID.</summary>
    public static Guid FromMachineId(ReadOnlySpan<byte> machineId)
    {
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(machineId, AppId, mac);
        mac[6] = (byte)((mac[6] & 0x0F) | 0x40);
        mac[8] = (byte)((mac[8] & 0x3F) | 0x80);
        return new Guid(mac[..16], bigEndian: true);
    }

    private static string? ReadSmall(string path)
    {
        try
        {
            var info = new FileInfo(path);
            return info.Exists && info.Length <= 256 ? File.ReadAllText(path).Trim() : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
