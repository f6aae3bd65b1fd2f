using System.Security.Cryptography;
using System.Text;

namespace NvmePS.Engine.Fabrics.Host;

/// <summary>
/// A host UUID that stays the same across processes and reboots without any file of ours, as libnvme's
/// nvmf_hostnqn_generate does: the firmware's DMI product UUID when readable (it is root-only on most systems), else
/// one derived from /etc/machine-id. The machine-id itself is never used directly (systemd asks applications not to
/// expose it): an HMAC-SHA256 keyed with it over an application id gives a version 4 UUID.
/// </summary>
public static class MachineIdentity
{
    /// <summary>The application id the machine-id derivation is keyed for.</summary>
    private static readonly byte[] AppId = Encoding.ASCII.GetBytes("NvmePS host identity v1");

    /// <summary>Placeholders firmware writes instead of a real UUID.</summary>
    private static readonly HashSet<Guid> Placeholders =
    [
        Guid.Empty,
        Guid.Parse("ffffffff-ffff-ffff-ffff-ffffffffffff"),
        Guid.Parse("03000200-0400-0500-0006-000700080009"),
    ];

    public const string DmiSource = "DMI product UUID";
    public const string MachineIdSource = "derived from /etc/machine-id";

    /// <summary>The machine's host UUID and where it came from, or null when there is nothing to derive it from.</summary>
    public static (Guid Id, string Source)? Read(string root = "/")
    {
        ArgumentNullException.ThrowIfNull(root);
        if (Guid.TryParse(ReadSmall(Path.Combine(root, "sys/class/dmi/id/product_uuid")), out Guid dmi) && !Placeholders.Contains(dmi))
        {
            return (dmi, DmiSource);
        }

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
