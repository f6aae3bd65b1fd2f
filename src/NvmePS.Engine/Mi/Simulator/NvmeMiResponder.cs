using System.Buffers.Binary;
using NvmePS.Engine.Admin;
using NvmePS.Engine.Fabrics.Controller;
using NvmePS.Engine.Mctp;

namespace NvmePS.Engine.Mi.Simulator;

/// <summary>
/// The simulated NVMe-MI Management Endpoint: parses requests (every length bounded, bad MIC or malformed messages
/// dropped and counted as the spec's Management Endpoint State flags say), answers the MI command set, control
/// primitives and tunnelled Admin commands from a <see cref="SimulatedSubsystem"/>, and answers slow commands with
/// More Processing Required first.
/// </summary>
public sealed partial class NvmeMiResponder : IMctpResponder
{
    private readonly TimeProvider _time;
    private readonly object _stateGate = new();
    private readonly List<(byte[] Message, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> Respond)> _heldWhilePaused = [];
    private byte[]? _lastResponse;
    private bool _paused;
    private ushort _mesFlags;
    // Per command slot (CSI 0 and 1): SSTA and the slow command in progress.
    private readonly int[] _slotState = new int[2];
    private readonly CancellationTokenSource?[] _slowOperation = new CancellationTokenSource?[2];
    private long _dropped;
    private long _handled;

    public NvmeMiResponder(SimulatedSubsystem subsystem, TimeProvider? timeProvider = null)
    {
        Subsystem = subsystem;
        _time = timeProvider ?? TimeProvider.System;
    }

    public SimulatedSubsystem Subsystem { get; }

    /// <summary>Messages discarded as malformed (bad MIC, wrong type, too short, a response).</summary>
    public long DroppedMessages => Interlocked.Read(ref _dropped);

    /// <summary>Requests answered.</summary>
    public long HandledRequests => Interlocked.Read(ref _handled);

    public async ValueTask HandleAsync(MctpEndpointAddress source, ReadOnlyMemory<byte> request, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> respond, CancellationToken cancellationToken)
    {
        var plan = Process(request.Span, source);
        if (plan.Response is null)
        {
            Interlocked.Increment(ref _dropped);
            return;
        }

        Interlocked.Increment(ref _handled);
        await SendAsync(plan.Response, respond, plan.IsControl, cancellationToken).ConfigureAwait(false);
        if (plan.Replay is not null)
        {
            await respond(plan.Replay, cancellationToken).ConfigureAwait(false);
        }

        if (plan.Resumed is not null)
        {
            foreach (var (message, r) in plan.Resumed)
            {
                await r(message, cancellationToken).ConfigureAwait(false);
            }
        }

        if (plan.Slow is not null)
        {
            await RunSlowAsync(plan.Slow, plan.SlowSlot, plan.SlowToken, respond, cancellationToken).ConfigureAwait(false);
        }

        plan.AfterResponse?.Invoke();
    }

    private async ValueTask RunSlowAsync(Func<byte[]> complete, byte slot, CancellationToken abortToken, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> respond, CancellationToken cancellationToken)
    {
        try
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(abortToken, cancellationToken);
            await Task.Delay(Subsystem.Options.SlowCommandTime, _time, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            lock (_stateGate)
            {
                _slotState[slot] = 0;
            }

            return; // aborted: no final response
        }

        byte[] final = complete();

        lock (_stateGate)
        {
            _slotState[slot] = 0;
            _slowOperation[slot]?.Dispose();
            _slowOperation[slot] = null;
        }

        await SendAsync(final, respond, false, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask SendAsync(byte[] response, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> respond, bool isControl, CancellationToken cancellationToken)
    {
        lock (_stateGate)
        {
            if (!isControl)
            {
                _lastResponse = response;
                if (_paused)
                {
                    // Bounded: a requester that keeps sending while paused cannot grow the queue without limit.
                    if (_heldWhilePaused.Count >= 32)
                    {
                        _heldWhilePaused.RemoveAt(0);
                    }

                    _heldWhilePaused.Add((response, respond));
                    return;
                }
            }
        }

        await respond(response, cancellationToken).ConfigureAwait(false);
    }

    private sealed class Plan
    {
        public byte[]? Response { get; init; }
        public bool IsControl { get; init; }
        public byte[]? Replay { get; init; }
        public List<(byte[] Message, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> Respond)>? Resumed { get; init; }
        public Func<byte[]>? Slow { get; init; }
        public byte SlowSlot { get; init; }
        public CancellationToken SlowToken { get; init; }
        public Action? AfterResponse { get; init; }
    }

    /// <summary>Parses one request message and decides the response. Pure with respect to I/O; the simulator's
    /// request parser that the fuzz test drives. Returns a plan with a null response for messages to drop.</summary>
    private Plan Process(ReadOnlySpan<byte> message, MctpEndpointAddress source)
    {
        if (message.Length < NvmeMiMessageHeader.Size + NvmeMiMic.Size || message.Length > NvmeMiCodec.MaxMessageSize ||
            message[0] != NvmeMiMessageHeader.MctpTypeByte)
        {
            return new Plan();
        }

        if (!NvmeMiMic.Verify(message))
        {
            lock (_stateGate)
            {
                _mesFlags |= ManagementEndpointState.Bmice;
            }

            return new Plan();
        }

        NvmeMiMessageHeader.TryRead(message, out var header);
        if (header.IsResponse)
        {
            return new Plan();
        }

        var body = message[..^NvmeMiMic.Size];
        byte csi = header.CommandSlot;
        if (header.Nmimt == NvmeMiMessageType.AsyncEvent)
        {
            // An AEM is the endpoint's own message, never a command to it (one may come back on a shared bus).
            return new Plan();
        }

        if (header.Nmimt != NvmeMiMessageType.ControlPrimitive)
        {
            lock (_stateGate)
            {
                if (_slotState[csi] != 0)
                {
                    // A command message to a slot that is not Idle is discarded (NVMe-MI 1.2 §4.2: CMNICS).
                    _mesFlags |= ManagementEndpointState.Cmnics;
                    return new Plan();
                }
            }
        }

        switch (header.Nmimt)
        {
            case NvmeMiMessageType.ControlPrimitive:
                return HandleControl(body, csi);
            case NvmeMiMessageType.MiCommand:
                lock (Subsystem.Gate)
                {
                    return HandleMi(body, csi, source);
                }

            case NvmeMiMessageType.AdminCommand:
                return HandleAdminMessage(body, csi);
            default:
                return new Plan { Response = Error(header.Nmimt, csi, NvmeMiStatus.InvalidParameter, 1, 3) };
        }
    }

    // ------------------------------------------------------------------ response builders

    private static byte[] Error(NvmeMiMessageType type, byte csi, NvmeMiStatus status, ushort parameterByte = 0, byte parameterBit = 0)
    {
        byte[] r = new byte[NvmeMiCodec.MiResponseHeaderSize + NvmeMiMic.Size];
        new NvmeMiMessageHeader(type, true, csi).WriteTo(r);
        (status == NvmeMiStatus.InvalidParameter ? NvmeMiResponseHeader.InvalidParameter(parameterByte, parameterBit) : new NvmeMiResponseHeader((byte)status, 0)).WriteTo(r);

        NvmeMiMic.Append(r, NvmeMiCodec.MiResponseHeaderSize);
        return r;
    }

    /// <summary>Rounds a data length up to a whole dword: NVMe-MI messages are dword multiples (NVMe-MI 1.2 §3.1) and
    /// libnvme-mi rejects anything else. Padding is zero; RDL and structure length fields keep the true length.</summary>
    private static int Dwords(int length) => (length + 3) & ~3;

    private static byte[] MiSuccess(byte csi, uint nmresp, ReadOnlySpan<byte> data)
    {
        int padded = Dwords(data.Length);
        byte[] r = new byte[NvmeMiCodec.MiResponseHeaderSize + padded + NvmeMiMic.Size];
        new NvmeMiMessageHeader(NvmeMiMessageType.MiCommand, true, csi).WriteTo(r);
        new NvmeMiResponseHeader((byte)NvmeMiStatus.Success, nmresp).WriteTo(r);
        data.CopyTo(r.AsSpan(NvmeMiCodec.MiResponseHeaderSize));
        NvmeMiMic.Append(r, NvmeMiCodec.MiResponseHeaderSize + padded);
        return r;
    }

    internal static byte[] AdminSuccess(byte csi, uint cdw0, uint cdw1, ushort cid, NvmeStatus status, ReadOnlySpan<byte> data)
    {
        int padded = Dwords(data.Length);
        byte[] r = new byte[NvmeMiCodec.AdminResponseHeaderSize + padded + NvmeMiMic.Size];
        new NvmeMiMessageHeader(NvmeMiMessageType.AdminCommand, true, csi).WriteTo(r);
        NvmeMiAdminResponseHeader.From(NvmeCompletion.Create(cid, status, cdw0, cdw1)).WriteTo(r);
        data.CopyTo(r.AsSpan(NvmeMiCodec.AdminResponseHeaderSize));
        NvmeMiMic.Append(r, NvmeMiCodec.AdminResponseHeaderSize + padded);
        return r;
    }

    private static byte[] Mpr(NvmeMiMessageType type, byte csi, ushort mprt)
    {
        byte[] r = new byte[NvmeMiCodec.MiResponseHeaderSize + NvmeMiMic.Size];
        new NvmeMiMessageHeader(type, true, csi).WriteTo(r);
        NvmeMiResponseHeader.MoreProcessingRequired(mprt).WriteTo(r);
        NvmeMiMic.Append(r, NvmeMiCodec.MiResponseHeaderSize);
        return r;
    }

    private static byte[] Control(byte csi, NvmeMiStatus status, byte tag, ushort cpsr)
    {
        byte[] r = new byte[NvmeMiCodec.ControlMessageSize + NvmeMiMic.Size];
        new NvmeMiMessageHeader(NvmeMiMessageType.ControlPrimitive, true, csi).WriteTo(r);
        NvmeMiResponseHeader.ControlPrimitive(status, tag, cpsr).WriteTo(r);
        NvmeMiMic.Append(r, NvmeMiCodec.ControlMessageSize);
        return r;
    }

    // ------------------------------------------------------------------ control primitives

    private Plan HandleControl(ReadOnlySpan<byte> body, byte csi)
    {
        if (body.Length != NvmeMiCodec.ControlMessageSize)
        {
            byte t = body.Length > 5 ? body[5] : (byte)0;
            return new Plan { Response = Control(csi, NvmeMiStatus.InvalidCommandSize, t, 0), IsControl = true };
        }

        var opcode = (NvmeMiControlOpcode)body[4];
        byte tag = body[5];
        ushort cpsp = BinaryPrimitives.ReadUInt16LittleEndian(body[6..]);
        lock (_stateGate)
        {
            switch (opcode)
            {
                case NvmeMiControlOpcode.Pause:
                    _paused = true;
                    return new Plan { Response = Control(csi, NvmeMiStatus.Success, tag, 0), IsControl = true };
                case NvmeMiControlOpcode.Resume:
                    {
                        _paused = false;
                        var held = new List<(byte[], Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask>)>(_heldWhilePaused);
                        _heldWhilePaused.Clear();
                        return new Plan { Response = Control(csi, NvmeMiStatus.Success, tag, 0), IsControl = true, Resumed = held };
                    }

                case NvmeMiControlOpcode.Abort:
                    {
                        ushort cpas = 0;
                        if (_slowOperation[csi] is { } running)
                        {
                            running.Cancel();
                            _slowOperation[csi] = null;
                            cpas = 2; // aborted after processing partially completed
                        }

                        _slotState[csi] = 0;
                        _heldWhilePaused.Clear();
                        return new Plan { Response = Control(csi, NvmeMiStatus.Success, tag, cpas), IsControl = true };
                    }

                case NvmeMiControlOpcode.GetState:
                    {
                        ushort state = (ushort)((_slotState[csi] & ManagementEndpointState.SstaMask) | _mesFlags | (_paused ? ManagementEndpointState.Pflg : 0));
                        if ((cpsp & 1) != 0)
                        {
                            _mesFlags = (ushort)(_mesFlags & ~ManagementEndpointState.ErrorBits);
                        }

                        return new Plan { Response = Control(csi, NvmeMiStatus.Success, tag, state), IsControl = true };
                    }

                case NvmeMiControlOpcode.Replay:
                    {
                        byte[]? last = _lastResponse;
                        return new Plan { Response = Control(csi, NvmeMiStatus.Success, tag, (ushort)(last is null ? 0 : 1)), IsControl = true, Replay = last };
                    }

                default:
                    return new Plan { Response = Control(csi, NvmeMiStatus.InvalidCommandOpcode, tag, 0), IsControl = true };
            }
        }
    }

    // ------------------------------------------------------------------ MI command set

    private Plan HandleMi(ReadOnlySpan<byte> body, byte csi, MctpEndpointAddress source)
    {
        if (body.Length < NvmeMiCodec.MiRequestHeaderSize)
        {
            return new Plan { Response = Error(NvmeMiMessageType.MiCommand, csi, NvmeMiStatus.InvalidCommandSize) };
        }

        var opcode = (NvmeMiOpcode)body[NvmeMiCodec.MiOpcodeOffset];
        uint cdw0 = BinaryPrimitives.ReadUInt32LittleEndian(body[NvmeMiCodec.MiCdw0Offset..]);
        uint cdw1 = BinaryPrimitives.ReadUInt32LittleEndian(body[NvmeMiCodec.MiCdw1Offset..]);
        var data = body[NvmeMiCodec.MiRequestHeaderSize..];
        bool takesData = opcode is NvmeMiOpcode.VpdWrite || (opcode == NvmeMiOpcode.ConfigurationSet && (byte)cdw0 == (byte)NvmeMiConfigurationId.AsyncEvent);
        if (!takesData && data.Length != 0)
        {
            return new Plan { Response = Error(NvmeMiMessageType.MiCommand, csi, NvmeMiStatus.InvalidCommandInputDataSize) };
        }

        Action? after = null;
        byte[] response = opcode switch
        {
            NvmeMiOpcode.ReadDataStructure => ReadDataStructure(csi, cdw0),
            NvmeMiOpcode.SubsystemHealthStatusPoll => SubsystemHealth(csi, cdw1),
            NvmeMiOpcode.ControllerHealthStatusPoll => ControllerHealth(csi, cdw0, cdw1),
            NvmeMiOpcode.ConfigurationSet => ConfigurationSet(csi, cdw0, cdw1, data, source),
            NvmeMiOpcode.ConfigurationGet => ConfigurationGet(csi, cdw0),
            NvmeMiOpcode.VpdRead => VpdRead(csi, cdw0, cdw1),
            NvmeMiOpcode.VpdWrite => VpdWrite(csi, cdw0, cdw1, data),
            NvmeMiOpcode.Reset => Reset(csi, cdw0, out after),
            _ => Error(NvmeMiMessageType.MiCommand, csi, NvmeMiStatus.InvalidCommandOpcode),
        };
        return new Plan { Response = response, AfterResponse = after };
    }

    private static byte[] InvalidParameter(byte csi, ushort parameterByte, byte bit = 0) =>
        Error(NvmeMiMessageType.MiCommand, csi, NvmeMiStatus.InvalidParameter, parameterByte, bit);

    private byte[] ReadDataStructure(byte csi, uint cdw0)
    {
        var type = (NvmeMiDataStructureType)(cdw0 >> 24);
        byte portId = (byte)(cdw0 >> 16);
        ushort controllerId = (ushort)cdw0;
        var s = Subsystem;
        byte[] buffer = new byte[4096];
        int length;
        switch (type)
        {
            case NvmeMiDataStructureType.SubsystemInformation:
                new NvmSubsystemInformation((byte)(s.Ports.Length - 1), 1, 2, 0).WriteTo(buffer);
                length = NvmSubsystemInformation.Size;
                break;
            case NvmeMiDataStructureType.PortInformation:
                {
                    if (portId >= s.Ports.Length)
                    {
                        return InvalidParameter(csi, 10);
                    }

                    var p = s.Ports[portId];
                    var info = new PortInformation(p.Type, 0, p.MaxTransmissionUnit, 0);
                    info = p.Type == NvmeMiPortType.Pcie
                        ? info with { PcieMaxPayloadSize = 1, PcieSupportedLinkSpeeds = 0x0F, PcieCurrentLinkSpeed = 4, PcieMaxLinkWidth = 4, PcieNegotiatedLinkWidth = 4, PciePortNumber = 0 }
                        : info with { VpdSmbusAddress = 0xA6, MaxVpdFrequency = (byte)SmbusFrequency.Freq400kHz, ManagementEndpointSmbusAddress = 0xD4, MaxManagementEndpointFrequency = (byte)SmbusFrequency.Freq400kHz, NvmeBasicManagement = 1 };
                    info.WriteTo(buffer);
                    length = PortInformation.Size;
                    break;
                }

            case NvmeMiDataStructureType.ControllerList:
                length = NvmeControllerList.Write(buffer, s.ControllerIds.Where(id => id >= controllerId).Order().ToArray());
                break;
            case NvmeMiDataStructureType.ControllerInformation:
                {
                    if (!s.HasController(controllerId))
                    {
                        return InvalidParameter(csi, 8);
                    }

                    int index = s.ControllerIds.Order().ToList().IndexOf(controllerId);
                    new ControllerInformation(0, 1, (ushort)(0x0100 | index), s.Options.PciVendorId, s.Options.PciDeviceId, s.Options.PciVendorId, 0x0001, 0).WriteTo(buffer);
                    length = ControllerInformation.Size;
                    break;
                }

            case NvmeMiDataStructureType.OptionalCommandsSupported:
                length = OptionalCommandList.Write(buffer, SupportedOptionalCommands);
                break;
            default:
                return InvalidParameter(csi, 11);
        }

        return MiSuccess(csi, (uint)length, buffer.AsSpan(0, length));
    }

    private static readonly OptionalCommand[] SupportedOptionalCommands =
    [
        new(NvmeMiMessageType.MiCommand, (byte)NvmeMiOpcode.VpdWrite),
        new(NvmeMiMessageType.MiCommand, (byte)NvmeMiOpcode.Reset),
        new(NvmeMiMessageType.AdminCommand, 0x0D),
        new(NvmeMiMessageType.AdminCommand, 0x15),
        new(NvmeMiMessageType.AdminCommand, 0x10),
        new(NvmeMiMessageType.AdminCommand, 0x11),
        new(NvmeMiMessageType.AdminCommand, 0x80),
        new(NvmeMiMessageType.AdminCommand, 0x81),
        new(NvmeMiMessageType.AdminCommand, 0x82),
        new(NvmeMiMessageType.AdminCommand, 0x84),
    ];

    /// <summary>Composite temperature in NVMe-MI's signed Celsius byte: 0x7F for 127 °C and above, -60 °C floor.</summary>
    public static sbyte CelsiusByte(ushort kelvin) => (sbyte)Math.Clamp(kelvin - 273, -60, 127);

    private byte[] SubsystemHealth(byte csi, uint cdw1)
    {
        var s = Subsystem;
        var smart = s.Refresh();
        byte nss = 0x20 | 0x10 | 0x08; // DF, RNR, P0LA (port 0 is the PCIe port; port 1 is SMBus)
        var health = NvmSubsystemHealthStatus.FromCriticalWarning(nss, smart.CriticalWarning, CelsiusByte(smart.TemperatureKelvin), smart.PercentageUsed, s.CompositeStatus());
        byte[] data = new byte[NvmSubsystemHealthStatus.Size];
        health.WriteTo(data);
        if ((cdw1 & (1u << 31)) != 0)
        {
            s.CcsChanges = CompositeControllerStatus.None;
        }

        return MiSuccess(csi, 0, data);
    }

    private byte[] ControllerHealth(byte csi, uint cdw0, uint cdw1)
    {
        var s = Subsystem;
        var request = ControllerHealthPollRequest.Decode(cdw0, cdw1);
        var smart = s.Refresh();
        var entries = new List<ControllerHealthStatus>();
        foreach (ushort id in s.ControllerIds.Where(i => i >= request.StartControllerId).Order())
        {
            if (entries.Count >= request.MaxEntries)
            {
                break;
            }

            var c = s.Controller(id);
            if (!request.ReportAll && (c.ChangedFlags & request.ReportFlags) == 0)
            {
                continue;
            }

            if (!request.IncludePciFunctions && !request.IncludePhysicalFunctions)
            {
                continue; // both simulated controllers are PCI (physical) functions
            }

            ushort csts = (ushort)(c.ControllerStatus | ((ushort)c.StatusEvents & 0xF0));
            entries.Add(new ControllerHealthStatus(id, csts, smart.TemperatureKelvin, smart.PercentageUsed, smart.AvailableSpare, smart.CriticalWarning, c.ChangedFlags, c.StatusEvents));
            if (request.ClearChangedFlags)
            {
                c.ChangedFlags = ControllerHealthChangeFlags.None;
                c.StatusEvents = CompositeControllerStatus.None;
            }
        }

        byte[] data = new byte[entries.Count * ControllerHealthStatus.Size];
        for (int i = 0; i < entries.Count; i++)
        {
            entries[i].WriteTo(data.AsSpan(i * ControllerHealthStatus.Size));
        }

        return MiSuccess(csi, (uint)entries.Count << 16, data);
    }

    private byte[] ConfigurationSet(byte csi, uint cdw0, uint cdw1, ReadOnlySpan<byte> data, MctpEndpointAddress source)
    {
        var s = Subsystem;
        byte portId = (byte)(cdw0 >> 24);
        switch ((NvmeMiConfigurationId)(byte)cdw0)
        {
            case NvmeMiConfigurationId.SmbusI2cFrequency:
                {
                    if (portId >= s.Ports.Length || s.Ports[portId].Type != NvmeMiPortType.Smbus)
                    {
                        return InvalidParameter(csi, 11);
                    }

                    var f = (SmbusFrequency)((cdw0 >> 8) & 0xF);
                    if (f is not (SmbusFrequency.Freq100kHz or SmbusFrequency.Freq400kHz))
                    {
                        return InvalidParameter(csi, 9);
                    }

                    s.Ports[portId].SmbusFrequency = f;
                    return MiSuccess(csi, 0, default);
                }

            case NvmeMiConfigurationId.HealthStatusChange:
                {
                    var clear = HealthStatusChangeMapping.ToCompositeControllerStatus((HealthStatusChangeFlags)cdw1);
                    s.CcsChanges &= ~clear;
                    foreach (ushort id in s.ControllerIds)
                    {
                        s.Controller(id).StatusEvents &= ~clear;
                    }

                    return MiSuccess(csi, 0, default);
                }

            case NvmeMiConfigurationId.MctpTransmissionUnitSize:
                {
                    if (portId >= s.Ports.Length)
                    {
                        return InvalidParameter(csi, 11);
                    }

                    ushort size = (ushort)cdw1;
                    if (size < 64 || size > s.Ports[portId].MaxTransmissionUnit)
                    {
                        return InvalidParameter(csi, 12);
                    }

                    s.Ports[portId].TransmissionUnit = size;
                    return MiSuccess(csi, 0, default);
                }

            case NvmeMiConfigurationId.AsyncEvent:
                {
                    if (!AsyncEventList.TryRead(data, out var enables))
                    {
                        return Error(NvmeMiMessageType.MiCommand, csi, NvmeMiStatus.InvalidCommandInputDataSize);
                    }

                    var current = s.AsyncEvents.ToDictionary(e => e.Id);
                    foreach (var e in enables)
                    {
                        if (!current.ContainsKey(e.Id))
                        {
                            return InvalidParameter(csi, NvmeMiCodec.MiRequestHeaderSize);
                        }

                        current[e.Id] = e;
                    }

                    s.AsyncEvents = current.Values.OrderBy(e => e.Id).ToArray();
                    return MiSuccess(csi, 0, ConfigureAsyncEvents(AsyncEventSettings.FromCdw0(cdw0), enables.Length == 0, source));
                }

            default:
                return InvalidParameter(csi, 8);
        }
    }

    private byte[] ConfigurationGet(byte csi, uint cdw0)
    {
        var s = Subsystem;
        byte portId = (byte)(cdw0 >> 24);
        switch ((NvmeMiConfigurationId)(byte)cdw0)
        {
            case NvmeMiConfigurationId.SmbusI2cFrequency:
                if (portId >= s.Ports.Length)
                {
                    return InvalidParameter(csi, 11);
                }

                return MiSuccess(csi, (uint)s.Ports[portId].SmbusFrequency, default);
            case NvmeMiConfigurationId.MctpTransmissionUnitSize:
                if (portId >= s.Ports.Length)
                {
                    return InvalidParameter(csi, 11);
                }

                return MiSuccess(csi, s.Ports[portId].TransmissionUnit, default);
            case NvmeMiConfigurationId.AsyncEvent:
                {
                    byte[] list = new byte[AsyncEventList.HeaderSize + (AsyncEventList.ItemSize * s.AsyncEvents.Length)];
                    AsyncEventList.Write(list, s.AsyncEvents);
                    return MiSuccess(csi, 0, list);
                }

            default:
                return InvalidParameter(csi, 8); // Health Status Change has no Get
        }
    }

    private byte[] VpdRead(byte csi, uint cdw0, uint cdw1)
    {
        int offset = (ushort)cdw0;
        int length = (ushort)cdw1;
        if (offset + length > SimulatedSubsystem.VpdSize)
        {
            return InvalidParameter(csi, offset >= SimulatedSubsystem.VpdSize ? (ushort)8 : (ushort)12);
        }

        return MiSuccess(csi, 0, Subsystem.Vpd.AsSpan(offset, length));
    }

    private byte[] VpdWrite(byte csi, uint cdw0, uint cdw1, ReadOnlySpan<byte> data)
    {
        int offset = (ushort)cdw0;
        int length = (ushort)cdw1;
        if (data.Length != length)
        {
            return Error(NvmeMiMessageType.MiCommand, csi, NvmeMiStatus.InvalidCommandInputDataSize);
        }

        if (offset + length > SimulatedSubsystem.VpdSize)
        {
            return InvalidParameter(csi, 8);
        }

        if (Subsystem.VpdWrites >= Subsystem.Options.MaxVpdWrites)
        {
            return Error(NvmeMiMessageType.MiCommand, csi, NvmeMiStatus.VpdUpdatesExceeded);
        }

        Subsystem.VpdWrites++;
        data.CopyTo(Subsystem.Vpd.AsSpan(offset));
        return MiSuccess(csi, 0, default);
    }

    private byte[] Reset(byte csi, uint cdw0, out Action? after)
    {
        after = null;
        if ((cdw0 >> 24) != 0)
        {
            return InvalidParameter(csi, 11);
        }

        // The response goes out first; the subsystem then resets (as a real drive must answer before it resets).
        after = () =>
        {
            lock (_stateGate)
            {
                _mesFlags |= ManagementEndpointState.Nssro;
            }

            Subsystem.ResetSubsystem();
        };
        return MiSuccess(csi, 0, default);
    }

    // ------------------------------------------------------------------ Admin tunnel

    private Plan HandleAdminMessage(ReadOnlySpan<byte> body, byte csi)
    {
        if (body.Length < NvmeMiCodec.AdminRequestHeaderSize)
        {
            return new Plan { Response = Error(NvmeMiMessageType.AdminCommand, csi, NvmeMiStatus.InvalidCommandSize) };
        }

        byte flags = body[NvmeMiCodec.AdminFlagsOffset];
        ushort controllerId = BinaryPrimitives.ReadUInt16LittleEndian(body[NvmeMiCodec.AdminControllerIdOffset..]);
        uint dataOffset = BinaryPrimitives.ReadUInt32LittleEndian(body[NvmeMiCodec.AdminDataOffsetOffset..]);
        uint dataLength = BinaryPrimitives.ReadUInt32LittleEndian(body[NvmeMiCodec.AdminDataLengthOffset..]);
        if ((flags & NvmeMiCodec.AdminFlagDlv) == 0)
        {
            dataLength = 0;
        }

        if ((flags & NvmeMiCodec.AdminFlagDov) == 0)
        {
            dataOffset = 0;
        }

        if (dataLength > NvmeMiCodec.MaxAdminDataLength || (dataLength & 3) != 0)
        {
            return new Plan { Response = Error(NvmeMiMessageType.AdminCommand, csi, NvmeMiStatus.InvalidParameter, NvmeMiCodec.AdminDataLengthOffset) };
        }

        if ((dataOffset & 3) != 0)
        {
            return new Plan { Response = Error(NvmeMiMessageType.AdminCommand, csi, NvmeMiStatus.InvalidParameter, NvmeMiCodec.AdminDataOffsetOffset) };
        }

        var requestData = body[NvmeMiCodec.AdminRequestHeaderSize..];
        if (requestData.Length != 0 && requestData.Length != dataLength)
        {
            return new Plan { Response = Error(NvmeMiMessageType.AdminCommand, csi, NvmeMiStatus.InvalidCommandInputDataSize) };
        }

        lock (Subsystem.Gate)
        {
            if (!Subsystem.HasController(controllerId))
            {
                return new Plan { Response = Error(NvmeMiMessageType.AdminCommand, csi, NvmeMiStatus.InvalidParameter, NvmeMiCodec.AdminControllerIdOffset) };
            }
        }

        var command = NvmeMiCodec.ReadAdminCommand(body);
        var direction = NvmeControllerQueue.DataDirectionOf(command);
        if (direction == NvmeDataDirection.ControllerToHost && (long)dataOffset + dataLength > NvmeMiCodec.MaxAdminDataLength)
        {
            // DOFST selects within what the controller returns, which is at most one tunnel's worth.
            return new Plan { Response = Error(NvmeMiMessageType.AdminCommand, csi, NvmeMiStatus.InvalidParameter, NvmeMiCodec.AdminDataOffsetOffset) };
        }

        var request = new TunnelledAdmin(controllerId, command, direction, requestData.ToArray(), dataOffset, dataLength, csi);
        lock (Subsystem.Gate)
        {
            if (Subsystem.AdminHistory.Count >= 1024)
            {
                Subsystem.AdminHistory.RemoveAt(0);
            }

            Subsystem.AdminHistory.Add((command.Opcode, controllerId, dataLength, dataOffset, command.Cdw10, command.Cdw12));
        }

        if (!IsSlow(command.Opcode))
        {
            return new Plan { Response = ExecuteAdmin(request) };
        }

        CancellationTokenSource cts;
        lock (_stateGate)
        {
            _slowOperation[csi] = cts = new CancellationTokenSource();
            _slotState[csi] = 2; // Process
        }

        // MPRT is a worst case: twice the nominal time plus 2 s of slack, so a loaded host still meets it (the
        // requester stops waiting as soon as the final response arrives).
        ushort mprt = (ushort)Math.Min(ushort.MaxValue, (2 * Math.Ceiling(Subsystem.Options.SlowCommandTime.TotalMilliseconds / 100.0)) + 20);
        return new Plan { Response = Mpr(NvmeMiMessageType.AdminCommand, csi, mprt), Slow = () => ExecuteAdmin(request), SlowSlot = csi, SlowToken = cts.Token };
    }

    /// <summary>Commands a drive takes long enough over that it answers More Processing Required first.</summary>
    private static bool IsSlow(byte opcode) => opcode is NvmeAdminOpcode.FormatNvm or NvmeAdminOpcode.Sanitize or NvmeAdminOpcode.FirmwareCommit;

    /// <summary>Runs a tunnelled command on the controller core and builds the Admin response: the DLEN bytes at DOFST
    /// of what the controller returned (zero-filled past it, as a controller fills the whole host buffer).</summary>
    private byte[] ExecuteAdmin(TunnelledAdmin r)
    {
        if (ProhibitedOverMi(r.Command.Opcode))
        {
            return AdminSuccess(r.CommandSlot, 0, 0, 0, NvmeStatus.Generic(NvmeStatusNames.InvalidCommandOpcode), default);
        }

        var admin = Subsystem.AdminQueue(r.ControllerId);
        var command = r.Command;
        Memory<byte> fromController = default;
        byte[] window = [];
        if (r.Direction == NvmeDataDirection.ControllerToHost)
        {
            // The controller transfers what the command asks for (a whole Identify structure, NUMD dwords of a log);
            // DOFST and DLEN then select the part that travels back.
            int length = admin.Controller.AdminTransferLength(command);
            if (length < 0)
            {
                length = 0;
            }
            else if (length > admin.MaxDataTransferSize)
            {
                return AdminSuccess(r.CommandSlot, 0, 0, 0, NvmeStatus.Generic(NvmeStatusNames.InvalidFieldInCommand), default);
            }
            else if (r.DataOffset > length)
            {
                return Error(NvmeMiMessageType.AdminCommand, r.CommandSlot, NvmeMiStatus.InvalidParameter, NvmeMiCodec.AdminDataOffsetOffset);
            }

            window = new byte[Math.Max(length, r.DataOffset + r.DataLength)];
            fromController = window.AsMemory(0, length);
        }

        ReadOnlyMemory<byte> toController = r.Direction == NvmeDataDirection.HostToController ? r.Data : default;
        var result = admin.ExecuteAdminAsync(command, toController, fromController, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        var cqe = result.Completion;
        var data = cqe.IsSuccess && window.Length != 0 ? window.AsSpan((int)r.DataOffset, (int)r.DataLength) : default;
        return AdminSuccess(r.CommandSlot, cqe.Dw0, cqe.Dw1, 0, cqe.Status, data);
    }

    /// <summary>Admin commands NVMe-MI does not carry (NVMe-MI 1.2 §6, Figure 136: queue management, AER, Abort, Keep
    /// Alive, Doorbell Buffer Config, fabrics): the endpoint answers Invalid Command Opcode without a controller seeing them.</summary>
    private static bool ProhibitedOverMi(byte opcode) => opcode is NvmeAdminOpcode.DeleteIoSubmissionQueue or NvmeAdminOpcode.CreateIoSubmissionQueue
        or NvmeAdminOpcode.DeleteIoCompletionQueue or NvmeAdminOpcode.CreateIoCompletionQueue or NvmeAdminOpcode.Abort
        or NvmeAdminOpcode.AsynchronousEventRequest or NvmeAdminOpcode.KeepAlive or NvmeAdminOpcode.DoorbellBufferConfig or NvmeAdminOpcode.FabricsCommand;
}

/// <summary>One tunnelled Admin command as the simulator sees it.</summary>
internal sealed record TunnelledAdmin(ushort ControllerId, NvmeCommand Command, NvmeDataDirection Direction, byte[] Data, uint DataOffset, uint DataLength, byte CommandSlot);
