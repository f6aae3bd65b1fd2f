using System.Buffers;

namespace NvmePS.Engine.Fabrics.Tcp;

/// <summary>A received PDU header, decoded. Only the fields of its <see cref="Type"/> are meaningful.</summary>
public readonly record struct NvmeTcpReceivedHeader(
    NvmeTcpPduType Type,
    NvmeTcpPduFlags Flags,
    NvmeTcpPduLayout Layout,
    NvmeCommand Command,
    NvmeCompletion Completion,
    ushort Cccid,
    ushort Ttag,
    uint Offset,
    uint Length)
{
    /// <summary>Bytes of data that follow (excluding padding and digest).</summary>
    public int DataLength => Layout.DataLength;

    public bool IsLast => (Flags & NvmeTcpPduFlags.LastPdu) != 0;

    public bool IsSuccess => (Flags & NvmeTcpPduFlags.Success) != 0;

    public H2CDataPdu H2CData => new(Cccid, Ttag, Offset, Length);

    public C2HDataPdu C2HData => new(Cccid, Offset, Length);

    public R2TPdu R2T => new(Cccid, Ttag, Offset, Length);
}

/// <summary>A received PDU with its data in a pooled buffer; dispose to return the buffer.</summary>
public sealed class NvmeTcpReceivedPdu : IDisposable
{
    private byte[]? _buffer;

    internal NvmeTcpReceivedPdu(NvmeTcpReceivedHeader header, byte[]? buffer, bool dataDigestOk)
    {
        Header = header;
        _buffer = buffer;
        DataDigestOk = dataDigestOk;
    }

    public NvmeTcpReceivedHeader Header { get; }

    /// <summary>False when the data digest did not match (the data is suspect; see <see cref="NvmeTcpQueuePair.ReceiveDataAsync"/>).</summary>
    public bool DataDigestOk { get; }

    /// <summary>The PDU data (empty when none).</summary>
    public ReadOnlyMemory<byte> Data => _buffer is null ? ReadOnlyMemory<byte>.Empty : _buffer.AsMemory(0, Header.DataLength);

    public void Dispose()
    {
        var b = Interlocked.Exchange(ref _buffer, null);
        if (b is not null)
        {
            ArrayPool<byte>.Shared.Return(b);
        }
    }
}
