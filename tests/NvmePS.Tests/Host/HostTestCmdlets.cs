using System.Management.Automation;

namespace NvmePS.Tests.Host;

// Cmdlets that exist only to exercise the stand-in host's binder and runtime; the module's own cmdlets are
// tested in Commands/.
public sealed class Widget
{
    public string Name { get; set; } = string.Empty;

    public int Size { get; set; }
}

public enum Shade
{
    Light,
    Dark,
}

[Cmdlet("Get", "Echo", DefaultParameterSetName = "ByName")]
[OutputType(typeof(string))]
public sealed class GetEchoCommand : PSCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = "ByName", ValueFromPipelineByPropertyName = true)]
    [Alias("Label")]
    public string Name { get; set; } = string.Empty;

    [Parameter(Mandatory = true, ParameterSetName = "ById", ValueFromPipeline = true)]
    [ValidateRange(1, 100)]
    public int Id { get; set; }

    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    public int Size { get; set; } = 7;

    [Parameter]
    public Shade Shade { get; set; }

    [Parameter]
    public uint[] Values { get; set; } = Array.Empty<uint>();

    [Parameter]
    [ValidateSet("one", "two")]
    public string Choice { get; set; } = "one";

    [Parameter]
    public SwitchParameter Loud { get; set; }

    public List<string> Log { get; } = new();

    protected override void BeginProcessing() => WriteVerbose("begin " + ParameterSetName);

    protected override void ProcessRecord()
    {
        string s = ParameterSetName == "ById" ? $"id:{Id}" : $"name:{Name}";
        s += $" size:{Size} shade:{Shade} choice:{Choice} values:{string.Join(",", Values)}";
        WriteObject(Loud ? s.ToUpperInvariant() : s);
    }

    protected override void EndProcessing() => WriteVerbose("end");
}

[Cmdlet("Remove", "Widget", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(Widget))]
public sealed class RemoveWidgetCommand : PSCmdlet
{
    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    public Widget InputObject { get; set; } = null!;

    protected override void ProcessRecord()
    {
        if (ShouldProcess(InputObject.Name, "Remove widget"))
        {
            WriteObject(InputObject);
        }
    }
}

[Cmdlet("Wait", "Signal")]
[OutputType(typeof(int))]
public sealed class WaitSignalCommand : PSCmdlet, IDisposable
{
    private readonly CancellationTokenSource _cts = new();

    public static int Disposed;

    [Parameter]
    public SwitchParameter WriteFromOtherThread { get; set; }

    [Parameter]
    public SwitchParameter Fail { get; set; }

    [Parameter]
    public SwitchParameter Throw { get; set; }

    protected override void ProcessRecord()
    {
        if (Fail)
        {
            WriteError(new ErrorRecord(new InvalidOperationException("first"), "FirstFailure", ErrorCategory.InvalidOperation, "t1"));
            ThrowTerminatingError(new ErrorRecord(new TimeoutException("late"), "TooLate", ErrorCategory.OperationTimeout, "t2"));
        }

        if (Throw)
        {
            throw new InvalidOperationException("escaped");
        }

        if (WriteFromOtherThread)
        {
            // A dedicated thread: a task might be inlined onto the pipeline thread by the wait.
            Exception? error = null;
            var t = new Thread(() =>
            {
                try
                {
                    WriteObject(1);
                }
                catch (InvalidOperationException e)
                {
                    error = e;
                }
            });
            t.Start();
            t.Join();
            throw error ?? new InvalidOperationException("the write from another thread was accepted");
        }

        WriteProgress(new ProgressRecord(1, "Waiting", "for stop"));
        try
        {
            Task.Delay(Timeout.Infinite, _cts.Token).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            throw new PipelineStoppedException();
        }
    }

    protected override void StopProcessing() => _cts.Cancel();

    public void Dispose()
    {
        Interlocked.Increment(ref Disposed);
        _cts.Dispose();
    }
}
