using System.Xml.Linq;
using NvmePS.HelpGen;

namespace NvmePS.Tests.Help;

/// <summary>The markdown → MAML converter rejects incomplete pages and writes what Get-Help reads.</summary>
public sealed class HelpGenTests
{
    private const string Page = """
---
external help file: NvmePS.dll-Help.xml
Module Name: NvmePS
online version: https://example.invalid/Get-Thing.md
schema: 2.0.0
---

# Get-Thing

## SYNOPSIS
Gets a thing.

## SYNTAX

### ByName (Default)
```
Get-Thing [-Name] <String> [-Force] [<CommonParameters>]
```

## DESCRIPTION
First paragraph
continues here.

Second paragraph.

## EXAMPLES

### Example 1: Get one
```powershell
PS> Get-Thing -Name a
```

Gets thing a.

### Example 2: Force it
```powershell
PS> Get-Thing a -Force
```

Forces it.

## PARAMETERS

### -Name
The name.

```yaml
Type: String
Parameter Sets: (All)
Aliases: N

Required: True
Position: 0
Default value: None
Accept pipeline input: True (ByPropertyName)
Accept wildcard characters: False
```

### -Force
Forces.

```yaml
Type: SwitchParameter
Parameter Sets: (All)
Aliases:

Required: False
Position: Named
Default value: False
Accept pipeline input: False
Accept wildcard characters: False
```

### CommonParameters
Common.

## INPUTS

### System.String
A name.

## OUTPUTS

### NvmePS.Thing
The thing.

## NOTES
A note.

## RELATED LINKS

[Online](https://example.invalid/x)
""";

    [Fact]
    public void A_complete_page_becomes_MAML_with_parameters_examples_and_types()
    {
        CommandHelp h = MarkdownHelpParser.Parse(Page, "Get-Thing.md");
        using var ms = new MemoryStream();
        MamlWriter.Write(new[] { h }, ms);
        ms.Position = 0;
        XDocument doc = XDocument.Load(ms);
        XNamespace cmd = MamlWriter.CommandNs, maml = MamlWriter.MamlNs, dev = MamlWriter.DevNs;
        XElement c = doc.Root!.Element(cmd + "command")!;
        Assert.Equal("Gets a thing.", c.Element(cmd + "details")!.Element(maml + "description")!.Element(maml + "para")!.Value);
        Assert.Equal(new[] { "First paragraph continues here.", "Second paragraph." }, c.Element(maml + "description")!.Elements(maml + "para").Select(p => p.Value));
        var ps = c.Element(cmd + "parameters")!.Elements(cmd + "parameter").ToList();
        Assert.Equal(new[] { "Name", "Force" }, ps.Select(p => p.Element(maml + "name")!.Value));
        Assert.Equal("true", ps[0].Attribute("required")!.Value);
        Assert.Equal("0", ps[0].Attribute("position")!.Value);
        Assert.Equal("N", ps[0].Attribute("aliases")!.Value);
        Assert.Equal("True (ByPropertyName)", ps[0].Attribute("pipelineInput")!.Value);
        Assert.Equal("named", ps[1].Attribute("position")!.Value);
        // In syntax a switch has no value element; in the parameter list it does.
        var syntaxForce = c.Element(cmd + "syntax")!.Element(cmd + "syntaxItem")!.Elements(cmd + "parameter").Single(p => p.Element(maml + "name")!.Value == "Force");
        Assert.Null(syntaxForce.Element(cmd + "parameterValue"));
        Assert.Equal("SwitchParameter", ps[1].Element(cmd + "parameterValue")!.Value);
        Assert.Equal(2, c.Element(cmd + "examples")!.Elements(cmd + "example").Count());
        Assert.Equal("PS> Get-Thing a -Force", c.Element(cmd + "examples")!.Elements(cmd + "example").Last().Element(dev + "code")!.Value);
        Assert.Equal("NvmePS.Thing", c.Element(cmd + "returnValues")!.Element(cmd + "returnValue")!.Element(dev + "type")!.Element(maml + "name")!.Value);
        // The page's online version comes first (Get-Help -Online opens it), then the page's own links.
        var links = c.Element(cmd + "relatedLinks")!.Elements(maml + "navigationLink").Select(l => (l.Element(maml + "linkText")!.Value, l.Element(maml + "uri")!.Value)).ToList();
        Assert.Equal(("Online Version:", "https://example.invalid/Get-Thing.md"), links[0]);
        Assert.Equal("https://example.invalid/x", links[1].Item2);
    }

    [Theory]
    [InlineData("### Example 2: Force it", "### Not an example", null)]
    [InlineData("The name.\n", "\n", "parameter -Name has no description")]
    [InlineData("Forces it.", "", "example 'Example 2: Force it' has no explanation")]
    [InlineData("Gets a thing.", "{{ Fill in }}", "placeholder")]
    [InlineData("## OUTPUTS", "## OUTPUTZ", "missing section '## OUTPUTS'")]
    [InlineData("schema: 2.0.0", "schema: 1.0.0", "schema: 2.0.0")]
    [InlineData("Accept pipeline input: False\n", "", "lacks 'Accept pipeline input:'")]
    public void Incomplete_pages_are_rejected(string find, string replace, string? message)
    {
        string broken = Page.Replace(find, replace, StringComparison.Ordinal);
        Assert.NotEqual(Page, broken);
        if (message is null)
        {
            // Renaming a heading keeps two examples: still valid, proving the rejection tests are not vacuous.
            MarkdownHelpParser.Parse(broken, "Get-Thing.md");
            return;
        }

        var e = Assert.Throws<HelpFormatException>(() => MarkdownHelpParser.Parse(broken, "Get-Thing.md"));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void One_example_is_not_enough_and_the_title_must_match_the_file()
    {
        string oneExample = Page[..Page.IndexOf("### Example 2", StringComparison.Ordinal)] + Page[Page.IndexOf("## PARAMETERS", StringComparison.Ordinal)..];
        Assert.Contains("1 example(s)", Assert.Throws<HelpFormatException>(() => MarkdownHelpParser.Parse(oneExample, "Get-Thing.md")).Message);
        Assert.Contains("does not match the file name", Assert.Throws<HelpFormatException>(() => MarkdownHelpParser.Parse(Page, "Get-Other.md")).Message);
    }
}
