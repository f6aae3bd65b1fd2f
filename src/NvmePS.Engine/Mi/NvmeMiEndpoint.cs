using System.Buffers;
using System.Buffers.Binary;
using NvmePS.Engine.Admin;
using NvmePS.Engine.Mctp;

namespace NvmePS.Engine.Mi;

/// <summary>A decoded NVMe-MI Command response: the 24-bit NVMe Management Response and the response data.</summary>
public readonly record struct NvmeMiCommandResult(uint ManagementResponse, byte[] Data);

/// <summary>
/// An NVMe-MI Management Endpoint reached over MCTP (libnvme's nvme_mi_ep): the MI command set, control primitives,
/// and <see cref="GetAdminTransport"/> for Admin commands tunnelled through it. One command is outstanding per
/// endpoint at a time (one command slot); More Processing Required is handled with per-endpoint caps.
/// </summary>
public sealed class NvmeMiEndpoint : IAsyncDisposable
{
    private const int ReceiveBufferSize = 8192;
    private readonly SemaphoreSlim _slot = new(1, 1);
    private readonly TimeProvider _time;
    private long _lastResponse;
    private bool _haveLastResponse;
    private int _controlTag;
    private int _warnedTag;
    private readonly bool _ownsTransport;

    /// <summary>Creates an endpoint; with <c>ownsTransport</c> the transport is disposed with it.</summary>
    public NvmeMiEndpoint(IMctpTransport transport, MctpEndpointAddress address, NvmeMiEndpointOptions? options = null, TimeProvider? timeProvider = null, bool ownsTransport = false)
    {
        _ownsTransport = ownsTransport;
        Transport = transport ?? throw new ArgumentNullException(nameof(transport));
        Address = address;
        Options = options ?? new NvmeMiEndpointOptions();
        Options.Validate();
        _time = timeProvider ?? TimeProvider.System;
    }

    public IMctpTransport Transport { get; }

    public MctpEndpointAddress Address { get; }

    public NvmeMiEndpointOptions Options { get; }

    /// <summary>Receives warnings (e.g. MPR without a held tag).</summary>
    public Action<string>? Warning { get; set; }

    /// <summary>Number of MPR responses seen by the last command (diagnostics).</summary>
    public int LastMprCount { get; private set; }

    public override string ToString() => $"NVMe-MI endpoint {Address} via {Transport.Name}";

    // ---------------------------------------------------------------- core exchange

    /// <summary>
    /// Sends one request and returns the final response body (MIC removed, validated against the request's NMIMT
    /// and CSI). More Processing Required responses are absorbed: the wait is MPRT × 100 ms, or the endpoint timeout
    /// when MPRT is 0, clamped to <see cref="NvmeMiEndpointOptions.MaxMprWait"/>; more than
    /// <see cref="NvmeMiEndpointOptions.MaxConsecutiveMpr"/> MPRs, or passing the command deadline, is a timeout.
    /// </summary>
    internal async Task<byte[]> ExchangeAsync(ReadOnlyMemory<byte> request, NvmeMiMessageType type, string operation, TimeSpan? timeout, bool serialize, CancellationToken cancellationToken)
    {
        if (serialize)
        {
            await _slot.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            await InterCommandDelayAsync(cancellationToken).ConfigureAwait(false);
            TimeSpan responseTimeout = timeout ?? Options.Timeout;
            TimeSpan deadlineSpan = responseTimeout > Options.CommandDeadline ? responseTimeout : Options.CommandDeadline;
            long start = _time.GetTimestamp();
            var exchange = await Transport.OpenExchangeAsync(Address, MctpMessageTypes.NvmeManagement, cancellationToken).ConfigureAwait(false);
            byte[] buffer = ArrayPool<byte>.Shared.Rent(ReceiveBufferSize);
            try
            {
                await exchange.SendAsync(request, cancellationToken).ConfigureAwait(false);
                TimeSpan wait = responseTimeout;
                long waitStart = _time.GetTimestamp();
                int mprCount = 0;
                while (true)
                {
                    TimeSpan left = deadlineSpan - _time.GetElapsedTime(start);
                    if (left <= TimeSpan.Zero)
                    {
                        throw new NvmeTimeoutException($"{operation}: command deadline of {deadlineSpan.TotalMilliseconds:0} ms passed after {mprCount} More Processing Required response(s).");
                    }

                    // Skipping another requester's message must not restart the wait: measure from its start.
                    TimeSpan waitLeft = wait - _time.GetElapsedTime(waitStart);
                    if (waitLeft <= TimeSpan.Zero)
                    {
                        string after = mprCount > 0 ? $" after {mprCount} More Processing Required response(s)" : string.Empty;
                        throw new NvmeTimeoutException($"{operation}: no response from {Address} within {wait.TotalMilliseconds:0} ms{after}.");
                    }

                    TimeSpan thisWait = waitLeft < left ? waitLeft : left;
                    int n;
                    try
                    {
                        n = await exchange.ReceiveAsync(buffer.AsMemory(0, ReceiveBufferSize), thisWait, cancellationToken).ConfigureAwait(false);
                    }
                    catch (NvmeTimeoutException ex)
                    {
                        string after = mprCount > 0 ? $" after {mprCount} More Processing Required response(s)" : string.Empty;
                        throw new NvmeTimeoutException(thisWait < waitLeft
                            ? $"{operation}: command deadline of {deadlineSpan.TotalMilliseconds:0} ms passed{after}."
                            : $"{operation}: no response from {Address} within {wait.TotalMilliseconds:0} ms{after}.", ex);
                    }

                    var message = buffer.AsSpan(0, n);
                    if (exchange.IsShared && (NvmeMiResponse.IsOtherRequestersResponse(message, type, Options.CommandSlot) || AsyncEventMessageCodec.IsAsyncEventMessage(message)))
                    {
                        continue; // another demux client's response (finding MI-05), or the endpoint's AEM; keep waiting for ours
                    }

                    var response = NvmeMiResponse.Validate(message, type, Options.CommandSlot);
                    var body = message[..response.BodyLength];
                    if (type != NvmeMiMessageType.ControlPrimitive && NvmeMiResponse.IsMoreProcessingRequired(body, out ushort mprt))
                    {
                        mprCount++;
                        LastMprCount = mprCount;
                        if (mprCount > Options.MaxConsecutiveMpr)
                        {
                            throw new NvmeTimeoutException($"{operation}: gave up after {mprCount} consecutive More Processing Required responses (cap {Options.MaxConsecutiveMpr}).");
                        }

                        if (!exchange.HoldsTag && Interlocked.Exchange(ref _warnedTag, 1) == 0)
                        {
                            Warning?.Invoke($"{Address}: More Processing Required while the MCTP tag is kernel-owned; the final response may be dropped.");
                        }

                        wait = MprWait(mprt, responseTimeout, Options.MaxMprWait);
                        waitStart = _time.GetTimestamp();
                        continue;
                    }

                    LastMprCount = mprCount;
                    return body.ToArray();
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
                await exchange.DisposeAsync().ConfigureAwait(false);
                _lastResponse = _time.GetTimestamp();
                _haveLastResponse = true;
            }
        }
        finally
        {
            if (serialize)
            {
                _slot.Release();
            }
        }
    }

    /// <summary>The wait after an MPR response: MPRT × 100 ms, the endpoint timeout when MPRT is 0, at most the cap.</summary>
    public static TimeSpan MprWait(ushort mprt, TimeSpan endpointTimeout, TimeSpan cap)
    {
        TimeSpan wait = mprt == 0 ? endpointTimeout : TimeSpan.FromMilliseconds(mprt * 100.0);
        return wait > cap ? cap : wait;
    }

    private async Task InterCommandDelayAsync(CancellationToken cancellationToken)
    {
        if (!_haveLastResponse || EffectiveInterCommandDelay <= TimeSpan.Zero)
        {
            return;
        }

        TimeSpan delay = EffectiveInterCommandDelay;
        TimeSpan since = _time.GetElapsedTime(_lastResponse);
        if (since < delay)
        {
            await Task.Delay(delay - since, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    // ---------------------------------------------------------------- MI command set

    /// <summary>Sends an NVMe-MI Command and returns NMRESP and the response data; an error status throws
    /// <see cref="NvmeMiStatusException"/>.</summary>
    public async Task<NvmeMiCommandResult> SendMiCommandAsync(NvmeMiOpcode opcode, uint cdw0, uint cdw1, ReadOnlyMemory<byte> requestData = default, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        byte[] request = new byte[NvmeMiCodec.MiRequestHeaderSize + requestData.Length + NvmeMiMic.Size];
        int length = NvmeMiCodec.WriteMiRequest(request, opcode, cdw0, cdw1, requestData.Span, Options.CommandSlot);
        string operation = $"NVMe-MI {opcode}";
        byte[] body = await ExchangeAsync(request.AsMemory(0, length), NvmeMiMessageType.MiCommand, operation, timeout, true, cancellationToken).ConfigureAwait(false);
        if (body.Length < NvmeMiCodec.MiResponseHeaderSize)
        {
            ThrowIfError(body, operation);
            throw new NvmeProtocolException($"{operation}: response header is {body.Length} bytes, an NVMe-MI Command response header is 8.", fieldOffset: (uint)body.Length);
        }

        ThrowIfError(body, operation);
        NvmeMiResponseHeader.TryRead(body, out var header);
        return new NvmeMiCommandResult(header.Nmresp, body[NvmeMiCodec.MiResponseHeaderSize..]);
    }

    private static void ThrowIfError(byte[] body, string operation)
    {
        if (NvmeMiResponseHeader.TryRead(body, out var header) && header.Status != 0)
        {
            throw new NvmeMiStatusException(header.Status, operation, header.Nmresp);
        }
    }

    private async Task<byte[]> ReadDataStructureAsync(NvmeMiDataStructureType type, byte portId, ushort controllerId, CancellationToken cancellationToken)
    {
        uint cdw0 = ((uint)type << 24) | ((uint)portId << 16) | controllerId;
        var r = await SendMiCommandAsync(NvmeMiOpcode.ReadDataStructure, cdw0, 0, default, null, cancellationToken).ConfigureAwait(false);
        int rdl = (int)(r.ManagementResponse & 0xFFFF);
        // Messages are dword multiples, so RDL bytes may be followed by up to 3 bytes of padding (a 6-byte
        // Controller List arrives as 8): accept RDL <= length < RDL + 4 and keep RDL bytes.
        if (rdl > r.Data.Length || r.Data.Length - rdl >= 4)
        {
            throw new NvmeProtocolException($"Read NVMe-MI Data Structure ({type}): Response Data Length says {rdl} bytes, the response carries {r.Data.Length}.", fieldOffset: 5);
        }

        return r.Data.Length == rdl ? r.Data : r.Data[..rdl];
    }

    /// <summary>Read NVMe-MI Data Structure, NVM Subsystem Information.</summary>
    public async Task<NvmSubsystemInformation> ReadSubsystemInformationAsync(CancellationToken cancellationToken = default)
    {
        byte[] data = await ReadDataStructureAsync(NvmeMiDataStructureType.SubsystemInformation, 0, 0, cancellationToken).ConfigureAwait(false);
        return NvmSubsystemInformation.TryRead(data, out var v) ? v! : throw Short("NVM Subsystem Information", data.Length, NvmSubsystemInformation.Size);
    }

    /// <summary>Read NVMe-MI Data Structure, Port Information for <paramref name="portId"/>.</summary>
    public async Task<PortInformation> ReadPortInformationAsync(byte portId, CancellationToken cancellationToken = default)
    {
        byte[] data = await ReadDataStructureAsync(NvmeMiDataStructureType.PortInformation, portId, 0, cancellationToken).ConfigureAwait(false);
        return PortInformation.TryRead(data, out var v) ? v! : throw Short("Port Information", data.Length, PortInformation.Size);
    }

    /// <summary>Read NVMe-MI Data Structure, Controller List from <paramref name="startControllerId"/>.</summary>
    public async Task<IReadOnlyList<ushort>> ReadControllerListAsync(ushort startControllerId = 0, CancellationToken cancellationToken = default)
    {
        byte[] data = await ReadDataStructureAsync(NvmeMiDataStructureType.ControllerList, 0, startControllerId, cancellationToken).ConfigureAwait(false);
        return NvmeControllerList.TryRead(data, out var ids) ? ids : throw new NvmeProtocolException("Controller List: NUMID exceeds the data returned.");
    }

    /// <summary>Read NVMe-MI Data Structure, Controller Information for <paramref name="controllerId"/>.</summary>
    public async Task<ControllerInformation> ReadControllerInformationAsync(ushort controllerId, CancellationToken cancellationToken = default)
    {
        byte[] data = await ReadDataStructureAsync(NvmeMiDataStructureType.ControllerInformation, 0, controllerId, cancellationToken).ConfigureAwait(false);
        return ControllerInformation.TryRead(data, out var v) ? v! : throw Short("Controller Information", data.Length, ControllerInformation.Size);
    }

    /// <summary>Read NVMe-MI Data Structure, Optionally Supported Command List.</summary>
    public async Task<IReadOnlyList<OptionalCommand>> ReadOptionalCommandsAsync(CancellationToken cancellationToken = default)
    {
        byte[] data = await ReadDataStructureAsync(NvmeMiDataStructureType.OptionalCommandsSupported, 0, 0, cancellationToken).ConfigureAwait(false);
        return OptionalCommandList.TryRead(data, out var list) ? list : throw new NvmeProtocolException("Optionally Supported Command List: NUMCMD exceeds the data returned.");
    }

    /// <summary>Reads the subsystem information, every port's information, the controller list and every
    /// controller's information.</summary>
    public async Task<NvmeMiEndpointDescription> DescribeAsync(CancellationToken cancellationToken = default)
    {
        var subsystem = await ReadSubsystemInformationAsync(cancellationToken).ConfigureAwait(false);
        var ports = new List<PortInformation>();
        for (int p = 0; p < subsystem.PortCount; p++)
        {
            ports.Add(await ReadPortInformationAsync((byte)p, cancellationToken).ConfigureAwait(false));
        }

        var ids = new List<ushort>();
        while (true)
        {
            // The list holds at most 2047 identifiers: continue after the last one when it is full.
            int last = ids.Count == 0 ? -1 : ids[^1];
            var chunk = await ReadControllerListAsync((ushort)(last + 1), cancellationToken).ConfigureAwait(false);
            var fresh = chunk.Where(id => id > last).ToList();
            ids.AddRange(fresh);
            if (chunk.Count < NvmeControllerList.MaxIdentifiers || fresh.Count == 0 || ids[^1] == ushort.MaxValue)
            {
                break;
            }
        }

        var controllers = new List<ControllerInformation>();
        foreach (ushort id in ids)
        {
            controllers.Add(await ReadControllerInformationAsync(id, cancellationToken).ConfigureAwait(false));
        }

        return new NvmeMiEndpointDescription(subsystem, ports, ids, controllers);
    }

    /// <summary>NVM Subsystem Health Status Poll; <paramref name="clear"/> sets CS to clear the CCS flags after reading.</summary>
    public async Task<NvmSubsystemHealthStatus> PollSubsystemHealthAsync(bool clear = false, CancellationToken cancellationToken = default)
    {
        var r = await SendMiCommandAsync(NvmeMiOpcode.SubsystemHealthStatusPoll, 0, clear ? 1u << 31 : 0, default, null, cancellationToken).ConfigureAwait(false);
        return NvmSubsystemHealthStatus.TryRead(r.Data, out var v) ? v! : throw Short("NVM Subsystem Health Status", r.Data.Length, NvmSubsystemHealthStatus.Size);
    }

    /// <summary>Controller Health Status Poll (libnvme offers only a raw transfer for it).</summary>
    public async Task<IReadOnlyList<ControllerHealthStatus>> PollControllerHealthAsync(ControllerHealthPollRequest? request = null, CancellationToken cancellationToken = default)
    {
        request ??= new ControllerHealthPollRequest();
        var r = await SendMiCommandAsync(NvmeMiOpcode.ControllerHealthStatusPoll, request.EncodeCdw0(), request.EncodeCdw1(), default, null, cancellationToken).ConfigureAwait(false);
        int rent = (int)(r.ManagementResponse >> 16) & 0xFF;
        if (rent > request.MaxEntries || r.Data.Length != rent * ControllerHealthStatus.Size)
        {
            throw new NvmeProtocolException($"Controller Health Status Poll: RENT {rent} does not match {r.Data.Length} bytes of data (or exceeds MAXRENT).", fieldOffset: 7);
        }

        var list = new ControllerHealthStatus[rent];
        for (int i = 0; i < rent; i++)
        {
            ControllerHealthStatus.TryRead(r.Data.AsSpan(i * ControllerHealthStatus.Size), out var e);
            list[i] = e!;
        }

        return list;
    }

    /// <summary>Configuration Get: SMBus/I2C Frequency of <paramref name="portId"/>.</summary>
    public async Task<SmbusFrequency> GetSmbusFrequencyAsync(byte portId, CancellationToken cancellationToken = default)
    {
        var r = await SendMiCommandAsync(NvmeMiOpcode.ConfigurationGet, ((uint)portId << 24) | (byte)NvmeMiConfigurationId.SmbusI2cFrequency, 0, default, null, cancellationToken).ConfigureAwait(false);
        return (SmbusFrequency)(r.ManagementResponse & 0xF);
    }

    /// <summary>Configuration Set: SMBus/I2C Frequency of <paramref name="portId"/>.</summary>
    public Task SetSmbusFrequencyAsync(byte portId, SmbusFrequency frequency, CancellationToken cancellationToken = default) =>
        SendMiCommandAsync(NvmeMiOpcode.ConfigurationSet, ((uint)portId << 24) | (((uint)frequency & 0xF) << 8) | (byte)NvmeMiConfigurationId.SmbusI2cFrequency, 0, default, null, cancellationToken);

    /// <summary>Configuration Set: Health Status Change — clears the selected Composite Controller Status flags.</summary>
    public Task ClearHealthStatusChangeAsync(HealthStatusChangeFlags flags, CancellationToken cancellationToken = default) =>
        SendMiCommandAsync(NvmeMiOpcode.ConfigurationSet, (byte)NvmeMiConfigurationId.HealthStatusChange, (uint)flags, default, null, cancellationToken);

    /// <summary>Configuration Get: MCTP Transmission Unit Size of <paramref name="portId"/>.</summary>
    /// <summary>A port's configuration (Configuration Get, NVMe-MI §5.1): its type, the SMBus/I2C frequency (asked only of
    /// SMBus ports; <see cref="SmbusFrequency.NotSupported"/> elsewhere) and the MCTP transmission unit size.</summary>
    public async Task<NvmeMiPortConfiguration> ReadPortConfigurationAsync(byte portId, CancellationToken cancellationToken = default)
    {
        var port = await ReadPortInformationAsync(portId, cancellationToken).ConfigureAwait(false);
        var frequency = port.PortType == NvmeMiPortType.Smbus
            ? await GetSmbusFrequencyAsync(portId, cancellationToken).ConfigureAwait(false)
            : SmbusFrequency.NotSupported;
        ushort mtu = await GetMctpTransmissionUnitSizeAsync(portId, cancellationToken).ConfigureAwait(false);
        return new NvmeMiPortConfiguration(portId, port.PortType, frequency, mtu);
    }

    public async Task<ushort> GetMctpTransmissionUnitSizeAsync(byte portId, CancellationToken cancellationToken = default)
    {
        var r = await SendMiCommandAsync(NvmeMiOpcode.ConfigurationGet, ((uint)portId << 24) | (byte)NvmeMiConfigurationId.MctpTransmissionUnitSize, 0, default, null, cancellationToken).ConfigureAwait(false);
        return (ushort)r.ManagementResponse;
    }

    /// <summary>Configuration Set: MCTP Transmission Unit Size of <paramref name="portId"/>.</summary>
    public Task SetMctpTransmissionUnitSizeAsync(byte portId, ushort size, CancellationToken cancellationToken = default) =>
        SendMiCommandAsync(NvmeMiOpcode.ConfigurationSet, ((uint)portId << 24) | (byte)NvmeMiConfigurationId.MctpTransmissionUnitSize, size, default, null, cancellationToken);

    /// <summary>Configuration Get: Asynchronous Event — the AE Supported List.</summary>
    public async Task<IReadOnlyList<AsyncEventItem>> GetAsyncEventsAsync(CancellationToken cancellationToken = default)
    {
        var r = await SendMiCommandAsync(NvmeMiOpcode.ConfigurationGet, (byte)NvmeMiConfigurationId.AsyncEvent, 0, default, null, cancellationToken).ConfigureAwait(false);
        return AsyncEventList.TryRead(r.Data, out var items) ? items : throw new NvmeProtocolException("Asynchronous Event Supported List is malformed.");
    }

    /// <summary>Configuration Set: Asynchronous Event — sends an AE Enable List (a change to the current enables) and
    /// makes this requester the destination of the endpoint's AEMs. Returns the occurrence list the response carries,
    /// or null when it carries none.</summary>
    public async Task<NvmeMiAsyncEventMessage?> SetAsyncEventsAsync(IReadOnlyList<AsyncEventItem> enables, AsyncEventSettings settings = default, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(enables);
        byte[] list = new byte[AsyncEventList.HeaderSize + (AsyncEventList.ItemSize * enables.Count)];
        AsyncEventList.Write(list, enables);
        var r = await SendMiCommandAsync(NvmeMiOpcode.ConfigurationSet, settings.ToCdw0(), 0, list, null, cancellationToken).ConfigureAwait(false);
        return ReadOccurrences(r.Data, "Configuration Set (Asynchronous Event)");
    }

    /// <summary>Acknowledges the AEM last received (NVMe-MI 2.0 §4.1.3: a Configuration Set, Asynchronous Event, with an
    /// empty enable list), so the endpoint stops retransmitting it. Returns the occurrences the response still lists.</summary>
    public Task<NvmeMiAsyncEventMessage?> AcknowledgeAsyncEventAsync(CancellationToken cancellationToken = default) =>
        SetAsyncEventsAsync([], default, cancellationToken);

    /// <summary>Starts receiving this endpoint's AEMs; enable the events (<see cref="SetAsyncEventsAsync"/>) after
    /// this, so none is missed.</summary>
    /// <exception cref="NotSupportedException">The transport cannot deliver an endpoint's own messages.</exception>
    public async Task<NvmeMiEventListener> ListenForAsyncEventsAsync(CancellationToken cancellationToken = default)
    {
        if (Transport is not IMctpEventSource source)
        {
            throw new NotSupportedException($"{Transport.Name} cannot deliver an endpoint's own messages (AEMs).");
        }

        var listener = await source.ListenAsync(Address, MctpMessageTypes.NvmeManagement, cancellationToken).ConfigureAwait(false);
        return new NvmeMiEventListener(this, listener);
    }

    private static NvmeMiAsyncEventMessage? ReadOccurrences(byte[] data, string what)
    {
        if (data.Length == 0)
        {
            return null;
        }

        return AsyncEventOccurrenceList.TryRead(data, out byte generation, out var occurrences, out string? error)
            ? new NvmeMiAsyncEventMessage(generation, occurrences)
            : throw new NvmeProtocolException($"{what}: the response's AE Occurrence List is malformed: {error}");
    }

    /// <summary>VPD Read of <paramref name="length"/> bytes at <paramref name="offset"/>.</summary>
    public async Task<byte[]> ReadVpdAsync(ushort offset, ushort length, CancellationToken cancellationToken = default)
    {
        if (length > NvmeMiCodec.MaxAdminDataLength)
        {
            throw new ArgumentOutOfRangeException(nameof(length), "One VPD Read returns at most 4096 bytes.");
        }

        var r = await SendMiCommandAsync(NvmeMiOpcode.VpdRead, offset, length, default, null, cancellationToken).ConfigureAwait(false);
        // The data is padded to a dword (messages are dword multiples): up to 3 bytes past the length asked for.
        if (r.Data.Length < length || r.Data.Length - length >= 4)
        {
            throw new NvmeProtocolException($"VPD Read: asked for {length} bytes, got {r.Data.Length}.");
        }

        return r.Data.Length == length ? r.Data : r.Data[..length];
    }

    /// <summary>VPD Write of <paramref name="data"/> at <paramref name="offset"/>.</summary>
    public Task WriteVpdAsync(ushort offset, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        if (data.Length > NvmeMiCodec.MaxAdminDataLength)
        {
            throw new ArgumentOutOfRangeException(nameof(data), "One VPD Write carries at most 4096 bytes.");
        }

        return SendMiCommandAsync(NvmeMiOpcode.VpdWrite, offset, (uint)data.Length, data, null, cancellationToken);
    }

    /// <summary>Reset (Reset Type 0: NVM Subsystem Reset).</summary>
    public Task ResetSubsystemAsync(CancellationToken cancellationToken = default) =>
        SendMiCommandAsync(NvmeMiOpcode.Reset, 0, 0, default, null, cancellationToken);

    // ---------------------------------------------------------------- control primitives

    /// <summary>Sends a Control Primitive and returns CPSR. Control primitives bypass the command slot lock so an
    /// Abort can reach a slot that is busy with an MPR command.</summary>
    public async Task<ushort> SendControlPrimitiveAsync(NvmeMiControlOpcode opcode, ushort parameter, CancellationToken cancellationToken = default)
    {
        byte tag = (byte)Interlocked.Increment(ref _controlTag);
        byte[] request = new byte[NvmeMiCodec.ControlMessageSize + NvmeMiMic.Size];
        NvmeMiCodec.WriteControlPrimitive(request, opcode, tag, parameter, Options.CommandSlot);
        string operation = $"NVMe-MI control primitive {opcode}";
        byte[] body = await ExchangeAsync(request, NvmeMiMessageType.ControlPrimitive, operation, null, false, cancellationToken).ConfigureAwait(false);
        if (body.Length < NvmeMiCodec.ControlMessageSize)
        {
            ThrowIfError(body, operation);
            throw new NvmeProtocolException($"{operation}: response is {body.Length} bytes, a control primitive response is 8.", fieldOffset: (uint)body.Length);
        }

        ThrowIfError(body, operation);
        NvmeMiResponseHeader.TryRead(body, out var response);
        if (response.Byte5 != tag)
        {
            throw new NvmeProtocolException($"{operation}: response tag 0x{response.Byte5:X2} does not echo the request tag 0x{tag:X2}.", fieldOffset: NvmeMiCodec.ControlTagOffset);
        }

        return response.Word6;
    }

    public Task PauseAsync(CancellationToken cancellationToken = default) => SendControlPrimitiveAsync(NvmeMiControlOpcode.Pause, 0, cancellationToken);

    public Task ResumeAsync(CancellationToken cancellationToken = default) => SendControlPrimitiveAsync(NvmeMiControlOpcode.Resume, 0, cancellationToken);

    /// <summary>Abort; returns CPAS (0: nothing aborted or completed, 1: aborted before processing, 2: partially processed).</summary>
    public async Task<int> AbortAsync(CancellationToken cancellationToken = default) =>
        await SendControlPrimitiveAsync(NvmeMiControlOpcode.Abort, 0, cancellationToken).ConfigureAwait(false) & 0x3;

    /// <summary>Get State; <paramref name="clearErrorState"/> sets CESF.</summary>
    public async Task<ManagementEndpointState> GetStateAsync(bool clearErrorState = false, CancellationToken cancellationToken = default) =>
        new(await SendControlPrimitiveAsync(NvmeMiControlOpcode.GetState, (ushort)(clearErrorState ? 1 : 0), cancellationToken).ConfigureAwait(false));

    /// <summary>Replay: asks the endpoint to retransmit its last response from packet <paramref name="offset"/>.
    /// Returns the retransmitted response message (MIC checked), or null when the endpoint had none to replay (RR clear).</summary>
    public async Task<byte[]?> ReplayAsync(byte offset = 0, CancellationToken cancellationToken = default)
    {
        byte tag = (byte)Interlocked.Increment(ref _controlTag);
        byte[] request = new byte[NvmeMiCodec.ControlMessageSize + NvmeMiMic.Size];
        NvmeMiCodec.WriteControlPrimitive(request, NvmeMiControlOpcode.Replay, tag, offset, Options.CommandSlot);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(ReceiveBufferSize);
        var exchange = await Transport.OpenExchangeAsync(Address, MctpMessageTypes.NvmeManagement, cancellationToken).ConfigureAwait(false);
        try
        {
            await exchange.SendAsync(request, cancellationToken).ConfigureAwait(false);
            int n = await exchange.ReceiveAsync(buffer.AsMemory(0, ReceiveBufferSize), Options.Timeout, cancellationToken).ConfigureAwait(false);
            var control = NvmeMiResponse.Validate(buffer.AsSpan(0, n), NvmeMiMessageType.ControlPrimitive, Options.CommandSlot);
            byte[] body = buffer.AsSpan(0, control.BodyLength).ToArray();
            if (body.Length < NvmeMiCodec.ControlMessageSize)
            {
                ThrowIfError(body, "NVMe-MI control primitive Replay");
                throw new NvmeProtocolException("NVMe-MI control primitive Replay: response shorter than 8 bytes.");
            }

            ThrowIfError(body, "NVMe-MI control primitive Replay");
            if ((body[NvmeMiCodec.ControlParameterOffset] & 1) == 0)
            {
                return null;
            }

            n = await exchange.ReceiveAsync(buffer.AsMemory(0, ReceiveBufferSize), Options.Timeout, cancellationToken).ConfigureAwait(false);
            var replayed = buffer.AsSpan(0, n);
            if (!NvmeMiMic.Verify(replayed) || n < NvmeMiMessageHeader.Size + NvmeMiMic.Size || replayed[0] != NvmeMiMessageHeader.MctpTypeByte)
            {
                throw new NvmeProtocolException("NVMe-MI Replay: the retransmitted response is malformed (type or MIC).");
            }

            return replayed.ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            await exchange.DisposeAsync().ConfigureAwait(false);
        }
    }

    // ---------------------------------------------------------------- quirks

    /// <summary>The delay enforced between a response and the next request: the option, or a probed quirk's if larger.</summary>
    public TimeSpan EffectiveInterCommandDelay => _quirkDelay > Options.MinimumInterCommandDelay ? _quirkDelay : Options.MinimumInterCommandDelay;

    private TimeSpan _quirkDelay;

    /// <summary>
    /// Identifies the first controller (a partial Identify Controller: VID through FR, 72 bytes, as libnvme's probe
    /// does) and applies known drive quirks: the Samsung MZUL2512 drops commands sent within about 1 ms of the previous
    /// response, so it gets a 1.2 ms inter-command delay. Returns a description of what was applied, or null.
    /// </summary>
    public async Task<string?> ProbeQuirksAsync(CancellationToken cancellationToken = default)
    {
        var controllers = await ReadControllerListAsync(0, cancellationToken).ConfigureAwait(false);
        ushort controller = controllers.Count > 0 ? controllers[0] : (ushort)0;
        byte[] id = new byte[72];
        var identify = new NvmeCommand { Opcode = 0x06, Cdw10 = 0x01 };
        var result = await GetAdminTransport(controller).ExecuteAdminAsync(identify, default, id, 0, null, cancellationToken).ConfigureAwait(false);
        if (!result.Completion.IsSuccess || result.BytesTransferred < 72)
        {
            return null;
        }

        ushort vid = BinaryPrimitives.ReadUInt16LittleEndian(id);
        string model = System.Text.Encoding.ASCII.GetString(id, 24, 40).TrimEnd(' ', '\0');
        if (vid == 0x144D && model.StartsWith("MZUL2512HCJQ", StringComparison.Ordinal))
        {
            _quirkDelay = TimeSpan.FromMilliseconds(1.2);
            return $"{model}: minimum inter-command delay 1.2 ms";
        }

        return null;
    }

    // ---------------------------------------------------------------- Admin tunnel

    /// <summary>An <see cref="Admin.INvmeAdminTransport"/> for controller <paramref name="controllerId"/> behind this endpoint.</summary>
    public NvmeMiAdminTransport GetAdminTransport(ushort controllerId) => new(this, controllerId);

    private static NvmeProtocolException Short(string what, int got, int need) =>
        new($"{what}: {got} bytes of data, the structure is {need}.");

    public async ValueTask DisposeAsync()
    {
        _slot.Dispose();
        if (_ownsTransport)
        {
            await Transport.DisposeAsync().ConfigureAwait(false);
        }
    }
}
