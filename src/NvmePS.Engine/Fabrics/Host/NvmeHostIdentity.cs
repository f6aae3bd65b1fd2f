namespace NvmePS.Engine.Fabrics.Host;

/// <summary>
/// The host identity a host sends in Connect (HOSTNQN and HOSTID, NVMe over Fabrics 1.1 §3.3), resolved as nvme-cli
/// does: explicit values first, then /etc/nvme/hostnqn and /etc/nvme/hostid, else a uuid-based NQN
/// (nqn.2014-08.org.nvmexpress:uuid:&lt;HOSTID&gt;) around the machine's UUID (<see cref="MachineIdentity"/>), so a
/// host keeps its identity across processes and reboots; only a machine without /etc/machine-id falls back
/// to a HOSTID generated once per process.
/// </summary>
public sealed record NvmeHostIdentity(string HostNqn, Guid HostId)
{
    /// <summary>Where nvme-cli keeps the host's identity.</summary>
    public const string DefaultConfigDirectory = "/etc/nvme";

    /// <summary>Files larger than this are ignored rather than trusted (a real hostnqn is at most 223 bytes).</summary>
    private const int MaxFileBytes = 4096;

    /// <summary>Resolves the identity. A null or empty <paramref name="hostNqn"/>, and a null or empty
    /// <paramref name="hostId"/>, mean "not given".</summary>
    public static NvmeHostIdentity Resolve(string? hostNqn = null, Guid? hostId = null, string configDirectory = DefaultConfigDirectory) =>
        Resolve(hostNqn, hostId, configDirectory, out _);

    /// <summary>Resolves the identity and says where the host NQN came from ("given", the file's path, the machine's
    /// UUID, or "this process only").</summary>
    public static NvmeHostIdentity Resolve(string? hostNqn, Guid? hostId, string configDirectory, out string source)
    {
        ArgumentNullException.ThrowIfNull(configDirectory);
        Guid? fileId = ReadHostId(configDirectory);
        Guid id = hostId is { } given && given != Guid.Empty ? given : fileId ?? NvmeHostAssociationParameters.ProcessHostId;
        string nqnFile = Path.Combine(configDirectory, "hostnqn");
        string? fileNqn = ReadLine(nqnFile);
        if (!string.IsNullOrEmpty(hostNqn))
        {
            source = "given";
            return new NvmeHostIdentity(hostNqn, id);
        }

        if (fileNqn is not null)
        {
            source = nqnFile;
            return new NvmeHostIdentity(fileNqn, id);
        }

        source = hostId is { } g2 && g2 != Guid.Empty ? "given host id"
            : fileId is not null ? Path.Combine(configDirectory, "hostid")
            : MachineIdentity.Read() is { } machine && machine.Id == id ? machine.Source
            : "generated for this process only (no /etc/nvme/hostnqn or /etc/machine-id)";
        return new NvmeHostIdentity(Nqn.FromUuid(id), id);
    }

    /// <summary>A new identity, as `nvme gen-hostnqn` makes one: from the machine's UUID, or random with
    /// <paramref name="random"/> (or when the machine has none).</summary>
    public static NvmeHostIdentity Generate(bool random = false)
    {
        Guid id = !random && MachineIdentity.Read() is { } machine ? machine.Id : Guid.NewGuid();
        return new NvmeHostIdentity(Nqn.FromUuid(id), id);
    }

    /// <summary>Writes hostnqn and hostid to <paramref name="configDirectory"/> (created when missing), as nvme-cli
    /// reads them. Each file is written whole under a temporary name and renamed, so a reader never sees half.</summary>
    public void Persist(string configDirectory = DefaultConfigDirectory)
    {
        ArgumentNullException.ThrowIfNull(configDirectory);
        if (!Nqn.IsWellFormed(HostNqn))
        {
            throw new ArgumentException($"'{HostNqn}' is not a well-formed NQN.", nameof(HostNqn));
        }

        Directory.CreateDirectory(configDirectory);
        string nqnPath = Path.Combine(configDirectory, "hostnqn"), idPath = Path.Combine(configDirectory, "hostid");
        string suffix = $".{Guid.NewGuid():N}.tmp";
        try
        {
            // Both written in full before either replaces its file: a failure leaves the old pair, never a mix.
            File.WriteAllText(nqnPath + suffix, HostNqn + "\n");
            File.WriteAllText(idPath + suffix, HostId.ToString("D") + "\n");
            File.Move(idPath + suffix, idPath, overwrite: true);
            File.Move(nqnPath + suffix, nqnPath, overwrite: true);
        }
        finally
        {
            File.Delete(nqnPath + suffix);
            File.Delete(idPath + suffix);
        }
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
