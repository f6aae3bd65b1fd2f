using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using NvmePS.Engine.Admin;

namespace NvmePS.Engine.Fabrics.Controller;

/// <summary>
/// The subsystem-wide operations a storage engineer runs on a drive's contents: firmware slots (Firmware Image Download
/// and Commit), the device self-test, and sanitize. They outlive any one controller (an association over fabrics), so a
/// host that reconnects sees the same slots, results and progress. Self-test and sanitize run in the background, doing
/// real work on the namespaces' stores (reading every block, erasing every block), paced by
/// <see cref="NvmeTargetOptions.SelfTestShortTime"/> and friends so progress can be watched.
/// </summary>
public sealed class NvmeSubsystemMaintenance
{
    /// <summary>Firmware slots; slot 1 is read-only (FRMW bit 0), as on most drives.</summary>
    public const int FirmwareSlots = 3;

    /// <summary>Firmware images start with this 8-byte magic, then the 8-character revision (the MI simulator uses it too).</summary>
    public static ReadOnlySpan<byte> FirmwareMagic => "NVMEPSFW"u8;

    private const long MaxImageBytes = 64L << 20;
    private const int ChunkBytes = 1 << 20;

    private readonly object _lock = new();
    private readonly NvmeSubsystem _subsystem;
    private readonly string?[] _revisions = new string?[FirmwareSlots];
    private readonly SortedDictionary<long, byte[]> _image = [];
    private int _activeSlot = 1;
    private int _nextResetSlot;

    private readonly List<NvmeSelfTestResultEntry> _selfTestResults = [];
    private SelfTestRun? _selfTest;

    private SanitizeRun? _sanitize;
    private NvmeSanitizeState _sanitizeState;
    private uint _sanitizeCdw10;
    private byte _overwritePasses;
    private volatile bool _sanitizing;

    internal NvmeSubsystemMaintenance(NvmeSubsystem subsystem, string firmwareRevision)
    {
        _subsystem = subsystem;
        _revisions[0] = firmwareRevision;
    }

    private NvmeTargetOptions Options => _subsystem.Target.Options;

    /// <summary>The revision of the running firmware (Identify Controller FR).</summary>
    public string ActiveFirmwareRevision
    {
        get
        {
            lock (_lock)
            {
                return _revisions[_activeSlot - 1]!;
            }
        }
    }

    /// <summary>True while a sanitize runs: I/O and most Admin commands are refused with Sanitize In Progress.</summary>
    public bool SanitizeInProgress => _sanitizing;

    // ---------------------------------------------------------------- firmware

    /// <summary>Firmware Image Download: keeps one piece of the image. Pieces may come in any order but not overlap; the
    /// piece at offset 0 starts a new image.</summary>
    internal NvmeStatus Download(FirmwareImageDownloadCommand download, ReadOnlySpan<byte> data)
    {
        long offset = download.OffsetBytes;
        if (data.Length != download.LengthBytes)
        {
            return NvmeStatus.Generic(NvmeStatusNames.DataSglLengthInvalid);
        }

        lock (_lock)
        {
            if (offset + data.Length > MaxImageBytes)
            {
                return NvmeStatus.Generic(NvmeStatusNames.InvalidFieldInCommand);
            }

            if (offset == 0)
            {
                // A piece at offset 0 starts a new image: what a failed or abandoned update left is dropped, so a host
                // can always retry from the start (as nvme-cli's fw-download does).
                _image.Clear();
            }

            foreach (var (o, piece) in _image)
            {
                if (offset < o + piece.Length && o < offset + data.Length)
                {
                    return NvmeStatus.CommandSpecific(NvmeStatusNames.OverlappingRange);
                }
            }

            _image[offset] = data.ToArray();
        }

        return NvmeStatus.Success;
    }

    /// <summary>Firmware Commit (CA 0-3). DW0 is 0; CA 3 activates at once, CA 1 and 2 at the next Controller Level Reset.</summary>
    internal NvmeStatus Commit(FirmwareCommitCommand commit)
    {
        var status = CommitLocked(commit, out string? activated);
        if (activated is not null)
        {
            _subsystem.DeviceModel?.FirmwareActivated(activated);
        }

        return status;
    }

    private NvmeStatus CommitLocked(FirmwareCommitCommand commit, out string? activated)
    {
        activated = null;
        lock (_lock)
        {
            if (commit.Bpid || commit.Ca is not (NvmeFirmwareCommitAction.Replace or NvmeFirmwareCommitAction.ReplaceAndActivate
                or NvmeFirmwareCommitAction.Activate or NvmeFirmwareCommitAction.ReplaceAndActivateImmediately))
            {
                // No boot partitions.
                return NvmeStatus.Generic(NvmeStatusNames.InvalidFieldInCommand);
            }

            int slot = commit.Fs;
            if (slot > FirmwareSlots)
            {
                return NvmeStatus.CommandSpecific(NvmeStatusNames.InvalidFirmwareSlot);
            }

            bool replaces = commit.Ca != NvmeFirmwareCommitAction.Activate;
            if (slot == 0)
            {
                if (!replaces)
                {
                    return NvmeStatus.CommandSpecific(NvmeStatusNames.InvalidFirmwareSlot);
                }

                // The controller picks: an empty writable slot, else the writable slot not running.
                slot = Enumerable.Range(2, FirmwareSlots - 1).FirstOrDefault(s => _revisions[s - 1] is null, 0);
                slot = slot != 0 ? slot : Enumerable.Range(2, FirmwareSlots - 1).First(s => s != _activeSlot);
            }

            if (replaces && slot == 1)
            {
                return NvmeStatus.CommandSpecific(NvmeStatusNames.InvalidFirmwareSlot);
            }

            if (replaces)
            {
                if (ImageRevision() is not { } revision)
                {
                    return NvmeStatus.CommandSpecific(NvmeStatusNames.InvalidFirmwareImage);
                }

                _revisions[slot - 1] = revision;
                _image.Clear();
            }
            else if (_revisions[slot - 1] is null)
            {
                return NvmeStatus.CommandSpecific(NvmeStatusNames.InvalidFirmwareImage);
            }

            switch (commit.Ca)
            {
                case NvmeFirmwareCommitAction.ReplaceAndActivate:
                case NvmeFirmwareCommitAction.Activate:
                    _nextResetSlot = slot;
                    break;
                case NvmeFirmwareCommitAction.ReplaceAndActivateImmediately:
                    _activeSlot = slot;
                    _nextResetSlot = 0;
                    activated = _revisions[slot - 1];
                    break;
            }

            return NvmeStatus.Success;
        }
    }

    /// <summary>A Controller Level Reset (CC.EN cleared): the firmware committed for the next reset starts running.</summary>
    internal void OnControllerReset()
    {
        string? activated = null;
        lock (_lock)
        {
            if (_nextResetSlot != 0)
            {
                _activeSlot = _nextResetSlot;
                _nextResetSlot = 0;
                activated = _revisions[_activeSlot - 1];
            }

            AbortSelfTestLocked(NvmeSelfTestResult.AbortedByControllerReset);
        }

        if (activated is not null)
        {
            _subsystem.DeviceModel?.FirmwareActivated(activated);
        }
    }

    /// <summary>Puts a revision in a writable slot without a download (a drive that ships with two images).</summary>
    internal void Preload(int slot, string revision)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(slot, 2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(slot, FirmwareSlots);
        lock (_lock)
        {
            _revisions[slot - 1] = revision;
        }
    }

    public NvmeFirmwareSlotLog FirmwareSlotLog()
    {
        lock (_lock)
        {
            var frs = new string[NvmeFirmwareSlotLog.SlotCount];
            for (int i = 0; i < frs.Length; i++)
            {
                frs[i] = i < FirmwareSlots ? _revisions[i] ?? string.Empty : string.Empty;
            }

            return new NvmeFirmwareSlotLog { Afi = (byte)(_activeSlot | (_nextResetSlot << 4)), Frs = frs };
        }
    }

    /// <summary>The revision in the downloaded image: contiguous from offset 0, "NVMEPSFW", then 8 printable ASCII characters.</summary>
    private string? ImageRevision()
    {
        long expected = 0;
        foreach (var (o, piece) in _image)
        {
            if (o != expected)
            {
                return null;
            }

            expected += piece.Length;
        }

        if (expected < 16)
        {
            return null;
        }

        byte[] head = new byte[16];
        int at = 0;
        foreach (var piece in _image.Values)
        {
            int n = Math.Min(piece.Length, 16 - at);
            piece.AsSpan(0, n).CopyTo(head.AsSpan(at));
            at += n;
            if (at == 16)
            {
                break;
            }
        }

        if (!head.AsSpan(0, 8).SequenceEqual(FirmwareMagic) || head.AsSpan(8).IndexOfAnyExceptInRange((byte)0x20, (byte)0x7E) >= 0)
        {
            return null;
        }

        return Encoding.ASCII.GetString(head, 8, 8).TrimEnd();
    }

    // ---------------------------------------------------------------- device self-test

    /// <summary>Device Self-test: starts a short or extended test of <paramref name="namespaces"/> (NSID
    /// <paramref name="nsid"/>), or aborts the running one (STC Fh).</summary>
    internal NvmeStatus StartSelfTest(NvmeSelfTestCode code, uint nsid, IReadOnlyList<NvmeNamespace> namespaces)
    {
        lock (_lock)
        {
            if (code == NvmeSelfTestCode.Abort)
            {
                AbortSelfTestLocked(NvmeSelfTestResult.AbortedBySelfTestCommand);
                return NvmeStatus.Success;
            }

            if (code is not (NvmeSelfTestCode.Short or NvmeSelfTestCode.Extended))
            {
                return NvmeStatus.Generic(NvmeStatusNames.InvalidFieldInCommand);
            }

            if (_selfTest is not null)
            {
                return NvmeStatus.CommandSpecific(NvmeStatusNames.DeviceSelfTestInProgress);
            }

            if (_sanitizing)
            {
                return NvmeStatus.Generic(NvmeStatusNames.SanitizeInProgress);
            }

            var run = new SelfTestRun(code, nsid, code == NvmeSelfTestCode.Short ? Options.SelfTestShortTime : Options.SelfTestExtendedTime);
            _selfTest = run;
            // Runs until it ends or is aborted; it records its own result.
            _ = Task.Run(() => RunSelfTestAsync(run, namespaces));
            return NvmeStatus.Success;
        }
    }

    /// <summary>Ends the running self-test with <paramref name="why"/> (a format, a sanitize or a namespace removal).</summary>
    internal void AbortSelfTest(NvmeSelfTestResult why)
    {
        lock (_lock)
        {
            AbortSelfTestLocked(why);
        }
    }

    private void AbortSelfTestLocked(NvmeSelfTestResult why)
    {
        if (_selfTest is { } run && run.Abort())
        {
            RecordSelfTestLocked(run, why, default);
        }
    }

    public NvmeSelfTestLog SelfTestLog()
    {
        lock (_lock)
        {
            var run = _selfTest;
            return new NvmeSelfTestLog
            {
                CurrentOperation = run?.Code ?? NvmeSelfTestCode.None,
                CurrentCompletion = (byte)(run?.PercentComplete ?? 0),
                Results = [.. _selfTestResults],
            };
        }
    }

    private async Task RunSelfTestAsync(SelfTestRun run, IReadOnlyList<NvmeNamespace> namespaces)
    {
        var failure = default(NvmeSelfTestResultEntry);
        var result = NvmeSelfTestResult.CompletedWithoutError;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        try
        {
            // Segment 1 is the controller (nothing to read); segment 2 reads the namespaces: all of each for an extended
            // test, the first and last MiB for a short one.
            var ranges = namespaces.SelectMany(ns => Ranges(ns, run.Code == NvmeSelfTestCode.Extended)).ToList();
            long total = Math.Max(1, ranges.Sum(r => r.Length));
            long done = 0;
            foreach (var (ns, offset, length) in ranges)
            {
                if (ns.Storage is MemoryNamespaceStorage)
                {
                    // Memory has no read errors to find; reading a large thin namespace would only burn CPU.
                    done += length;
                    await run.PaceAsync(done / (double)total).ConfigureAwait(false);
                    continue;
                }

                for (long at = offset; at < offset + length; at += ChunkBytes)
                {
                    int n = (int)Math.Min(ChunkBytes, offset + length - at);
                    try
                    {
                        await ns.Storage.ReadAsync(at, buffer.AsMemory(0, n), run.Token).ConfigureAwait(false);
                    }
                    catch (IOException)
                    {
                        result = NvmeSelfTestResult.SegmentsFailed;
                        failure = new NvmeSelfTestResultEntry(result, run.Code, 2,
                            NvmeSelfTestResultEntry.NsidValid | NvmeSelfTestResultEntry.FailingLbaValid | NvmeSelfTestResultEntry.SctValid | NvmeSelfTestResultEntry.ScValid,
                            0, ns.Nsid, (ulong)(at >> ns.BlockSizeShift), (byte)NvmeStatusCodeType.MediaAndDataIntegrity, NvmeStatusNames.UnrecoveredReadError);
                        break;
                    }

                    done += n;
                    await run.PaceAsync(done / (double)total).ConfigureAwait(false);
                }

                if (result != NvmeSelfTestResult.CompletedWithoutError)
                {
                    break;
                }
            }

            await run.PaceAsync(1.0).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return; // Aborted: the abort recorded the result.
        }
        catch (ObjectDisposedException)
        {
            result = NvmeSelfTestResult.AbortedByNamespaceRemoval;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        lock (_lock)
        {
            if (ReferenceEquals(_selfTest, run) && run.Finish())
            {
                RecordSelfTestLocked(run, result, failure);
            }
        }
    }

    private static IEnumerable<(NvmeNamespace Ns, long Offset, long Length)> Ranges(NvmeNamespace ns, bool everything)
    {
        long size = ns.Storage.Length;
        if (everything || size <= 2L * ChunkBytes)
        {
            yield return (ns, 0, size);
            yield break;
        }

        yield return (ns, 0, ChunkBytes);
        yield return (ns, size - ChunkBytes, ChunkBytes);
    }

    private void RecordSelfTestLocked(SelfTestRun run, NvmeSelfTestResult result, NvmeSelfTestResultEntry failure)
    {
        var entry = result == NvmeSelfTestResult.SegmentsFailed
            ? failure with { PowerOnHours = PowerOnHours() }
            : new NvmeSelfTestResultEntry(result, run.Code, 0, run.Nsid is 0 or NvmeAdminCommands.BroadcastNsid ? (byte)0 : NvmeSelfTestResultEntry.NsidValid,
                PowerOnHours(), run.Nsid, 0, 0, 0);
        _selfTestResults.Insert(0, entry);
        if (_selfTestResults.Count > NvmeSelfTestLog.EntryCount)
        {
            _selfTestResults.RemoveAt(_selfTestResults.Count - 1);
        }

        _selfTest = null;
    }

    private ulong PowerOnHours() => (ulong)(DateTime.UtcNow - _subsystem.Target.StartTime).TotalHours;

    // ---------------------------------------------------------------- sanitize

    /// <summary>Sanitize: block erase or overwrite of every namespace of the subsystem, in the background.</summary>
    internal NvmeStatus StartSanitize(SanitizeCommand sanitize, uint cdw10)
    {
        lock (_lock)
        {
            if (_sanitizing)
            {
                return NvmeStatus.Generic(NvmeStatusNames.SanitizeInProgress);
            }

            switch (sanitize.Sanact)
            {
                case NvmeSanitizeAction.ExitFailureMode:
                    if (_sanitizeState == NvmeSanitizeState.Failed)
                    {
                        _sanitizeState = NvmeSanitizeState.NeverSanitized;
                    }

                    return NvmeStatus.Success;
                case NvmeSanitizeAction.BlockErase:
                case NvmeSanitizeAction.Overwrite:
                    break;
                default:
                    // SANICAP: no cryptographic erase (the stores are not encrypted).
                    return NvmeStatus.Generic(NvmeStatusNames.InvalidFieldInCommand);
            }

            // A sanitize ends the self-test (Base Specification 2.0 §8.21).
            AbortSelfTestLocked(NvmeSelfTestResult.AbortedBySanitize);
            var run = new SanitizeRun(sanitize, Options.SanitizeTime);
            _sanitize = run;
            _sanitizing = true;
            _sanitizeState = NvmeSanitizeState.InProgress;
            _sanitizeCdw10 = cdw10;
            _overwritePasses = 0;
            // Runs until it ends; it records its own state.
            _ = Task.Run(() => RunSanitizeAsync(run));
            return NvmeStatus.Success;
        }
    }

    public NvmeSanitizeStatusLog SanitizeLog()
    {
        lock (_lock)
        {
            uint estimate = (uint)Math.Ceiling(Options.SanitizeTime.TotalSeconds);
            return new NvmeSanitizeStatusLog
            {
                Sprog = _sanitize is { } run ? (ushort)Math.Min(0xFFFE, run.Fraction * 65536) : (ushort)0xFFFF,
                State = _sanitizeState,
                OverwritePassesCompleted = _overwritePasses,
                GlobalDataErased = _sanitizeState is NvmeSanitizeState.Completed or NvmeSanitizeState.CompletedNoDeallocate,
                Scdw10 = _sanitizeCdw10,
                EstimatedOverwriteSeconds = estimate,
                EstimatedBlockEraseSeconds = estimate,
            };
        }
    }

    private async Task RunSanitizeAsync(SanitizeRun run)
    {
        var namespaces = _subsystem.Namespaces;
        var state = run.Command.Ndas ? NvmeSanitizeState.CompletedNoDeallocate : NvmeSanitizeState.Completed;
        byte[] pattern = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        try
        {
            int passes = run.Command.Sanact == NvmeSanitizeAction.Overwrite ? (run.Command.Owpass == 0 ? 16 : run.Command.Owpass) : 1;
            long total = Math.Max(1, namespaces.Sum(n => n.Storage.Length) * passes);
            long done = 0;
            for (int pass = 0; pass < passes; pass++)
            {
                foreach (var ns in namespaces)
                {
                    if (run.Command.Sanact == NvmeSanitizeAction.BlockErase)
                    {
                        await ns.Storage.WriteZeroesAsync(0, ns.Storage.Length, deallocate: !run.Command.Ndas, CancellationToken.None).ConfigureAwait(false);
                        done += ns.Storage.Length;
                        await run.PaceAsync(done / (double)total).ConfigureAwait(false);
                        continue;
                    }

                    // Overwrite: OVRPAT repeated, inverted on alternate passes when OIPBP is set.
                    uint word = run.Command.Oipbp && (pass & 1) == 1 ? ~run.Command.Ovrpat : run.Command.Ovrpat;
                    for (int i = 0; i < ChunkBytes; i += 4)
                    {
                        BinaryPrimitives.WriteUInt32LittleEndian(pattern.AsSpan(i), word);
                    }

                    if (ns.Storage is MemoryNamespaceStorage memory)
                    {
                        // Writing the pattern page by page would allocate the whole namespace.
                        memory.Fill(word);
                        done += ns.Storage.Length;
                        await run.PaceAsync(done / (double)total).ConfigureAwait(false);
                        continue;
                    }

                    for (long at = 0; at < ns.Storage.Length; at += ChunkBytes)
                    {
                        int n = (int)Math.Min(ChunkBytes, ns.Storage.Length - at);
                        await ns.Storage.WriteAsync(at, pattern.AsMemory(0, n), CancellationToken.None).ConfigureAwait(false);
                        done += n;
                        await run.PaceAsync(done / (double)total).ConfigureAwait(false);
                    }
                }

                if (run.Command.Sanact == NvmeSanitizeAction.Overwrite)
                {
                    // SSTAT counts overwrite passes only.
                    lock (_lock)
                    {
                        _overwritePasses = (byte)Math.Min(31, pass + 1);
                    }
                }
            }

            foreach (var ns in namespaces)
            {
                await ns.Storage.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            }

            await run.PaceAsync(1.0).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            state = NvmeSanitizeState.Failed;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(pattern);
        }

        lock (_lock)
        {
            _sanitizeState = state;
            _sanitize = null;
            _sanitizing = false;
        }

        foreach (var controller in _subsystem.Controllers)
        {
            controller.OnSanitizeCompleted();
        }
    }

    /// <summary>Work paced to take at least a given time: progress is the smaller of work done and time spent.</summary>
    private abstract class PacedRun(TimeSpan least)
    {
        private readonly long _start = Environment.TickCount64;
        private double _work;

        /// <summary>Fraction complete, 0..1.</summary>
        public double Fraction => Math.Min(Volatile.Read(ref _work), least <= TimeSpan.Zero ? 1 : Math.Min(1, (Environment.TickCount64 - _start) / least.TotalMilliseconds));

        public async Task PaceAsync(double work, CancellationToken cancellationToken = default)
        {
            Volatile.Write(ref _work, work);
            long due = _start + (long)(least.TotalMilliseconds * work);
            long wait = due - Environment.TickCount64;
            if (wait > 0)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(wait), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private sealed class SelfTestRun(NvmeSelfTestCode code, uint nsid, TimeSpan least) : PacedRun(least)
    {
        private readonly CancellationTokenSource _abort = new();
        private int _ended;

        public NvmeSelfTestCode Code { get; } = code;

        public uint Nsid { get; } = nsid;

        public CancellationToken Token => _abort.Token;

        public int PercentComplete => (int)(Fraction * 100);

        public Task PaceAsync(double work) => PaceAsync(work, Token);

        /// <summary>True for the first of Abort and Finish.</summary>
        public bool Abort()
        {
            if (Interlocked.Exchange(ref _ended, 1) != 0)
            {
                return false;
            }

            _abort.Cancel();
            return true;
        }

        public bool Finish() => Interlocked.Exchange(ref _ended, 1) == 0;
    }

    private sealed class SanitizeRun(SanitizeCommand command, TimeSpan least) : PacedRun(least)
    {
        public SanitizeCommand Command { get; } = command;
    }
}
