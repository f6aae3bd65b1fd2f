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
        BlockSize = blockSize;
        BlockSizeShift = System.Numerics.BitOperations.Log2((uint)blockSize);
        BlockCount = storage.Length / blockSize;
        Uuid = uuid;
        Eui64 = eui64;
        ReadOnly = readOnly;
        OwnsStorage = ownsStorage;
    }

    public uint Nsid { get; }

    public INvmeNamespaceStorage Storage { get; }

    /// <summary>Logical block size in bytes.</summary>
    public int BlockSize { get; }

    internal int BlockSizeShift { get; }

    /// <summary>NSZE: capacity in logical blocks.</summary>
    public long BlockCount { get; }

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
            Nlbaf = 0,
            Flbas = 0,
            // The namespace may be attached to several controllers of the subsystem at once.
            Nmic = 0x01,
            // Deallocated blocks read as zeroes (bits 2:0 = 001b) and Write Zeroes may deallocate (bit 3).
            Dlfeat = 0x09,
            Nvmcap = (UInt128)((ulong)BlockCount * (ulong)BlockSize),
            Nguid = Nguid,
            Eui64 = Eui64 ?? new byte[8],
            Lbaf = [new NvmeLbaFormat(0, (byte)BlockSizeShift, 0)],
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

    internal ValueTask WriteZeroesAsync(ulong slba, long blocks, bool deallocate, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _writeCommands);
        return Storage.WriteZeroesAsync((long)slba << BlockSizeShift, blocks << BlockSizeShift, deallocate, cancellationToken);
    }

    public void Dispose()
    {
        if (OwnsStorage)
        {
            Storage.Dispose();
        }
    }
}
