namespace NvmePS.Engine;

/// <summary>What failed, so a front end can map it to its own error categories without knowing each exception type.</summary>
public enum NvmeErrorKind
{
    /// <summary>The peer broke the protocol (malformed PDU or MI message).</summary>
    Protocol,
    /// <summary>The device answered with an error status (NVMe or NVMe-MI).</summary>
    DeviceStatus,
    /// <summary>The connection or transport failed or closed.</summary>
    Connection,
    /// <summary>No answer in time.</summary>
    Timeout,
    /// <summary>In-band authentication failed or was required and not possible.</summary>
    Authentication,
}

/// <summary>Base of every error the engine raises on purpose. <see cref="ErrorId"/> is stable across releases.</summary>
public abstract class NvmeException : Exception
{
    protected NvmeException(string message, Exception? inner = null) : base(message, inner)
    {
    }

    public abstract NvmeErrorKind Kind { get; }

    /// <summary>A stable identifier for scripts (PowerShell's FullyQualifiedErrorId prefix).</summary>
    public virtual string ErrorId => Kind switch
    {
        NvmeErrorKind.Protocol => "NvmeProtocolError",
        NvmeErrorKind.DeviceStatus => "NvmeDeviceStatus",
        NvmeErrorKind.Connection => "NvmeConnectionError",
        NvmeErrorKind.Authentication => "NvmeAuthenticationFailed",
        _ => "NvmeTimeout",
    };
}

/// <summary>A protocol violation. For NVMe/TCP, <see cref="FatalErrorStatus"/> is the FES of the termination
/// request and <see cref="FieldOffset"/> the byte offset of the first bad field in the PDU header.</summary>
public sealed class NvmeProtocolException : NvmeException
{
    public NvmeProtocolException(string message, byte? fatalErrorStatus = null, uint? fieldOffset = null, Exception? inner = null)
        : base(message, inner)
    {
        FatalErrorStatus = fatalErrorStatus;
        FieldOffset = fieldOffset;
    }

    public byte? FatalErrorStatus { get; }

    public uint? FieldOffset { get; }

    public override NvmeErrorKind Kind => NvmeErrorKind.Protocol;
}

/// <summary>An NVMe completion with an error status.</summary>
public sealed class NvmeStatusException : NvmeException
{
    public NvmeStatusException(NvmeCompletion completion, NvmeCommandContext context = NvmeCommandContext.Admin, string? operation = null)
        : base(FormatMessage(completion.Status, context, operation))
    {
        Completion = completion;
        Context = context;
    }

    public NvmeCompletion Completion { get; }

    public NvmeStatus Status => Completion.Status;

    public NvmeCommandContext Context { get; }

    public string StatusName => Status.GetName(Context);

    public override NvmeErrorKind Kind => NvmeErrorKind.DeviceStatus;

    private static string FormatMessage(NvmeStatus status, NvmeCommandContext context, string? operation)
    {
        string what = $"{status.GetName(context)} (SCT {(int)status.Sct:X}h, SC {status.Sc:X2}h{(status.Dnr ? ", DNR" : string.Empty)})";
        return operation is null ? what : $"{operation} failed: {what}";
    }
}

/// <summary>The connection closed, was reset, or could not be made.</summary>
public sealed class NvmeConnectionException : NvmeException
{
    private readonly string? _errorId;

    /// <param name="message">What failed, for the user.</param>
    /// <param name="inner">The underlying error.</param>
    /// <param name="errorId">A more specific stable id than NvmeConnectionError, for a cause a user acts on
    /// differently (no AF_MCTP in the kernel, for one).</param>
    public NvmeConnectionException(string message, Exception? inner = null, string? errorId = null) : base(message, inner)
    {
        _errorId = errorId;
    }

    /// <summary>The ErrorId of a kernel without AF_MCTP.</summary>
    public const string MctpUnavailableErrorId = "NvmeMctpUnavailable";

    public override NvmeErrorKind Kind => NvmeErrorKind.Connection;

    public override string ErrorId => _errorId ?? base.ErrorId;
}

/// <summary>No answer within the allowed time.</summary>
public sealed class NvmeTimeoutException : NvmeException
{
    public NvmeTimeoutException(string message, Exception? inner = null) : base(message, inner)
    {
    }

    public override NvmeErrorKind Kind => NvmeErrorKind.Timeout;
}

/// <summary>DH-HMAC-CHAP failed: the peer refused us (AUTH_Failure1/2 with <see cref="Reason"/>), proved the wrong key, or
/// authentication was required and no secret was given. Messages never contain a secret.</summary>
public sealed class NvmeAuthenticationException : NvmeException
{
    public NvmeAuthenticationException(string message, byte? reason = null, bool sentByPeer = false, Exception? inner = null) : base(message, inner)
    {
        Reason = reason;
        SentByPeer = sentByPeer;
    }

    /// <summary>The AUTH_Failure reason code explanation (1 failed, 2 protocol, 3 concatenation, 4 hash, 5 DH group,
    /// 6 payload, 7 message), or null when no failure message was involved.</summary>
    public byte? Reason { get; }

    /// <summary>True when the peer sent the failure; false when this side detected it (and told the peer).</summary>
    public bool SentByPeer { get; }

    public override NvmeErrorKind Kind => NvmeErrorKind.Authentication;
}

/// <summary>The messages of .NET's argument exceptions, for the person who typed the argument.</summary>
public static class ArgumentMessages
{
    /// <summary><paramref name="e"/>'s message without the " (Parameter 'x')" .NET appends, which names the argument
    /// of the code that threw, on one line (an ArgumentOutOfRangeException puts "Actual value was …" on the next).</summary>
    public static string WithoutArgumentName(ArgumentException e)
    {
        ArgumentNullException.ThrowIfNull(e);
        string message = e.ParamName is { } name ? e.Message.Replace($" (Parameter '{name}')", string.Empty, StringComparison.Ordinal) : e.Message;
        return string.Join(' ', message.Split(["\r\n", "\n"], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }
}
