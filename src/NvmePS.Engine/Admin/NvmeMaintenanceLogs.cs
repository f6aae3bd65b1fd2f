using System.Buffers.Binary;

namespace NvmePS.Engine.Admin;

/// <summary>Device Self-test Result (Base Specification 2.0 Figure 210, byte 0 bits 3:0).</summary>
public enum NvmeSelfTestResult : byte
{
    CompletedWithoutError = 0x0,
    AbortedBySelfTestCommand = 0x1,
    AbortedByControllerReset = 0x2,
    AbortedByNamespaceRemoval = 0x3,
    AbortedByFormat = 0x4,
    FatalError = 0x5,
    UnknownSegmentFailed = 0x6,
    SegmentsFailed = 0x7,
    AbortedUnknownReason = 0x8,
    AbortedBySanitize = 0x9,
    Unused = 0xF,
}

/// <summary>One Self-test Result Data Structure (Base Specification 2.0 Figure 210), 28 bytes.</summary>
public readonly record struct NvmeSelfTestResultEntry(NvmeSelfTestResult Result, NvmeSelfTestCode Code, byte SegmentNumber, byte ValidDiagnostics,
    ulong PowerOnHours, uint Nsid, ulong FailingLba, byte Sct, byte Sc)
{
    public const int Size = 28;

    /// <summary>VDI bits: NSID valid (0), FLBA valid (1), SCT valid (2), SC valid (3).</summary>
    public const byte NsidValid = 1, FailingLbaValid = 2, SctValid = 4, ScValid = 8;

    public static NvmeSelfTestResultEntry Read(ReadOnlySpan<byte> s) => new(
        (NvmeSelfTestResult)(s[0] & 0xF), (NvmeSelfTestCode)(s[0] >> 4), s[1], s[2],
        BinaryPrimitives.ReadUInt64LittleEndian(s[4..]), BinaryPrimitives.ReadUInt32LittleEndian(s[12..]),
        BinaryPrimitives.ReadUInt64LittleEndian(s[16..]), (byte)(s[24] & 0x7), s[25]);

    public void Write(Span<byte> d)
    {
        d[..Size].Clear();
        d[0] = (byte)(((byte)Result & 0xF) | ((byte)Code << 4));
        d[1] = SegmentNumber;
        d[2] = ValidDiagnostics;
        BinaryPrimitives.WriteUInt64LittleEndian(d[4..], PowerOnHours);
        BinaryPrimitives.WriteUInt32LittleEndian(d[12..], Nsid);
        BinaryPrimitives.WriteUInt64LittleEndian(d[16..], FailingLba);
        d[24] = (byte)(Sct & 0x7);
        d[25] = Sc;
    }
}

/// <summary>
/// Device Self-test log page, LID 06h (Base Specification 2.0 §5.16.1.7 Figure 209), 564 bytes: current operation
/// (byte 0 bits 3:0), current completion percentage (byte 1 bits 6:0), then 20 result entries, newest first.
/// </summary>
public sealed class NvmeSelfTestLog
{
    public const int Size = 564;
    public const int EntryCount = 20;
    private const int EntriesOffset = 4;

    public NvmeSelfTestCode CurrentOperation { get; set; }

    public byte CurrentCompletion { get; set; }

    /// <summary>Results, newest first (at most 20; unused entries are not listed).</summary>
    public IReadOnlyList<NvmeSelfTestResultEntry> Results { get; set; } = [];

    public static bool TryRead(ReadOnlySpan<byte> s, out NvmeSelfTestLog log)
    {
        log = null!;
        if (s.Length < Size)
        {
            return false;
        }

        var results = new List<NvmeSelfTestResultEntry>();
        for (int i = 0; i < EntryCount; i++)
        {
            var e = NvmeSelfTestResultEntry.Read(s[(EntriesOffset + (i * NvmeSelfTestResultEntry.Size))..]);
            if (e.Result != NvmeSelfTestResult.Unused)
            {
                results.Add(e);
            }
        }

        log = new NvmeSelfTestLog { CurrentOperation = (NvmeSelfTestCode)(s[0] & 0xF), CurrentCompletion = (byte)(s[1] & 0x7F), Results = results };
        return true;
    }

    public void Write(Span<byte> d)
    {
        if (d.Length < Size)
        {
            throw new ArgumentException("The self-test log needs 564 bytes.", nameof(d));
        }

        d[..Size].Clear();
        d[0] = (byte)((byte)CurrentOperation & 0xF);
        d[1] = (byte)(CurrentCompletion & 0x7F);
        for (int i = 0; i < EntryCount; i++)
        {
            var at = d[(EntriesOffset + (i * NvmeSelfTestResultEntry.Size))..];
            if (i < Results.Count)
            {
                Results[i].Write(at);
            }
            else
            {
                at[0] = (byte)NvmeSelfTestResult.Unused;
            }
        }
    }
}

/// <summary>Sanitize Status (SSTAT bits 2:0, Base Specification 2.0 Figure 290).</summary>
public enum NvmeSanitizeState : byte
{
    NeverSanitized = 0,
    Completed = 1,
    InProgress = 2,
    Failed = 3,
    CompletedNoDeallocate = 4,
}

/// <summary>
/// Sanitize Status log page, LID 81h (Base Specification 2.0 §5.16.1.25 Figure 289), 512 bytes: SPROG (u16, progress in
/// 1/65536, FFFFh when none runs), SSTAT (u16: state 2:0, overwrite passes 7:3, global data erased bit 8), SCDW10 (u32),
/// then the estimated times (seconds, FFFFFFFFh unknown) for overwrite, block erase and crypto erase.
/// </summary>
public sealed class NvmeSanitizeStatusLog
{
    public const int Size = 512;
    public const uint NoEstimate = 0xFFFFFFFF;

    public ushort Sprog { get; set; } = 0xFFFF;

    public NvmeSanitizeState State { get; set; }

    public byte OverwritePassesCompleted { get; set; }

    public bool GlobalDataErased { get; set; }

    public uint Scdw10 { get; set; }

    public uint EstimatedOverwriteSeconds { get; set; } = NoEstimate;

    public uint EstimatedBlockEraseSeconds { get; set; } = NoEstimate;

    public uint EstimatedCryptoEraseSeconds { get; set; } = NoEstimate;

    /// <summary>SPROG as a percentage, or null when no sanitize runs.</summary>
    public double? PercentComplete => State == NvmeSanitizeState.InProgress ? Sprog * 100.0 / 65536 : null;

    public static bool TryRead(ReadOnlySpan<byte> s, out NvmeSanitizeStatusLog log)
    {
        log = null!;
        if (s.Length < 20)
        {
            return false;
        }

        ushort sstat = BinaryPrimitives.ReadUInt16LittleEndian(s[2..]);
        log = new NvmeSanitizeStatusLog
        {
            Sprog = BinaryPrimitives.ReadUInt16LittleEndian(s),
            State = (NvmeSanitizeState)(sstat & 0x7),
            OverwritePassesCompleted = (byte)((sstat >> 3) & 0x1F),
            GlobalDataErased = (sstat & 0x100) != 0,
            Scdw10 = BinaryPrimitives.ReadUInt32LittleEndian(s[4..]),
            EstimatedOverwriteSeconds = BinaryPrimitives.ReadUInt32LittleEndian(s[8..]),
            EstimatedBlockEraseSeconds = BinaryPrimitives.ReadUInt32LittleEndian(s[12..]),
            EstimatedCryptoEraseSeconds = BinaryPrimitives.ReadUInt32LittleEndian(s[16..]),
        };
        return true;
    }

    public void Write(Span<byte> d)
    {
        if (d.Length < Size)
        {
            throw new ArgumentException("The sanitize status log needs 512 bytes.", nameof(d));
        }

        d[..Size].Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(d, Sprog);
        BinaryPrimitives.WriteUInt16LittleEndian(d[2..], (ushort)(((byte)State & 0x7) | ((OverwritePassesCompleted & 0x1F) << 3) | (GlobalDataErased ? 0x100 : 0)));
        BinaryPrimitives.WriteUInt32LittleEndian(d[4..], Scdw10);
        BinaryPrimitives.WriteUInt32LittleEndian(d[8..], EstimatedOverwriteSeconds);
        BinaryPrimitives.WriteUInt32LittleEndian(d[12..], EstimatedBlockEraseSeconds);
        BinaryPrimitives.WriteUInt32LittleEndian(d[16..], EstimatedCryptoEraseSeconds);
    }
}
