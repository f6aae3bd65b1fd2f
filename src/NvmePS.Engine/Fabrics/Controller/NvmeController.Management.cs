using NvmePS.Engine.Admin;

namespace NvmePS.Engine.Fabrics.Controller;

/// <summary>Namespace Management, Namespace Attachment and Format NVM over the subsystem's capacity pool.</summary>
public sealed partial class NvmeController
{
    /// <summary>Namespace Management and Attachment exist when the subsystem has a capacity pool.</summary>
    private bool ManagesNamespaces => !IsDiscovery && Subsystem.NamespaceCapacity > 0;

    /// <summary>The namespace with this NSID if it is active on this controller (attached to its host), else null.</summary>
    internal NvmeNamespace? ActiveNamespace(uint nsid) =>
        Subsystem.GetNamespace(nsid) is { } ns && ns.IsAttachedTo(HostNqn) ? ns : null;

    /// <summary>The namespaces active on this controller, in NSID order.</summary>
    internal IEnumerable<NvmeNamespace> ActiveNamespaces => Subsystem.Namespaces.Where(n => n.IsAttachedTo(HostNqn));

    /// <summary>Namespace Management (Base Specification 2.0 §5.20).</summary>
    private Outcome NamespaceManagement(in NvmeCommand c, ReadOnlySpan<byte> data)
    {
        NamespaceManagementCommand.TryRead(c, out var management);
        switch (management.Sel)
        {
            case NvmeNamespaceManagementSelect.Create:
                {
                    if (management.Csi != 0)
                    {
                        return new Outcome(NvmeStatus.Generic(NvmeStatusNames.InvalidFieldInCommand));
                    }

                    if (!NvmeIdentifyNamespace.TryRead(data, out var settings) || settings.Nsze == 0 || settings.Nsze > long.MaxValue / 4096)
                    {
                        return new Outcome(InvalidField);
                    }

                    int formatIndex = NvmeIdentifyNamespace.FormatIndexOf(settings.Flbas);
                    if (formatIndex >= NvmeNamespace.LbaFormats.Count || settings.Dps != 0)
                    {
                        return new Outcome(NvmeStatus.CommandSpecific(NvmeStatusNames.InvalidFormat));
                    }

                    if (settings.Ncap != settings.Nsze)
                    {
                        // Capacity is reserved whole: NCAP below NSZE would be thin provisioning.
                        return new Outcome(NvmeStatus.CommandSpecific(NvmeStatusNames.ThinProvisioningNotSupported));
                    }

                    int blockSize = 1 << NvmeNamespace.LbaFormats[formatIndex].Lbads;
                    var status = Subsystem.CreateManagedNamespace((long)settings.Nsze, blockSize, (settings.Nmic & 1) != 0, out var ns);
                    return new Outcome(status, status.IsSuccess ? ns!.Nsid : 0);
                }

            case NvmeNamespaceManagementSelect.Delete:
                {
                    if (management.Nsid == NvmeAdminCommands.BroadcastNsid)
                    {
                        foreach (var each in Subsystem.Namespaces.ToArray())
                        {
                            Subsystem.RemoveNamespace(each.Nsid);
                        }

                        return new Outcome(NvmeStatus.Success);
                    }

                    return new Outcome(Subsystem.RemoveNamespace(management.Nsid) ? NvmeStatus.Success : InvalidNamespace);
                }

            default:
                return new Outcome(InvalidField);
        }
    }

    /// <summary>Namespace Attachment (Base Specification 2.0 §5.19).</summary>
    private Outcome NamespaceAttachment(in NvmeCommand c, ReadOnlySpan<byte> data)
    {
        NamespaceAttachmentCommand.TryRead(c, out var attachment);
        if (attachment.Sel is not (NvmeNamespaceAttachmentSelect.Attach or NvmeNamespaceAttachmentSelect.Detach))
        {
            return new Outcome(InvalidField);
        }

        if (attachment.Nsid is 0 or NvmeAdminCommands.BroadcastNsid || Subsystem.GetNamespace(attachment.Nsid) is not { } ns)
        {
            return new Outcome(InvalidNamespace);
        }

        if (!NvmeControllerList.TryRead(data, out var ids))
        {
            return new Outcome(NvmeStatus.CommandSpecific(NvmeStatusNames.ControllerListInvalid));
        }

        return new Outcome(Subsystem.ChangeAttachment(ns, ids, attachment.Sel == NvmeNamespaceAttachmentSelect.Attach));
    }

    /// <summary>Format NVM (Base Specification 2.0 §5.14): the namespace (or every active one, NSID FFFFFFFFh) takes LBA
    /// format 0 (512 bytes) or 1 (4096 bytes); SES 001b erases user data first. No protection information or metadata.</summary>
    private async ValueTask<Outcome> FormatNvmAsync(NvmeCommand c, CancellationToken ct)
    {
        FormatNvmCommand.TryRead(c, out var format);
        if (format.Lbaf >= NvmeNamespace.LbaFormats.Count)
        {
            return new Outcome(NvmeStatus.CommandSpecific(NvmeStatusNames.InvalidFormat));
        }

        if (format.Pi != 0 || format.Mset)
        {
            // The formats carry no metadata, so there is nowhere to put protection information.
            return new Outcome(NvmeStatus.CommandSpecific(NvmeStatusNames.InvalidFormat));
        }

        if (format.Ses is not (NvmeSecureErase.None or NvmeSecureErase.UserData))
        {
            // FNA bit 2 clear: no cryptographic erase.
            return new Outcome(InvalidField);
        }

        NvmeNamespace[] targets;
        if (format.Nsid == NvmeAdminCommands.BroadcastNsid)
        {
            targets = [.. ActiveNamespaces];
        }
        else if (ActiveNamespace(format.Nsid) is { } one)
        {
            targets = [one];
        }
        else
        {
            return new Outcome(InvalidNamespace);
        }

        if (targets.Any(n => n.ReadOnly))
        {
            return new Outcome(NvmeStatus.Generic(NvmeStatusNames.NamespaceIsWriteProtected));
        }

        int blockSize = 1 << NvmeNamespace.LbaFormats[format.Lbaf].Lbads;
        Subsystem.Maintenance.AbortSelfTest(NvmeSelfTestResult.AbortedByFormat);
        foreach (var ns in targets)
        {
            await ns.FormatAsync(blockSize, format.Ses == NvmeSecureErase.UserData, ct).ConfigureAwait(false);
            Subsystem.OnNamespaceAttributesChanged(ns);
        }

        return new Outcome(NvmeStatus.Success);
    }

    /// <summary>Admin commands a controller still takes while a sanitize runs (Base Specification 2.0 §8.21).</summary>
    private static bool AllowedDuringSanitize(byte opcode) => opcode is NvmeAdminOpcode.Identify or NvmeAdminOpcode.GetLogPage
        or NvmeAdminOpcode.GetFeatures or NvmeAdminOpcode.SetFeatures or NvmeAdminOpcode.AsynchronousEventRequest
        or NvmeAdminOpcode.KeepAlive or NvmeAdminOpcode.Abort;

    /// <summary>Device Self-test (Base Specification 2.0 §5.9): NSID 0 tests the controller only, FFFFFFFFh every active
    /// namespace too, any other the one namespace.</summary>
    private Outcome DeviceSelfTest(in NvmeCommand c)
    {
        DeviceSelfTestCommand.TryRead(c, out var test);
        IReadOnlyList<NvmeNamespace> scope;
        if (test.Nsid == 0 || test.Stc == NvmeSelfTestCode.Abort)
        {
            scope = [];
        }
        else if (test.Nsid == NvmeAdminCommands.BroadcastNsid)
        {
            scope = [.. ActiveNamespaces];
        }
        else if (ActiveNamespace(test.Nsid) is { } ns)
        {
            scope = [ns];
        }
        else
        {
            return new Outcome(InvalidNamespace);
        }

        return new Outcome(Subsystem.Maintenance.StartSelfTest(test.Stc, test.Nsid, scope));
    }

    private Outcome IdentifyManagement(byte cns, ushort cntid, uint nsid, Span<byte> data)
    {
        switch (cns)
        {
            case NvmeIdentifyCns.AllocatedNamespaceIdList:
                if (nsid >= 0xFFFFFFFE)
                {
                    return new Outcome(InvalidNamespace);
                }

                NvmeNamespaceList.Write(data, Subsystem.Namespaces.Where(n => n.Nsid > nsid).Select(n => n.Nsid).Take(NvmeNamespaceList.MaxEntries).ToArray());
                return new Outcome(NvmeStatus.Success, Bytes: 4096);

            case NvmeIdentifyCns.AllocatedNamespace:
                if (nsid is 0 || nsid > Target.Options.MaxNamespaces)
                {
                    return new Outcome(InvalidNamespace);
                }

                data[..4096].Clear();
                Subsystem.GetNamespace(nsid)?.Identify().Write(data);
                return new Outcome(NvmeStatus.Success, Bytes: 4096);

            case NvmeIdentifyCns.NamespaceAttachedControllerList:
                {
                    if (Subsystem.GetNamespace(nsid) is not { } ns)
                    {
                        return new Outcome(InvalidNamespace);
                    }

                    data[..NvmeControllerList.Size].Clear();
                    NvmeControllerList.Write(data, Subsystem.ControllersAttachedTo(ns).Select(x => x.Cntlid).Where(id => id >= cntid).Order().ToArray());
                    return new Outcome(NvmeStatus.Success, Bytes: 4096);
                }

            case NvmeIdentifyCns.ControllerList:
                data[..NvmeControllerList.Size].Clear();
                NvmeControllerList.Write(data, Subsystem.Controllers.Select(x => x.Cntlid).Where(id => id >= cntid).Order().ToArray());
                return new Outcome(NvmeStatus.Success, Bytes: 4096);

            default:
                return new Outcome(InvalidField);
        }
    }
}
