namespace NvmePS.Engine;

/// <summary>Status Code Type values (NVM Express Base Specification 2.0, Figure 93).</summary>
public enum NvmeStatusCodeType : byte
{
    Generic = 0,
    CommandSpecific = 1,
    MediaAndDataIntegrity = 2,
    PathRelated = 3,
    VendorSpecific = 7,
}

/// <summary>Which command set a status came from: command-specific codes overlap between sets (0x80 is
/// "Conflicting Attributes" for an NVM command but "Incompatible Format" for a Fabrics Connect).</summary>
public enum NvmeCommandContext
{
    Admin,
    Nvm,
    Fabrics,
}

/// <summary>
/// The Status Field of a completion without the phase tag (NVM Express Base Specification 2.0, §4.6.1, Figure 92):
/// SC bits 7:0, SCT bits 10:8, CRD bits 12:11, M bit 13, DNR bit 14 of the 15-bit field.
/// </summary>
public readonly record struct NvmeStatus(NvmeStatusCodeType Sct, byte Sc, bool Dnr = false, bool More = false, byte Crd = 0)
{
    public static readonly NvmeStatus Success = new(NvmeStatusCodeType.Generic, 0);

    public bool IsSuccess => Sct == NvmeStatusCodeType.Generic && Sc == 0;

    /// <summary>Decodes the 16-bit CQE status word (bit 0 is the phase tag and is ignored).</summary>
    public static NvmeStatus FromStatusField(ushort statusField)
    {
        int s = statusField >> 1;
        return new NvmeStatus(
            (NvmeStatusCodeType)((s >> 8) & 0x7),
            (byte)(s & 0xFF),
            Dnr: (s & (1 << 14)) != 0,
            More: (s & (1 << 13)) != 0,
            Crd: (byte)((s >> 11) & 0x3));
    }

    /// <summary>Encodes as the 16-bit CQE status word with the phase tag clear.</summary>
    public ushort ToStatusField()
    {
        int s = Sc | (((int)Sct & 0x7) << 8) | ((Crd & 0x3) << 11) | (More ? 1 << 13 : 0) | (Dnr ? 1 << 14 : 0);
        return (ushort)(s << 1);
    }

    public static NvmeStatus Generic(byte sc, bool dnr = true) => new(NvmeStatusCodeType.Generic, sc, dnr);

    public static NvmeStatus CommandSpecific(byte sc, bool dnr = true) => new(NvmeStatusCodeType.CommandSpecific, sc, dnr);

    /// <summary>The status's name from the specification, for the given command set.</summary>
    public string GetName(NvmeCommandContext context = NvmeCommandContext.Admin) => NvmeStatusNames.Describe(this, context);

    public override string ToString() =>
        $"{GetName()} (SCT {(int)Sct:X}h, SC {Sc:X2}h{(Dnr ? ", DNR" : string.Empty)})";
}

/// <summary>Status code names from NVM Express Base Specification 2.0 §4.6.1.2, the NVM Command Set Specification
/// and the NVM Express over Fabrics Specification (§4.2 Connect status values).</summary>
public static class NvmeStatusNames
{
    /// <summary>Common status values used by this engine's controller and checks.</summary>
    public const byte InvalidCommandOpcode = 0x01;
    public const byte InvalidFieldInCommand = 0x02;
    public const byte CommandIdConflict = 0x03;
    public const byte DataTransferError = 0x04;
    public const byte InternalError = 0x06;
    public const byte CommandAbortRequested = 0x07;
    public const byte InvalidNamespaceOrFormat = 0x0B;
    public const byte CommandSequenceError = 0x0C;
    public const byte DataSglLengthInvalid = 0x0F;
    public const byte SglDescriptorTypeInvalid = 0x11;
    public const byte SglOffsetInvalid = 0x16;
    public const byte KeepAliveTimerExpired = 0x19;
    public const byte LbaOutOfRange = 0x80;
    public const byte InvalidLogPage = 0x09;
    public const byte FeatureNotChangeable = 0x0E;
    public const byte InvalidQueueIdentifier = 0x01;
    public const byte InvalidQueueSize = 0x02;
    public const byte AsyncEventRequestLimitExceeded = 0x05;
    public const byte ConnectIncompatibleFormat = 0x80;
    public const byte ConnectControllerBusy = 0x81;
    public const byte ConnectInvalidParameters = 0x82;
    public const byte ConnectRestartDiscovery = 0x83;
    public const byte ConnectInvalidHost = 0x84;

    /// <summary>Command specific 91h: the queue must authenticate first (NVMe Base 2.0 §8.13.4).</summary>
    public const byte AuthenticationRequired = 0x91;

    // Generic (SCT 0) values the controller and the simulator return.
    public const byte CommandAbortedDueToSqDeletion = 0x08;
    public const byte HostIdentifierInconsistentFormat = 0x18;
    public const byte SanitizeInProgress = 0x1D;
    public const byte NamespaceIsWriteProtected = 0x20;
    public const byte TransientTransportError = 0x22;

    // Command specific (SCT 1) values.
    public const byte InvalidFirmwareSlot = 0x06;
    public const byte InvalidFirmwareImage = 0x07;
    public const byte InvalidFormat = 0x0A;
    public const byte FeatureIdentifierNotSaveable = 0x0D;
    public const byte OverlappingRange = 0x14;
    public const byte NamespaceInsufficientCapacity = 0x15;
    public const byte NamespaceIdentifierUnavailable = 0x16;
    public const byte NamespaceAlreadyAttached = 0x18;
    public const byte NamespaceIsPrivate = 0x19;
    public const byte ThinProvisioningNotSupported = 0x1B;
    public const byte NamespaceNotAttached = 0x1A;
    public const byte ControllerListInvalid = 0x1C;
    public const byte DeviceSelfTestInProgress = 0x1D;

    // Media and data integrity (SCT 2) values.
    public const byte WriteFault = 0x80;
    public const byte UnrecoveredReadError = 0x81;
    public const byte CompareFailure = 0x85;

    private static readonly Dictionary<byte, string> GenericNames = new()
    {
        [0x00] = "Successful Completion",
        [0x01] = "Invalid Command Opcode",
        [0x02] = "Invalid Field in Command",
        [0x03] = "Command ID Conflict",
        [0x04] = "Data Transfer Error",
        [0x05] = "Commands Aborted due to Power Loss Notification",
        [0x06] = "Internal Error",
        [0x07] = "Command Abort Requested",
        [0x08] = "Command Aborted due to SQ Deletion",
        [0x09] = "Command Aborted due to Failed Fused Command",
        [0x0A] = "Command Aborted due to Missing Fused Command",
        [0x0B] = "Invalid Namespace or Format",
        [0x0C] = "Command Sequence Error",
        [0x0D] = "Invalid SGL Segment Descriptor",
        [0x0E] = "Invalid Number of SGL Descriptors",
        [0x0F] = "Data SGL Length Invalid",
        [0x10] = "Metadata SGL Length Invalid",
        [0x11] = "SGL Descriptor Type Invalid",
        [0x12] = "Invalid Use of Controller Memory Buffer",
        [0x13] = "PRP Offset Invalid",
        [0x14] = "Atomic Write Unit Exceeded",
        [0x15] = "Operation Denied",
        [0x16] = "SGL Offset Invalid",
        [0x18] = "Host Identifier Inconsistent Format",
        [0x19] = "Keep Alive Timer Expired",
        [0x1A] = "Keep Alive Timeout Invalid",
        [0x1B] = "Command Aborted due to Preempt and Abort",
        [0x1C] = "Sanitize Failed",
        [0x1D] = "Sanitize In Progress",
        [0x1E] = "SGL Data Block Granularity Invalid",
        [0x1F] = "Command Not Supported for Queue in CMB",
        [0x20] = "Namespace is Write Protected",
        [0x21] = "Command Interrupted",
        [0x22] = "Transient Transport Error",
        [0x23] = "Command Prohibited by Command and Feature Lockdown",
        [0x24] = "Admin Command Media Not Ready",
        [0x80] = "LBA Out of Range",
        [0x81] = "Capacity Exceeded",
        [0x82] = "Namespace Not Ready",
        [0x83] = "Reservation Conflict",
        [0x84] = "Format In Progress",
    };

    private static readonly Dictionary<byte, string> CommandSpecificNames = new()
    {
        [0x00] = "Completion Queue Invalid",
        [0x01] = "Invalid Queue Identifier",
        [0x02] = "Invalid Queue Size",
        [0x03] = "Abort Command Limit Exceeded",
        [0x05] = "Asynchronous Event Request Limit Exceeded",
        [0x06] = "Invalid Firmware Slot",
        [0x07] = "Invalid Firmware Image",
        [0x08] = "Invalid Interrupt Vector",
        [0x09] = "Invalid Log Page",
        [0x0A] = "Invalid Format",
        [0x0B] = "Firmware Activation Requires Conventional Reset",
        [0x0C] = "Invalid Queue Deletion",
        [0x0D] = "Feature Identifier Not Saveable",
        [0x0E] = "Feature Not Changeable",
        [0x0F] = "Feature Not Namespace Specific",
        [0x10] = "Firmware Activation Requires NVM Subsystem Reset",
        [0x11] = "Firmware Activation Requires Controller Level Reset",
        [0x12] = "Firmware Activation Requires Maximum Time Violation",
        [0x13] = "Firmware Activation Prohibited",
        [0x14] = "Overlapping Range",
        [0x15] = "Namespace Insufficient Capacity",
        [0x16] = "Namespace Identifier Unavailable",
        [0x18] = "Namespace Already Attached",
        [0x19] = "Namespace Is Private",
        [0x1A] = "Namespace Not Attached",
        [0x1B] = "Thin Provisioning Not Supported",
        [0x1C] = "Controller List Invalid",
        [0x1D] = "Device Self-test In Progress",
        [0x1E] = "Boot Partition Write Prohibited",
        [0x1F] = "Invalid Controller Identifier",
        [0x20] = "Invalid Secondary Controller State",
        [0x21] = "Invalid Number of Controller Resources",
        [0x22] = "Invalid Resource Identifier",
        [0x23] = "Sanitize Prohibited While Persistent Memory Region is Enabled",
        [0x24] = "ANA Group Identifier Invalid",
        [0x25] = "ANA Attach Failed",
    };

    private static readonly Dictionary<byte, string> NvmCommandSpecificNames = new()
    {
        [0x80] = "Conflicting Attributes",
        [0x81] = "Invalid Protection Information",
        [0x82] = "Attempted Write to Read Only Range",
        [0x83] = "Command Size Limit Exceeded",
    };

    private static readonly Dictionary<byte, string> FabricsCommandSpecificNames = new()
    {
        [0x80] = "Incompatible Format",
        [0x81] = "Controller Busy",
        [0x82] = "Connect Invalid Parameters",
        [0x83] = "Connect Restart Discovery",
        [0x84] = "Connect Invalid Host",
        [0x85] = "Invalid Queue Type",
        [0x90] = "Discover Restart",
        [0x91] = "Authentication Required",
    };

    private static readonly Dictionary<byte, string> MediaNames = new()
    {
        [0x80] = "Write Fault",
        [0x81] = "Unrecovered Read Error",
        [0x82] = "End-to-end Guard Check Error",
        [0x83] = "End-to-end Application Tag Check Error",
        [0x84] = "End-to-end Reference Tag Check Error",
        [0x85] = "Compare Failure",
        [0x86] = "Access Denied",
        [0x87] = "Deallocated or Unwritten Logical Block",
        [0x88] = "End-to-End Storage Tag Check Error",
    };

    private static readonly Dictionary<byte, string> PathNames = new()
    {
        [0x00] = "Internal Path Error",
        [0x01] = "Asymmetric Access Persistent Loss",
        [0x02] = "Asymmetric Access Inaccessible",
        [0x03] = "Asymmetric Access Transition",
        [0x60] = "Controller Pathing Error",
        [0x70] = "Host Pathing Error",
        [0x71] = "Command Aborted By Host",
    };

    public static string Describe(NvmeStatus status, NvmeCommandContext context = NvmeCommandContext.Admin)
    {
        string? name = status.Sct switch
        {
            NvmeStatusCodeType.Generic => Lookup(GenericNames, status.Sc),
            NvmeStatusCodeType.CommandSpecific => status.Sc >= 0x80
                ? context switch
                {
                    NvmeCommandContext.Fabrics => Lookup(FabricsCommandSpecificNames, status.Sc),
                    NvmeCommandContext.Nvm => Lookup(NvmCommandSpecificNames, status.Sc),
                    _ => null,
                }
                : Lookup(CommandSpecificNames, status.Sc),
            NvmeStatusCodeType.MediaAndDataIntegrity => Lookup(MediaNames, status.Sc),
            NvmeStatusCodeType.PathRelated => Lookup(PathNames, status.Sc),
            NvmeStatusCodeType.VendorSpecific => "Vendor Specific",
            _ => null,
        };
        return name ?? $"Reserved or Unknown Status (SCT {(int)status.Sct:X}h, SC {status.Sc:X2}h)";
    }

    private static string? Lookup(Dictionary<byte, string> table, byte sc) => table.TryGetValue(sc, out var n) ? n : null;
}
