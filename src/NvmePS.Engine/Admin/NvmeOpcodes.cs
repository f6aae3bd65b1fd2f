namespace NvmePS.Engine.Admin;

/// <summary>Admin command opcodes (NVM Express Base Specification 2.0, §5 Figure 28 "Opcodes for Admin Commands").</summary>
public static class NvmeAdminOpcode
{
    public const byte DeleteIoSubmissionQueue = 0x00;
    public const byte CreateIoSubmissionQueue = 0x01;
    public const byte GetLogPage = 0x02;
    public const byte DeleteIoCompletionQueue = 0x04;
    public const byte CreateIoCompletionQueue = 0x05;
    public const byte Identify = 0x06;
    public const byte Abort = 0x08;
    public const byte SetFeatures = 0x09;
    public const byte GetFeatures = 0x0A;
    public const byte AsynchronousEventRequest = 0x0C;
    public const byte NamespaceManagement = 0x0D;
    public const byte FirmwareCommit = 0x10;
    public const byte FirmwareImageDownload = 0x11;
    public const byte DeviceSelfTest = 0x14;
    public const byte NamespaceAttachment = 0x15;
    public const byte KeepAlive = 0x18;
    /// <summary>Fabrics commands (Connect, Property Get/Set, ...) share this opcode; FCTYPE selects the command.</summary>
    public const byte DoorbellBufferConfig = 0x7C;
    public const byte FabricsCommand = 0x7F;
    public const byte FormatNvm = 0x80;
    public const byte SecuritySend = 0x81;
    public const byte SecurityReceive = 0x82;
    public const byte Sanitize = 0x84;

    /// <summary>The data direction encoded in opcode bits 1:0 (Base Spec §5: 01b host to controller, 10b controller to host).</summary>
    public static NvmeDataDirection DataDirection(byte opcode) => (NvmeDataDirection)(opcode & 0x3);
}

/// <summary>NVM command set I/O opcodes (NVM Command Set Specification 1.0, §3 Figure 14).</summary>
public static class NvmeIoOpcode
{
    public const byte Flush = 0x00;
    public const byte Write = 0x01;
    public const byte Read = 0x02;
    public const byte WriteUncorrectable = 0x04;
    public const byte Compare = 0x05;
    public const byte WriteZeroes = 0x08;
    public const byte DatasetManagement = 0x09;
}

/// <summary>Opcode bits 1:0, the data transfer direction.</summary>
public enum NvmeDataDirection : byte
{
    None = 0,
    HostToController = 1,
    ControllerToHost = 2,
    Bidirectional = 3,
}
