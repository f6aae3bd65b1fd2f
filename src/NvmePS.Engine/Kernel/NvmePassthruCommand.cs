using System.Buffers.Binary;

namespace NvmePS.Engine.Kernel;

/// <summary>
/// <c>struct nvme_passthru_cmd64</c> of linux/nvme_ioctl.h (80 bytes), the argument of NVME_IOCTL_ADMIN64_CMD and
/// NVME_IOCTL_IO64_CMD; <see cref="LegacySize"/> is <c>struct nvme_passthru_cmd</c> (72 bytes, 32-bit result) for
/// kernels before 5.4. The data pointer is a user address the kernel maps; the ioctl writes back only the result.
/// </summary>
public readonly record struct NvmePassthruCommand(
    byte Opcode, byte Flags, uint Nsid, uint Cdw2, uint Cdw3, ulong Metadata, ulong Addr, uint MetadataLen, uint DataLen,
    uint Cdw10, uint Cdw11, uint Cdw12, uint Cdw13, uint Cdw14, uint Cdw15, uint TimeoutMs)
{
    public const int Size = 80;
    public const int LegacySize = 72;

    public const int OpcodeOffset = 0;
    public const int FlagsOffset = 1;
    public const int NsidOffset = 4;
    public const int Cdw2Offset = 8;
    public const int Cdw3Offset = 12;
    public const int MetadataOffset = 16;
    public const int AddrOffset = 24;
    public const int MetadataLenOffset = 32;
    public const int DataLenOffset = 36;
    public const int Cdw10Offset = 40;
    public const int TimeoutMsOffset = 64;
    /// <summary>__u64 result in the 64-bit form; __u32 result at the same offset in the legacy form.</summary>
    public const int ResultOffset = 72;
    public const int LegacyResultOffset = 68;

    private const uint IocWrite = 1, IocRead = 2;

    private static uint Iowr(byte nr, int size) => ((IocRead | IocWrite) << 30) | ((uint)size << 16) | ((uint)'N' << 8) | nr;

    /// <summary>_IO('N', 0x40): the namespace id of a namespace device.</summary>
    public static readonly uint IoctlId = ((uint)'N' << 8) | 0x40;
    /// <summary>_IOWR('N', 0x41, struct nvme_passthru_cmd).</summary>
    public static readonly uint IoctlAdminCmd = Iowr(0x41, LegacySize);
    /// <summary>_IOWR('N', 0x43, struct nvme_passthru_cmd).</summary>
    public static readonly uint IoctlIoCmd = Iowr(0x43, LegacySize);
    /// <summary>_IO('N', 0x44): controller reset.</summary>
    public static readonly uint IoctlReset = ((uint)'N' << 8) | 0x44;
    /// <summary>_IO('N', 0x46): namespace rescan.</summary>
    public static readonly uint IoctlRescan = ((uint)'N' << 8) | 0x46;
    /// <summary>_IOWR('N', 0x47, struct nvme_passthru_cmd64).</summary>
    public static readonly uint IoctlAdmin64Cmd = Iowr(0x47, Size);
    /// <summary>_IOWR('N', 0x48, struct nvme_passthru_cmd64).</summary>
    public static readonly uint IoctlIo64Cmd = Iowr(0x48, Size);

    /// <summary>The ioctl argument for an NVMe command (CDW0's opcode, NSID, CDW2-3, CDW10-15) and a data buffer.</summary>
    public static NvmePassthruCommand From(in NvmeCommand command, ulong dataAddress, uint dataLength, uint timeoutMs) =>
        new(command.Opcode, 0, command.Nsid, command.Cdw2, command.Cdw3, 0, dataAddress, 0, dataLength,
            command.Cdw10, command.Cdw11, command.Cdw12, command.Cdw13, command.Cdw14, command.Cdw15, timeoutMs);

    /// <summary>Writes the structure; <paramref name="legacy"/> selects the 72-byte nvme_passthru_cmd.</summary>
    public void WriteTo(Span<byte> destination, bool legacy = false)
    {
        int size = legacy ? LegacySize : Size;
        if (destination.Length < size)
        {
            throw new ArgumentException($"nvme_passthru_cmd{(legacy ? string.Empty : "64")} needs {size} bytes.", nameof(destination));
        }

        destination[..size].Clear();
        destination[OpcodeOffset] = Opcode;
        destination[FlagsOffset] = Flags;
        BinaryPrimitives.WriteUInt32LittleEndian(destination[NsidOffset..], Nsid);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[Cdw2Offset..], Cdw2);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[Cdw3Offset..], Cdw3);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[MetadataOffset..], Metadata);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[AddrOffset..], Addr);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[MetadataLenOffset..], MetadataLen);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[DataLenOffset..], DataLen);
        Span<uint> cdws = [Cdw10, Cdw11, Cdw12, Cdw13, Cdw14, Cdw15];
        for (int i = 0; i < cdws.Length; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(destination[(Cdw10Offset + (4 * i))..], cdws[i]);
        }

        BinaryPrimitives.WriteUInt32LittleEndian(destination[TimeoutMsOffset..], TimeoutMs);
    }

    /// <summary>The result the kernel wrote back (the completion's DW0, and DW1 in the 64-bit form).</summary>
    public static ulong ReadResult(ReadOnlySpan<byte> source, bool legacy = false) => legacy
        ? BinaryPrimitives.ReadUInt32LittleEndian(source[LegacyResultOffset..])
        : BinaryPrimitives.ReadUInt64LittleEndian(source[ResultOffset..]);

    /// <summary>
    /// A completion from the ioctl's outcome: a positive return value is the NVMe status the kernel stores (the CQE
    /// status field without its phase tag, linux/nvme.h <c>nvme_req(req)->status</c>).
    /// </summary>
    public static NvmeCompletion CompletionFrom(int ioctlReturn, ulong result) =>
        new((uint)result, (uint)(result >> 32), 0, 0, 0, (ushort)(ioctlReturn << 1));
}
