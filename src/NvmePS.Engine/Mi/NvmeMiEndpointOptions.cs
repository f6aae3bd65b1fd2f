namespace NvmePS.Engine.Mi;

/// <summary>Per-endpoint behaviour of <see cref="NvmeMiEndpoint"/>.</summary>
public sealed record NvmeMiEndpointOptions
{
    /// <summary>Response timeout of one command (and the MPR wait when the endpoint reports MPRT 0). Default 5 s.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Cap on one More Processing Required wait: MPRT × 100 ms is clamped to this. Default 60 s.</summary>
    public TimeSpan MaxMprWait { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Most consecutive MPR responses accepted for one command before giving up. Default 32.</summary>
    public int MaxConsecutiveMpr { get; init; } = 32;

    /// <summary>Total deadline of one command, MPR waits included. Default 5 minutes.</summary>
    public TimeSpan CommandDeadline { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Least time between a response and the next request (some drives drop commands sent sooner). Default 0.</summary>
    public TimeSpan MinimumInterCommandDelay { get; init; } = TimeSpan.Zero;

    /// <summary>CSI: command slot used for requests (0 or 1).</summary>
    public byte CommandSlot { get; init; }

    /// <summary>Per-command timeout override for tunnelled Admin commands (null keeps <see cref="Timeout"/>).
    /// The default gives Firmware Commit, Format NVM, Sanitize and Device Self-test two minutes.</summary>
    public Func<NvmeCommand, TimeSpan?>? AdminTimeout { get; init; } = DefaultAdminTimeout;

    public static TimeSpan? DefaultAdminTimeout(NvmeCommand command) => command.Opcode switch
    {
        0x10 or 0x80 or 0x84 or 0x14 => TimeSpan.FromMinutes(2),
        _ => null,
    };

    internal void Validate()
    {
        if (Timeout <= TimeSpan.Zero || MaxMprWait <= TimeSpan.Zero || CommandDeadline <= TimeSpan.Zero)
        {
            throw new ArgumentException("Timeouts must be positive.");
        }

        if (MaxConsecutiveMpr < 0 || MinimumInterCommandDelay < TimeSpan.Zero || CommandSlot > 1)
        {
            throw new ArgumentException("Invalid MPR cap, inter-command delay or command slot.");
        }
    }
}
