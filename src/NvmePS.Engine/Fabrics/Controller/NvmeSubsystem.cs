namespace NvmePS.Engine.Fabrics.Controller;

/// <summary>
/// An NVM subsystem of the target (or its discovery subsystem): NQN, identity, namespaces, the hosts allowed to connect,
/// and the controllers currently associated with it. Configuration changes are safe while hosts are connected:
/// namespace changes raise a Namespace Attribute Changed event on every controller, access changes bump the
/// discovery log generation counter.
/// </summary>
public sealed class NvmeSubsystem
{
    private readonly object _lock = new();
    private readonly HashSet<string> _allowedHosts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Auth.DhchapHostKey> _hostKeys = new(StringComparer.Ordinal);
    private readonly Dictionary<ushort, NvmeController> _controllers = [];
    // Copy-on-write snapshot: the I/O path reads it without a lock.
    private volatile Dictionary<uint, NvmeNamespace> _namespaces = [];
    private volatile NvmeNamespace[] _sortedNamespaces = [];
    private ushort _nextCntlid = 1;
    private bool _allowAnyHost;

    internal NvmeSubsystem(NvmeTarget target, string nqn, string serialNumber, bool isDiscovery)
    {
        Target = target;
        Nqn = nqn;
        SerialNumber = serialNumber;
        IsDiscovery = isDiscovery;
        _allowAnyHost = isDiscovery;
        Maintenance = new NvmeSubsystemMaintenance(this, target.Options.FirmwareRevision);
    }

    /// <summary>The drive behind this subsystem's controllers (identity, sensors, security), or null for a plain target.
    /// Set before hosts connect.</summary>
    public NvmeDeviceModel? DeviceModel { get; set; }

    /// <summary>The CNTLID the next dynamic controller gets (the NVMe-MI simulator numbers its controllers itself).</summary>
    internal void SetNextControllerId(ushort cntlid)
    {
        lock (_lock)
        {
            _nextCntlid = cntlid;
        }
    }

    /// <summary>Firmware slots, the device self-test and sanitize: state that outlives the controllers.</summary>
    public NvmeSubsystemMaintenance Maintenance { get; }

    public NvmeTarget Target { get; }

    /// <summary>SUBNQN.</summary>
    public string Nqn { get; }

    /// <summary>Identify Controller SN of every controller of this subsystem (≤ 20 ASCII characters).</summary>
    public string SerialNumber { get; }

    /// <summary>Identify Controller MN override; null uses the target's <see cref="NvmeTargetOptions.ModelNumber"/>.</summary>
    public string? ModelNumber { get; set; }

    /// <summary>True for the discovery subsystem (nqn.2014-08.org.nvmexpress.discovery).</summary>
    public bool IsDiscovery { get; }

    /// <summary>Any host may connect. Off by default for NVM subsystems: only <see cref="AllowedHosts"/> may.</summary>
    public bool AllowAnyHost
    {
        get
        {
            lock (_lock)
            {
                return _allowAnyHost;
            }
        }

        set
        {
            lock (_lock)
            {
                _allowAnyHost = value;
            }

            Target.OnDiscoveryChanged();
        }
    }

    public IReadOnlyCollection<string> AllowedHosts
    {
        get
        {
            lock (_lock)
            {
                return [.. _allowedHosts];
            }
        }
    }

    public IReadOnlyList<NvmeNamespace> Namespaces => _sortedNamespaces;

    public IReadOnlyCollection<NvmeController> Controllers
    {
        get
        {
            lock (_lock)
            {
                return [.. _controllers.Values];
            }
        }
    }

    /// <summary>Lets <paramref name="hostNqn"/> connect.</summary>
    public void AllowHost(string hostNqn)
    {
        if (!NvmePS.Engine.Fabrics.Nqn.IsWellFormed(hostNqn))
        {
            throw new ArgumentException($"'{hostNqn}' is not a well-formed NQN.", nameof(hostNqn));
        }

        lock (_lock)
        {
            _allowedHosts.Add(hostNqn);
        }

        Target.OnDiscoveryChanged();
    }

    /// <summary>Lets <paramref name="hostNqn"/> connect and requires it to authenticate every queue with DH-HMAC-CHAP
    /// using <paramref name="key"/> (as nvmet's hosts/&lt;nqn&gt;/dhchap_key); null removes the requirement.</summary>
    public void AllowHost(string hostNqn, Auth.DhchapHostKey? key)
    {
        if (!NvmePS.Engine.Fabrics.Nqn.IsWellFormed(hostNqn))
        {
            throw new ArgumentException("The host NQN is not well-formed.", nameof(hostNqn));
        }

        if (key is not null && (!Auth.DhchapCrypto.IsKnown(key.Hash) || !Auth.DhchapCrypto.IsKnown(key.Group)))
        {
            throw new ArgumentException($"Hash {key.Hash} or DH group {key.Group} is not one DH-HMAC-CHAP defines.", nameof(key));
        }

        // The key first: a host allowed a moment before its key would get in unauthenticated.
        lock (_lock)
        {
            if (key is null)
            {
                _hostKeys.Remove(hostNqn);
            }
            else
            {
                _hostKeys[hostNqn] = key;
            }
        }

        AllowHost(hostNqn);
    }

    /// <summary>The DH-HMAC-CHAP key <paramref name="hostNqn"/> must authenticate with, or null.</summary>
    public Auth.DhchapHostKey? GetHostKey(string hostNqn)
    {
        lock (_lock)
        {
            return _hostKeys.GetValueOrDefault(hostNqn);
        }
    }

    /// <summary>Host NQNs that must authenticate.</summary>
    public IReadOnlyCollection<string> AuthenticatedHosts
    {
        get
        {
            lock (_lock)
            {
                return [.. _hostKeys.Keys];
            }
        }
    }

    /// <summary>Removes a host from the allow-list (its existing associations stay until they end).</summary>
    public bool DisallowHost(string hostNqn)
    {
        bool removed;
        lock (_lock)
        {
            removed = _allowedHosts.Remove(hostNqn);
            _hostKeys.Remove(hostNqn);
        }

        if (removed)
        {
            Target.OnDiscoveryChanged();
        }

        return removed;
    }

    public bool IsHostAllowed(string hostNqn)
    {
        lock (_lock)
        {
            return _allowAnyHost || _allowedHosts.Contains(hostNqn);
        }
    }

    /// <summary>Adds a thin-provisioned in-memory namespace of <paramref name="sizeBytes"/> bytes.</summary>
    public NvmeNamespace AddMemoryNamespace(long sizeBytes, int blockSize = 512, uint nsid = 0, Guid? uuid = null) =>
        AddNamespace(new MemoryNamespaceStorage(sizeBytes), blockSize, nsid, uuid, ownsStorage: true);

    /// <summary>Adds a namespace backed by the file at <paramref name="path"/> (created or extended to <paramref name="sizeBytes"/> when given).</summary>
    public NvmeNamespace AddFileNamespace(string path, long? sizeBytes = null, int blockSize = 512, uint nsid = 0, bool readOnly = false, Guid? uuid = null) =>
        AddNamespace(new FileNamespaceStorage(path, sizeBytes, readOnly), blockSize, nsid, uuid, readOnly: readOnly, ownsStorage: true);

    /// <summary>Adds the namespace a <see cref="NvmeNamespaceSpec"/> describes ("memory:1G", "/path/disk.img,size=10G", ...).</summary>
    public NvmeNamespace AddNamespace(NvmeNamespaceSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return spec.IsMemory
            ? AddMemoryNamespace(spec.Size!.Value, spec.BlockSize, spec.Nsid)
            : AddFileNamespace(spec.Path!, spec.Size, spec.BlockSize, spec.Nsid, spec.ReadOnly);
    }

    /// <summary>Adds a namespace over any store. <paramref name="nsid"/> 0 picks the lowest free NSID.</summary>
    public NvmeNamespace AddNamespace(INvmeNamespaceStorage storage, int blockSize = 512, uint nsid = 0, Guid? uuid = null,
        byte[]? eui64 = null, bool readOnly = false, bool ownsStorage = false)
    {
        ArgumentNullException.ThrowIfNull(storage);
        if (IsDiscovery)
        {
            throw new InvalidOperationException("The discovery subsystem has no namespaces.");
        }

        NvmeNamespace ns;
        NvmeController[] controllers;
        lock (_lock)
        {
            var current = _namespaces;
            uint max = Target.Options.MaxNamespaces;
            if (nsid == 0)
            {
                nsid = 1;
                while (current.ContainsKey(nsid))
                {
                    nsid++;
                }
            }

            if (nsid > max)
            {
                throw new InvalidOperationException($"NSID {nsid} is above the limit of {max} namespaces.");
            }

            if (current.ContainsKey(nsid))
            {
                throw new InvalidOperationException($"NSID {nsid} is already in use in {Nqn}.");
            }

            ns = new NvmeNamespace(nsid, storage, blockSize, uuid ?? Guid.NewGuid(), eui64, readOnly, ownsStorage);
            var next = new Dictionary<uint, NvmeNamespace>(current) { [nsid] = ns };
            _namespaces = next;
            _sortedNamespaces = [.. next.Values.OrderBy(n => n.Nsid)];
            controllers = [.. _controllers.Values];
        }

        foreach (var c in controllers)
        {
            c.OnNamespaceChanged(nsid);
        }

        return ns;
    }

    /// <summary>Bytes of NVM that Namespace Management may allocate namespaces from (TNVMCAP). 0, the default, means the
    /// subsystem does not support Namespace Management and Attachment.</summary>
    public long NamespaceCapacity { get; set; }

    /// <summary>Bytes of <see cref="NamespaceCapacity"/> held by namespaces that Namespace Management created.</summary>
    public long AllocatedCapacity => _sortedNamespaces.Sum(n => n.PoolBytes);

    /// <summary>Namespace Management create: a memory namespace of <paramref name="blocks"/> blocks taken from
    /// <see cref="NamespaceCapacity"/>, attached to no controller. Returns the status the command completes with.</summary>
    internal NvmeStatus CreateManagedNamespace(long blocks, int blockSize, bool shared, out NvmeNamespace? created, Guid? uuid = null)
    {
        created = null;
        long bytes = blocks * blockSize;
        lock (_lock)
        {
            var current = _namespaces;
            long allocated = current.Values.Sum(n => n.PoolBytes);
            if (bytes > NamespaceCapacity - allocated)
            {
                return NvmeStatus.CommandSpecific(NvmeStatusNames.NamespaceInsufficientCapacity);
            }

            uint nsid = 1;
            while (current.ContainsKey(nsid))
            {
                nsid++;
            }

            if (nsid > Target.Options.MaxNamespaces)
            {
                return NvmeStatus.CommandSpecific(NvmeStatusNames.NamespaceIdentifierUnavailable);
            }

            var ns = new NvmeNamespace(nsid, new MemoryNamespaceStorage(bytes), blockSize, uuid ?? Guid.NewGuid(), null, readOnly: false, ownsStorage: true)
            {
                Shared = shared,
                PoolBytes = bytes,
                Attachment = NvmeNamespaceAttachment.NoHosts,
            };
            var next = new Dictionary<uint, NvmeNamespace>(current) { [nsid] = ns };
            _namespaces = next;
            _sortedNamespaces = [.. next.Values.OrderBy(n => n.Nsid)];
            created = ns;
        }

        // Attached to nobody, so no controller's namespace list changed.
        return NvmeStatus.Success;
    }

    /// <summary>Namespace Attachment: attaches <paramref name="ns"/> to (or detaches it from) the hosts of the controllers
    /// <paramref name="cntlids"/> names, all or nothing. Controllers whose view changed get a Namespace Attribute Changed event.</summary>
    internal NvmeStatus ChangeAttachment(NvmeNamespace ns, IReadOnlyList<ushort> cntlids, bool attach)
    {
        NvmeController[] affected;
        lock (_lock)
        {
            if (cntlids.Count == 0 || cntlids.Distinct().Count() != cntlids.Count)
            {
                return NvmeStatus.CommandSpecific(NvmeStatusNames.ControllerListInvalid);
            }

            var hosts = new List<string>();
            foreach (ushort id in cntlids)
            {
                if (!_controllers.TryGetValue(id, out var c))
                {
                    return NvmeStatus.CommandSpecific(NvmeStatusNames.ControllerListInvalid);
                }

                if (ns.IsAttachedTo(c.HostNqn) == attach)
                {
                    return NvmeStatus.CommandSpecific(attach ? NvmeStatusNames.NamespaceAlreadyAttached : NvmeStatusNames.NamespaceNotAttached);
                }

                hosts.Add(c.HostNqn);
            }

            var next = ns.Attachment.With(hosts, attach);
            if (attach && !ns.Shared && _controllers.Values.Select(c => c.HostNqn).Distinct(StringComparer.Ordinal).Count(next.Includes) > 1)
            {
                // NMIC bit 0 clear: a private namespace is attached to one host's controllers at most.
                return NvmeStatus.CommandSpecific(NvmeStatusNames.NamespaceIsPrivate);
            }

            var before = _controllers.Values.Where(c => ns.IsAttachedTo(c.HostNqn)).ToHashSet();
            ns.Attachment = next;
            affected = [.. _controllers.Values.Where(c => before.Contains(c) != ns.IsAttachedTo(c.HostNqn))];
        }

        foreach (var c in affected)
        {
            c.OnNamespaceChanged(ns.Nsid);
        }

        return NvmeStatus.Success;
    }

    /// <summary>Controllers of this subsystem with <paramref name="ns"/> active on them.</summary>
    internal IEnumerable<NvmeController> ControllersAttachedTo(NvmeNamespace ns) => Controllers.Where(c => ns.IsAttachedTo(c.HostNqn));

    /// <summary>Tells the controllers <paramref name="ns"/> is active on that its attributes changed (Format NVM).</summary>
    internal void OnNamespaceAttributesChanged(NvmeNamespace ns)
    {
        foreach (var c in ControllersAttachedTo(ns))
        {
            c.OnNamespaceChanged(ns.Nsid);
        }
    }

    /// <summary>Removes and disposes a namespace; connected controllers get a Namespace Attribute Changed event.</summary>
    public bool RemoveNamespace(uint nsid)
    {
        NvmeNamespace? ns;
        NvmeController[] controllers;
        lock (_lock)
        {
            var current = _namespaces;
            if (!current.TryGetValue(nsid, out ns))
            {
                return false;
            }

            var next = new Dictionary<uint, NvmeNamespace>(current);
            next.Remove(nsid);
            _namespaces = next;
            _sortedNamespaces = [.. next.Values.OrderBy(n => n.Nsid)];
            controllers = [.. _controllers.Values.Where(c => ns.IsAttachedTo(c.HostNqn))];
        }

        foreach (var c in controllers)
        {
            c.OnNamespaceChanged(nsid);
        }

        ns.Dispose();
        return true;
    }

    /// <summary>The active namespace with this NSID, or null.</summary>
    public NvmeNamespace? GetNamespace(uint nsid) => _namespaces.TryGetValue(nsid, out var ns) ? ns : null;

    /// <summary>Allocates a controller ID (1..FFEFh, next fit) and registers the controller; null when at the limit.</summary>
    internal NvmeController? CreateController(Func<ushort, NvmeController> factory)
    {
        lock (_lock)
        {
            if (_controllers.Count >= Target.Options.MaxControllersPerSubsystem)
            {
                return null;
            }

            // FFF0h..FFFFh are reserved; 0 is avoided because some hosts treat it as "none".
            for (int i = 0; i < 0xFFEF; i++)
            {
                ushort id = _nextCntlid;
                _nextCntlid = (ushort)(id >= 0xFFEF ? 1 : id + 1);
                if (!_controllers.ContainsKey(id))
                {
                    var controller = factory(id);
                    _controllers[id] = controller;
                    return controller;
                }
            }

            return null;
        }
    }

    internal NvmeController? FindController(ushort cntlid)
    {
        lock (_lock)
        {
            return _controllers.TryGetValue(cntlid, out var c) ? c : null;
        }
    }

    internal void RemoveController(NvmeController controller)
    {
        lock (_lock)
        {
            if (_controllers.TryGetValue(controller.Cntlid, out var c) && ReferenceEquals(c, controller))
            {
                _controllers.Remove(controller.Cntlid);
            }
        }
    }
}
