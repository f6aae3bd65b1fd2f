using System.Collections.ObjectModel;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Security;

namespace NvmePS.Tests.Support;

/// <summary>A ShouldProcess/ShouldContinue prompt that reached the host.</summary>
public sealed record ConfirmPrompt(string Caption, string Message, IReadOnlyList<string> Choices);

/// <summary>How the test user answers a confirmation prompt.</summary>
public enum ConfirmAnswer
{
    Yes,
    YesToAll,
    No,
    NoToAll,
}

/// <summary>
/// A small PSHost for test runspaces: records what PowerShell writes to the host (What if: lines, prompts) and
/// answers confirmation prompts as a user would, through <see cref="ConfirmHandler"/>. It is the piece of a real
/// console host that -Confirm and -WhatIf talk to; everything else comes from PowerShell itself.
/// </summary>
public sealed class RecordingHost : PSHost
{
    private readonly RecordingHostUI _ui;

    public RecordingHost(int width = 120)
    {
        _ui = new RecordingHostUI(this, width);
    }

    public Func<ConfirmPrompt, ConfirmAnswer> ConfirmHandler { get; set; } = _ => ConfirmAnswer.No;

    /// <summary>Where the running command's host output goes; set per invocation.</summary>
    internal HostCapture? Capture { get; set; }

    public override string Name => "NvmePS.Tests";

    public override Version Version { get; } = new(1, 0);

    public override Guid InstanceId { get; } = Guid.NewGuid();

    public override PSHostUserInterface UI => _ui;

    public override CultureInfo CurrentCulture => CultureInfo.InvariantCulture;

    public override CultureInfo CurrentUICulture { get; } = CultureInfo.GetCultureInfo("en-US");

    public override void SetShouldExit(int exitCode)
    {
    }

    public override void EnterNestedPrompt() => throw new NotSupportedException();

    public override void ExitNestedPrompt() => throw new NotSupportedException();

    public override void NotifyBeginApplication()
    {
    }

    public override void NotifyEndApplication()
    {
    }
}

/// <summary>Host output of one invocation.</summary>
internal sealed class HostCapture
{
    private readonly object _gate = new();
    private readonly List<string> _lines = new();
    private readonly List<ConfirmPrompt> _prompts = new();

    public void Line(string s)
    {
        lock (_gate)
        {
            _lines.Add(s);
        }
    }

    public void Prompt(ConfirmPrompt p)
    {
        lock (_gate)
        {
            _prompts.Add(p);
        }
    }

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_gate)
            {
                return _lines.ToList();
            }
        }
    }

    public IReadOnlyList<ConfirmPrompt> Prompts
    {
        get
        {
            lock (_gate)
            {
                return _prompts.ToList();
            }
        }
    }
}

internal sealed class RecordingHostUI : PSHostUserInterface
{
    private readonly RecordingHost _host;
    private readonly System.Text.StringBuilder _partial = new();

    public RecordingHostUI(RecordingHost host, int width)
    {
        _host = host;
        RawUI = new FixedRawUI(width);
    }

    public override PSHostRawUserInterface RawUI { get; }

    public override string ReadLine() => throw new NotSupportedException("The test host reads no input.");

    public override SecureString ReadLineAsSecureString() => throw new NotSupportedException("The test host reads no input.");

    public override void Write(string value) => _partial.Append(value);

    public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) => Write(value);

    public override void WriteLine(string value)
    {
        _partial.Append(value);
        foreach (string line in _partial.ToString().Split('\n'))
        {
            _host.Capture?.Line(line.TrimEnd('\r'));
        }

        _partial.Clear();
    }

    public override void WriteErrorLine(string value) => WriteLine(value);

    public override void WriteDebugLine(string message) => WriteLine("DEBUG: " + message);

    public override void WriteProgress(long sourceId, ProgressRecord record)
    {
    }

    public override void WriteVerboseLine(string message) => WriteLine("VERBOSE: " + message);

    public override void WriteWarningLine(string message) => WriteLine("WARNING: " + message);

    public override Dictionary<string, PSObject> Prompt(string caption, string message, Collection<FieldDescription> descriptions) =>
        throw new NotSupportedException("The test host reads no input.");

    public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) =>
        throw new NotSupportedException("The test host reads no input.");

    public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName,
        PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options) =>
        throw new NotSupportedException("The test host reads no input.");

    /// <summary>ShouldProcess's -Confirm and ShouldContinue both arrive here with the choices
    /// "&amp;Yes", "Yes to &amp;All", "&amp;No", "No to A&amp;ll" (and "&amp;Suspend").</summary>
    public override int PromptForChoice(string caption, string message, Collection<ChoiceDescription> choices, int defaultChoice)
    {
        var labels = choices.Select(c => c.Label.Replace("&", string.Empty, StringComparison.Ordinal)).ToList();
        var prompt = new ConfirmPrompt(caption, message, labels);
        _host.Capture?.Prompt(prompt);
        string wanted = _host.ConfirmHandler(prompt) switch
        {
            ConfirmAnswer.Yes => "Yes",
            ConfirmAnswer.YesToAll => "Yes to All",
            ConfirmAnswer.No => "No",
            _ => "No to All",
        };
        int i = labels.IndexOf(wanted);
        return i >= 0 ? i : throw new InvalidOperationException($"The prompt offered no '{wanted}': {string.Join(", ", labels)}");
    }
}

/// <summary>A console of fixed width, so that formatting without -Width is repeatable.</summary>
internal sealed class FixedRawUI : PSHostRawUserInterface
{
    public FixedRawUI(int width)
    {
        BufferSize = new Size(width, 9999);
        WindowSize = new Size(width, 50);
        MaxWindowSize = WindowSize;
        MaxPhysicalWindowSize = WindowSize;
    }

    public override ConsoleColor ForegroundColor { get; set; } = ConsoleColor.Gray;

    public override ConsoleColor BackgroundColor { get; set; } = ConsoleColor.Black;

    public override Coordinates CursorPosition { get; set; }

    public override Coordinates WindowPosition { get; set; }

    public override int CursorSize { get; set; }

    public override Size BufferSize { get; set; }

    public override Size WindowSize { get; set; }

    public override Size MaxWindowSize { get; }

    public override Size MaxPhysicalWindowSize { get; }

    public override bool KeyAvailable => false;

    public override string WindowTitle { get; set; } = "NvmePS.Tests";

    public override KeyInfo ReadKey(ReadKeyOptions options) => throw new NotSupportedException();

    public override void FlushInputBuffer()
    {
    }

    public override BufferCell[,] GetBufferContents(Rectangle rectangle) => throw new NotSupportedException();

    public override void SetBufferContents(Coordinates origin, BufferCell[,] contents)
    {
    }

    public override void SetBufferContents(Rectangle rectangle, BufferCell fill)
    {
    }

    public override void ScrollBufferContents(Rectangle source, Coordinates destination, Rectangle clip, BufferCell fill)
    {
    }
}
