using System.Buffers.Binary;
using System.Text;
using NvmePS.Engine;
using NvmePS.Engine.Admin;

namespace NvmePS.Engine.Tests.Admin;

/// <summary>A device-like fake at the Admin seam: serves log pages from byte arrays honouring LID, offset, NUMD and
/// RAE as a controller does, accepts firmware chunks into an image buffer, and records every command.</summary>
internal sealed class RecordingAdminTransport : INvmeAdminTransport
{
    public RecordingAdminTransport(int maxDataTransferSize) => MaxDataTransferSize = maxDataTransferSize;

    public int MaxDataTransferSize { get; }

    public List<NvmeCommand> Commands { get; } = [];

    public Dictionary<byte, byte[]> Logs { get; } = [];

    public byte[] FirmwareImage { get; } = new byte[1 << 16];

    public Func<NvmeCommand, NvmeCompletion?>? Override { get; set; }

    public byte[]? IdentifyData { get; set; }

    public ValueTask<NvmeCommandResult> ExecuteAdminAsync(NvmeCommand command, ReadOnlyMemory<byte> dataToController, Memory<byte> dataFromController, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Commands.Add(command);
        if (Override?.Invoke(command) is { } forced)
        {
            return ValueTask.FromResult(new NvmeCommandResult(forced, 0));
        }

        switch (command.Opcode)
        {
            case NvmeAdminOpcode.GetLogPage:
                {
                    byte lid = (byte)command.Cdw10;
                    int length = (int)(((command.Cdw10 >> 16) | ((command.Cdw11 & 0xFFFF) << 16)) + 1) * 4;
                    ulong offset = command.Cdw12 | ((ulong)command.Cdw13 << 32);
                    if (!Logs.TryGetValue(lid, out var log))
                    {
                        return Status(NvmeStatus.CommandSpecific(NvmeStatusNames.InvalidLogPage));
                    }

                    if (offset > (ulong)log.Length || length != dataFromController.Length)
                    {
                        return Status(NvmeStatus.Generic(NvmeStatusNames.InvalidFieldInCommand));
                    }

                    var dest = dataFromController.Span;
                    dest.Clear();
                    int available = (int)Math.Min((ulong)length, (ulong)log.Length - offset);
                    log.AsSpan((int)offset, available).CopyTo(dest);
                    return ValueTask.FromResult(new NvmeCommandResult(NvmeCompletion.Create(command.Cid, NvmeStatus.Success), length));
                }

            case NvmeAdminOpcode.FirmwareImageDownload:
                {
                    int length = (int)(command.Cdw10 + 1) * 4;
                    int offset = (int)command.Cdw11 * 4;
                    if (length != dataToController.Length)
                    {
                        return Status(NvmeStatus.Generic(NvmeStatusNames.InvalidFieldInCommand));
                    }

                    dataToController.Span.CopyTo(FirmwareImage.AsSpan(offset));
                    return ValueTask.FromResult(new NvmeCommandResult(NvmeCompletion.Create(command.Cid, NvmeStatus.Success), length));
                }

            case NvmeAdminOpcode.Identify when IdentifyData is not null:
                IdentifyData.CopyTo(dataFromController.Span);
                return ValueTask.FromResult(new NvmeCommandResult(NvmeCompletion.Create(command.Cid, NvmeStatus.Success), 4096));

            default:
                return ValueTask.FromResult(new NvmeCommandResult(NvmeCompletion.Create(command.Cid, NvmeStatus.Success, dw0: 0x00030007), 0));
        }

        static ValueTask<NvmeCommandResult> Status(NvmeStatus s) => ValueTask.FromResult(new NvmeCommandResult(NvmeCompletion.Create(0, s), 0));
    }
}

public class AdminBuilderTests
{
    private static byte[] Sqe(NvmeCommand c)
    {
        var b = new byte[64];
        c.WriteTo(b);
        return b;
    }

    [Fact]
    public void Identify_controller_with_cntid_is_byte_exact()
    {
        var b = Sqe(NvmeAdminCommands.Identify(NvmeIdentifyCns.Controller, nsid: 0, cntid: 0x0005));
        var expected = new byte[64];
        expected[0] = 0x06;
        expected[40] = 0x01;
        expected[42] = 0x05;
        Assert.Equal(expected, b);
    }

    [Fact]
    public void Identify_cns_specific_and_csi_land_in_cdw11()
    {
        var c = NvmeAdminCommands.Identify(0x05, nsid: 7, cnsSpecificId: 0xABCD, csi: 2, uuidIndex: 3);
        var b = Sqe(c);
        Assert.Equal(7u, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(4)));
        Assert.Equal(0x0200ABCDu, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(44)));
        Assert.Equal(3u, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(56)));
    }

    [Fact]
    public void GetLogPage_packs_numdl_numdu_lpo_rae_lsp_lsi()
    {
        // 512 bytes = 128 dwords -> NUMD 127 (0x7F). Offset 0x1_0000_0004 splits into LPOL 4 / LPOU 1.
        var c = NvmeAdminCommands.GetLogPage(0x02, 512, offset: 0x1_0000_0004, nsid: 0xFFFFFFFF, rae: true, lsp: 0x01, lsi: 0x1234);
        var b = Sqe(c);
        Assert.Equal(0x02, b[0]);
        Assert.Equal(new byte[] { 0x02, 0x81, 0x7F, 0x00 }, b[40..44]);
        Assert.Equal(new byte[] { 0x00, 0x00, 0x34, 0x12 }, b[44..48]);
        Assert.Equal(new byte[] { 0x04, 0, 0, 0, 0x01, 0, 0, 0 }, b[48..56]);
        Assert.Equal(0xFFFFFFFFu, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(4)));
    }

    [Fact]
    public void GetLogPage_large_length_uses_numdu()
    {
        // 1 MiB = 262144 dwords -> NUMD 262143 = 0x3FFFF: NUMDL FFFFh, NUMDU 0003h.
        var c = NvmeAdminCommands.GetLogPage(0x07, 1 << 20);
        Assert.Equal(0xFFFF0007u, c.Cdw10);
        Assert.Equal(0x00000003u, c.Cdw11);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(6)]
    [InlineData(-4)]
    public void GetLogPage_refuses_lengths_that_are_not_whole_dwords(int length) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => NvmeAdminCommands.GetLogPage(0x02, length));

    [Fact]
    public void Features_builders_encode_sel_and_sv()
    {
        Assert.Equal(0x0000030Bu, NvmeAdminCommands.GetFeatures(NvmeFeatureId.AsynchronousEventConfiguration, NvmeFeatureSelect.SupportedCapabilities).Cdw10);
        var set = NvmeAdminCommands.SetFeatures(NvmeFeatureId.NumberOfQueues, new NvmeNumberOfQueues(4, 8).ToDword(), save: true);
        Assert.Equal(0x09, set.Opcode);
        Assert.Equal(0x80000007u, set.Cdw10);
        Assert.Equal(0x00070003u, set.Cdw11);
    }

    [Fact]
    public void Typed_feature_values_round_trip_and_match_bit_layouts()
    {
        Assert.Equal(0x44332203u, new NvmeArbitration(3, 0x22, 0x33, 0x44).ToDword());
        Assert.Equal(new NvmeArbitration(3, 0x22, 0x33, 0x44), NvmeArbitration.FromDword(0x44332203));
        Assert.Equal(0x000000A4u, new NvmePowerManagement(4, 5).ToDword());
        Assert.Equal(0x0013015Du, new NvmeTemperatureThreshold(349, 3, UnderTemperature: true).ToDword());
        Assert.Equal(new NvmeTemperatureThreshold(349, 3, true), NvmeTemperatureThreshold.FromDword(0x0013015D));
        Assert.Equal(new NvmeNumberOfQueues(1, 65536 - 65535), NvmeNumberOfQueues.FromDword(0));
        Assert.Equal(0x00F00102u, new NvmeAsyncEvent(NvmeAsyncEventType.Notice, 0x01, 0xF0).ToDword());
        Assert.Equal(new NvmeAsyncEvent(NvmeAsyncEventType.Notice, 0, 0x04), NvmeAsyncEvent.FromDword(0x00040002));
    }

    [Fact]
    public void Format_sanitize_firmware_security_abort_builders()
    {
        // LBAF 17 -> LBAFL 1, LBAFU 1; SES crypto (2) at 11:9; PI 1 at 7:5; MSET bit 4.
        Assert.Equal(0x00001431u, NvmeAdminCommands.FormatNvm(1, 17, NvmeSecureErase.Cryptographic, pi: 1, mset: true).Cdw10);
        var san = NvmeAdminCommands.Sanitize(NvmeSanitizeAction.Overwrite, allowUnrestrictedExit: true, overwritePasses: 2, overwriteInvertPattern: true, overwritePattern: 0xDEADBEEF);
        Assert.Equal(0x0000012Bu, san.Cdw10);
        Assert.Equal(0xDEADBEEFu, san.Cdw11);
        var dl = NvmeAdminCommands.FirmwareImageDownload(4096, 8192);
        Assert.Equal(1023u, dl.Cdw10);
        Assert.Equal(2048u, dl.Cdw11);
        Assert.Equal(0x0000000Au, NvmeAdminCommands.FirmwareCommit(2, NvmeFirmwareCommitAction.ReplaceAndActivate).Cdw10);
        var ss = NvmeAdminCommands.SecuritySend(0xEA, 0x0102, 512, nssf: 0x05);
        Assert.Equal(0xEA010205u, ss.Cdw10);
        Assert.Equal(512u, ss.Cdw11);
        Assert.Equal(0x82, NvmeAdminCommands.SecurityReceive(1, 1, 16).Opcode);
        Assert.Equal(0x00070001u, NvmeAdminCommands.Abort(1, 7).Cdw10);
        Assert.Equal(0x18, NvmeAdminCommands.KeepAlive().Opcode);
        Assert.Equal(0x0C, NvmeAdminCommands.AsyncEventRequest().Opcode);
    }

    [Fact]
    public void Io_builders_pack_slba_and_zero_based_nlb()
    {
        var w = NvmeIoCommands.Write(1, 0x1_2345_6789, 8, fua: true);
        Assert.Equal(0x01, w.Opcode);
        Assert.Equal(0x23456789u, w.Cdw10);
        Assert.Equal(0x1u, w.Cdw11);
        Assert.Equal(0x40000007u, w.Cdw12);
        Assert.Equal(0x02000000u, NvmeIoCommands.WriteZeroes(1, 0, 1, deallocate: true).Cdw12);
        var dsm = NvmeIoCommands.DatasetManagement(1, 3);
        Assert.Equal(2u, dsm.Cdw10);
        Assert.Equal(4u, dsm.Cdw11);
        Assert.Equal(NvmeDataDirection.HostToController, NvmeAdminOpcode.DataDirection(NvmeIoOpcode.Write));
        Assert.Equal(NvmeDataDirection.ControllerToHost, NvmeAdminOpcode.DataDirection(NvmeAdminOpcode.GetLogPage));
    }

    [Fact]
    public void Controller_list_has_count_then_ids()
    {
        var data = NvmeAdminCommands.ControllerList([1, 0x0203]);
        Assert.Equal(4096, data.Length);
        Assert.Equal(new byte[] { 2, 0, 1, 0, 3, 2, 0 }, data[..7]);
    }
}

public class AdminStructureTests
{
    private static NvmeIdentifyController SampleController() => new()
    {
        Vid = 0x1B36,
        Ssvid = 0x1AF4,
        Sn = "NVMEPS0001",
        Mn = "NvmePS Fabrics Controller",
        Fr = "0.1.0",
        Rab = 6,
        Ieee = 0x525400,
        Cmic = 0x0B,
        Mdts = 5,
        Cntlid = 0x0042,
        Ver = 0x00020000,
        Oaes = 0x80000100,
        Ctratt = 0x1,
        Cntrltype = NvmeIdentifyController.ControllerTypeIo,
        Fguid = Enumerable.Range(1, 16).Select(i => (byte)i).ToArray(),
        Oacs = 0x0004,
        Acl = 3,
        Aerl = 3,
        Frmw = 0x03,
        Lpa = 0x06,
        Elpe = 63,
        Npss = 1,
        Wctemp = 343,
        Cctemp = 373,
        Tnvmcap = (UInt128)1 << 70,
        Unvmcap = 12345,
        Kas = 10,
        Sanicap = 0x7,
        Sqes = 0x66,
        Cqes = 0x44,
        Maxcmd = 128,
        Nn = 1024,
        Oncs = 0x000C,
        Fuses = 0,
        Fna = 0x04,
        Vwc = 0x07,
        Awun = 1,
        Awupf = 2,
        Sgls = 0x00100005,
        Mnan = 0,
        Subnqn = "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-000000000001",
        Ioccsz = 260,
        Iorcsz = 1,
        Icdoff = 0,
        Fcatt = 0,
        Msdbd = 1,
        Ofcs = 1,
        Psd = [new NvmePowerStateDescriptor(2500, true, false, 10, 20, 0, 0, 0, 0, 100, 2, 800, 3, 2), new NvmePowerStateDescriptor(100, false, true, 1000, 2000, 1, 1, 1, 1, 0, 0, 0, 0, 0)],
    };

    [Fact]
    public void Identify_controller_fields_land_at_spec_offsets()
    {
        var b = SampleController().ToArray();
        Assert.Equal(4096, b.Length);
        Assert.Equal(new byte[] { 0x36, 0x1B, 0xF4, 0x1A }, b[0..4]);
        Assert.Equal("NVMEPS0001          ", Encoding.ASCII.GetString(b, 4, 20));
        Assert.StartsWith("NvmePS Fabrics Controller ", Encoding.ASCII.GetString(b, 24, 40), StringComparison.Ordinal);
        Assert.Equal("0.1.0   ", Encoding.ASCII.GetString(b, 64, 8));
        Assert.Equal(new byte[] { 6, 0x00, 0x54, 0x52, 0x0B, 5, 0x42, 0x00 }, b[72..80]);
        Assert.Equal(new byte[] { 0x00, 0x00, 0x02, 0x00 }, b[80..84]);
        Assert.Equal(0x80000100u, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(92)));
        Assert.Equal(1, b[111]);
        Assert.Equal(1, b[112]);
        Assert.Equal(16, b[127]);
        Assert.Equal(new byte[] { 0x04, 0x00, 3, 3, 0x03, 0x06, 63, 1 }, b[256..264]);
        Assert.Equal(343, BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(266)));
        Assert.Equal(373, BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(268)));
        Assert.Equal(0x40, b[280 + 8]); // 2^70: bit 6 of byte 8
        Assert.Equal(10, BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(320)));
        Assert.Equal(7u, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(328)));
        Assert.Equal(new byte[] { 0x66, 0x44, 128, 0, 0x00, 0x04, 0, 0, 0x0C, 0, 0, 0, 0x04, 0x07 }, b[512..526]);
        Assert.Equal(0x00100005u, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(536)));
        Assert.StartsWith("nqn.2014-08.org.nvmexpress:uuid:", Encoding.ASCII.GetString(b, 768, 40), StringComparison.Ordinal);
        Assert.Equal(0, b[768 + 68]);
        Assert.Equal(260u, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(1792)));
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(1796)));
        Assert.Equal(new byte[] { 0, 0, 0, 1, 1, 0 }, b[1800..1806]);
        Assert.Equal(2500, BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(2048)));
        Assert.Equal(1, b[2048 + 3]);
        Assert.Equal(100, BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(2048 + 32)));
        Assert.Equal(2, b[2048 + 32 + 3]);
    }

    [Fact]
    public void Identify_controller_round_trips()
    {
        var original = SampleController();
        Assert.True(NvmeIdentifyController.TryRead(original.ToArray(), out var parsed));
        Assert.Equal(original.Sn, parsed.Sn);
        Assert.Equal(original.Mn, parsed.Mn);
        Assert.Equal(original.Fr, parsed.Fr);
        Assert.Equal(original.Ieee, parsed.Ieee);
        Assert.Equal(original.Mdts, parsed.Mdts);
        Assert.Equal(original.Cntlid, parsed.Cntlid);
        Assert.Equal(original.Ver, parsed.Ver);
        Assert.Equal(original.Fguid, parsed.Fguid);
        Assert.Equal(original.Tnvmcap, parsed.Tnvmcap);
        Assert.Equal(original.Unvmcap, parsed.Unvmcap);
        Assert.Equal(original.Subnqn, parsed.Subnqn);
        Assert.Equal(original.Ioccsz, parsed.Ioccsz);
        Assert.Equal(original.Sgls, parsed.Sgls);
        Assert.Equal(original.Psd, parsed.Psd);
        Assert.Equal(original.Oncs, parsed.Oncs);
        Assert.Equal(original.Kas, parsed.Kas);
        Assert.Equal(131072L, parsed.MaxDataTransferBytes());
        Assert.Equal(original.ToArray(), parsed.ToArray());
    }

    [Fact]
    public void Identify_controller_rejects_short_buffers_and_bad_text()
    {
        Assert.False(NvmeIdentifyController.TryRead(new byte[4095], out _));
        Assert.Throws<ArgumentException>(() => new NvmeIdentifyController { Sn = new string('X', 21) }.ToArray());
        Assert.Throws<ArgumentException>(() => new NvmeIdentifyController { Mn = "caf\u00e9" }.ToArray());
        var raw = new byte[4096];
        raw[4] = (byte)'A';
        raw[5] = 0x07; // a control character never reaches the caller as-is
        Assert.True(NvmeIdentifyController.TryRead(raw, out var parsed));
        Assert.Equal("A?", parsed.Sn);
    }

    [Fact]
    public void Identify_namespace_offsets_and_round_trip()
    {
        var ns = new NvmeIdentifyNamespace
        {
            Nsze = 0x1_0000_0000,
            Ncap = 0x8000,
            Nuse = 0x4000,
            Nsfeat = 0x04,
            Nlbaf = 1,
            Flbas = 0x01,
            Dps = 0,
            Nmic = 1,
            Dlfeat = 0x09,
            Nvmcap = 1UL << 41,
            Nguid = Enumerable.Range(0xA0, 16).Select(i => (byte)i).ToArray(),
            Eui64 = [1, 2, 3, 4, 5, 6, 7, 8],
            Lbaf = [new NvmeLbaFormat(0, 9, 2), new NvmeLbaFormat(8, 12, 0)],
            Nows = 0x0102,
            Mssrl = 0x0304,
            Mcl = 0x08070605,
            Msrc = 0x09,
            Anagrpid = 0x0D0C0B0A,
            Nsattr = 1,
            Nvmsetid = 0x0F0E,
            Endgid = 0x1110,
        };
        var b = ns.ToArray();
        // nows 72, mssrl 74, mcl 76, msrc 80, anagrpid 92, nsattr 99, nvmsetid 100, endgid 102 (struct nvme_id_ns).
        Assert.Equal(new byte[] { 0x02, 0x01, 0x04, 0x03, 0x05, 0x06, 0x07, 0x08, 0x09 }, b[72..81]);
        Assert.Equal(new byte[] { 0x0A, 0x0B, 0x0C, 0x0D, 0, 0, 0, 1, 0x0E, 0x0F, 0x10, 0x11 }, b[92..104]);
        Assert.Equal(new byte[] { 0, 0, 0, 0, 1, 0, 0, 0 }, b[0..8]);
        Assert.Equal(0x8000UL, BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(8)));
        Assert.Equal(new byte[] { 0x04, 1, 0x01 }, b[24..27]);
        Assert.Equal(1, b[30]);
        Assert.Equal(0x09, b[33]);
        Assert.Equal(0x02, b[48 + 5]);
        Assert.Equal(0xA0, b[104]);
        Assert.Equal(1, b[120]);
        Assert.Equal(new byte[] { 0, 0, 9, 2, 8, 0, 12, 0 }, b[128..136]);
        Assert.True(NvmeIdentifyNamespace.TryRead(b, out var parsed));
        Assert.Equal(4096, parsed.BlockSize);
        Assert.True(parsed.IsActive);
        // An inactive NSID answers with a zero-filled structure.
        Assert.True(NvmeIdentifyNamespace.TryRead(new byte[NvmeIdentifyNamespace.Size], out var inactive));
        Assert.False(inactive.IsActive);
        Assert.Equal(ns.Lbaf, parsed.Lbaf);
        Assert.Equal(ns.Nguid, parsed.Nguid);
        Assert.Equal(b, parsed.ToArray());
    }

    [Fact]
    public void Smart_log_known_values()
    {
        var raw = new byte[512];
        raw[0] = 0x06;
        BinaryPrimitives.WriteUInt16LittleEndian(raw.AsSpan(1), 321);
        raw[3] = 100;
        raw[4] = 10;
        raw[5] = 3;
        raw[32] = 0x10;
        raw[32 + 8] = 0x01; // data units read = 2^64 + 16
        BinaryPrimitives.WriteUInt64LittleEndian(raw.AsSpan(112), 42);
        BinaryPrimitives.WriteUInt64LittleEndian(raw.AsSpan(144), 7);
        BinaryPrimitives.WriteUInt16LittleEndian(raw.AsSpan(202), 300);
        BinaryPrimitives.WriteUInt32LittleEndian(raw.AsSpan(228), 99);
        Assert.True(NvmeSmartLog.TryRead(raw, out var log));
        Assert.Equal(NvmeCriticalWarning.Temperature | NvmeCriticalWarning.Reliability, log.CriticalWarning);
        Assert.Equal(48, log.CompositeTemperatureCelsius);
        Assert.Equal(100, log.AvailableSpare);
        Assert.Equal(10, log.AvailableSpareThreshold);
        Assert.Equal(3, log.PercentageUsed);
        Assert.Equal(((UInt128)1 << 64) + 16, log.DataUnitsRead);
        Assert.Equal((UInt128)42, log.PowerCycles);
        Assert.Equal((UInt128)7, log.UnsafeShutdowns);
        Assert.Equal(0, log.TemperatureSensors[0]);
        Assert.Equal(300, log.TemperatureSensors[1]);
        Assert.Equal(99u, log.ThermalMgmtTemp2TotalTime);
        Assert.Equal(raw, log.ToArray());
        Assert.False(NvmeSmartLog.TryRead(new byte[511], out _));
    }

    [Fact]
    public void Error_log_entry_round_trip_and_offsets()
    {
        var status = NvmeStatus.Generic(NvmeStatusNames.LbaOutOfRange);
        var e = new NvmeErrorLogEntry(5, 1, 0x1234, status.ToStatusField(), 0x0028, 0xFFFF_0000_0001, 1, 0, 3, 0, 0);
        var b = new byte[64];
        e.Write(b);
        Assert.Equal(5UL, BinaryPrimitives.ReadUInt64LittleEndian(b));
        Assert.Equal(new byte[] { 1, 0, 0x34, 0x12 }, b[8..12]);
        Assert.Equal(status.ToStatusField(), BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(12)));
        Assert.Equal(0x28, b[14]);
        Assert.Equal(3, b[29]);
        Assert.True(NvmeErrorLogEntry.TryRead(b, out var parsed));
        Assert.Equal(e, parsed);
        Assert.Equal("LBA Out of Range", parsed.Status.GetName());
    }

    [Fact]
    public void Firmware_slot_log_round_trip()
    {
        var log = new NvmeFirmwareSlotLog { Afi = 0x21, Frs = ["1.0", "2.0-rc1", "", "", "", "", ""] };
        var b = new byte[512];
        log.Write(b);
        Assert.Equal(0x21, b[0]);
        Assert.Equal("1.0     ", Encoding.ASCII.GetString(b, 8, 8));
        Assert.Equal("2.0-rc1 ", Encoding.ASCII.GetString(b, 16, 8));
        Assert.All(b[24..64], x => Assert.Equal(0, x));
        Assert.True(NvmeFirmwareSlotLog.TryRead(b, out var parsed));
        Assert.Equal(1, parsed.ActiveSlot);
        Assert.Equal(2, parsed.NextResetSlot);
        Assert.Equal(log.Frs, parsed.Frs);
    }

    [Fact]
    public void Namespace_lists_and_descriptors()
    {
        var b = new byte[4096];
        Assert.Equal(3, NvmeNamespaceList.Write(b, [1, 2, 10]));
        Assert.Equal(new uint[] { 1, 2, 10 }, NvmeNamespaceList.Read(b));

        var d = new byte[4096];
        var eui = new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 };
        var uuid = Guid.Parse("01234567-89ab-cdef-0123-456789abcdef").ToByteArray(bigEndian: true);
        int used = NvmeNamespaceIdDescriptor.WriteList(d, [new(NvmeNamespaceIdType.Eui64, eui), new(NvmeNamespaceIdType.Uuid, uuid), new(NvmeNamespaceIdType.Csi, [0])]);
        Assert.Equal(12 + 20 + 5, used);
        Assert.Equal(new byte[] { 1, 8, 0, 0, 1, 2 }, d[0..6]);
        Assert.Equal(new byte[] { 3, 16, 0, 0, 0x01, 0x23 }, d[12..18]);
        Assert.True(NvmeNamespaceIdDescriptor.TryReadList(d, out var list));
        Assert.Equal(3, list.Length);
        Assert.Equal(uuid, list[1].Nid);

        // A UUID descriptor claiming 8 bytes is malformed; so is one that runs past the buffer.
        var bad = new byte[4096];
        bad[0] = 3;
        bad[1] = 8;
        Assert.False(NvmeNamespaceIdDescriptor.TryReadList(bad, out _));
        var overrun = new byte[8];
        overrun[0] = 2;
        overrun[1] = 16;
        Assert.False(NvmeNamespaceIdDescriptor.TryReadList(overrun, out _));
    }
}

public class AdminClientTests
{
    private static byte[] Pattern(int length)
    {
        var b = new byte[length];
        for (int i = 0; i < length; i++)
        {
            b[i] = (byte)((i * 7) + (i >> 8));
        }

        return b;
    }

    [Fact]
    public async Task GetLogPage_is_split_into_mi_sized_chunks_with_rae_on_all_but_last()
    {
        var t = new RecordingAdminTransport(4096);
        var log = Pattern(8196);
        t.Logs[0xC0] = log;
        var client = new NvmeAdminClient(t);

        var data = await client.GetLogPageAsync(0xC0, 8196);

        Assert.Equal(log, data);
        Assert.Equal(3, t.Commands.Count);
        var chunks = t.Commands.Select(c => (Offset: c.Cdw12 | ((ulong)c.Cdw13 << 32), Length: (int)((c.Cdw10 >> 16) + 1) * 4, Rae: (c.Cdw10 & 0x8000) != 0)).ToArray();
        Assert.Equal((0UL, 4096, true), chunks[0]);
        Assert.Equal((4096UL, 4096, true), chunks[1]);
        Assert.Equal((8192UL, 4, false), chunks[2]);
        Assert.All(t.Commands, c => Assert.Equal(0xC0u, c.Cdw10 & 0xFF));
    }

    [Fact]
    public async Task GetLogPage_retain_keeps_rae_on_the_last_chunk_and_offset_is_added()
    {
        var t = new RecordingAdminTransport(1002); // not a dword multiple: chunks round down to 1000
        t.Logs[0xC1] = Pattern(3000);
        var client = new NvmeAdminClient(t);
        var data = new byte[1600];
        await client.GetLogPageAsync(0xC1, data, offset: 400, retainAsyncEvent: true);
        Assert.Equal(Pattern(3000)[400..2000], data);
        Assert.Equal(2, t.Commands.Count);
        Assert.All(t.Commands, c => Assert.NotEqual(0u, c.Cdw10 & 0x8000));
        Assert.Equal(1400u, t.Commands[1].Cdw12);
    }

    [Fact]
    public async Task Error_completion_raises_status_exception_with_name()
    {
        var t = new RecordingAdminTransport(4096);
        var client = new NvmeAdminClient(t);
        var ex = await Assert.ThrowsAsync<NvmeStatusException>(() => client.GetSmartLogAsync());
        Assert.Equal(NvmeStatusCodeType.CommandSpecific, ex.Status.Sct);
        Assert.Equal(NvmeStatusNames.InvalidLogPage, ex.Status.Sc);
        Assert.Equal("Invalid Log Page", ex.StatusName);
        Assert.Contains("Get Log Page 02h", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Typed_log_reads_parse_served_bytes()
    {
        var t = new RecordingAdminTransport(4096);
        var smart = new NvmeSmartLog { CompositeTemperature = 310, AvailableSpare = 99, PowerOnHours = 1234, MediaErrors = 2 };
        t.Logs[NvmeLogPageId.SmartHealth] = smart.ToArray();
        var err = new byte[4 * 64];
        new NvmeErrorLogEntry(9, 0, 3, NvmeStatus.Generic(0x0B).ToStatusField(), 0, 0, 5, 0, 3, 0, 0).Write(err);
        t.Logs[NvmeLogPageId.ErrorInformation] = err;
        var changed = new byte[4096];
        NvmeNamespaceList.Write(changed, [4, 9]);
        t.Logs[NvmeLogPageId.ChangedNamespaceList] = changed;
        var client = new NvmeAdminClient(t);

        var s = await client.GetSmartLogAsync();
        Assert.Equal(37, s.CompositeTemperatureCelsius);
        Assert.Equal((UInt128)1234, s.PowerOnHours);
        var e = await client.GetErrorLogAsync(4);
        Assert.Equal(9UL, e[0].ErrorCount);
        Assert.Equal(5u, e[0].Nsid);
        Assert.True(e[1].IsEmpty);
        Assert.Equal(new uint[] { 4, 9 }, await client.GetChangedNamespaceListAsync());
        Assert.Equal(NvmeAdminCommands.BroadcastNsid, t.Commands[0].Nsid);
    }

    [Fact]
    public async Task Firmware_download_is_chunked_and_reassembles()
    {
        var t = new RecordingAdminTransport(4096);
        var image = Pattern(10_000);
        var client = new NvmeAdminClient(t);
        long last = 0;
        await client.FirmwareImageDownloadAsync(image, progress: new SyncProgress(v => last = v));
        Assert.Equal(3, t.Commands.Count);
        Assert.Equal(new uint[] { 0, 1024, 2048 }, t.Commands.Select(c => c.Cdw11).ToArray());
        Assert.Equal(new uint[] { 1023, 1023, 451 }, t.Commands.Select(c => c.Cdw10).ToArray());
        Assert.Equal(image, t.FirmwareImage[..10_000]);
        Assert.Equal(10_000, last);
        await Assert.ThrowsAsync<ArgumentException>(() => client.FirmwareImageDownloadAsync(new byte[6]));
    }

    [Fact]
    public async Task Oversized_single_transfer_is_refused_before_sending()
    {
        var t = new RecordingAdminTransport(4096);
        var client = new NvmeAdminClient(t);
        await Assert.ThrowsAsync<ArgumentException>(() => client.SecurityReceiveAsync(1, 1, new byte[8192]));
        await Assert.ThrowsAsync<ArgumentException>(() => client.ExecuteAsync(NvmeAdminCommands.KeepAlive(), new byte[4], new byte[4]));
        Assert.Empty(t.Commands);
    }

    [Fact]
    public async Task Identify_and_features_return_typed_values()
    {
        var t = new RecordingAdminTransport(4096)
        {
            IdentifyData = new NvmeIdentifyController { Mn = "Model", Sn = "S1", Cntlid = 7, Subnqn = "nqn.test" }.ToArray(),
        };
        var client = new NvmeAdminClient(t);
        var id = await client.IdentifyControllerAsync();
        Assert.Equal("Model", id.Mn);
        Assert.Equal(7, id.Cntlid);
        Assert.Equal(0x01u, t.Commands[0].Cdw10);
        var q = await client.SetNumberOfQueuesAsync(new NvmeNumberOfQueues(16, 16));
        Assert.Equal(new NvmeNumberOfQueues(8, 4), q); // fake's DW0 0x00030007
        Assert.Equal(0x000F000Fu, t.Commands[1].Cdw11);
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.KeepAliveAsync(cts.Token));
    }

    private sealed class SyncProgress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}
