using System.Buffers.Binary;

namespace NvmePS.Engine;

/// <summary>
/// A 16-byte Completion Queue Entry (NVM Express Base Specification 2.0, §4.6 "Completion Queue Entry").
/// </summary>
public readonly record struct NvmeCompletion(uint Dw0, uint Dw1, ushort Sqhd, ushort Sqid, ushort Cid, ushort StatusField)
{
    /// <summary>Size of a CQE in bytes.</summary>
    public const int Size = 16;

    public const int Dw0Offset = 0;
    public const int Dw1Offset = 4;
    public const int SqhdOffset = 8;
    public const int SqidOffset = 10;
    public const int CidOffset = 12;
    public const int StatusOffset = 14;

    /// <summary>The status field without the phase tag.</summary>
    public NvmeStatus Status => NvmeStatus.FromStatusField(StatusField);

    /// <summary>True when SCT and SC are both zero.</summary>
    public bool IsSuccess => Status.IsSuccess;

    /// <summary>Builds a completion from a decoded status (phase tag 0, as fabrics transports carry it).</summary>
    public static NvmeCompletion Create(ushort cid, NvmeStatus status, uint dw0 = 0, uint dw1 = 0, ushort sqhd = 0, ushort sqid = 0)
        => new(dw0, dw1, sqhd, sqid, cid, status.ToStatusField());

    public void WriteTo(Span<byte> destination)
    {
        if (destination.Length < Size)
        {
            throw new ArgumentException("A CQE needs 16 bytes.", nameof(destination));
        }

        BinaryPrimitives.WriteUInt32LittleEndian(destination[Dw0Offset..], Dw0);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[Dw1Offset..], Dw1);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[SqhdOffset..], Sqhd);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[SqidOffset..], Sqid);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[CidOffset..], Cid);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[StatusOffset..], StatusField);
    }

    public static bool TryRead(ReadOnlySpan<byte> source, out NvmeCompletion completion)
    {
        if (source.Length < Size)
        {
            completion = default;
            return false;
        }

        completion = new NvmeCompletion(
            BinaryPrimitives.ReadUInt32LittleEndian(source[Dw0Offset..]),
            BinaryPrimitives.ReadUInt32LittleEndian(source[Dw1Offset..]),
            BinaryPrimitives.ReadUInt16LittleEndian(source[SqhdOffset..]),
            BinaryPrimitives.ReadUInt16LittleEndian(source[SqidOffset..]),
            BinaryPrimitives.ReadUInt16LittleEndian(source[CidOffset..]),
            BinaryPrimitives.ReadUInt16LittleEndian(source[StatusOffset..]));
        return true;
    }
}
