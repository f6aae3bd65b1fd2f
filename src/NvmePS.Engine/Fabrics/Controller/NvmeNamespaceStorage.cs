using Microsoft.Win32.SafeHandles;

namespace NvmePS.Engine.Fabrics.Controller;

/// <summary>
/// The bytes behind a namespace. Offsets and lengths are already bounds-checked by the namespace; implementations
/// must be safe for concurrent calls (NVMe orders nothing between commands in flight).
/// </summary>
public interface INvmeNamespaceStorage : IDisposable
{
    /// <summary>Capacity in bytes.</summary>
    long Length { get; }

    /// <summary>Bytes actually backed (for thin provisioning), or null when the whole capacity is allocated.</summary>
    long? AllocatedBytes { get; }

    ValueTask ReadAsync(long offset, Memory<byte> destination, CancellationToken cancellationToken);

    ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> source, CancellationToken cancellationToken);

    /// <summary>Makes completed writes durable.</summary>
    ValueTask FlushAsync(CancellationToken cancellationToken);

    /// <summary>Makes a range read back as zeroes; <paramref name="deallocate"/> lets the store free it.</summary>
    ValueTask WriteZeroesAsync(long offset, long length, bool deallocate, CancellationToken cancellationToken);
}

/// <summary>
/// A thin-provisioned in-memory store: 1 MiB pages allocated on first write, so a large namespace costs only what is
/// written; unwritten and deallocated ranges read as zeroes, or as the pattern of the last <see cref="Fill"/>.
/// </summary>
public sealed class MemoryNamespaceStorage : INvmeNamespaceStorage
{
    private const int PageShift = 20;
    private const int PageSize = 1 << PageShift;
    private readonly byte[]?[] _pages;
    private readonly object _allocationLock = new();
    private long _allocatedPages;
    // What a page never written since the last Fill holds: a 32-bit word repeated (0 for a new store).
    private volatile uint _background;

    public MemoryNamespaceStorage(long length)
    {
        // Bounded so the page table itself stays small (a 1 TiB namespace needs a 1 Mi-entry table).
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 4096);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, 1L << 40);
        Length = length;
        _pages = new byte[]?[(length + PageSize - 1) >> PageShift];
    }

    public long Length { get; }

    public long? AllocatedBytes => Math.Min(Interlocked.Read(ref _allocatedPages) * PageSize, Length);

    public ValueTask ReadAsync(long offset, Memory<byte> destination, CancellationToken cancellationToken)
    {
        var dest = destination.Span;
        while (!dest.IsEmpty)
        {
            int within = (int)(offset & (PageSize - 1));
            int n = Math.Min(dest.Length, PageSize - within);
            var page = Volatile.Read(ref _pages[offset >> PageShift]);
            if (page is null)
            {
                FillBackground(dest[..n], offset);
            }
            else
            {
                page.AsSpan(within, n).CopyTo(dest);
            }

            dest = dest[n..];
            offset += n;
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> source, CancellationToken cancellationToken)
    {
        var src = source.Span;
        while (!src.IsEmpty)
        {
            int within = (int)(offset & (PageSize - 1));
            int n = Math.Min(src.Length, PageSize - within);
            src[..n].CopyTo(GetOrAllocate(offset >> PageShift).AsSpan(within, n));
            src = src[n..];
            offset += n;
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask WriteZeroesAsync(long offset, long length, bool deallocate, CancellationToken cancellationToken)
    {
        while (length > 0)
        {
            long index = offset >> PageShift;
            int within = (int)(offset & (PageSize - 1));
            int n = (int)Math.Min(length, PageSize - within);
            if (_background != 0)
            {
                // Unwritten pages read as the pattern, so zeroes must be stored.
                GetOrAllocate(index).AsSpan(within, n).Clear();
            }
            else if (within == 0 && n == PageSize)
            {
                // A whole page: drop it (reads return zeroes).
                lock (_allocationLock)
                {
                    if (_pages[index] is not null)
                    {
                        _pages[index] = null;
                        _allocatedPages--;
                    }
                }
            }
            else
            {
                Volatile.Read(ref _pages[index])?.AsSpan(within, n).Clear();
            }

            offset += n;
            length -= n;
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Makes every byte read as <paramref name="pattern"/> (little-endian, repeated) and frees every page: a
    /// whole-store overwrite (Sanitize) that costs no memory however large the namespace.</summary>
    public void Fill(uint pattern)
    {
        lock (_allocationLock)
        {
            Array.Clear(_pages);
            _allocatedPages = 0;
            _background = pattern;
        }
    }

    public void Dispose()
    {
    }

    private void FillBackground(Span<byte> destination, long offset)
    {
        uint word = _background;
        if (word == 0)
        {
            destination.Clear();
            return;
        }

        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = (byte)(word >> (8 * (int)((offset + i) & 3)));
        }
    }

    private byte[] GetOrAllocate(long index)
    {
        var page = Volatile.Read(ref _pages[index]);
        if (page is not null)
        {
            return page;
        }

        lock (_allocationLock)
        {
            page = _pages[index];
            if (page is null)
            {
                int size = (int)Math.Min(PageSize, Length - (index << PageShift));
                page = new byte[size];
                FillBackground(page, index << PageShift);
                Volatile.Write(ref _pages[index], page);
                _allocatedPages++;
            }

            return page;
        }
    }
}

/// <summary>A store backed by a regular file (or block device), with positional, thread-safe I/O.</summary>
public sealed class FileNamespaceStorage : INvmeNamespaceStorage
{
    private static readonly ReadOnlyMemory<byte> Zeroes = new byte[64 * 1024];
    private readonly FileStream _stream;
    private readonly SafeFileHandle _handle;

    /// <summary>Opens <paramref name="path"/>; when <paramref name="length"/> is given the file is created or extended to it,
    /// otherwise the file's current length is the capacity.</summary>
    public FileNamespaceStorage(string path, long? length = null, bool readOnly = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        _stream = new FileStream(path, length is null ? FileMode.Open : FileMode.OpenOrCreate,
            readOnly ? FileAccess.Read : FileAccess.ReadWrite, FileShare.Read, bufferSize: 0, FileOptions.Asynchronous | FileOptions.RandomAccess);
        _handle = _stream.SafeFileHandle;
        long? device = BlockDeviceLength(path);
        if (length is { } l)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(l, 4096);
            if (device is { } d)
            {
                // A block device has the size it has: the namespace may use less of it, never more.
                if (d < l)
                {
                    _stream.Dispose();
                    throw new ArgumentOutOfRangeException(nameof(length), $"{path} holds {d} bytes, less than the {l} asked for.");
                }
            }
            else if (RandomAccess.GetLength(_handle) < l)
            {
                _stream.SetLength(l);
            }
        }

        Length = length ?? device ?? RandomAccess.GetLength(_handle);
        ReadOnly = readOnly;
        Path = path;
    }

    public string Path { get; }

    public bool ReadOnly { get; }

    public long Length { get; }

    public long? AllocatedBytes => null;

    /// <summary>The size of a block device (a file's length says 0 for one), from sysfs; null for anything else.</summary>
    private static long? BlockDeviceLength(string path)
    {
        if (!path.StartsWith("/dev/", StringComparison.Ordinal))
        {
            return null;
        }

        string name = System.IO.Path.GetFileName(new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path);
        string sectors = $"/sys/class/block/{name}/size";
        return File.Exists(sectors)
            && long.TryParse(File.ReadAllText(sectors).Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long n)
            ? n * 512
            : null;
    }

    public ValueTask ReadAsync(long offset, Memory<byte> destination, CancellationToken cancellationToken) =>
        ReadFullyAsync(offset, destination, cancellationToken);

    public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> source, CancellationToken cancellationToken) =>
        RandomAccess.WriteAsync(_handle, source, offset, cancellationToken);

    public ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        if (!ReadOnly)
        {
            _stream.Flush(flushToDisk: true);
        }

        return ValueTask.CompletedTask;
    }

    public async ValueTask WriteZeroesAsync(long offset, long length, bool deallocate, CancellationToken cancellationToken)
    {
        while (length > 0)
        {
            int n = (int)Math.Min(length, Zeroes.Length);
            await RandomAccess.WriteAsync(_handle, Zeroes[..n], offset, cancellationToken).ConfigureAwait(false);
            offset += n;
            length -= n;
        }
    }

    public void Dispose() => _stream.Dispose();

    private async ValueTask ReadFullyAsync(long offset, Memory<byte> destination, CancellationToken cancellationToken)
    {
        while (!destination.IsEmpty)
        {
            int n = await RandomAccess.ReadAsync(_handle, destination, offset, cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                // Past the end of a file that shrank underneath us: read as zeroes rather than fail the host.
                destination.Span.Clear();
                return;
            }

            destination = destination[n..];
            offset += n;
        }
    }
}
