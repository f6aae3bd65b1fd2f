namespace NvmePS.Engine.DBus;

/// <summary>Why the MCTP daemon could not be asked.</summary>
public enum MctpdFailure
{
    /// <summary>No D-Bus at the address (no socket, refused, or an address that does not parse).</summary>
    NoBus,

    /// <summary>The bus has no MCTP daemon on it (org.freedesktop.DBus.Error.ServiceUnknown for both layouts).</summary>
    NotRunning,

    /// <summary>The bus policy or the daemon refused the call (org.freedesktop.DBus.Error.AccessDenied).</summary>
    AccessDenied,

    /// <summary>The daemon answered with another D-Bus error.</summary>
    Failed,
}

/// <summary>An MCTP daemon (mctpd) request over D-Bus failed; <see cref="Failure"/> says how.</summary>
public sealed class MctpdException : NvmeException
{
    public MctpdException(MctpdFailure failure, string message, string? dbusErrorName = null, Exception? inner = null) : base(message, inner)
    {
        Failure = failure;
        DBusErrorName = dbusErrorName;
    }

    public MctpdFailure Failure { get; }

    /// <summary>The D-Bus error name when the bus or daemon answered with one.</summary>
    public string? DBusErrorName { get; }

    public override NvmeErrorKind Kind => NvmeErrorKind.Connection;

    public override string ErrorId => Failure switch
    {
        MctpdFailure.NoBus => "MctpdNoBus",
        MctpdFailure.NotRunning => "MctpdNotRunning",
        MctpdFailure.AccessDenied => "MctpdAccessDenied",
        _ => "MctpdError",
    };
}
