using System.Buffers.Binary;
using NvmePS.Engine.Admin;

namespace NvmePS.Engine.Mi.Simulator;

/// <summary>
/// The simulated controllers' Admin command set, producing every structure with the shared Admin layer's Write
/// methods: Identify (controller, namespace, lists, descriptors), Get Log Page (error, SMART, firmware slot, changed
/// namespaces, sanitize status), Get/Set Features, Namespace Management/Attachment, Format NVM, Sanitize, Firmware
/// Image Download/Commit, Security Send/Receive. Format, Sanitize and Firmware Commit are slow (MPR first).
/// Called with <see cref="SimulatedSubsystem.Gate"/> held.
/// </summary>
internal static class SimulatedAdmin
{
    public const int ErrorLogEntries = 256;
    public const uint MaxNamespaces = 32;

    /// <summary>Firmware images carry this 8-byte magic, then the 8-character revision.</summary>
    public static ReadOnlySpan<byte> FirmwareMagic => "NVMEPSFW"u8;

    private static readonly NvmeLbaFormat[] LbaFormats = [new(0, 9, 0), new(0, 12, 0)];

    public static SimulatedAdminOutcome Execute(SimulatedSubsystem s, SimulatedAdminRequest r)
    {
        var c = r.Command;
        if (s.AdminHistory.Count >= 1024)
        {
            s.AdminHistory.RemoveAt(0);
        }

        s.AdminHistory.Add((c.Opcode, r.ControllerId, r.DataLength, r.DataOffset, c.Cdw10, c.Cdw12));
        try
        {
            return c.Opcode switch
            {
                NvmeAdminOpcode.Identify => Data(r, Identify(s, r)),
                NvmeAdminOpcode.GetLogPage => Data(r, GetLogPage(s, r)),
                NvmeAdminOpcode.GetFeatures => GetFeatures(s, r),
                NvmeAdminOpcode.SetFeatures => SetFeatures(s, r),
                NvmeAdminOpcode.NamespaceManagement => NamespaceManagement(s, r),
                NvmeAdminOpcode.NamespaceAttachment => NamespaceAttachment(s, r),
                NvmeAdminOpcode.FormatNvm => FormatNvm(s, r),
                NvmeAdminOpcode.Sanitize => Sanitize(s, r),
                NvmeAdminOpcode.FirmwareImageDownload => FirmwareDownload(s, r),
                NvmeAdminOpcode.FirmwareCommit => FirmwareCommit(s, r),
                NvmeAdminOpcode.SecuritySend => SecuritySend(s, r),
                NvmeAdminOpcode.SecurityReceive => Data(r, SecurityReceive(s, r)),
                _ => throw new AdminError(NvmeStatus.Generic(NvmeStatusNames.InvalidCommandOpcode)),
            };
        }
        catch (AdminError e)
        {
            RecordError(s, r, e.Status, e.ParameterLocation);
            return Done(r, e.Status);
        }
    }

    private sealed class AdminError(NvmeStatus status, ushort parameterLocation = 0xFFFF) : Exception(status.ToString())
    {
        public NvmeStatus Status { get; } = status;
        public ushort ParameterLocation { get; } = parameterLocation;
    }

    private static AdminError InvalidField(ushort location) => new(NvmeStatus.Generic(NvmeStatusNames.InvalidFieldInCommand), location);

    private static AdminError InvalidNamespace() => new(NvmeStatus.Generic(NvmeStatusNames.InvalidNamespaceOrFormat), 4);

    private static AdminError CommandSpecific(byte sc) => new(NvmeStatus.CommandSpecific(sc));

    private static void RecordError(SimulatedSubsystem s, SimulatedAdminRequest r, NvmeStatus status, ushort location)
    {
        s.ErrorCount++;
        s.ErrorLog.Insert(0, new NvmeErrorLogEntry(s.ErrorCount, 0, 0, status.ToStatusField(), location, 0, r.Command.Nsid, 0, 0, 0, 0));
        if (s.ErrorLog.Count > ErrorLogEntries)
        {
            s.ErrorLog.RemoveAt(s.ErrorLog.Count - 1);
        }
    }

    private static SimulatedAdminOutcome Done(SimulatedAdminRequest r, NvmeStatus status, uint dw0 = 0) =>
        new(NvmeMiResponder.AdminSuccess(r.CommandSlot, dw0, 0, 0, status, default), null);

    /// <summary>Returns the part of <paramref name="full"/> that DOFST/DLEN select (NVMe-MI 1.2 §6.1).</summary>
    private static SimulatedAdminOutcome Data(SimulatedAdminRequest r, byte[] full, uint dw0 = 0)
    {
        if (r.DataOffset > full.Length)
        {
            throw InvalidField(NvmeMiCodec.AdminDataOffsetOffset);
        }

        // A reply carries the DLEN bytes asked for, zero-filled past the structure, as an NVMe controller fills the
        // whole host buffer; a short reply would make a host (libnvme: EPROTO) reject it as truncated.
        int available = full.Length - (int)r.DataOffset;
        if (available >= r.DataLength)
        {
            return new(NvmeMiResponder.AdminSuccess(r.CommandSlot, dw0, 0, 0, NvmeStatus.Success, full.AsSpan((int)r.DataOffset, (int)r.DataLength)), null);
        }

        byte[] reply = new byte[r.DataLength];
        full.AsSpan((int)r.DataOffset, available).CopyTo(reply);
        return new(NvmeMiResponder.AdminSuccess(r.CommandSlot, dw0, 0, 0, NvmeStatus.Success, reply), null);
    }

    // ------------------------------------------------------------------ Identify

    private static byte[] Identify(SimulatedSubsystem s, SimulatedAdminRequest r)
    {
        IdentifyCommand.TryRead(r.Command, out var identify);
        byte cns = identify.Cns;
        ushort cntid = identify.Cntid;
        uint nsid = identify.Nsid;
        byte[] d = new byte[4096];
        switch (cns)
        {
            case NvmeIdentifyCns.Controller:
                IdentifyController(s, r.ControllerId).Write(d);
                break;
            case NvmeIdentifyCns.Namespace:
            case NvmeIdentifyCns.AllocatedNamespace:
                {
                    if (!s.Namespaces.TryGetValue(nsid, out var ns))
                    {
                        throw InvalidNamespace();
                    }

                    if (cns == NvmeIdentifyCns.Namespace && !ns.AttachedControllers.Contains(r.ControllerId))
                    {
                        break; // an inactive namespace identifies as zeros
                    }

                    IdentifyNamespace(ns).Write(d);
                    break;
                }

            case NvmeIdentifyCns.ActiveNamespaceIdList:
            case NvmeIdentifyCns.AllocatedNamespaceIdList:
                {
                    uint[] ids = s.Namespaces.Values
                        .Where(n => n.Nsid > nsid && (cns == NvmeIdentifyCns.AllocatedNamespaceIdList || n.AttachedControllers.Contains(r.ControllerId)))
                        .Select(n => n.Nsid).Take(NvmeNamespaceList.MaxEntries).ToArray();
                    NvmeNamespaceList.Write(d, ids);
                    break;
                }

            case NvmeIdentifyCns.NamespaceIdDescriptorList:
                {
                    if (!s.Namespaces.TryGetValue(nsid, out var ns))
                    {
                        throw InvalidNamespace();
                    }

                    NvmeNamespaceIdDescriptor.WriteList(d, [new(NvmeNamespaceIdType.Nguid, Nguid(ns.Nsid)), new(NvmeNamespaceIdType.Csi, [0])]);
                    break;
                }

            case NvmeIdentifyCns.NamespaceAttachedControllerList:
                {
                    if (!s.Namespaces.TryGetValue(nsid, out var ns))
                    {
                        throw InvalidNamespace();
                    }

                    NvmeControllerList.Write(d, ns.AttachedControllers.Where(id => id >= cntid).Order().ToArray());
                    break;
                }

            case NvmeIdentifyCns.ControllerList:
                NvmeControllerList.Write(d, s.ControllerIds.Where(id => id >= cntid).Order().ToArray());
                break;
            default:
                throw InvalidField(NvmeMiCodec.AdminCdw10Offset);
        }

        return d;
    }

    public static NvmeIdentifyController IdentifyController(SimulatedSubsystem s, ushort controllerId)
    {
        ulong allocated = s.Namespaces.Values.Aggregate(0UL, (a, n) => a + n.CapacityBlocks);
        return new NvmeIdentifyController
        {
            Vid = s.Options.PciVendorId,
            Ssvid = s.Options.PciVendorId,
            Sn = s.Options.SerialNumber,
            Mn = s.Options.ModelNumber,
            Fr = s.ActiveFirmwareRevision,
            Rab = 6,
            Ieee = 0x525400,
            Cmic = 0x03, // more than one port, more than one controller
            Mdts = 5,
            Cntlid = controllerId,
            Ver = 0x00020000,
            Oaes = (1u << 8) | (1u << 9),
            Cntrltype = NvmeIdentifyController.ControllerTypeIo,
            Oacs = 0x000F | (1 << 6), // security, format, firmware, namespace management, NVMe-MI send/receive
            Acl = 3,
            Aerl = 3,
            Frmw = (SimulatedSubsystem.FirmwareSlots << 1) | 0x10,
            Lpa = 0x02,
            Elpe = ErrorLogEntries - 1,
            Wctemp = s.TemperatureThresholdKelvin,
            Cctemp = 358,
            Mtfa = 50,
            Tnvmcap = (UInt128)s.Options.CapacityBlocks * 4096,
            Unvmcap = (UInt128)(s.Options.CapacityBlocks - Math.Min(allocated, s.Options.CapacityBlocks)) * 4096,
            Sanicap = 0x7,
            Sqes = 0x66,
            Cqes = 0x44,
            Nn = MaxNamespaces,
            Oncs = 0x0004 | 0x0008,
            Vwc = 1,
            Mnan = MaxNamespaces,
            Subnqn = $"nqn.2026-01.org.nvmeps:sim:{s.Options.SerialNumber}",
            Npss = 0,
            // One operational power state: 8.25 W maximum (MP in 0.01 W units), no entry/exit latency.
            Psd = [new NvmePowerStateDescriptor(825, false, false, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)],
        };
    }

    private static byte[] Nguid(uint nsid)
    {
        byte[] g = new byte[16];
        "NVMEPSSIM"u8.CopyTo(g);
        BinaryPrimitives.WriteUInt32BigEndian(g.AsSpan(12), nsid);
        return g;
    }

    private static NvmeIdentifyNamespace IdentifyNamespace(SimulatedNamespace ns) => new()
    {
        Nsze = ns.SizeBlocks,
        Ncap = ns.CapacityBlocks,
        Nuse = ns.UtilizationBlocks,
        Nlbaf = (byte)(LbaFormats.Length - 1),
        Flbas = ns.FormattedLbaIndex,
        Nmic = 1,
        Nguid = Nguid(ns.Nsid),
        Lbaf = LbaFormats,
    };

    // ------------------------------------------------------------------ logs

    private static byte[] GetLogPage(SimulatedSubsystem s, SimulatedAdminRequest r)
    {
        var c = r.Command;
        GetLogPageCommand.TryRead(c, out var getLog);
        byte lid = getLog.Lid;
        bool rae = getLog.Rae;
        long numd = getLog.Numd + 1L;
        ulong lpo = getLog.Offset;
        byte[] log;
        switch (lid)
        {
            case NvmeLogPageId.ErrorInformation:
                log = new byte[ErrorLogEntries * NvmeErrorLogEntry.Size];
                for (int i = 0; i < s.ErrorLog.Count; i++)
                {
                    s.ErrorLog[i].Write(log.AsSpan(i * NvmeErrorLogEntry.Size));
                }

                break;
            case NvmeLogPageId.SmartHealth:
                if (c.Nsid != 0 && c.Nsid != NvmeAdminCommands.BroadcastNsid && !s.Namespaces.ContainsKey(c.Nsid))
                {
                    throw InvalidNamespace();
                }

                log = new byte[NvmeSmartLog.Size];
                SmartLog(s).Write(log);
                break;
            case NvmeLogPageId.FirmwareSlot:
                {
                    log = new byte[NvmeFirmwareSlotLog.Size];
                    var frs = new string[NvmeFirmwareSlotLog.SlotCount];
                    for (int i = 0; i < frs.Length; i++)
                    {
                        frs[i] = i < SimulatedSubsystem.FirmwareSlots ? s.FirmwareRevisions[i] ?? string.Empty : string.Empty;
                    }

                    new NvmeFirmwareSlotLog { Afi = (byte)(s.ActiveFirmwareSlot | (s.PendingFirmwareSlot << 4)), Frs = frs }.Write(log);
                    break;
                }

            case NvmeLogPageId.ChangedNamespaceList:
                log = new byte[NvmeNamespaceList.Size];
                NvmeNamespaceList.Write(log, s.ChangedNamespaces.Count > NvmeNamespaceList.MaxEntries ? [NvmeNamespaceList.Overflow] : s.ChangedNamespaces.ToArray());
                if (!rae)
                {
                    s.ChangedNamespaces.Clear();
                }

                break;
            case NvmeLogPageId.SanitizeStatus:
                log = new byte[512];
                BinaryPrimitives.WriteUInt16LittleEndian(log, (ushort)(s.SanitizeRunning ? 0x8000 : 0xFFFF)); // SPROG
                BinaryPrimitives.WriteUInt16LittleEndian(log.AsSpan(2), s.SanitizeStatus);
                BinaryPrimitives.WriteUInt32LittleEndian(log.AsSpan(4), s.SanitizeCdw10);
                break;
            default:
                throw CommandSpecific(NvmeStatusNames.InvalidLogPage);
        }

        if (lpo > (ulong)log.Length)
        {
            throw InvalidField(NvmeMiCodec.AdminCdw10Offset + 8);
        }

        long length = Math.Min(numd * 4, log.Length - (long)lpo);
        return log.AsSpan((int)lpo, (int)length).ToArray();
    }

    public static NvmeSmartLog SmartLog(SimulatedSubsystem s)
    {
        var m = s.ComputeSmart();
        var log = new NvmeSmartLog
        {
            CriticalWarning = (NvmeCriticalWarning)m.CriticalWarning,
            CompositeTemperature = m.TemperatureKelvin,
            AvailableSpare = m.AvailableSpare,
            AvailableSpareThreshold = m.SpareThreshold,
            PercentageUsed = m.PercentageUsed,
            DataUnitsRead = m.DataUnitsRead,
            DataUnitsWritten = m.DataUnitsWritten,
            HostReadCommands = s.HostReadCommands,
            HostWriteCommands = s.HostWriteCommands,
            PowerCycles = m.PowerCycles,
            PowerOnHours = m.PowerOnHours,
            UnsafeShutdowns = m.UnsafeShutdowns,
            MediaErrors = m.MediaErrors,
            NumberOfErrorLogEntries = s.ErrorCount,
        };
        log.TemperatureSensors[0] = (ushort)(m.TemperatureKelvin + 2);
        log.TemperatureSensors[1] = (ushort)(m.TemperatureKelvin - 3);
        return log;
    }

    // ------------------------------------------------------------------ features

    private static SimulatedAdminOutcome GetFeatures(SimulatedSubsystem s, SimulatedAdminRequest r)
    {
        var ctrl = s.Controller(r.ControllerId);
        GetFeaturesCommand.TryRead(r.Command, out var get);
        byte fid = get.Fid;
        var threshold = NvmeTemperatureThreshold.FromDword(get.Cdw11);
        if (get.Select == NvmeFeatureSelect.SupportedCapabilities)
        {
            return Done(r, NvmeStatus.Success, fid is NvmeFeatureId.TemperatureThreshold or NvmeFeatureId.VolatileWriteCache ? 0x5u : 0x4u);
        }

        uint dw0 = fid switch
        {
            NvmeFeatureId.Arbitration => ctrl.Arbitration,
            NvmeFeatureId.PowerManagement => ctrl.PowerState,
            // Over-temperature thresholds of the composite sensor and sensor 1 only.
            NvmeFeatureId.TemperatureThreshold => !threshold.UnderTemperature && !NvmeTemperatureThreshold.HasReservedThsel(get.Cdw11) && threshold.Tmpsel <= 1
                ? (threshold with { Tmpth = get.Select == NvmeFeatureSelect.Default ? (ushort)343 : s.TemperatureThresholdKelvin }).ToDword()
                : throw InvalidField(NvmeMiCodec.AdminCdw10Offset + 4),
            NvmeFeatureId.VolatileWriteCache => ctrl.VolatileWriteCache ? 1u : 0u,
            NvmeFeatureId.NumberOfQueues => 0x003F003F,
            NvmeFeatureId.AsynchronousEventConfiguration => ctrl.AsyncEventConfig,
            _ => throw InvalidField(NvmeMiCodec.AdminCdw10Offset),
        };
        return Done(r, NvmeStatus.Success, dw0);
    }

    private static SimulatedAdminOutcome SetFeatures(SimulatedSubsystem s, SimulatedAdminRequest r)
    {
        var ctrl = s.Controller(r.ControllerId);
        SetFeaturesCommand.TryRead(r.Command, out var set);
        byte fid = set.Fid;
        uint v = set.Cdw11;
        switch (fid)
        {
            case NvmeFeatureId.Arbitration:
                ctrl.Arbitration = v;
                break;
            case NvmeFeatureId.PowerManagement:
                if (NvmePowerManagement.FromDword(v).Ps != 0)
                {
                    throw InvalidField(NvmeMiCodec.AdminCdw10Offset + 4); // one power state (NPSS 0)
                }

                ctrl.PowerState = 0;
                break;
            case NvmeFeatureId.TemperatureThreshold:
                if (NvmeTemperatureThreshold.FromDword(v) is { UnderTemperature: true } or { Tmpsel: > 1 } || NvmeTemperatureThreshold.HasReservedThsel(v))
                {
                    throw InvalidField(NvmeMiCodec.AdminCdw10Offset + 4);
                }

                s.TemperatureThresholdKelvin = (ushort)v;
                break;
            case NvmeFeatureId.VolatileWriteCache:
                ctrl.VolatileWriteCache = NvmeVolatileWriteCache.FromDword(v).Enabled;
                break;
            case NvmeFeatureId.AsynchronousEventConfiguration:
                ctrl.AsyncEventConfig = v;
                break;
            case NvmeFeatureId.NumberOfQueues:
                return Done(r, NvmeStatus.Success, 0x003F003F);
            default:
                throw InvalidField(NvmeMiCodec.AdminCdw10Offset);
        }

        return Done(r, NvmeStatus.Success, v);
    }

    // ------------------------------------------------------------------ namespaces

    private static SimulatedAdminOutcome NamespaceManagement(SimulatedSubsystem s, SimulatedAdminRequest r)
    {
        NamespaceManagementCommand.TryRead(r.Command, out var management);
        if (management.Sel == NvmeNamespaceManagementSelect.Create)
        {
            if (!NvmeIdentifyNamespace.TryRead(PadTo(r.Data, NvmeIdentifyNamespace.Size), out var settings) || settings.Nsze == 0 || settings.Ncap > settings.Nsze)
            {
                throw InvalidField(NvmeMiCodec.AdminRequestHeaderSize);
            }

            if ((settings.Flbas & 0xF) >= LbaFormats.Length)
            {
                throw CommandSpecific(NvmeStatusNames.InvalidFormat);
            }

            ulong used = s.Namespaces.Values.Aggregate(0UL, (a, n) => a + n.CapacityBlocks);
            if (used + settings.Ncap > s.Options.CapacityBlocks)
            {
                throw CommandSpecific(NvmeStatusNames.NamespaceInsufficientCapacity);
            }

            uint nsid = 1;
            while (s.Namespaces.ContainsKey(nsid))
            {
                nsid++;
            }

            if (nsid > MaxNamespaces)
            {
                throw CommandSpecific(NvmeStatusNames.NamespaceIdentifierUnavailable);
            }

            s.Namespaces[nsid] = new SimulatedNamespace { Nsid = nsid, SizeBlocks = settings.Nsze, CapacityBlocks = settings.Ncap, FormattedLbaIndex = (byte)(settings.Flbas & 0xF) };
            return Done(r, NvmeStatus.Success, nsid);
        }

        if (management.Sel == NvmeNamespaceManagementSelect.Delete)
        {
            uint nsid = management.Nsid;
            if (nsid == NvmeAdminCommands.BroadcastNsid)
            {
                foreach (uint id in s.Namespaces.Keys.ToArray())
                {
                    Delete(s, id);
                }
            }
            else if (!s.Namespaces.ContainsKey(nsid))
            {
                throw InvalidNamespace();
            }
            else
            {
                Delete(s, nsid);
            }

            return Done(r, NvmeStatus.Success);
        }

        throw InvalidField(NvmeMiCodec.AdminCdw10Offset);
    }

    private static void Delete(SimulatedSubsystem s, uint nsid)
    {
        bool wasAttached = s.Namespaces[nsid].AttachedControllers.Count > 0;
        s.Namespaces.Remove(nsid);
        if (wasAttached)
        {
            s.ChangedNamespaces.Add(nsid);
            s.RaiseControllerEvent(CompositeControllerStatus.NamespaceAttributeChanged);
        }
    }

    private static byte[] PadTo(byte[] data, int size)
    {
        if (data.Length >= size)
        {
            return data;
        }

        byte[] padded = new byte[size];
        data.CopyTo(padded, 0);
        return padded;
    }

    private static SimulatedAdminOutcome NamespaceAttachment(SimulatedSubsystem s, SimulatedAdminRequest r)
    {
        NamespaceAttachmentCommand.TryRead(r.Command, out var attachment);
        bool attach = attachment.Sel == NvmeNamespaceAttachmentSelect.Attach;
        if (!s.Namespaces.TryGetValue(attachment.Nsid, out var ns))
        {
            throw InvalidNamespace();
        }

        if (attachment.Sel is not (NvmeNamespaceAttachmentSelect.Attach or NvmeNamespaceAttachmentSelect.Detach))
        {
            throw InvalidField(NvmeMiCodec.AdminCdw10Offset);
        }

        if (!NvmeControllerList.TryRead(r.Data, out var ids) || ids.Length == 0 || ids.Any(id => !s.HasController(id)))
        {
            throw CommandSpecific(NvmeStatusNames.ControllerListInvalid);
        }

        foreach (ushort id in ids)
        {
            if (attach && ns.AttachedControllers.Contains(id))
            {
                throw CommandSpecific(NvmeStatusNames.NamespaceAlreadyAttached);
            }

            if (!attach && !ns.AttachedControllers.Contains(id))
            {
                throw CommandSpecific(NvmeStatusNames.NamespaceNotAttached);
            }
        }

        foreach (ushort id in ids)
        {
            if (attach)
            {
                ns.AttachedControllers.Add(id);
            }
            else
            {
                ns.AttachedControllers.Remove(id);
            }
        }

        s.ChangedNamespaces.Add(ns.Nsid);
        s.RaiseControllerEvent(CompositeControllerStatus.NamespaceAttributeChanged);
        return Done(r, NvmeStatus.Success);
    }

    // ------------------------------------------------------------------ slow commands

    private static SimulatedAdminOutcome FormatNvm(SimulatedSubsystem s, SimulatedAdminRequest r)
    {
        FormatNvmCommand.TryRead(r.Command, out var format);
        uint nsid = format.Nsid;
        int lbaf = format.Lbaf;
        var targets = nsid == NvmeAdminCommands.BroadcastNsid ? s.Namespaces.Values.ToList()
            : s.Namespaces.TryGetValue(nsid, out var ns) ? [ns] : throw InvalidNamespace();
        if (lbaf >= LbaFormats.Length)
        {
            throw CommandSpecific(NvmeStatusNames.InvalidFormat);
        }

        return new SimulatedAdminOutcome(null, () =>
        {
            foreach (var t in targets)
            {
                t.FormattedLbaIndex = (byte)lbaf;
                t.UtilizationBlocks = 0;
            }

            return NvmeMiResponder.AdminSuccess(r.CommandSlot, 0, 0, 0, NvmeStatus.Success, default);
        });
    }

    private static SimulatedAdminOutcome Sanitize(SimulatedSubsystem s, SimulatedAdminRequest r)
    {
        SanitizeCommand.TryRead(r.Command, out var sanitize);
        if (sanitize.Sanact is < NvmeSanitizeAction.ExitFailureMode or > NvmeSanitizeAction.CryptoErase)
        {
            throw InvalidField(NvmeMiCodec.AdminCdw10Offset);
        }

        if (s.SanitizeRunning)
        {
            throw new AdminError(NvmeStatus.Generic(NvmeStatusNames.SanitizeInProgress));
        }

        s.SanitizeRunning = true;
        s.SanitizeStatus = 2;
        s.SanitizeCdw10 = r.Command.Cdw10;
        return new SimulatedAdminOutcome(null, () =>
        {
            foreach (var n in s.Namespaces.Values)
            {
                n.UtilizationBlocks = 0;
            }

            s.SanitizeRunning = false;
            s.SanitizeStatus = 1;
            return NvmeMiResponder.AdminSuccess(r.CommandSlot, 0, 0, 0, NvmeStatus.Success, default);
        });
    }

    private static SimulatedAdminOutcome FirmwareDownload(SimulatedSubsystem s, SimulatedAdminRequest r)
    {
        FirmwareImageDownloadCommand.TryRead(r.Command, out var download);
        long length = download.LengthBytes;
        long offset = download.OffsetBytes;
        if (length != r.Data.Length)
        {
            throw InvalidField(NvmeMiCodec.AdminCdw10Offset);
        }

        foreach (var (o, chunk) in s.FirmwareImage)
        {
            if (offset < o + chunk.Length && o < offset + length)
            {
                throw CommandSpecific(NvmeStatusNames.OverlappingRange);
            }
        }

        if (offset + length > 64L * 1024 * 1024)
        {
            throw InvalidField(NvmeMiCodec.AdminCdw10Offset + 4);
        }

        s.FirmwareImage[offset] = r.Data;
        return Done(r, NvmeStatus.Success);
    }

    private static SimulatedAdminOutcome FirmwareCommit(SimulatedSubsystem s, SimulatedAdminRequest r)
    {
        FirmwareCommitCommand.TryRead(r.Command, out var commit);
        int slot = commit.Fs;
        var action = commit.Ca;
        if (slot > SimulatedSubsystem.FirmwareSlots)
        {
            throw CommandSpecific(NvmeStatusNames.InvalidFirmwareSlot);
        }

        if (slot == 0)
        {
            slot = s.ActiveFirmwareSlot % SimulatedSubsystem.FirmwareSlots + 1; // the controller picks a slot
        }

        string? revision = null;
        if (action is NvmeFirmwareCommitAction.Replace or NvmeFirmwareCommitAction.ReplaceAndActivate or NvmeFirmwareCommitAction.ReplaceAndActivateImmediately)
        {
            revision = ImageRevision(s.FirmwareImage) ?? throw CommandSpecific(NvmeStatusNames.InvalidFirmwareImage);
        }
        else if (action == NvmeFirmwareCommitAction.Activate)
        {
            if (s.FirmwareRevisions[slot - 1] is null)
            {
                throw CommandSpecific(NvmeStatusNames.InvalidFirmwareImage);
            }
        }
        else
        {
            throw InvalidField(NvmeMiCodec.AdminCdw10Offset); // no boot partitions
        }

        return new SimulatedAdminOutcome(null, () =>
        {
            if (revision is not null)
            {
                s.FirmwareRevisions[slot - 1] = revision;
                s.FirmwareImage.Clear();
            }

            if (action is NvmeFirmwareCommitAction.ReplaceAndActivate or NvmeFirmwareCommitAction.Activate)
            {
                s.PendingFirmwareSlot = slot;
            }
            else if (action == NvmeFirmwareCommitAction.ReplaceAndActivateImmediately)
            {
                s.ActiveFirmwareSlot = slot;
                s.PendingFirmwareSlot = 0;
                s.RaiseControllerEvent(CompositeControllerStatus.FirmwareActivated);
            }

            return NvmeMiResponder.AdminSuccess(r.CommandSlot, 0, 0, 0, NvmeStatus.Success, default);
        });
    }

    /// <summary>The revision in a downloaded image: contiguous from offset 0, "NVMEPSFW" then 8 ASCII characters.</summary>
    private static string? ImageRevision(SortedDictionary<long, byte[]> image)
    {
        var all = new List<byte>();
        long expected = 0;
        foreach (var (o, chunk) in image)
        {
            if (o != expected)
            {
                return null;
            }

            all.AddRange(chunk);
            expected += chunk.Length;
        }

        if (all.Count < 16 || !all.Take(8).SequenceEqual(FirmwareMagic.ToArray()))
        {
            return null;
        }

        return AdminWire.ReadAscii(all.Skip(8).Take(8).ToArray());
    }

    // ------------------------------------------------------------------ security

    private const byte SecurityProtocolInfo = 0x00;
    private const byte SecurityProtocolNvme = 0xEA;

    private static SimulatedAdminOutcome SecuritySend(SimulatedSubsystem s, SimulatedAdminRequest r)
    {
        byte secp = (byte)(r.Command.Cdw10 >> 24);
        if (secp != SecurityProtocolNvme)
        {
            throw InvalidField(NvmeMiCodec.AdminCdw10Offset + 3);
        }

        var payloads = s.Controller(r.ControllerId).SecurityPayloads;
        payloads.Add(r.Data);
        if (payloads.Count > 16)
        {
            payloads.RemoveAt(0);
        }

        return Done(r, NvmeStatus.Success);
    }

    private static byte[] SecurityReceive(SimulatedSubsystem s, SimulatedAdminRequest r)
    {
        byte secp = (byte)(r.Command.Cdw10 >> 24);
        ushort spsp = (ushort)(r.Command.Cdw10 >> 8);
        uint allocation = r.Command.Cdw11;
        byte[] full;
        if (secp == SecurityProtocolInfo && spsp == 0)
        {
            // Supported security protocol list (SPC-5 §7.7.1): 6 reserved bytes, list length (big-endian), protocols.
            full = new byte[10];
            BinaryPrimitives.WriteUInt16BigEndian(full.AsSpan(6), 2);
            full[8] = SecurityProtocolInfo;
            full[9] = SecurityProtocolNvme;
        }
        else if (secp == SecurityProtocolNvme)
        {
            var payloads = s.Controller(r.ControllerId).SecurityPayloads;
            full = payloads.Count == 0 ? [] : payloads[^1];
        }
        else
        {
            throw InvalidField(NvmeMiCodec.AdminCdw10Offset + 3);
        }

        return full.AsSpan(0, (int)Math.Min(allocation, (uint)full.Length)).ToArray();
    }
}
