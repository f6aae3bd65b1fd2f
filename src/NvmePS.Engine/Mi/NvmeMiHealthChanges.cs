using System.Globalization;

namespace NvmePS.Engine.Mi;

/// <summary>One difference between two health polls of the same subsystem or controller.</summary>
/// <param name="ControllerId">Null for the subsystem's health, else the controller's id.</param>
/// <param name="Change">What changed: CriticalWarning, Temperature, TemperatureThreshold, PercentageUsed, AvailableSpare,
/// DriveFunctional or ControllerStatus.</param>
/// <param name="OldValue">The value at the previous poll, as text.</param>
/// <param name="NewValue">The value now, as text.</param>
public sealed record NvmeMiHealthChange(ushort? ControllerId, string Change, string OldValue, string NewValue);

/// <summary>
/// What changed between two health polls, for Watch-NvmeMiHealth. Temperature is reported when it crosses a given
/// threshold (either way) and, without one, when it moves by at least <see cref="TemperatureStepCelsius"/>: a sensor's
/// one-degree jitter is not news.
/// </summary>
public static class NvmeMiHealthChanges
{
    public const int TemperatureStepCelsius = 5;

    public static IReadOnlyList<NvmeMiHealthChange> Compare(NvmSubsystemHealthStatus before, NvmSubsystemHealthStatus after, int? thresholdCelsius)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        var changes = new List<NvmeMiHealthChange>();
        Add(changes, null, "CriticalWarning", before.Warnings, after.Warnings);
        Add(changes, null, "PercentageUsed", before.PercentageDriveLifeUsed, after.PercentageDriveLifeUsed);
        Add(changes, null, "DriveFunctional", before.DriveFunctional, after.DriveFunctional);
        int? t0 = Temperature(before);
        int? t1 = Temperature(after);
        Temperature(changes, null, t0, t1, thresholdCelsius);
        return changes;
    }

    public static IReadOnlyList<NvmeMiHealthChange> Compare(ControllerHealthStatus before, ControllerHealthStatus after, int? thresholdCelsius)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        var changes = new List<NvmeMiHealthChange>();
        ushort id = after.ControllerId;
        Add(changes, id, "CriticalWarning", before.Warnings, after.Warnings);
        Add(changes, id, "PercentageUsed", before.PercentageUsed, after.PercentageUsed);
        Add(changes, id, "AvailableSpare", before.AvailableSpare, after.AvailableSpare);
        Add(changes, id, "ControllerStatus", Status(before), Status(after));
        Temperature(changes, id, before.CompositeTemperatureCelsius, after.CompositeTemperatureCelsius, thresholdCelsius);
        return changes;
    }

    private static int? Temperature(NvmSubsystemHealthStatus h) => h.TemperatureStale || h.TemperatureSensorFailure ? null : h.CompositeTemperatureCelsius;

    private static string Status(ControllerHealthStatus h) =>
        $"{(h.Ready ? "Ready" : "NotReady")}{(h.FatalStatus ? ", Fatal" : string.Empty)}{h.ShutdownStatus switch { 1 => ", ShuttingDown", 2 => ", ShutDown", _ => string.Empty }}";

    private static void Temperature(List<NvmeMiHealthChange> changes, ushort? id, int? before, int? after, int? threshold)
    {
        if (before is null || after is null)
        {
            if (before != after)
            {
                changes.Add(new NvmeMiHealthChange(id, "Temperature", Text(before), Text(after)));
            }

            return;
        }

        if (threshold is int t)
        {
            if ((before >= t) != (after >= t))
            {
                changes.Add(new NvmeMiHealthChange(id, "TemperatureThreshold", Text(before), Text(after)));
            }
        }
        else if (Math.Abs(after.Value - before.Value) >= TemperatureStepCelsius)
        {
            changes.Add(new NvmeMiHealthChange(id, "Temperature", Text(before), Text(after)));
        }
    }

    private static string Text(int? celsius) => celsius is int c ? c.ToString(CultureInfo.InvariantCulture) + " °C" : "not reported";

    private static void Add<T>(List<NvmeMiHealthChange> changes, ushort? id, string name, T before, T after)
        where T : notnull
    {
        if (!EqualityComparer<T>.Default.Equals(before, after))
        {
            changes.Add(new NvmeMiHealthChange(id, name, Convert.ToString(before, CultureInfo.InvariantCulture)!, Convert.ToString(after, CultureInfo.InvariantCulture)!));
        }
    }
}
