using System.Management.Automation;
using System.Xml.Linq;
using NvmePS.HelpGen;
using NvmePS.Tests.Support;

namespace NvmePS.Tests.Help;

/// <summary>The generated MAML (out/NvmePS/en-US/NvmePS.dll-Help.xml) follows the MAML command-help schema and
/// documents every cmdlet and parameter the assembly has, with the assembly's own binding facts.</summary>
public sealed class HelpTests
{
    private static readonly XNamespace Msh = "http://msh";
    private static readonly XNamespace Maml = "http://schemas.microsoft.com/maml/2004/10";
    private static readonly XNamespace Command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
    private static readonly XNamespace Dev = "http://schemas.microsoft.com/maml/dev/2004/10";

    // Child order of command:command in the MAML developer command schema (developerCommand.xsd).
    private static readonly XName[] CommandChildren =
    {
        Command + "details", Maml + "description", Command + "syntax", Command + "parameters", Command + "inputTypes",
        Command + "returnValues", Command + "terminatingErrors", Command + "nonTerminatingErrors", Maml + "alertSet",
        Command + "examples", Command + "relatedLinks",
    };

    private static readonly Lazy<XDocument> Maml_ = new(() => XDocument.Load(Path.Combine(ModuleUnderTest.LayoutDir, "en-US", "NvmePS.dll-Help.xml")));

    private static XDocument Doc => Maml_.Value;

    private static XElement CommandHelp(string name) =>
        Doc.Root!.Elements(Command + "command").SingleOrDefault(c => c.Element(Command + "details")?.Element(Command + "name")?.Value == name)
        ?? throw new Xunit.Sdk.XunitException($"{name} has no help in NvmePS.dll-Help.xml");

    public static TheoryData<string> CmdletNames()
    {
        var d = new TheoryData<string>();
        foreach (var c in ModuleUnderTest.Cmdlets)
        {
            d.Add(c.Name);
        }

        return d;
    }

    [Fact]
    public void Maml_root_and_commands_follow_the_schema()
    {
        Assert.Equal(Msh + "helpItems", Doc.Root!.Name);
        Assert.Equal("maml", Doc.Root.Attribute("schema")!.Value);
        var commands = Doc.Root.Elements().ToList();
        Assert.All(commands, c => Assert.Equal(Command + "command", c.Name));
        Assert.Equal(ModuleUnderTest.Cmdlets.Select(c => c.Name), commands.Select(c => c.Element(Command + "details")!.Element(Command + "name")!.Value));
        foreach (XElement c in commands)
        {
            // Children appear in schema order; the required ones are present.
            var order = c.Elements().Select(e => Array.IndexOf(CommandChildren, e.Name)).ToList();
            Assert.DoesNotContain(-1, order);
            Assert.Equal(order.OrderBy(i => i), order);
            foreach (XName required in new[] { Command + "details", Maml + "description", Command + "syntax", Command + "parameters", Command + "inputTypes", Command + "returnValues", Command + "examples" })
            {
                Assert.NotNull(c.Element(required));
            }
        }
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void Cmdlet_help_has_synopsis_description_examples_inputs_and_outputs(string name)
    {
        XElement c = CommandHelp(name);
        XElement details = c.Element(Command + "details")!;
        Assert.Equal(name.Split('-')[0], details.Element(Command + "verb")!.Value);
        Assert.Equal(name.Split('-')[1], details.Element(Command + "noun")!.Value);
        Assert.False(string.IsNullOrWhiteSpace(Paras(details.Element(Maml + "description"))), $"{name}: no synopsis");
        Assert.False(string.IsNullOrWhiteSpace(Paras(c.Element(Maml + "description"))), $"{name}: no description");

        var examples = c.Element(Command + "examples")!.Elements(Command + "example").ToList();
        Assert.True(examples.Count >= 2, $"{name}: {examples.Count} example(s)");
        foreach (XElement e in examples)
        {
            Assert.StartsWith("--------------------------", e.Element(Maml + "title")!.Value);
            Assert.Contains(name, e.Element(Dev + "code")!.Value);
            Assert.False(string.IsNullOrWhiteSpace(Paras(e.Element(Dev + "remarks"))), $"{name}: example without remarks");
        }

        Assert.NotEmpty(c.Element(Command + "inputTypes")!.Elements(Command + "inputType"));
        var outputs = c.Element(Command + "returnValues")!.Elements(Command + "returnValue")
            .Select(r => r.Element(Dev + "type")!.Element(Maml + "name")!.Value).ToList();
        var md = ModuleUnderTest.Cmdlets.Single(x => x.Name == name);
        foreach (var t in ModuleUnderTest.OutputTypes(md).SelectMany(o => o.Type))
        {
            Assert.Contains(t.Type!.FullName!, outputs);
        }
    }

    [Theory]
    [MemberData(nameof(CmdletNames))]
    public void Every_parameter_is_documented_with_its_binding_facts(string name)
    {
        XElement c = CommandHelp(name);
        CmdletInfo md = ModuleUnderTest.Cmdlets.Single(x => x.Name == name);
        var documented = c.Element(Command + "parameters")!.Elements(Command + "parameter")
            .ToDictionary(p => p.Element(Maml + "name")!.Value, StringComparer.OrdinalIgnoreCase);
        // PowerShell's own view of the cmdlet (Get-Command), less the common parameters every cmdlet has.
        var expected = md.Parameters.Keys.Where(k => ModuleUnderTest.IsDocumented(md, k) || Cmdlet.OptionalCommonParameters.Contains(k)).ToList();
        Assert.Equal(expected.OrderBy(x => x, StringComparer.Ordinal), documented.Keys.OrderBy(x => x, StringComparer.Ordinal));
        foreach (XElement p in documented.Values)
        {
            Assert.False(string.IsNullOrWhiteSpace(Paras(p.Element(Maml + "description"))), $"{name} -{p.Element(Maml + "name")!.Value} has no description");
        }

        // One syntax item per parameter set; each lists the set's parameters with the set's Required/Position/pipeline facts.
        var items = c.Element(Command + "syntax")!.Elements(Command + "syntaxItem").ToList();
        Assert.Equal(md.ParameterSets.Count, items.Count);
        foreach (CommandParameterSetInfo set in md.ParameterSets)
        {
            var own = set.Parameters.Where(p => ModuleUnderTest.IsDocumented(md, p.Name)).ToList();
            var candidates = items.Where(i =>
            {
                var names = i.Elements(Command + "parameter").Select(p => p.Element(Maml + "name")!.Value).ToHashSet(StringComparer.OrdinalIgnoreCase);
                return own.All(p => names.Contains(p.Name)) && names.Count(n => n is not "WhatIf" and not "Confirm") == own.Count;
            }).ToList();
            Assert.True(candidates.Count >= 1, $"{name}: no syntax item for set {set.Name}");
            XElement item = candidates[0];
            foreach (CommandParameterInfo p in own)
            {
                XElement sp = item.Elements(Command + "parameter").Single(x => x.Element(Maml + "name")!.Value == p.Name);
                Assert.Equal(p.IsMandatory ? "true" : "false", sp.Attribute("required")!.Value);
                Assert.Equal(p.Position >= 0 ? p.Position.ToString(System.Globalization.CultureInfo.InvariantCulture) : "named", sp.Attribute("position")!.Value);
                string pipeline = (p.ValueFromPipelineByPropertyName, p.ValueFromPipeline) switch
                {
                    (true, true) => "True (ByPropertyName, ByValue)",
                    (true, false) => "True (ByPropertyName)",
                    (false, true) => "True (ByValue)",
                    _ => "False",
                };
                Assert.Equal(pipeline, sp.Attribute("pipelineInput")!.Value);
                string typeName = sp.Element(Dev + "type")!.Element(Maml + "name")!.Value;
                Assert.Equal(CmdletReflector.FriendlyName(p.ParameterType), typeName);
                Assert.Equal(p.Aliases.Count == 0 ? "none" : string.Join(", ", p.Aliases), sp.Attribute("aliases")!.Value);
            }
        }
    }

    [Fact]
    public void Module_page_lists_every_cmdlet_with_its_synopsis()
    {
        string page = File.ReadAllText(Path.Combine(ModuleUnderTest.HelpDir, "NvmePS.md"));
        Assert.Contains("Module Name: NvmePS", page);
        Assert.DoesNotContain("{{", page);
        foreach (var c in ModuleUnderTest.Cmdlets)
        {
            Assert.Contains($"### [{c.Name}]({c.Name}.md)", page);
        }
    }

    private static string Paras(XElement? e) => e is null ? string.Empty : string.Join("\n", e.Elements(Maml + "para").Select(p => p.Value));
}
