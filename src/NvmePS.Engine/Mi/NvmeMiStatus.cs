namespace NvmePS.Engine.Mi;

/// <summary>Response Message Status values (NVMe-MI 1.2 §4.1.2, Figure 29).</summary>
public enum NvmeMiStatus : byte
{
    Success = 0x00,
    MoreProcessingRequired = 0x01,
    InternalError = 0x02,
    InvalidCommandOpcode = 0x03,
    InvalidParameter = 0x04,
    InvalidCommandSize = 0x05,
    InvalidCommandInputDataSize = 0x06,
    AccessDenied = 0x07,
    VpdUpdatesExceeded = 0x20,
    PcieInaccessible = 0x21,
    MebSanitized = 0x22,
    EnclosureServicesFailure = 0x23,
    EnclosureServicesTransferFailure = 0x24,
    EnclosureFailure = 0x25,
    EnclosureServicesTransferRefused = 0x26,
    UnsupportedEnclosureFunction = 0x27,
    EnclosureServicesUnavailable = 0x28,
    EnclosureDegraded = 0x29,
    SanitizeInProgress = 0x2A,
}

/// <summary>Names for <see cref="NvmeMiStatus"/> values as the specification spells them.</summary>
public static class NvmeMiStatusNames
{
    private static readonly Dictionary<byte, string> Names = new()
    {
        [0x00] = "Success",
        [0x01] = "More Processing Required",
        [0x02] = "Internal Error",
        [0x03] = "Invalid Command Opcode",
        [0x04] = "Invalid Parameter",
        [0x05] = "Invalid Command Size",
        [0x06] = "Invalid Command Input Data Size",
        [0x07] = "Access Denied",
        [0x20] = "VPD Updates Exceeded",
        [0x21] = "PCIe Inaccessible",
        [0x22] = "Management Endpoint Buffer Cleared Due to Sanitize",
        [0x23] = "Enclosure Services Failure",
        [0x24] = "Enclosure Services Transfer Failure",
        [0x25] = "Enclosure Failure",
        [0x26] = "Enclosure Services Transfer Refused",
        [0x27] = "Unsupported Enclosure Function",
        [0x28] = "Enclosure Services Unavailable",
        [0x29] = "Enclosure Degraded",
        [0x2A] = "Sanitize In Progress",
    };

    public static string Describe(byte status) =>
        Names.TryGetValue(status, out var name) ? name
        : status >= 0xE0 ? $"Vendor Specific (0x{status:X2})"
        : $"Reserved (0x{status:X2})";
}

/// <summary>An NVMe-MI response with an error Response Message Status. For Invalid Parameter the endpoint
/// reports where in the request the bad field is (NVMe-MI 1.2 Figure 31: LSBIT, LSBYTE).</summary>
public sealed class NvmeMiStatusException : NvmeException
{
    public NvmeMiStatusException(byte status, string operation, uint managementResponse = 0)
        : base(FormatMessage(status, operation, managementResponse))
    {
        StatusValue = status;
        Operation = operation;
        ManagementResponse = managementResponse;
    }

    /// <summary>The raw status byte.</summary>
    public byte StatusValue { get; }

    public NvmeMiStatus Status => (NvmeMiStatus)StatusValue;

    public string StatusName => NvmeMiStatusNames.Describe(StatusValue);

    public string Operation { get; }

    /// <summary>The 24-bit NVMe Management Response field of the error response.</summary>
    public uint ManagementResponse { get; }

    /// <summary>For Invalid Parameter: byte offset of the bad parameter in the request (LSBYTE).</summary>
    public ushort? ParameterByte => StatusValue == (byte)NvmeMiStatus.InvalidParameter ? (ushort)(ManagementResponse >> 8) : null;

    /// <summary>For Invalid Parameter: bit within that byte (LSBIT).</summary>
    public byte? ParameterBit => StatusValue == (byte)NvmeMiStatus.InvalidParameter ? (byte)(ManagementResponse & 0x7) : null;

    public override NvmeErrorKind Kind => NvmeErrorKind.DeviceStatus;

    public override string ErrorId => "NvmeMiStatus";

    private static string FormatMessage(byte status, string operation, uint nmresp)
    {
        string text = $"{operation} failed: NVMe-MI status {NvmeMiStatusNames.Describe(status)} (0x{status:X2})";
        if (status == (byte)NvmeMiStatus.InvalidParameter)
        {
            text += $", parameter at byte {nmresp >> 8} bit {nmresp & 0x7}";
        }

        return text;
    }
}
