namespace NvmePS.Engine.Admin;

/// <summary>
/// The NVMe Admin command set written once over <see cref="INvmeAdminTransport"/>, so the fabrics host and the NVMe-MI
/// tunnel share it (like libnvme's nvme_identify/nvme_get_log over its transport ops). Every method returns typed data
/// and raises <see cref="NvmeStatusException"/> for an error completion. Transfers larger than the transport's
/// <see cref="INvmeAdminTransport.MaxDataTransferSize"/> are split (Get Log Page, Firmware Image Download); any other
/// command whose data exceeds it is refused before anything is sent.
/// </summary>
public sealed class NvmeAdminClient
{
    public NvmeAdminClient(INvmeAdminTransport transport)
    {
        ArgumentNullException.ThrowIfNull(transport);
        Transport = transport;
    }

    public INvmeAdminTransport Transport { get; }

    /// <summary>Largest chunk the transport accepts, rounded down to whole dwords.</summary>
    public int ChunkLimit
    {
        get
        {
            int limit = Transport.MaxDataTransferSize & ~3;
            if (limit < 4)
            {
                throw new InvalidOperationException($"Transport MaxDataTransferSize {Transport.MaxDataTransferSize} is below one dword.");
            }

            return limit;
        }
    }

    /// <summary>Sends one command; throws <see cref="NvmeStatusException"/> on an error status.</summary>
    public async Task<NvmeCommandResult> ExecuteAsync(NvmeCommand command, ReadOnlyMemory<byte> dataToController, Memory<byte> dataFromController,
        string? operation = null, CancellationToken cancellationToken = default)
    {
        var result = await ExecuteRawAsync(command, dataToController, dataFromController, cancellationToken).ConfigureAwait(false);
        if (!result.Completion.IsSuccess)
        {
            throw new NvmeStatusException(result.Completion, NvmeCommandContext.Admin, operation ?? $"Admin opcode {command.Opcode:X2}h");
        }

        return result;
    }

    /// <summary>Sends one command and returns its completion whatever the status (a raw passthrough); only the
    /// transport's own refusals throw.</summary>
    public async Task<NvmeCommandResult> ExecuteRawAsync(NvmeCommand command, ReadOnlyMemory<byte> dataToController, Memory<byte> dataFromController,
        CancellationToken cancellationToken = default)
    {
        if (!dataToController.IsEmpty && !dataFromController.IsEmpty)
        {
            throw new ArgumentException("An Admin command moves data in one direction only.");
        }

        int length = Math.Max(dataToController.Length, dataFromController.Length);
        if (length > Transport.MaxDataTransferSize)
        {
            throw new ArgumentException($"{length} data bytes exceed the transport's limit of {Transport.MaxDataTransferSize}.");
        }

        return await Transport.ExecuteAdminAsync(command, dataToController, dataFromController, cancellationToken).ConfigureAwait(false);
    }

    // ---- Identify ----

    /// <summary>Identify with any CNS into a 4096-byte buffer.</summary>
    public async Task<byte[]> IdentifyAsync(byte cns, uint nsid = 0, ushort cntid = 0, ushort cnsSpecificId = 0, byte csi = 0, CancellationToken cancellationToken = default)
    {
        var data = new byte[4096];
        var r = await ExecuteAsync(NvmeAdminCommands.Identify(cns, nsid, cntid, cnsSpecificId, csi), default, data, $"Identify CNS {cns:X2}h", cancellationToken).ConfigureAwait(false);

        // Identify data has a fixed size; a short transfer would leave zeros posing as fields (libnvme: EPROTO).
        if (r.BytesTransferred < data.Length)
        {
            throw new NvmeProtocolException($"Identify CNS {cns:X2}h: the controller returned {r.BytesTransferred} of {data.Length} bytes.");
        }

        return data;
    }

    public async Task<NvmeIdentifyController> IdentifyControllerAsync(CancellationToken cancellationToken = default)
    {
        var data = await IdentifyAsync(NvmeIdentifyCns.Controller, cancellationToken: cancellationToken).ConfigureAwait(false);
        NvmeIdentifyController.TryRead(data, out var value);
        return value;
    }

    public async Task<NvmeIdentifyNamespace> IdentifyNamespaceAsync(uint nsid, CancellationToken cancellationToken = default)
    {
        var data = await IdentifyAsync(NvmeIdentifyCns.Namespace, nsid, cancellationToken: cancellationToken).ConfigureAwait(false);
        NvmeIdentifyNamespace.TryRead(data, out var value);
        return value;
    }

    /// <summary>Active NSIDs greater than <paramref name="startAfter"/> (Identify CNS 02h; up to 1024 per call).</summary>
    public async Task<uint[]> GetActiveNamespaceIdsAsync(uint startAfter = 0, CancellationToken cancellationToken = default)
    {
        var data = await IdentifyAsync(NvmeIdentifyCns.ActiveNamespaceIdList, startAfter, cancellationToken: cancellationToken).ConfigureAwait(false);
        return NvmeNamespaceList.Read(data);
    }

    /// <summary>All active NSIDs, following the list past 1024 entries.</summary>
    public async Task<IReadOnlyList<uint>> GetAllActiveNamespaceIdsAsync(CancellationToken cancellationToken = default)
    {
        var all = new List<uint>();
        uint after = 0;
        while (true)
        {
            var page = await GetActiveNamespaceIdsAsync(after, cancellationToken).ConfigureAwait(false);
            all.AddRange(page);
            if (page.Length < NvmeNamespaceList.MaxEntries || page[^1] >= 0xFFFFFFFE)
            {
                return all;
            }

            after = page[^1];
        }
    }

    /// <summary>Namespace identification descriptors (Identify CNS 03h).</summary>
    public async Task<NvmeNamespaceIdDescriptor[]> GetNamespaceIdDescriptorsAsync(uint nsid, CancellationToken cancellationToken = default)
    {
        var data = await IdentifyAsync(NvmeIdentifyCns.NamespaceIdDescriptorList, nsid, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!NvmeNamespaceIdDescriptor.TryReadList(data, out var list))
        {
            throw new NvmeProtocolException("The namespace identification descriptor list is malformed.");
        }

        return list;
    }

    // ---- Get Log Page ----

    /// <summary>
    /// Reads <paramref name="destination"/>.Length bytes of a log page starting at byte <paramref name="offset"/>,
    /// in chunks of at most the transport's limit. Every chunk but the last has RAE set so an event is not cleared
    /// half way; the last carries <paramref name="retainAsyncEvent"/>. Returns the bytes actually read: a chunk that
    /// comes back short ends the read there (as libnvme's nvme_mi_admin_get_log does), and bytes past it are not data.
    /// </summary>
    public async Task<int> GetLogPageAsync(byte lid, Memory<byte> destination, ulong offset = 0, uint nsid = NvmeAdminCommands.BroadcastNsid,
        bool retainAsyncEvent = false, byte lsp = 0, ushort lsi = 0, byte csi = 0, CancellationToken cancellationToken = default)
    {
        if (destination.Length == 0 || (destination.Length & 3) != 0)
        {
            throw new ArgumentException("A log page read is a positive multiple of 4 bytes.", nameof(destination));
        }

        int limit = ChunkLimit;
        int done = 0;
        while (done < destination.Length)
        {
            int chunk = Math.Min(limit, destination.Length - done);
            bool last = done + chunk == destination.Length;
            var command = NvmeAdminCommands.GetLogPage(lid, chunk, offset + (ulong)done, nsid, rae: !last || retainAsyncEvent, lsp, lsi, csi: csi);
            var r = await ExecuteAsync(command, default, destination.Slice(done, chunk), $"Get Log Page {lid:X2}h", cancellationToken).ConfigureAwait(false);
            if (r.BytesTransferred < chunk)
            {
                return done + Math.Max(r.BytesTransferred, 0);
            }

            done += chunk;
        }

        return done;
    }

    /// <summary>Reads a log page into a new array of at most <paramref name="length"/> bytes: shorter when the controller
    /// returned less (never zero-filled).</summary>
    public async Task<byte[]> GetLogPageAsync(byte lid, int length, ulong offset = 0, uint nsid = NvmeAdminCommands.BroadcastNsid,
        bool retainAsyncEvent = false, byte lsp = 0, ushort lsi = 0, CancellationToken cancellationToken = default)
    {
        var data = new byte[length];
        int read = await GetLogPageAsync(lid, data, offset, nsid, retainAsyncEvent, lsp, lsi, 0, cancellationToken).ConfigureAwait(false);
        return read == length ? data : data[..read];
    }

    /// <summary>A fixed-size log page for a typed decoder: a short read is an error, not a structure of zeros.</summary>
    private async Task<byte[]> GetWholeLogPageAsync(byte lid, int length, uint nsid, bool retainAsyncEvent, CancellationToken cancellationToken)
    {
        var data = await GetLogPageAsync(lid, length, 0, nsid, retainAsyncEvent, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (data.Length < length)
        {
            throw new NvmeProtocolException($"Get Log Page {lid:X2}h: the controller returned {data.Length} of {length} bytes.");
        }

        return data;
    }

    public async Task<NvmeSmartLog> GetSmartLogAsync(uint nsid = NvmeAdminCommands.BroadcastNsid, bool retainAsyncEvent = false, CancellationToken cancellationToken = default)
    {
        var data = await GetWholeLogPageAsync(NvmeLogPageId.SmartHealth, NvmeSmartLog.Size, nsid, retainAsyncEvent, cancellationToken).ConfigureAwait(false);
        NvmeSmartLog.TryRead(data, out var value);
        return value;
    }

    /// <summary>Reads <paramref name="entries"/> error log entries (Identify Controller ELPE + 1 is the most a controller keeps).</summary>
    public async Task<NvmeErrorLogEntry[]> GetErrorLogAsync(int entries = 1, bool retainAsyncEvent = false, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(entries, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(entries, 256);
        var data = await GetWholeLogPageAsync(NvmeLogPageId.ErrorInformation, entries * NvmeErrorLogEntry.Size, NvmeAdminCommands.BroadcastNsid, retainAsyncEvent, cancellationToken).ConfigureAwait(false);
        var result = new NvmeErrorLogEntry[entries];
        for (int i = 0; i < entries; i++)
        {
            NvmeErrorLogEntry.TryRead(data.AsSpan(i * NvmeErrorLogEntry.Size), out result[i]);
        }

        return result;
    }

    public async Task<NvmeFirmwareSlotLog> GetFirmwareSlotLogAsync(CancellationToken cancellationToken = default)
    {
        var data = await GetWholeLogPageAsync(NvmeLogPageId.FirmwareSlot, NvmeFirmwareSlotLog.Size, NvmeAdminCommands.BroadcastNsid, false, cancellationToken).ConfigureAwait(false);
        NvmeFirmwareSlotLog.TryRead(data, out var value);
        return value;
    }

    /// <summary>The Device Self-test log (06h): the running test's progress and the last 20 results.</summary>
    public async Task<NvmeSelfTestLog> GetSelfTestLogAsync(CancellationToken cancellationToken = default)
    {
        var data = await GetWholeLogPageAsync(NvmeLogPageId.DeviceSelfTest, NvmeSelfTestLog.Size, NvmeAdminCommands.BroadcastNsid, false, cancellationToken).ConfigureAwait(false);
        NvmeSelfTestLog.TryRead(data, out var value);
        return value;
    }

    /// <summary>The Sanitize Status log (81h).</summary>
    public async Task<NvmeSanitizeStatusLog> GetSanitizeStatusAsync(bool retainAsyncEvent = false, CancellationToken cancellationToken = default)
    {
        var data = await GetWholeLogPageAsync(NvmeLogPageId.SanitizeStatus, NvmeSanitizeStatusLog.Size, NvmeAdminCommands.BroadcastNsid, retainAsyncEvent, cancellationToken).ConfigureAwait(false);
        NvmeSanitizeStatusLog.TryRead(data, out var value);
        return value;
    }

    /// <summary>The Changed Namespace List (reading it clears the namespace-attribute event unless <paramref name="retainAsyncEvent"/>).
    /// A single entry of FFFFFFFFh means more than 1024 namespaces changed.</summary>
    public async Task<uint[]> GetChangedNamespaceListAsync(bool retainAsyncEvent = false, CancellationToken cancellationToken = default)
    {
        var data = await GetWholeLogPageAsync(NvmeLogPageId.ChangedNamespaceList, NvmeNamespaceList.Size, NvmeAdminCommands.BroadcastNsid, retainAsyncEvent, cancellationToken).ConfigureAwait(false);
        return NvmeNamespaceList.Read(data);
    }

    // ---- Features ----

    /// <summary>Get Features; returns completion DW0. <paramref name="data"/> receives the feature's data structure, if it has one.</summary>
    public async Task<uint> GetFeatureAsync(byte fid, NvmeFeatureSelect select = NvmeFeatureSelect.Current, uint cdw11 = 0, uint nsid = 0,
        Memory<byte> data = default, CancellationToken cancellationToken = default)
    {
        var r = await ExecuteAsync(NvmeAdminCommands.GetFeatures(fid, select, nsid, cdw11), default, data, $"Get Features {fid:X2}h", cancellationToken).ConfigureAwait(false);
        return r.Completion.Dw0;
    }

    /// <summary>Set Features; returns completion DW0 (for Number of Queues: what was allocated).</summary>
    public async Task<uint> SetFeatureAsync(byte fid, uint cdw11, bool save = false, uint nsid = 0, ReadOnlyMemory<byte> data = default,
        uint cdw12 = 0, CancellationToken cancellationToken = default)
    {
        var r = await ExecuteAsync(NvmeAdminCommands.SetFeatures(fid, cdw11, save, nsid, cdw12), data, default, $"Set Features {fid:X2}h", cancellationToken).ConfigureAwait(false);
        return r.Completion.Dw0;
    }

    /// <summary>Requests I/O queues; returns what the controller allocated.</summary>
    public async Task<NvmeNumberOfQueues> SetNumberOfQueuesAsync(NvmeNumberOfQueues requested, CancellationToken cancellationToken = default) =>
        NvmeNumberOfQueues.FromDword(await SetFeatureAsync(NvmeFeatureId.NumberOfQueues, requested.ToDword(), cancellationToken: cancellationToken).ConfigureAwait(false));

    public async Task<NvmeNumberOfQueues> GetNumberOfQueuesAsync(NvmeFeatureSelect select = NvmeFeatureSelect.Current, CancellationToken cancellationToken = default) =>
        NvmeNumberOfQueues.FromDword(await GetFeatureAsync(NvmeFeatureId.NumberOfQueues, select, cancellationToken: cancellationToken).ConfigureAwait(false));

    public async Task<NvmeArbitration> GetArbitrationAsync(NvmeFeatureSelect select = NvmeFeatureSelect.Current, CancellationToken cancellationToken = default) =>
        NvmeArbitration.FromDword(await GetFeatureAsync(NvmeFeatureId.Arbitration, select, cancellationToken: cancellationToken).ConfigureAwait(false));

    public Task SetArbitrationAsync(NvmeArbitration value, bool save = false, CancellationToken cancellationToken = default) =>
        SetFeatureAsync(NvmeFeatureId.Arbitration, value.ToDword(), save, cancellationToken: cancellationToken);

    public async Task<NvmePowerManagement> GetPowerManagementAsync(NvmeFeatureSelect select = NvmeFeatureSelect.Current, CancellationToken cancellationToken = default) =>
        NvmePowerManagement.FromDword(await GetFeatureAsync(NvmeFeatureId.PowerManagement, select, cancellationToken: cancellationToken).ConfigureAwait(false));

    public Task SetPowerManagementAsync(NvmePowerManagement value, bool save = false, CancellationToken cancellationToken = default) =>
        SetFeatureAsync(NvmeFeatureId.PowerManagement, value.ToDword(), save, cancellationToken: cancellationToken);

    /// <summary>Reads a temperature threshold; <paramref name="which"/> selects sensor and over/under (its Tmpth is ignored).</summary>
    public async Task<NvmeTemperatureThreshold> GetTemperatureThresholdAsync(NvmeTemperatureThreshold which, NvmeFeatureSelect select = NvmeFeatureSelect.Current, CancellationToken cancellationToken = default)
    {
        uint selector = (which with { Tmpth = 0 }).ToDword();
        uint dw0 = await GetFeatureAsync(NvmeFeatureId.TemperatureThreshold, select, selector, cancellationToken: cancellationToken).ConfigureAwait(false);
        return which with { Tmpth = (ushort)dw0 };
    }

    public Task SetTemperatureThresholdAsync(NvmeTemperatureThreshold value, bool save = false, CancellationToken cancellationToken = default) =>
        SetFeatureAsync(NvmeFeatureId.TemperatureThreshold, value.ToDword(), save, cancellationToken: cancellationToken);

    public async Task<NvmeVolatileWriteCache> GetVolatileWriteCacheAsync(NvmeFeatureSelect select = NvmeFeatureSelect.Current, CancellationToken cancellationToken = default) =>
        NvmeVolatileWriteCache.FromDword(await GetFeatureAsync(NvmeFeatureId.VolatileWriteCache, select, cancellationToken: cancellationToken).ConfigureAwait(false));

    public Task SetVolatileWriteCacheAsync(NvmeVolatileWriteCache value, bool save = false, CancellationToken cancellationToken = default) =>
        SetFeatureAsync(NvmeFeatureId.VolatileWriteCache, value.ToDword(), save, cancellationToken: cancellationToken);

    public async Task<NvmeAsyncEventConfig> GetAsyncEventConfigAsync(NvmeFeatureSelect select = NvmeFeatureSelect.Current, CancellationToken cancellationToken = default) =>
        (NvmeAsyncEventConfig)await GetFeatureAsync(NvmeFeatureId.AsynchronousEventConfiguration, select, cancellationToken: cancellationToken).ConfigureAwait(false);

    public Task SetAsyncEventConfigAsync(NvmeAsyncEventConfig value, bool save = false, CancellationToken cancellationToken = default) =>
        SetFeatureAsync(NvmeFeatureId.AsynchronousEventConfiguration, (uint)value, save, cancellationToken: cancellationToken);

    /// <summary>Keep Alive Timer (KATO) in milliseconds.</summary>
    public Task<uint> GetKeepAliveTimerAsync(NvmeFeatureSelect select = NvmeFeatureSelect.Current, CancellationToken cancellationToken = default) =>
        GetFeatureAsync(NvmeFeatureId.KeepAliveTimer, select, cancellationToken: cancellationToken);

    public Task SetKeepAliveTimerAsync(uint katoMilliseconds, CancellationToken cancellationToken = default) =>
        SetFeatureAsync(NvmeFeatureId.KeepAliveTimer, katoMilliseconds, cancellationToken: cancellationToken);

    /// <summary>Host Identifier (FID 81h): 8 bytes, or 16 with EXHID.</summary>
    public async Task<byte[]> GetHostIdentifierAsync(bool extended = true, CancellationToken cancellationToken = default)
    {
        var data = new byte[extended ? 16 : 8];
        await GetFeatureAsync(NvmeFeatureId.HostIdentifier, NvmeFeatureSelect.Current, extended ? 1u : 0u, 0, data, cancellationToken).ConfigureAwait(false);
        return data;
    }

    public Task SetHostIdentifierAsync(ReadOnlyMemory<byte> hostId, CancellationToken cancellationToken = default)
    {
        if (hostId.Length is not (8 or 16))
        {
            throw new ArgumentException("A host identifier is 8 or 16 bytes.", nameof(hostId));
        }

        return SetFeatureAsync(NvmeFeatureId.HostIdentifier, hostId.Length == 16 ? 1u : 0u, data: hostId, cancellationToken: cancellationToken);
    }

    // ---- Namespace management ----

    /// <summary>Creates a namespace from the host-settable fields of <paramref name="settings"/> (NSZE, NCAP, FLBAS, DPS, NMIC, ...); returns the new NSID.</summary>
    public async Task<uint> CreateNamespaceAsync(NvmeIdentifyNamespace settings, byte csi = 0, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var r = await ExecuteAsync(NvmeAdminCommands.NamespaceManagement(0, 0, csi), settings.ToArray(), default, "Namespace Management (create)", cancellationToken).ConfigureAwait(false);
        return r.Completion.Dw0;
    }

    /// <summary>Creates a namespace of <paramref name="blocks"/> blocks (NCAP = NSZE) in LBA format <paramref name="formatIndex"/>,
    /// shared (NMIC bit 0) or private; returns the new NSID.</summary>
    public Task<uint> CreateNamespaceAsync(ulong blocks, int formatIndex, bool shared, CancellationToken cancellationToken = default) =>
        CreateNamespaceAsync(new NvmeIdentifyNamespace { Nsze = blocks, Ncap = blocks, Flbas = NvmeIdentifyNamespace.FlbasFor(formatIndex), Nmic = shared ? (byte)1 : (byte)0 },
            cancellationToken: cancellationToken);

    /// <summary>The index of the LBA format with <paramref name="blockSize"/>-byte blocks and no metadata. The formats come
    /// from Identify Namespace with NSID FFFFFFFFh (what every namespace offers), or, from a controller without it, from
    /// the first active namespace.</summary>
    /// <exception cref="ArgumentException">The controller offers no such format.</exception>
    public async Task<int> FindLbaFormatAsync(int blockSize, CancellationToken cancellationToken = default)
    {
        NvmeIdentifyNamespace? formats = null;
        try
        {
            formats = await IdentifyNamespaceAsync(NvmeAdminCommands.BroadcastNsid, cancellationToken).ConfigureAwait(false);
        }
        catch (NvmeStatusException)
        {
            // No common Identify Namespace: ask a namespace that exists.
        }

        if (formats is null || formats.Lbaf.All(f => f.Lbads == 0))
        {
            var ids = await GetAllActiveNamespaceIdsAsync(cancellationToken).ConfigureAwait(false);
            if (ids.Count > 0)
            {
                formats = await IdentifyNamespaceAsync(ids[0], cancellationToken).ConfigureAwait(false);
            }
        }

        if (formats is not null)
        {
            for (int i = 0; i <= formats.Nlbaf && i < formats.Lbaf.Length; i++)
            {
                if (formats.Lbaf[i].DataSize == blockSize && formats.Lbaf[i].Ms == 0)
                {
                    return i;
                }
            }
        }

        throw new ArgumentException($"The controller offers no LBA format with {blockSize}-byte blocks and no metadata; see LbaFormats in Get-NvmeIdentify -NamespaceId.");
    }

    /// <summary>The controllers <paramref name="nsid"/> is attached to (Identify CNS 12h).</summary>
    public async Task<ushort[]> GetAttachedControllersAsync(uint nsid, CancellationToken cancellationToken = default)
    {
        byte[] data = await IdentifyAsync(NvmeIdentifyCns.NamespaceAttachedControllerList, nsid, cancellationToken: cancellationToken).ConfigureAwait(false);
        return NvmeControllerList.TryRead(data, out var ids) ? ids : [];
    }

    public Task DeleteNamespaceAsync(uint nsid, CancellationToken cancellationToken = default) =>
        ExecuteAsync(NvmeAdminCommands.NamespaceManagement(1, nsid), default, default, "Namespace Management (delete)", cancellationToken);

    public Task AttachNamespaceAsync(uint nsid, IReadOnlyList<ushort> controllers, CancellationToken cancellationToken = default) =>
        ExecuteAsync(NvmeAdminCommands.NamespaceAttachment(0, nsid), NvmeAdminCommands.ControllerList(controllers), default, "Namespace Attachment (attach)", cancellationToken);

    public Task DetachNamespaceAsync(uint nsid, IReadOnlyList<ushort> controllers, CancellationToken cancellationToken = default) =>
        ExecuteAsync(NvmeAdminCommands.NamespaceAttachment(1, nsid), NvmeAdminCommands.ControllerList(controllers), default, "Namespace Attachment (detach)", cancellationToken);

    public Task FormatNvmAsync(uint nsid, byte lbaFormat, NvmeSecureErase ses = NvmeSecureErase.None, byte pi = 0, bool pil = false, bool mset = false, CancellationToken cancellationToken = default) =>
        ExecuteAsync(NvmeAdminCommands.FormatNvm(nsid, lbaFormat, ses, pi, pil, mset), default, default, "Format NVM", cancellationToken);

    public Task SanitizeAsync(NvmeSanitizeAction action, bool allowUnrestrictedExit = false, byte overwritePasses = 0, bool overwriteInvertPattern = false,
        bool noDeallocateAfterSanitize = false, uint overwritePattern = 0, CancellationToken cancellationToken = default) =>
        ExecuteAsync(NvmeAdminCommands.Sanitize(action, allowUnrestrictedExit, overwritePasses, overwriteInvertPattern, noDeallocateAfterSanitize, overwritePattern),
            default, default, "Sanitize", cancellationToken);

    // ---- Firmware ----

    /// <summary>Downloads a firmware image (a whole number of dwords) in chunks of at most the transport's limit, starting at byte <paramref name="offset"/>.</summary>
    public async Task FirmwareImageDownloadAsync(ReadOnlyMemory<byte> image, long offset = 0, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        if (image.IsEmpty || (image.Length & 3) != 0)
        {
            throw new ArgumentException("A firmware image is a positive multiple of 4 bytes.", nameof(image));
        }

        int limit = ChunkLimit;
        int done = 0;
        while (done < image.Length)
        {
            int chunk = Math.Min(limit, image.Length - done);
            await ExecuteAsync(NvmeAdminCommands.FirmwareImageDownload(chunk, offset + done), image.Slice(done, chunk), default, "Firmware Image Download", cancellationToken).ConfigureAwait(false);
            done += chunk;
            progress?.Report(done);
        }
    }

    /// <summary>Firmware Commit; returns completion DW0.</summary>
    public async Task<uint> FirmwareCommitAsync(byte slot, NvmeFirmwareCommitAction action, bool bootPartitionId = false, CancellationToken cancellationToken = default)
    {
        var r = await ExecuteAsync(NvmeAdminCommands.FirmwareCommit(slot, action, bootPartitionId), default, default, "Firmware Commit", cancellationToken).ConfigureAwait(false);
        return r.Completion.Dw0;
    }

    // ---- Security ----

    public Task SecuritySendAsync(byte secp, ushort spsp, ReadOnlyMemory<byte> data, byte nssf = 0, uint nsid = 0, CancellationToken cancellationToken = default) =>
        ExecuteAsync(NvmeAdminCommands.SecuritySend(secp, spsp, (uint)data.Length, nssf, nsid), data, default, "Security Send", cancellationToken);

    /// <summary>Security Receive into <paramref name="destination"/>; returns the bytes the transport reports moved.</summary>
    public async Task<int> SecurityReceiveAsync(byte secp, ushort spsp, Memory<byte> destination, byte nssf = 0, uint nsid = 0, CancellationToken cancellationToken = default)
    {
        var r = await ExecuteAsync(NvmeAdminCommands.SecurityReceive(secp, spsp, (uint)destination.Length, nssf, nsid), default, destination, "Security Receive", cancellationToken).ConfigureAwait(false);
        return r.BytesTransferred;
    }

    // ---- Miscellaneous ----

    public Task KeepAliveAsync(CancellationToken cancellationToken = default) =>
        ExecuteAsync(NvmeAdminCommands.KeepAlive(), default, default, "Keep Alive", cancellationToken);

    /// <summary>Submits an Asynchronous Event Request and waits until the controller reports an event.</summary>
    public async Task<NvmeAsyncEvent> AsyncEventRequestAsync(CancellationToken cancellationToken = default)
    {
        var r = await ExecuteAsync(NvmeAdminCommands.AsyncEventRequest(), default, default, "Asynchronous Event Request", cancellationToken).ConfigureAwait(false);
        return NvmeAsyncEvent.FromDword(r.Completion.Dw0);
    }

    /// <summary>Abort; true when the controller reports the command aborted (DW0 bit 0 clear).</summary>
    public async Task<bool> AbortAsync(ushort sqid, ushort cid, CancellationToken cancellationToken = default)
    {
        var r = await ExecuteAsync(NvmeAdminCommands.Abort(sqid, cid), default, default, "Abort", cancellationToken).ConfigureAwait(false);
        return (r.Completion.Dw0 & 1) == 0;
    }

    public Task DeviceSelfTestAsync(byte stc, uint nsid = NvmeAdminCommands.BroadcastNsid, CancellationToken cancellationToken = default) =>
        ExecuteAsync(NvmeAdminCommands.DeviceSelfTest(stc, nsid), default, default, "Device Self-test", cancellationToken);
}
