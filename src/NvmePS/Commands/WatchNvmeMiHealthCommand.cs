using System.Management.Automation;
using NvmePS.Engine.Mi;

namespace NvmePS.Commands;

/// <summary>Watch-NvmeMiHealth: polls an endpoint's health and writes an object each time something changes.</summary>
[Cmdlet(VerbsCommon.Watch, "NvmeMiHealth", DefaultParameterSetName = ConnectionSet)]
[OutputType(typeof(NvmeMiHealthEvent))]
public sealed class WatchNvmeMiHealthCommand : NvmeMiEndpointCmdlet
{
    /// <summary>Also watch these controllers (Controller Health Status Poll).</summary>
    [Parameter]
    public ushort[] ControllerId { get; set; } = Array.Empty<ushort>();

    /// <summary>Seconds between polls.</summary>
    [Parameter]
    [ValidateRange(1, 86400)]
    public int IntervalSec { get; set; } = 5;

    /// <summary>Stop watching after this many seconds (0: until Ctrl+C).</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int TimeoutSec { get; set; }

    /// <summary>Report the temperature when it crosses this value, in °C, instead of on every 5 °C move.</summary>
    [Parameter]
    [ValidateRange(-128, 200)]
    public int? TemperatureThresholdCelsius { get; set; }

    protected override void ProcessRecord()
    {
        if (ResolveConnection() is not { } c)
        {
            return;
        }

        DateTime? end = TimeoutSec > 0 ? DateTime.UtcNow.AddSeconds(TimeoutSec) : null;
        var (subsystem, controllers) = Poll(c);
        bool reachable = subsystem is not null;
        WriteVerbose($"Watching {c.Name} every {IntervalSec} s{(end is null ? " until stopped" : $" for {TimeoutSec} s")}.");
        while (end is null || DateTime.UtcNow < end)
        {
            TimeSpan wait = TimeSpan.FromSeconds(IntervalSec);
            if (end is DateTime e && e - DateTime.UtcNow < wait)
            {
                wait = e - DateTime.UtcNow;
            }

            Wait(Task.Delay(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, StopToken));
            var (nowSubsystem, nowControllers) = Poll(c);
            bool nowReachable = nowSubsystem is not null;
            if (nowReachable != reachable)
            {
                Emit(c, new NvmeMiHealthChange(null, "Reachable", reachable.ToString(), nowReachable.ToString()));
            }

            if (subsystem is not null && nowSubsystem is not null)
            {
                foreach (var change in NvmeMiHealthChanges.Compare(subsystem, nowSubsystem, TemperatureThresholdCelsius))
                {
                    Emit(c, change);
                }

                foreach (var now in nowControllers)
                {
                    if (controllers.FirstOrDefault(p => p.ControllerId == now.ControllerId) is { } before)
                    {
                        foreach (var change in NvmeMiHealthChanges.Compare(before, now, TemperatureThresholdCelsius))
                        {
                            Emit(c, change);
                        }
                    }
                }
            }

            if (nowReachable)
            {
                (subsystem, controllers) = (nowSubsystem, nowControllers);
            }

            reachable = nowReachable;
        }
    }

    private (NvmSubsystemHealthStatus? Subsystem, IReadOnlyList<ControllerHealthStatus> Controllers) Poll(NvmeMiConnection c)
    {
        try
        {
            var subsystem = Wait(c.Endpoint.PollSubsystemHealthAsync(false, StopToken));
            var controllers = new List<ControllerHealthStatus>();
            foreach (ushort id in ControllerId)
            {
                var request = new ControllerHealthPollRequest { StartControllerId = id, MaxEntries = 1, ReportAll = true };
                controllers.AddRange(Wait(c.Endpoint.PollControllerHealthAsync(request, StopToken)).Where(s => s.ControllerId == id));
            }

            return (subsystem, controllers);
        }
        catch (Exception e) when (IsReportable(e))
        {
            // An endpoint that stops answering is itself a change to report; the watch goes on.
            WriteVerbose($"{c.Name} did not answer: {e.Message}");
            return (null, Array.Empty<ControllerHealthStatus>());
        }
    }

    private void Emit(NvmeMiConnection c, NvmeMiHealthChange change) => WriteObject(new NvmeMiHealthEvent
    {
        TimeStamp = DateTime.Now,
        EndpointName = c.Name,
        Network = c.Network,
        Eid = c.Eid,
        ControllerId = change.ControllerId,
        Change = change.Change,
        OldValue = change.OldValue,
        NewValue = change.NewValue,
    });
}
