namespace NvmePS.Fuzz;

/// <summary>One fuzz target: a parser or state machine of the engine fed one input. A target returns normally for any
/// input the engine handles as it should, including a clean refusal (a typed <see cref="NvmePS.Engine.NvmeException"/>);
/// anything else escaping it is a finding: an unexpected exception, a broken invariant (<see cref="FuzzFindingException"/>)
/// or an input the engine did not finish with in time (<see cref="FuzzHangException"/>).</summary>
public abstract class FuzzTarget : IDisposable
{
    /// <summary>How long a stream target waits for the engine to finish with one input before calling it a hang. The
    /// engine's own deadlines (PDU, connect) are set well below it, so reaching it means something waits forever.</summary>
    public static readonly TimeSpan HangBound = TimeSpan.FromSeconds(10);

    public abstract void Run(ReadOnlySpan<byte> input);

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
    }

    /// <summary>Every target: its name, the largest input worth trying (libFuzzer's -max_len) and what it covers. Kept
    /// apart from the targets, so listing them runs no engine code (instrumented code needs the fuzzer's memory).</summary>
    public static IReadOnlyList<(string Name, int MaxLength, string Summary)> Catalog { get; } =
    [
        (TcpPduTarget.TargetName, TcpPduTarget.MaxInputLength, TcpPduTarget.Summary),
        (ControllerStreamTarget.TargetName, ControllerStreamTarget.MaxInputLength, ControllerStreamTarget.Summary),
        (HostStreamTarget.TargetName, HostStreamTarget.MaxInputLength, HostStreamTarget.Summary),
        (MiResponseTarget.TargetName, DefaultMaxLength, MiResponseTarget.Summary),
        (MiRequestTarget.TargetName, DefaultMaxLength, MiRequestTarget.Summary),
        (MctpDemuxTarget.TargetName, DefaultMaxLength, MctpDemuxTarget.Summary),
        (AdminStructuresTarget.TargetName, DefaultMaxLength, AdminStructuresTarget.Summary),
        (DBusTreeTarget.TargetName, DefaultMaxLength, DBusTreeTarget.Summary),
    ];

    public const int DefaultMaxLength = 4096;

    public static IEnumerable<string> Names => Catalog.Select(t => t.Name);

    public static FuzzTarget Create(string name) => name switch
    {
        TcpPduTarget.TargetName => new TcpPduTarget(),
        ControllerStreamTarget.TargetName => new ControllerStreamTarget(),
        HostStreamTarget.TargetName => new HostStreamTarget(),
        MiResponseTarget.TargetName => new MiResponseTarget(),
        MiRequestTarget.TargetName => new MiRequestTarget(),
        MctpDemuxTarget.TargetName => new MctpDemuxTarget(),
        AdminStructuresTarget.TargetName => new AdminStructuresTarget(),
        DBusTreeTarget.TargetName => new DBusTreeTarget(),
        _ => throw new ArgumentException($"No fuzz target '{name}'. Targets: {string.Join(", ", Names)}.", nameof(name)),
    };

    /// <summary>Runs <paramref name="task"/> to completion within <see cref="HangBound"/>; past it, a hang.</summary>
    protected static T Within<T>(Task<T> task, string what)
    {
        // Waits without throwing, so the task's own exception (not an AggregateException) reaches the caller.
        if (!((IAsyncResult)task).AsyncWaitHandle.WaitOne(HangBound))
        {
            throw new FuzzHangException($"{what} did not finish within {HangBound.TotalSeconds:0} s.");
        }

        return task.GetAwaiter().GetResult();
    }

    /// <inheritdoc cref="Within{T}(Task{T}, string)"/>
    protected static void Within(Task task, string what)
    {
        if (!((IAsyncResult)task).AsyncWaitHandle.WaitOne(HangBound))
        {
            throw new FuzzHangException($"{what} did not finish within {HangBound.TotalSeconds:0} s.");
        }

        task.GetAwaiter().GetResult();
    }

    /// <summary>NVMEPS_FUZZ_VERBOSE=1: `replay` prints how each input ended, to see how deep a seed reaches.</summary>
    public static bool Verbose { get; } = Environment.GetEnvironmentVariable("NVMEPS_FUZZ_VERBOSE") == "1";

    /// <summary>Records a clean refusal (for <see cref="Verbose"/>).</summary>
    protected static void Refused(Exception e)
    {
        if (Verbose)
        {
            Console.Error.WriteLine($"  refused: {e.GetType().Name}: {e.Message}");
        }
    }

    protected static void Check(bool condition, string invariant)
    {
        if (!condition)
        {
            throw new FuzzFindingException(invariant);
        }
    }
}

/// <summary>An invariant of the engine did not hold for an input.</summary>
public sealed class FuzzFindingException(string message) : Exception(message);

/// <summary>The engine did not finish with an input within <see cref="FuzzTarget.HangBound"/>.</summary>
public sealed class FuzzHangException(string message) : Exception(message);
