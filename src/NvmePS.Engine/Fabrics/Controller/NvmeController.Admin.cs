using System.Buffers.Binary;
using NvmePS.Engine.Admin;

namespace NvmePS.Engine.Fabrics.Controller;

public sealed partial class NvmeController
{
    private static readonly NvmeStatus InvalidField = NvmeStatus.Generic(NvmeStatusNames.InvalidFieldInCommand);

    // Pooled state machines: no allocation per I/O when the store completes asynchronously.
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<Outcome> ExecuteAdminAsync(NvmeCommand c, ReadOnlyMemory<byte> dataIn, Memory<byte> dataOut, CancellationToken ct)
    {
        if (!IsDiscovery && Subsystem.Maintenance.SanitizeInProgress && !AllowedDuringSanitize(c.Opcode))
        {
            return new Outcome(NvmeStatus.Generic(NvmeStatusNames.SanitizeInProgress));
        }

        switch (c.Opcode)
        {
            case NvmeAdminOpcode.Identify:
                return Identify(c, dataOut.Span);
            case NvmeAdminOpcode.GetLogPage:
                return GetLogPage(c, dataOut.Span);
            case NvmeAdminOpcode.GetFeatures:
                return GetFeatures(c, dataOut.Span);
            case NvmeAdminOpcode.SetFeatures:
                return SetFeatures(c, dataIn.Span);
            case NvmeAdminOpcode.AsynchronousEventRequest:
                return await AsyncEventRequestAsync(ct).ConfigureAwait(false);
            case NvmeAdminOpcode.NamespaceManagement:
                return NamespaceManagement(c, dataIn.Span);
            case NvmeAdminOpcode.NamespaceAttachment:
                return NamespaceAttachment(c, dataIn.Span);
            case NvmeAdminOpcode.FormatNvm:
                return await FormatNvmAsync(c, ct).ConfigureAwait(false);
            case NvmeAdminOpcode.FirmwareImageDownload:
                FirmwareImageDownloadCommand.TryRead(c, out var download);
                return new Outcome(Subsystem.Maintenance.Download(download, dataIn.Span));
            case NvmeAdminOpcode.FirmwareCommit:
                FirmwareCommitCommand.TryRead(c, out var commit);
                return new Outcome(Subsystem.Maintenance.Commit(commit));
            case NvmeAdminOpcode.DeviceSelfTest:
                return DeviceSelfTest(c);
            case NvmeAdminOpcode.Sanitize:
                SanitizeCommand.TryRead(c, out var sanitize);
                return new Outcome(Subsystem.Maintenance.StartSanitize(sanitize, c.Cdw10));
            case NvmeAdminOpcode.KeepAlive:
                Touch();
                return new Outcome(NvmeStatus.Success);
            case NvmeAdminOpcode.SecuritySend when Subsystem.DeviceModel is { SupportsSecurity: true } model:
                return new Outcome(model.SecuritySend(this, (byte)(c.Cdw10 >> 24), (ushort)(c.Cdw10 >> 8), dataIn.Span));
            case NvmeAdminOpcode.SecurityReceive when Subsystem.DeviceModel is { SupportsSecurity: true } model:
                {
                    var (status, bytes) = model.SecurityReceive(this, (byte)(c.Cdw10 >> 24), (ushort)(c.Cdw10 >> 8), dataOut.Span[..(int)Math.Min(c.Cdw11, (uint)dataOut.Length)]);
                    return new Outcome(status, Bytes: bytes);
                }

            case NvmeAdminOpcode.Abort:
                // Commands here complete as fast as their store allows; none is abortable. DW0 bit 0 set: not aborted.
                return new Outcome(NvmeStatus.Success, 1);
            default:
                return new Outcome(NvmeStatus.Generic(NvmeStatusNames.InvalidCommandOpcode));
        }
    }

    // ---------------- Identify ----------------

    /// <summary>The Identify Controller structure this controller reports (CNS 01h).</summary>
    public NvmeIdentifyController IdentifyController()
    {
        var core = IdentifyControllerCore();
        return Subsystem.DeviceModel is { } model && !IsDiscovery ? model.DescribeController(this, core) : core;
    }

    private NvmeIdentifyController IdentifyControllerCore()
    {
        var o = Target.Options;
        bool disc = IsDiscovery;
        return new NvmeIdentifyController
        {
            Sn = Subsystem.SerialNumber,
            Mn = Subsystem.ModelNumber ?? o.ModelNumber,
            Fr = disc ? o.FirmwareRevision : Subsystem.Maintenance.ActiveFirmwareRevision,
            Rab = 6,
            // Bit 1: the subsystem may have more than one controller (one per association).
            Cmic = disc ? (byte)0 : (byte)0x02,
            Mdts = o.Mdts,
            Cntlid = Cntlid,
            Ver = Version,
            // Namespace Attribute Notices (bit 8) for NVM controllers; Discovery Log Page Change (bit 31) for discovery.
            Oaes = disc ? 1u << 31 : 1u << 8,
            // Bit 6 TBKAS: any command restarts the keep-alive timer.
            Ctratt = 1u << 6,
            Cntrltype = disc ? NvmeIdentifyController.ControllerTypeDiscovery : NvmeIdentifyController.ControllerTypeIo,
            Acl = 3,
            Aerl = (byte)(o.MaxAsyncEventRequests - 1),
            // Slot 1 read-only (bit 0), three slots (bits 3:1), activation without reset (bit 4).
            Frmw = disc ? (byte)0 : (byte)(0x01 | (NvmeSubsystemMaintenance.FirmwareSlots << 1) | 0x10),
            // Bit 0 SMART per namespace, bit 2 extended Get Log Page (NUMDU, LPOL/LPOU).
            Lpa = disc ? (byte)0x04 : (byte)0x05,
            Elpe = (byte)(o.ErrorLogEntries - 1),
            Kas = o.KeepAliveGranularity,
            Sqes = disc ? (byte)0 : (byte)0x66,
            Cqes = disc ? (byte)0 : (byte)0x44,
            Maxcmd = (ushort)Math.Min(o.MaxQueueSize, ushort.MaxValue),
            Nn = disc ? 0 : o.MaxNamespaces,
            // Format NVM (bit 1), and Namespace Management and Attachment (bit 3) when the subsystem has a capacity pool.
            // Format NVM (bit 1), Firmware Commit and Download (bit 2), Device Self-test (bit 4).
            Oacs = disc ? (ushort)0 : (ushort)(0x0016 | (ManagesNamespaces ? 0x0008 : 0) | (Subsystem.DeviceModel?.SupportsSecurity == true ? 0x0001 : 0)),
            // Extended self-test time in minutes; one self-test at a time in the subsystem (DSTO bit 0).
            Edstt = disc ? (ushort)0 : (ushort)Math.Max(1, Math.Ceiling(o.SelfTestExtendedTime.TotalMinutes)),
            Dsto = disc ? (byte)0 : (byte)1,
            // Any granularity of Firmware Image Download.
            Fwug = disc ? (byte)0 : (byte)0xFF,
            // Block erase (bit 1) and overwrite (bit 2); no cryptographic erase.
            Sanicap = disc ? 0u : 0x6u,
            // Format NVM applies per namespace (bit 0 clear), and SES 001b erases only what it formats.
            Fna = 0,
            Tnvmcap = ManagesNamespaces ? (UInt128)(ulong)Subsystem.NamespaceCapacity : 0,
            Unvmcap = ManagesNamespaces ? (UInt128)(ulong)Math.Max(0, Subsystem.NamespaceCapacity - Subsystem.AllocatedCapacity) : 0,
            Mnan = ManagesNamespaces ? o.MaxNamespaces : 0,
            // Compare (bit 0), Dataset Management (bit 2) and Write Zeroes (bit 3).
            Oncs = disc ? (ushort)0 : (ushort)0x000D,
            // Volatile write cache present; Flush with NSID FFFFFFFFh supported (bits 2:1 = 11b).
            Vwc = disc ? (byte)0 : (byte)0x07,
            // SGLs supported (bit 0) and the Offset subtype for in-capsule data (bit 20).
            Sgls = (1u << 0) | (o.InCapsuleDataSize > 0 ? 1u << 20 : 0),
            Subnqn = Subsystem.Nqn,
            Ioccsz = disc ? 0 : o.Ioccsz,
            Iorcsz = disc ? 0u : 1u,
            Icdoff = 0,
            Fcatt = 0,
            Msdbd = 1,
            Psd = [new NvmePowerStateDescriptor(Mp: 0, Mxps: false, Nops: false, Enlat: 0, Exlat: 0, Rrt: 0, Rrl: 0, Rwt: 0, Rwl: 0,
                Idlp: 0, Ips: 0, Actp: 0, Apw: 0, Aps: 0)],
        };
    }

    private Outcome Identify(in NvmeCommand c, Span<byte> data)
    {
        IdentifyCommand.TryRead(c, out var identify);
        byte cns = identify.Cns;
        if (cns == NvmeIdentifyCns.Controller)
        {
            IdentifyController().Write(data);
            return new Outcome(NvmeStatus.Success, Bytes: 4096);
        }

        if (IsDiscovery)
        {
            return new Outcome(InvalidField);
        }

        uint nn = Target.Options.MaxNamespaces;
        switch (cns)
        {
            case NvmeIdentifyCns.Namespace:
                {
                    if (c.Nsid == NvmeAdminCommands.BroadcastNsid)
                    {
                        // What every namespace offers (Base Specification 2.0 §5.17.2.1): the LBA formats a host picks
                        // from for Namespace Management and Format NVM.
                        data[..4096].Clear();
                        new NvmeIdentifyNamespace { Nlbaf = (byte)(NvmeNamespace.LbaFormats.Count - 1), Nmic = 1, Dlfeat = 0x09, Lbaf = [.. NvmeNamespace.LbaFormats] }.Write(data);
                        return new Outcome(NvmeStatus.Success, Bytes: 4096);
                    }

                    if (c.Nsid == 0 || c.Nsid > nn)
                    {
                        return new Outcome(InvalidNamespace);
                    }

                    var ns = ActiveNamespace(c.Nsid);
                    if (ns is null)
                    {
                        // An inactive NSID in range: a zero-filled structure (Base Spec 2.0 §5.17.2.1).
                        data[..4096].Clear();
                    }
                    else
                    {
                        ns.Identify().Write(data);
                    }

                    return new Outcome(NvmeStatus.Success, Bytes: 4096);
                }

            case NvmeIdentifyCns.ActiveNamespaceIdList:
                {
                    if (c.Nsid >= 0xFFFFFFFE)
                    {
                        return new Outcome(InvalidNamespace);
                    }

                    uint after = c.Nsid;
                    var ids = ActiveNamespaces.Where(n => n.Nsid > after).Select(n => n.Nsid).Take(NvmeNamespaceList.MaxEntries).ToArray();
                    NvmeNamespaceList.Write(data, ids);
                    return new Outcome(NvmeStatus.Success, Bytes: 4096);
                }

            case NvmeIdentifyCns.NamespaceIdDescriptorList:
                {
                    var ns = ActiveNamespace(c.Nsid);
                    if (ns is null)
                    {
                        return new Outcome(InvalidNamespace);
                    }

                    NvmeNamespaceIdDescriptor.WriteList(data[..4096], ns.Descriptors());
                    return new Outcome(NvmeStatus.Success, Bytes: 4096);
                }

            case NvmeIdentifyCns.CommandSetController:
                // NVM Command Set Identify Controller (VSL, WZSL, WUSL, DMRL, DMRSL, DMSL): all zero = no limits beyond MDTS.
                // Linux asks for it from NVMe 2.0 controllers.
                if (identify.Csi != 0)
                {
                    return new Outcome(InvalidField);
                }

                data[..4096].Clear();
                return new Outcome(NvmeStatus.Success, Bytes: 4096);

            case NvmeIdentifyCns.CommandSetNamespace:
                // NVM Command Set specific Identify Namespace: no protection information or extended formats (all zero).
                if (identify.Csi != 0)
                {
                    return new Outcome(InvalidField);
                }

                if (ActiveNamespace(c.Nsid) is null)
                {
                    return new Outcome(InvalidNamespace);
                }

                data[..4096].Clear();
                return new Outcome(NvmeStatus.Success, Bytes: 4096);

            case NvmeIdentifyCns.CommandSetActiveNamespaceIdList:
                {
                    if (identify.Csi != 0)
                    {
                        // Only the NVM command set exists here: other sets have no namespaces.
                        NvmeNamespaceList.Write(data, []);
                        return new Outcome(NvmeStatus.Success, Bytes: 4096);
                    }

                    if (c.Nsid >= 0xFFFFFFFE)
                    {
                        return new Outcome(InvalidNamespace);
                    }

                    uint from = c.Nsid;
                    NvmeNamespaceList.Write(data, ActiveNamespaces.Where(n => n.Nsid > from).Select(n => n.Nsid).Take(NvmeNamespaceList.MaxEntries).ToArray());
                    return new Outcome(NvmeStatus.Success, Bytes: 4096);
                }

            case NvmeIdentifyCns.AllocatedNamespaceIdList:
            case NvmeIdentifyCns.AllocatedNamespace:
            case NvmeIdentifyCns.NamespaceAttachedControllerList:
            case NvmeIdentifyCns.ControllerList:
                return ManagesNamespaces ? IdentifyManagement(cns, identify.Cntid, c.Nsid, data) : new Outcome(InvalidField);

            default:
                return new Outcome(InvalidField);
        }
    }

    // ---------------- Get Log Page ----------------

    private Outcome GetLogPage(in NvmeCommand c, Span<byte> data)
    {
        GetLogPageCommand.TryRead(c, out var getLog);
        byte lid = getLog.Lid;
        bool rae = getLog.Rae;
        ulong offset = getLog.Offset;
        if (getLog.OffsetIsIndex || (offset & 3) != 0)
        {
            return new Outcome(InvalidField);
        }

        byte[]? log = (lid, IsDiscovery) switch
        {
            (NvmeLogPageId.SupportedLogPages, _) => SupportedLogPages(),
            (NvmeLogPageId.ErrorInformation, _) => ErrorLog(),
            (NvmeLogPageId.Discovery, true) => Target.BuildDiscoveryLog(HostNqn).ToArray(),
            (NvmeLogPageId.SmartHealth, false) => SmartLog(c.Nsid),
            (NvmeLogPageId.FirmwareSlot, false) => FirmwareSlotLog(),
            (NvmeLogPageId.DeviceSelfTest, false) => Log(NvmeSelfTestLog.Size, Subsystem.Maintenance.SelfTestLog().Write),
            (NvmeLogPageId.SanitizeStatus, false) => Log(NvmeSanitizeStatusLog.Size, Subsystem.Maintenance.SanitizeLog().Write),
            (NvmeLogPageId.ChangedNamespaceList, false) => ChangedNamespaceLog(rae),
            _ => null,
        };

        if (log is null)
        {
            return new Outcome(NvmeStatus.CommandSpecific(NvmeStatusNames.InvalidLogPage));
        }

        if (ReferenceEquals(log, NoSuchNamespace))
        {
            return new Outcome(InvalidNamespace);
        }

        if (offset > (ulong)log.Length)
        {
            return new Outcome(InvalidField);
        }

        // Bytes past the end of the log read as zero.
        int available = (int)Math.Min((ulong)data.Length, (ulong)log.Length - offset);
        log.AsSpan((int)offset, available).CopyTo(data);
        data[available..].Clear();

        if (!rae)
        {
            // Reading the log with RAE clear re-arms the event it reports (Base Spec 2.0 §5.2).
            lock (_lock)
            {
                if (lid == NvmeLogPageId.Discovery)
                {
                    _discoveryNoticeMasked = false;
                }
                else if (lid == NvmeLogPageId.SanitizeStatus)
                {
                    _sanitizeNoticeMasked = false;
                }
            }
        }

        return new Outcome(NvmeStatus.Success, Bytes: data.Length);
    }

    /// <summary>Supported Log Pages (LID 00h, Base Spec 2.0 Figure 204): one dword per LID, bit 0 LSUPP.</summary>
    private byte[] SupportedLogPages()
    {
        var log = new byte[256 * 4];
        byte[] lids = IsDiscovery
            ? [NvmeLogPageId.SupportedLogPages, NvmeLogPageId.ErrorInformation, NvmeLogPageId.Discovery]
            : [NvmeLogPageId.SupportedLogPages, NvmeLogPageId.ErrorInformation, NvmeLogPageId.SmartHealth, NvmeLogPageId.FirmwareSlot, NvmeLogPageId.ChangedNamespaceList,
                NvmeLogPageId.DeviceSelfTest, NvmeLogPageId.SanitizeStatus];
        foreach (byte lid in lids)
        {
            log[lid * 4] = 0x01;
        }

        return log;
    }

    private byte[] ErrorLog()
    {
        var log = new byte[_errorLog.Length * NvmeErrorLogEntry.Size];
        lock (_lock)
        {
            // Newest first; unused entries stay zero (error count 0).
            int n = (int)Math.Min(_errorCount, (ulong)_errorLog.Length);
            for (int i = 0; i < n; i++)
            {
                int index = ((_errorHead - i) % _errorLog.Length + _errorLog.Length) % _errorLog.Length;
                _errorLog[index].Write(log.AsSpan(i * NvmeErrorLogEntry.Size));
            }
        }

        return log;
    }

    /// <summary>The SMART / Health log: I/O counters of one namespace, or of all with NSID 0 or FFFFFFFFh.</summary>
    public NvmeSmartLog BuildSmartLog(IEnumerable<NvmeNamespace> namespaces)
    {
        ArgumentNullException.ThrowIfNull(namespaces);
        long bytesRead = 0, bytesWritten = 0, reads = 0, writes = 0;
        foreach (var ns in namespaces)
        {
            bytesRead += ns.BytesRead;
            bytesWritten += ns.BytesWritten;
            reads += ns.ReadCommands;
            writes += ns.WriteCommands;
        }

        var core = new NvmeSmartLog
        {
            // No media to wear and no thermal sensor: spare is full, nothing used, temperature not reported (0).
            AvailableSpare = 100,
            AvailableSpareThreshold = 10,
            PercentageUsed = 0,
            DataUnitsRead = DataUnits(bytesRead),
            DataUnitsWritten = DataUnits(bytesWritten),
            HostReadCommands = (UInt128)(ulong)reads,
            HostWriteCommands = (UInt128)(ulong)writes,
            PowerCycles = 1,
            PowerOnHours = (UInt128)(ulong)(DateTime.UtcNow - Target.StartTime).TotalHours,
            UnsafeShutdowns = (UInt128)(ulong)Target.UnsafeShutdowns,
            NumberOfErrorLogEntries = ErrorCount,
        };
        return Subsystem.DeviceModel is { } model ? model.DescribeHealth(this, core) : core;

        // Thousands of 512-byte units, rounded up (Figure 207).
        static UInt128 DataUnits(long bytes) => (UInt128)(ulong)((((bytes + 511) / 512) + 999) / 1000);
    }

    /// <summary>Marks a per-namespace log asked for an NSID that is not active.</summary>
    private static readonly byte[] NoSuchNamespace = [];

    private byte[] SmartLog(uint nsid)
    {
        IEnumerable<NvmeNamespace> scope;
        if (nsid is 0 or NvmeAdminCommands.BroadcastNsid)
        {
            scope = ActiveNamespaces;
        }
        else if (ActiveNamespace(nsid) is { } ns)
        {
            scope = [ns];
        }
        else
        {
            return NoSuchNamespace;
        }

        return BuildSmartLog(scope).ToArray();
    }

    private byte[] FirmwareSlotLog() => Log(NvmeFirmwareSlotLog.Size, Subsystem.Maintenance.FirmwareSlotLog().Write);

    private static byte[] Log(int size, SpanAction write)
    {
        var log = new byte[size];
        write(log);
        return log;
    }

    private delegate void SpanAction(Span<byte> destination);

    private byte[] ChangedNamespaceLog(bool rae)
    {
        var log = new byte[NvmeNamespaceList.Size];
        lock (_lock)
        {
            if (_changedListOverflow)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(log, NvmeNamespaceList.Overflow);
            }
            else
            {
                NvmeNamespaceList.Write(log, _changedNamespaces.ToArray());
            }

            if (!rae)
            {
                _changedNamespaces.Clear();
                _changedListOverflow = false;
                _namespaceNoticeMasked = false;
            }
        }

        return log;
    }

    // ---------------- Features ----------------

    private Outcome GetFeatures(in NvmeCommand c, Span<byte> data)
    {
        GetFeaturesCommand.TryRead(c, out var get);
        byte fid = get.Fid;
        var select = get.Select;
        if (select > NvmeFeatureSelect.SupportedCapabilities)
        {
            return new Outcome(InvalidField);
        }

        if (!FeatureSupported(fid))
        {
            return new Outcome(InvalidField);
        }

        if (select == NvmeFeatureSelect.SupportedCapabilities)
        {
            // Nothing is saveable (bit 0) or namespace specific (bit 1); all but Host Identifier are changeable (bit 2).
            return new Outcome(NvmeStatus.Success, fid == NvmeFeatureId.HostIdentifier ? 0u : 0x4u);
        }

        // Nothing is saveable, so the saved value is the default (Base Spec 2.0 §5.15).
        bool current = select == NvmeFeatureSelect.Current;
        lock (_lock)
        {
            uint dw0 = fid switch
            {
                NvmeFeatureId.Arbitration => current ? _arbitration : 0,
                NvmeFeatureId.PowerManagement => current ? _powerManagement : 0,
                NvmeFeatureId.TemperatureThreshold => TemperatureThreshold(get.Cdw11, current),
                NvmeFeatureId.VolatileWriteCache => current ? (_volatileWriteCache ? 1u : 0u) : 1u,
                NvmeFeatureId.NumberOfQueues => new NvmeNumberOfQueues(
                    Math.Max(current ? AllocatedIoQueues : Target.Options.MaxIoQueues, 1),
                    Math.Max(current ? AllocatedIoQueues : Target.Options.MaxIoQueues, 1)).ToDword(),
                NvmeFeatureId.AsynchronousEventConfiguration => current ? _aec : 0,
                NvmeFeatureId.KeepAliveTimer => current ? KeepAliveTimeout : 0,
                _ => 0,
            };

            if (fid == NvmeFeatureId.HostIdentifier)
            {
                if (!NvmeHostIdentifierFeature.IsExtended(get.Cdw11))
                {
                    // Over fabrics the host identifier is the 128-bit HOSTID of Connect.
                    return new Outcome(NvmeStatus.Generic(NvmeStatusNames.HostIdentifierInconsistentFormat));
                }

                HostId.TryWriteBytes(data[..16], bigEndian: true, out _);
                return new Outcome(NvmeStatus.Success, Bytes: 16);
            }

            return new Outcome(NvmeStatus.Success, dw0);
        }
    }

    private bool FeatureSupported(byte fid) => fid switch
    {
        NvmeFeatureId.AsynchronousEventConfiguration or NvmeFeatureId.KeepAliveTimer => true,
        NvmeFeatureId.Arbitration or NvmeFeatureId.PowerManagement or NvmeFeatureId.TemperatureThreshold
            or NvmeFeatureId.VolatileWriteCache or NvmeFeatureId.NumberOfQueues or NvmeFeatureId.HostIdentifier => !IsDiscovery,
        _ => false,
    };

    private uint TemperatureThreshold(uint cdw11, bool current)
    {
        var which = NvmeTemperatureThreshold.FromDword(cdw11);
        uint key = (which.Tmpsel * 2u) + (which.UnderTemperature ? 1u : 0u);
        // Defaults: over-temperature 70 °C (343 K), under-temperature 0 K (never).
        ushort fallback = which.UnderTemperature ? (ushort)0 : (ushort)343;
        return current && _temperatureThresholds.TryGetValue(key, out var v) ? v : fallback;
    }

    private Outcome SetFeatures(in NvmeCommand c, ReadOnlySpan<byte> data)
    {
        SetFeaturesCommand.TryRead(c, out var set);
        byte fid = set.Fid;
        if (!FeatureSupported(fid))
        {
            return new Outcome(InvalidField);
        }

        if (set.Save)
        {
            return new Outcome(NvmeStatus.CommandSpecific(NvmeStatusNames.FeatureIdentifierNotSaveable));
        }

        lock (_lock)
        {
            switch (fid)
            {
                case NvmeFeatureId.Arbitration:
                    _arbitration = NvmeArbitration.FromDword(set.Cdw11).ToDword();
                    return new Outcome(NvmeStatus.Success);

                case NvmeFeatureId.PowerManagement:
                    // Only power state 0 exists (NPSS = 0).
                    if (NvmePowerManagement.FromDword(set.Cdw11).Ps != 0)
                    {
                        return new Outcome(InvalidField);
                    }

                    _powerManagement = NvmePowerManagement.FromDword(set.Cdw11).ToDword();
                    return new Outcome(NvmeStatus.Success);

                case NvmeFeatureId.TemperatureThreshold:
                    {
                        var t = NvmeTemperatureThreshold.FromDword(set.Cdw11);
                        if (NvmeTemperatureThreshold.HasReservedThsel(set.Cdw11) || (t.Tmpsel > 8 && t.Tmpsel != 0xF))
                        {
                            return new Outcome(InvalidField);
                        }

                        _temperatureThresholds[(t.Tmpsel * 2u) + (t.UnderTemperature ? 1u : 0u)] = t.Tmpth;
                        Subsystem.DeviceModel?.TemperatureThresholdChanged(this, t);
                        return new Outcome(NvmeStatus.Success);
                    }

                case NvmeFeatureId.VolatileWriteCache:
                    _volatileWriteCache = NvmeVolatileWriteCache.FromDword(set.Cdw11).Enabled;
                    return new Outcome(NvmeStatus.Success);

                case NvmeFeatureId.NumberOfQueues:
                    {
                        var requested = NvmeNumberOfQueues.FromDword(set.Cdw11);
                        if (requested.SubmissionQueues > 0xFFFF || requested.CompletionQueues > 0xFFFF)
                        {
                            return new Outcome(InvalidField);
                        }

                        if (_queues.Skip(1).Any(q => q is not null))
                        {
                            // Queues already exist: the count can no longer change (Base Spec 2.0 §5.27.1.5).
                            return new Outcome(NvmeStatus.Generic(NvmeStatusNames.CommandSequenceError));
                        }

                        int granted = Math.Min(Math.Min(requested.SubmissionQueues, requested.CompletionQueues), Target.Options.MaxIoQueues);
                        AllocatedIoQueues = granted;
                        return new Outcome(NvmeStatus.Success, new NvmeNumberOfQueues(granted, granted).ToDword());
                    }

                case NvmeFeatureId.AsynchronousEventConfiguration:
                    {
                        uint supported = IsDiscovery ? (uint)NvmeAsyncEventConfig.DiscoveryLogPageChangeNotices
                            : (uint)NvmeAsyncEventConfig.SmartHealthCriticalWarnings | (uint)NvmeAsyncEventConfig.NamespaceAttributeNotices;
                        _aec = set.Cdw11 & supported;
                        return new Outcome(NvmeStatus.Success);
                    }

                case NvmeFeatureId.KeepAliveTimer:
                    KeepAliveTimeout = Target.RoundKato(set.Cdw11);
                    Touch();
                    break;

                case NvmeFeatureId.HostIdentifier:
                    // Fixed by Connect over fabrics.
                    return new Outcome(NvmeStatus.Generic(NvmeStatusNames.CommandSequenceError));
            }
        }

        ArmKeepAlive();
        return new Outcome(NvmeStatus.Success);
    }

    // ---------------- Asynchronous events ----------------

    private async ValueTask<Outcome> AsyncEventRequestAsync(CancellationToken ct)
    {
        TaskCompletionSource<uint> tcs;
        lock (_lock)
        {
            if (_pendingEvents.TryDequeue(out uint ready))
            {
                return new Outcome(NvmeStatus.Success, ready);
            }

            if (_outstandingAers.Count >= Target.Options.MaxAsyncEventRequests)
            {
                return new Outcome(NvmeStatus.CommandSpecific(NvmeStatusNames.AsyncEventRequestLimitExceeded));
            }

            tcs = new TaskCompletionSource<uint>(TaskCreationOptions.RunContinuationsAsynchronously);
            _outstandingAers.Enqueue(tcs);
        }

        // Cancelling the wait cancels the request itself, so PostEvent never hands an event to a dead AER.
        uint dw0;
        using (ct.Register(static t => ((TaskCompletionSource<uint>)t!).TrySetCanceled(), tcs))
        {
            dw0 = await tcs.Task.ConfigureAwait(false);
        }

        return new Outcome(NvmeStatus.Success, dw0);
    }

    private void PostEvent(NvmeAsyncEvent e)
    {
        TaskCompletionSource<uint>? waiter;
        lock (_lock)
        {
            // Skip AERs whose commands were cancelled (queue gone).
            do
            {
                _outstandingAers.TryDequeue(out waiter);
            }
            while (waiter is not null && waiter.Task.IsCompleted);

            if (waiter is null)
            {
                _pendingEvents.Enqueue(e.ToDword());
                return;
            }
        }

        waiter.TrySetResult(e.ToDword());
    }

    internal void OnNamespaceChanged(uint nsid)
    {
        Subsystem.DeviceModel?.NamespaceChanged(this, nsid);
        bool post;
        lock (_lock)
        {
            if (_changedNamespaces.Count >= NvmeNamespaceList.MaxEntries)
            {
                _changedListOverflow = true;
            }
            else
            {
                _changedNamespaces.Add(nsid);
            }

            // One event until the host reads the Changed Namespace List with RAE clear.
            post = (_aec & (uint)NvmeAsyncEventConfig.NamespaceAttributeNotices) != 0 && !_namespaceNoticeMasked && !IsTerminated;
            if (post)
            {
                _namespaceNoticeMasked = true;
            }
        }

        if (post)
        {
            PostEvent(new NvmeAsyncEvent(NvmeAsyncEventType.Notice, NvmeAsyncEvent.NoticeNamespaceAttributeChanged, NvmeLogPageId.ChangedNamespaceList));
        }
    }

    internal void OnDiscoveryLogChanged()
    {
        bool post;
        lock (_lock)
        {
            post = (_aec & (uint)NvmeAsyncEventConfig.DiscoveryLogPageChangeNotices) != 0 && !_discoveryNoticeMasked && !IsTerminated;
            if (post)
            {
                _discoveryNoticeMasked = true;
            }
        }

        if (post)
        {
            PostEvent(new NvmeAsyncEvent(NvmeAsyncEventType.Notice, NvmeAsyncEvent.NoticeDiscoveryLogPageChange, NvmeLogPageId.Discovery));
        }
    }

    /// <summary>A sanitize of the subsystem ended: one Sanitize Operation Completed event (I/O command specific status,
    /// Base Specification 2.0 Figure 148) until the host reads the Sanitize Status log with RAE clear.</summary>
    internal void OnSanitizeCompleted()
    {
        bool post;
        lock (_lock)
        {
            post = !IsDiscovery && !_sanitizeNoticeMasked && !IsTerminated;
            if (post)
            {
                _sanitizeNoticeMasked = true;
            }
        }

        if (post)
        {
            PostEvent(new NvmeAsyncEvent(NvmeAsyncEventType.IoCommandSpecific, NvmeAsyncEvent.SanitizeOperationCompleted, NvmeLogPageId.SanitizeStatus));
        }
    }
}
