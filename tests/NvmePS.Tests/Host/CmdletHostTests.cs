using System.Collections;
using System.Management.Automation;
using NvmePS.Testing;

namespace NvmePS.Tests.Host;

/// <summary>The stand-in host behaves like PowerShell where the module's tests depend on it.</summary>
public sealed class CmdletHostTests : IDisposable
{
    private readonly CmdletHost _host = new(typeof(CmdletHostTests).Assembly);

    public void Dispose() => _host.Dispose();

    [Fact]
    public void Named_positional_alias_prefix_and_defaults_bind()
    {
        var r = _host.Command("Get-Echo").Arg("a").Arg("12").Param("sha", "dark").Invoke();
        Assert.Equal(new object?[] { "name:a size:12 shade:Dark choice:one values:" }, r.ThrowIfFailed());
        Assert.Equal(new[] { "ByName" }, r.ParameterSets);
        Assert.Equal(new[] { "begin ByName", "end" }, r.Verbose);

        r = _host.Command("Get-Echo").Param("Label", "b").Switch("Loud").Invoke();
        Assert.Equal(new object?[] { "NAME:B SIZE:7 SHADE:LIGHT CHOICE:ONE VALUES:" }, r.ThrowIfFailed());
    }

    [Fact]
    public void Numbers_convert_like_PowerShell_literals_and_overflow_is_a_binding_error()
    {
        var r = _host.Command("Get-Echo").Param("Name", "n").Param("Values", new object[] { "0x10", "4kb", 3L, "0b101" }).Invoke();
        Assert.Equal("name:n size:7 shade:Light choice:one values:16,4096,3,5", Assert.Single(r.ThrowIfFailed()));

        r = _host.Command("Get-Echo").Param("Name", "n").Param("Values", -1).Invoke();
        Assert.True(r.BindingFailed);
        Assert.Equal("ParameterArgumentTransformationError", r.TerminatingError!.FullyQualifiedErrorId);

        r = _host.Command("Get-Echo").Param("Name", "n").Param("Shade", "Purple").Invoke();
        Assert.True(r.BindingFailed);
        Assert.Contains("Light, Dark", r.TerminatingError!.Exception.Message);
    }

    [Fact]
    public void Validation_attributes_reject_bad_arguments()
    {
        var r = _host.Command("Get-Echo").Param("Id", 101).Invoke();
        Assert.True(r.BindingFailed);
        Assert.Equal("ParameterArgumentValidationError", r.TerminatingError!.FullyQualifiedErrorId);

        r = _host.Command("Get-Echo").Param("Name", "x").Param("Choice", "three").Invoke();
        Assert.True(r.BindingFailed);
        Assert.Contains("does not belong to the set", r.TerminatingError!.Exception.Message);

        r = _host.Command("Get-Echo").Param("Name", "x").Param("Choice", "TWO").Invoke();
        Assert.Contains("choice:TWO", (string)r.ThrowIfFailed()[0]!);
    }

    [Fact]
    public void Unknown_ambiguous_duplicate_and_missing_parameters_fail_binding()
    {
        Assert.Equal("NamedParameterNotFound", _host.Command("Get-Echo").Param("Nope", 1).Invoke().TerminatingError!.FullyQualifiedErrorId);
        Assert.Equal("MissingMandatoryParameter", _host.Command("Get-Echo").Invoke().TerminatingError!.FullyQualifiedErrorId);
        Assert.Equal("ParameterAlreadyBound", _host.Command("Get-Echo").Param("Name", "a").Param("Label", "b").Invoke().TerminatingError!.FullyQualifiedErrorId);
        Assert.Equal("AmbiguousParameterSet", _host.Command("Get-Echo").Param("Name", "a").Param("Id", 2).Invoke().TerminatingError!.FullyQualifiedErrorId);
        Assert.Equal("PositionalParameterNotFound", _host.Command("Get-Echo").Arg("a").Arg(1).Arg(2).Invoke().TerminatingError!.FullyQualifiedErrorId);
        Assert.Equal("NamedParameterNotFound", _host.Command("Get-Echo").Param("Name", "a").Switch("WhatIf").Invoke().TerminatingError!.FullyQualifiedErrorId);
    }

    [Fact]
    public void Pipeline_binds_by_value_and_by_property_name_and_chooses_the_set_per_record()
    {
        var r = _host.Command("Get-Echo")
            .Input(5, new Widget { Name = "w", Size = 3 }, new Hashtable { ["Label"] = "h" }, "9", new object())
            .Invoke();
        Assert.Equal(new object?[] { "id:5 size:7 shade:Light choice:one values:", "name:w size:3 shade:Light choice:one values:", "name:h size:7 shade:Light choice:one values:", "id:9 size:7 shade:Light choice:one values:" }, r.Output);
        Assert.Equal(new[] { "ById", "ByName", "ByName", "ById" }, r.ParameterSets);

        // The last record binds to nothing: a non-terminating error, and the pipeline went on to EndProcessing.
        var e = Assert.Single(r.Errors);
        Assert.StartsWith("InputObjectNotBound,", e.FullyQualifiedErrorId);
        Assert.Equal("end", r.Verbose[^1]);
    }

    [Fact]
    public void Pipeline_parameters_are_reset_between_records()
    {
        // Size comes from the first record's property only; the second record must see the default again.
        var r = _host.Command("Get-Echo").Input(new Widget { Name = "a", Size = 50 }, new Hashtable { ["Name"] = "b" }).Invoke();
        Assert.Equal(new object?[] { "name:a size:50 shade:Light choice:one values:", "name:b size:7 shade:Light choice:one values:" }, r.ThrowIfFailed());
    }

    [Fact]
    public void WhatIf_and_Confirm_follow_ShouldProcess_rules()
    {
        var w = new Widget { Name = "w1" };
        var r = _host.Command("Remove-Widget").Param("InputObject", w).Switch("WhatIf").Invoke();
        Assert.Empty(r.Output);
        Assert.Equal("What if: Performing the operation \"Remove widget\" on target \"w1\".", Assert.Single(r.WhatIf));

        // Medium impact below the High preference: no prompt.
        r = _host.Command("Remove-Widget").Input(w, new Widget { Name = "w2" }).Invoke();
        Assert.Equal(2, r.ThrowIfFailed().Count);
        Assert.Empty(r.Prompts);

        // -Confirm prompts for each record; YesToAll answers the rest.
        int asked = 0;
        _host.ConfirmHandler = _ => ++asked == 1 ? ConfirmAnswer.YesToAll : ConfirmAnswer.No;
        r = _host.Command("Remove-Widget").Input(w, w, w).Switch("Confirm").Invoke();
        Assert.Equal(3, r.Output.Count);
        Assert.Single(r.Prompts);

        _host.ConfirmHandler = _ => ConfirmAnswer.No;
        r = _host.Command("Remove-Widget").Input(w, w).Param("Confirm", true).Invoke();
        Assert.Empty(r.Output);
        Assert.Equal(2, r.Prompts.Count);

        // $ConfirmPreference = Medium makes a Medium-impact command prompt without -Confirm; -Confirm:$false suppresses it.
        _host.ConfirmPreference = ConfirmImpact.Medium;
        Assert.Single(_host.Command("Remove-Widget").Input(w).Invoke().Prompts);
        Assert.Empty(_host.Command("Remove-Widget").Input(w).Param("Confirm", false).Invoke().Prompts);
    }

    [Fact]
    public void Errors_terminating_errors_and_ErrorAction_Stop_are_reported()
    {
        var r = _host.Command("Wait-Signal").Switch("Fail").Invoke();
        Assert.Equal("FirstFailure,NvmePS.Tests.Host.WaitSignalCommand", Assert.Single(r.Errors).FullyQualifiedErrorId);
        Assert.Equal("TooLate,NvmePS.Tests.Host.WaitSignalCommand", r.TerminatingError!.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.OperationTimeout, r.TerminatingError.CategoryInfo.Category);
        Assert.Equal("t2", r.TerminatingError.TargetObject);
        Assert.False(r.UnhandledException);

        r = _host.Command("Wait-Signal").Switch("Fail").Param("ErrorAction", "Stop").Invoke();
        Assert.Equal("FirstFailure,NvmePS.Tests.Host.WaitSignalCommand", r.TerminatingError!.FullyQualifiedErrorId);

        r = _host.Command("Wait-Signal").Switch("Throw").Invoke();
        Assert.True(r.UnhandledException);
        Assert.IsType<InvalidOperationException>(r.TerminatingError!.Exception);
    }

    [Fact]
    public void Writes_from_another_thread_are_rejected_as_PowerShell_does()
    {
        var r = _host.Command("Wait-Signal").Switch("WriteFromOtherThread").Invoke();
        Assert.True(r.UnhandledException);
        Assert.Contains("pipeline thread", r.TerminatingError!.Exception.Message);
    }

    [Fact]
    public void Stop_calls_StopProcessing_from_another_thread_and_disposes_the_cmdlet()
    {
        int disposedBefore = WaitSignalCommand.Disposed;
        RunningCommand running = _host.Command("Wait-Signal").Start();
        Assert.True(running.WaitUntil(r => r.Progress.Count == 1, TimeSpan.FromSeconds(10)));
        running.Stop();
        CommandResult result = running.Wait(TimeSpan.FromSeconds(10));
        Assert.True(result.Stopped);
        Assert.Null(result.TerminatingError);
        Assert.Equal(disposedBefore + 1, WaitSignalCommand.Disposed);
    }

    [Fact]
    public void ValidateRange_needs_bounds_of_one_type_as_in_PowerShell()
    {
        // [ValidateRange(1, 0xFFFFFFFE)] mixes int and uint: PowerShell refuses it when it reads the command.
        Assert.Throws<ValidationMetadataException>(() => new ValidateRangeAttribute(1, 0xFFFFFFFEu));
        Assert.Throws<ValidationMetadataException>(() => new ValidateRangeAttribute(5, 1));
        var r = _host.Command("Get-Echo").Param("Id", "0x10").Invoke();
        Assert.Equal("id:16 size:7 shade:Light choice:one values:", Assert.Single(r.ThrowIfFailed()));
    }

    [Fact]
    public void Metadata_errors_PowerShell_raises_are_raised()
    {
        Assert.Contains("'ea'", Assert.Throws<MetadataException>(() => new CommandMetadata(typeof(CommonAliasCommand))).Message);
        Assert.Contains("'Label'", Assert.Throws<MetadataException>(() => new CommandMetadata(typeof(DuplicateAliasCommand))).Message);
        Assert.Contains("position 0", Assert.Throws<MetadataException>(() => new CommandMetadata(typeof(SamePositionCommand))).Message);
    }

    // Not exported, so the host never imports them.
    [Cmdlet("Get", "CommonAlias")]
    private sealed class CommonAliasCommand : PSCmdlet
    {
        [Parameter]
        [Alias("ea")]
        public string Name { get; set; } = string.Empty;
    }

    [Cmdlet("Get", "DuplicateAlias")]
    private sealed class DuplicateAliasCommand : PSCmdlet
    {
        [Parameter]
        [Alias("Label")]
        public string Name { get; set; } = string.Empty;

        [Parameter]
        public string Label { get; set; } = string.Empty;
    }

    [Cmdlet("Get", "SamePosition")]
    private sealed class SamePositionCommand : PSCmdlet
    {
        [Parameter(Position = 0)]
        public string A { get; set; } = string.Empty;

        [Parameter(Position = 0)]
        public string B { get; set; } = string.Empty;
    }

    [Theory]
    [InlineData("nqn.2024-01.io.x:*", "nqn.2024-01.io.x:disk1", true)]
    [InlineData("NQN.2024-01.IO.X:DISK?", "nqn.2024-01.io.x:disk1", true)]
    [InlineData("nqn.2024-01.io.x:disk[12]", "nqn.2024-01.io.x:disk3", false)]
    [InlineData("nqn.2024-01.io.x:disk[1-3]", "nqn.2024-01.io.x:disk3", true)]
    [InlineData("a`*b", "a*b", true)]
    [InlineData("a`*b", "axb", false)]
    [InlineData("nqn.2024-01.io.x", "nqn.2024-01.io.x:disk1", false)]
    public void Wildcards_match_like_PowerShell(string pattern, string input, bool match)
    {
        Assert.Equal(match, new WildcardPattern(pattern, WildcardOptions.IgnoreCase).IsMatch(input));
        Assert.Equal(pattern.Replace("`*", string.Empty, StringComparison.Ordinal).IndexOfAny(new[] { '*', '?', '[' }) >= 0, WildcardPattern.ContainsWildcardCharacters(pattern));
    }
}
