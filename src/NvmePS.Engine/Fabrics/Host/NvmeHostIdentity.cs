namespace NvmePS.Engine.Fabrics.Host;

/// <summary>
/// The host identity a host sends in Connect (HOSTNQN and HOSTID, NVMe over Fabrics 1.1 §3.3), resolved as nvme-cli
/// does: explicit values first, then /etc/nvme/hostnqn and /etc/nvme/hostid, else a uuid-based NQN
/// (nqn.2014-08.org.nvmexpress:uuid:&lt;HOSTID&gt;) around a HOSTID generated once per process.
/// </summary>
public sealed record NvmeHostIdentity(string HostNqn, Guid HostId)
{
    /// <summary>Where nvme-cli keeps the host's identity.</summary>
    public const string DefaultConfigDirectory = "/etc/nvme";

    /// <summary>Files larger than this are ignored rather than trusted (a real hostnqn is at most 223 bytes).</summary>
    private const int MaxFileBytes = 4096;

    /// <summary>Resolves the identity. A null or empty <paramref name="hostNqn"/>, and a null or empty
    /// <paramref name="hostId"/>, mean "not given".</summary>
    public static NvmeHostIdentity Resolve(string? hostNqn = null, Guid? hostId = null, string configDirectory = DefaultConfigDirectory)
    {
        ArgumentNullException.ThrowIfNull(configDirectory);
        Guid id = hostId is { } given && given != Guid.Empty ? given : ReadHostId(configDirectory) ?? NvmeHostAssociationParameters.ProcessHostId;
        string nqn = !string.IsNullOrEmpty(hostNqn) ? hostNqn : ReadLine(Path.Combine(configDirectory, "hostnqn")) ?? Nqn.FromUuid(id);
        return new NvmeHostIdentity(nqn, id);
    }

    /// <summary>Association parameters carrying this identity.</summary>
    public NvmeHostAssociationParameters ApplyTo(NvmeHostAssociationParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        return parameters with { HostNqn = HostNqn, HostId = HostId };
    }

    private static Guid? ReadHostId(string dir) => Guid.TryParse(ReadLine(Path.Combine(dir, "hostid")), out Guid g) && g != Guid.Empty ? g : null;

    private static string? ReadLine(string path)
    {
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists || info.Length > MaxFileBytes)
            {
                return null;
            }

            string s = File.ReadAllText(path).Trim();
            return s.Length == 0 ? null : s;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // An unreadable file is the same as a missing one: nvme-cli falls back to a generated identity too.
            return null;
        }
    }
}
