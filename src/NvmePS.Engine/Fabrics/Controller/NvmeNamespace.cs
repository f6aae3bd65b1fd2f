using NvmePS.Engine.Admin;

namespace NvmePS.Engine.Fabrics.Controller;

/// <summary>
/// One namespace of an NVM subsystem: a store cut into logical blocks of 512 or 4096 bytes. Every I/O is bounds-checked
/// here (LBA Out of Range) before the store sees it, and counted for the SMART / Health log.
/// </summary>
public sealed class NvmeNamespace : IDisposable
{
    private long _bytesRead;
    private long _bytesWritten;
    private long _readCommands;
    private long _writeCommands;
    private volatile NvmeNamespaceAttachment _attachment = NvmeNamespaceAttachment.AllHosts;
    private int _blockSize;
    private int _blockSizeShift;
    private long _blockCount;

    /// <summary>The LBA formats every namespace offers (Identify Namespace LBAF0 and LBAF1): 512 and 4096 bytes.</summary>
    public static IReadOnlyList<NvmeLbaFormat> LbaFormats { get; } = [new NvmeLbaFormat(0, 9, 0), new NvmeLbaFormat(0, 12, 0)];

    internal NvmeNamespace(uint nsid, INvmeNamespaceStorage storage, int blockSize, Guid uuid, byte[]? eui64, bool readOnly, bool ownsStorage)
    {
        if (blockSize is not (512 or 4096))
        {
            throw new ArgumentException("Block size must be 512 or 4096.", nameof(blockSize));
        }

        if (storage.Length < blockSize)
        {
            throw new ArgumentException("The store is smaller than one block.", nameof(storage));
        }

        if (eui64 is not null && eui64.Length != 8)
        {
            throw new ArgumentException("An EUI-64 is 8 bytes.", nameof(eui64));
        }

        Nsid = nsid;
        Storage = storage;
        SetBlockSize(blockSize);
        Uuid = uuid;
        Eui64 = eui64;
        ReadOnly = readOnly;
        OwnsStorage = ownsStorage;
    }

    public uint Nsid { get; }

    public INvmeNamespaceStorage Storage { get; }

    /// <summary>Logical block size in bytes (512 or 4096; Format NVM changes it).</summary>
    public int BlockSize => Volatile.Read(ref _blockSize);

    internal int BlockSizeShift => Volatile.Read(ref _blockSizeShift);

    /// <summary>NSZE: capacity in logical blocks.</summary>
    public long BlockCount => Volatile.Read(ref _blockCount);

    /// <summary>FLBAS index of the format in use (into <see cref="LbaFormats"/>).</summary>
    public byte FormatIndex => BlockSize == 4096 ? (byte)1 : (byte)0;

    /// <summary>NMIC bit 0: the namespace may be attached to controllers of more than one host.</summary>
    public bool Shared { get; init; } = true;

    /// <summary>Bytes this namespace takes from its subsystem's capacity pool (0 for namespaces added by configuration).</summary>
    public long PoolBytes { get; init; }

    /// <summary>Which hosts' controllers the namespace is attached to (active on).</summary>
    public NvmeNamespaceAttachment Attachment
    {
        get => _attachment;
        internal set => _attachment = value;
    }

    /// <summary>True when the namespace is active on controllers of <paramref name="hostNqn"/>.</summary>
    public bool IsAttachedTo(string hostNqn) => _attachment.Includes(hostNqn);

    /// <summary>The namespace UUID (also reported as NGUID).</summary>
    public Guid Uuid { get; }

    public byte[]? Eui64 { get; }

    /// <summary>Writes fail with Namespace is Write Protected.</summary>
    public bool ReadOnly { get; }

    internal bool OwnsStorage { get; }

    public long BytesRead => Interlocked.Read(ref _bytesRead);

    public long BytesWritten => Interlocked.Read(ref _bytesWritten);

    public long ReadCommands => Interlocked.Read(ref _readCommands);

    public long WriteCommands => Interlocked.Read(ref _writeCommands);

    /// <summary>NGUID bytes: the UUID in RFC 4122 (big-endian) byte order.</summary>
    public byte[] Nguid => Uuid.ToByteArray(bigEndian: true);

    /// <summary>Checks that [slba, slba + blocks) lies inside the namespace.</summary>
    public bool InRange(ulong slba, long blocks) => blocks >= 0 && slba <= (ulong)BlockCount && (ulong)blocks <= (ulong)BlockCount - slba;

    /// <summary>The Identify Namespace structure (CNS 00h): one LBA format, the one in use.</summary>
    public NvmeIdentifyNamespace Identify()
    {
        long? allocated = Storage.AllocatedBytes;
        return new NvmeIdentifyNamespace
        {
            Nsze = (ulong)BlockCount,
            Ncap = (ulong)BlockCount,
            Nuse = allocated is { } a ? (ulong)((a + BlockSize - 1) / BlockSize) : (ulong)BlockCount,
            // Bit 0: thin provisioning (NUSE is meaningful) when the store tracks allocation.
            Nsfeat = allocated is null ? (byte)0 : (byte)0x01,
            Nlbaf = (byte)(LbaFormats.Count - 1),
            Flbas = FormatIndex,
            // Bit 0: the namespace may be attached to several controllers of the subsystem at once.
            Nmic = Shared ? (byte)0x01 : (byte)0x00,
            // Deallocated blocks read as zeroes (bits 2:0 = 001b) and Write Zeroes may deallocate (bit 3).
            Dlfeat = 0x09,
            Nvmcap = (UInt128)((ulong)BlockCount * (ulong)BlockSize),
            Nguid = Nguid,
            Eui64 = Eui64 ?? new byte[8],
            Lbaf = [.. LbaFormats],
        };
    }

    /// <summary>The Namespace Identification Descriptor list (CNS 03h).</summary>
    public IEnumerable<NvmeNamespaceIdDescriptor> Descriptors()
    {
        if (Eui64 is not null)
        {
            yield return new NvmeNamespaceIdDescriptor(NvmeNamespaceIdType.Eui64, Eui64);
        }

        yield return new NvmeNamespaceIdDescriptor(NvmeNamespaceIdType.Nguid, Nguid);
        yield return new NvmeNamespaceIdDescriptor(NvmeNamespaceIdType.Uuid, Uuid.ToByteArray(bigEndian: true));
        yield return new NvmeNamespaceIdDescriptor(NvmeNamespaceIdType.Csi, [0]);
    }

    // Pooled state machines: no allocation per I/O when the store completes asynchronously.
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder))]
    internal async ValueTask ReadAsync(ulong slba, Memory<byte> destination, CancellationToken cancellationToken)
    {
        await Storage.ReadAsync((long)slba << BlockSizeShift, destination, cancellationToken).ConfigureAwait(false);
        Interlocked.Add(ref _bytesRead, destination.Length);
        Interlocked.Increment(ref _readCommands);
    }

    // Pooled state machines: no allocation per I/O when the store completes asynchronously.
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder))]
    internal async ValueTask WriteAsync(ulong slba, ReadOnlyMemory<byte> source, bool fua, CancellationToken cancellationToken)
    {
        await Storage.WriteAsync((long)slba << BlockSizeShift, source, cancellationToken).ConfigureAwait(false);
        if (fua)
        {
            await Storage.FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        Interlocked.Add(ref _bytesWritten, source.Length);
        Interlocked.Increment(ref _writeCommands);
    }

    /// <summary>Compare: true when the blocks from <paramref name="slba"/> hold exactly <paramref name="expected"/>.</summary>
    internal async ValueTask<bool> CompareAsync(ulong slba, ReadOnlyMemory<byte> expected, CancellationToken cancellationToken)
    {
        byte[] actual = System.Buffers.ArrayPool<byte>.Shared.Rent(expected.Length);
        try
        {
            await Storage.ReadAsync((long)slba << BlockSizeShift, actual.AsMemory(0, expected.Length), cancellationToken).ConfigureAwait(false);
            Interlocked.Add(ref _bytesRead, expected.Length);
            Interlocked.Increment(ref _readCommands);
            return actual.AsSpan(0, expected.Length).SequenceEqual(expected.Span);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(actual);
        }
    }

    internal ValueTask WriteZeroesAsync(ulong slba, long blocks, bool deallocate, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _writeCommands);
        return Storage.WriteZeroesAsync((long)slba << BlockSizeShift, blocks << BlockSizeShift, deallocate, cancellationToken);
    }

    /// <summary>Format NVM: re-blocks the namespace to <paramref name="blockSize"/> (NSZE follows, the bytes stay), erasing
    /// every block first when <paramref name="eraseUserData"/> (SES 001b).</summary>
    internal async ValueTask FormatAsync(int blockSize, bool eraseUserData, CancellationToken cancellationToken)
    {
        if (eraseUserData)
        {
            await Storage.WriteZeroesAsync(0, Storage.Length, deallocate: true, cancellationToken).ConfigureAwait(false);
            await Storage.FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        SetBlockSize(blockSize);
    }

    private void SetBlockSize(int blockSize)
    {
        if (blockSize is not (512 or 4096))
        {
            throw new ArgumentException("Block size must be 512 or 4096.", nameof(blockSize));
        }

        // A racing I/O may pair the old count with the new size or the reverse: while both change, the count is the one
        // that is safe under either size.
        Volatile.Write(ref _blockCount, Storage.Length / Math.Max(blockSize, Math.Max(_blockSize, 1)));
        Volatile.Write(ref _blockSizeShift, System.Numerics.BitOperations.Log2((uint)blockSize));
        Volatile.Write(ref _blockSize, blockSize);
        Volatile.Write(ref _blockCount, Storage.Length / blockSize);
    }

    public void Dispose()
    {
        if (OwnsStorage)
        {
            Storage.Dispose();
        }
    }
}

/// <summary>
/// The hosts whose controllers a namespace is attached to. Controllers over fabrics come and go with associations, so an
/// attachment made through one controller is kept for its host NQN: that host's later controllers see the namespace too.
/// Either every host except <see cref="Exceptions"/>, or only the hosts in <see cref="Exceptions"/>. Immutable.
/// </summary>
public sealed class NvmeNamespaceAttachment
{
    /// <summary>Attached to every host (namespaces added by configuration).</summary>
    public static NvmeNamespaceAttachment AllHosts { get; } = new(true, []);

    /// <summary>Attached to no host (namespaces created by Namespace Management).</summary>
    public static NvmeNamespaceAttachment NoHosts { get; } = new(false, []);

    private readonly HashSet<string> _exceptions;

    private NvmeNamespaceAttachment(bool allHosts, HashSet<string> exceptions)
    {
        AllHostsExcept = allHosts;
        _exceptions = exceptions;
    }

    /// <summary>True: every host but <see cref="Exceptions"/>; false: only <see cref="Exceptions"/>.</summary>
    public bool AllHostsExcept { get; }

    public IReadOnlyCollection<string> Exceptions => _exceptions;

    public bool Includes(string hostNqn) => AllHostsExcept ? _exceptions.Count == 0 || !_exceptions.Contains(hostNqn) : _exceptions.Contains(hostNqn);

    /// <summary>The attachment with <paramref name="hostNqns"/> added (<paramref name="attach"/>) or removed.</summary>
    public NvmeNamespaceAttachment With(IEnumerable<string> hostNqns, bool attach)
    {
        var next = new HashSet<string>(_exceptions, StringComparer.Ordinal);
        foreach (string host in hostNqns)
        {
            // For "all but", attaching removes an exception; for "only", it adds a member.
            if (attach == AllHostsExcept)
            {
                next.Remove(host);
            }
            else
            {
                next.Add(host);
            }
        }

        return new NvmeNamespaceAttachment(AllHostsExcept, next);
    }

    public override string ToString() => AllHostsExcept
        ? (_exceptions.Count == 0 ? "all hosts" : $"all hosts but {string.Join(", ", _exceptions.Order(StringComparer.Ordinal))}")
        : (_exceptions.Count == 0 ? "no host" : string.Join(", ", _exceptions.Order(StringComparer.Ordinal)));
}
