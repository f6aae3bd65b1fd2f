using System.Text;

namespace NvmePS.HelpGen;

/// <summary>Writes and updates cmdlet pages in platyPS's markdown schema 2.0.0 (what New-MarkdownHelp and
/// Update-MarkdownHelp do): SYNTAX and the parameter yaml blocks come from the assembly; prose is kept.</summary>
internal static class MarkdownHelpWriter
{
    public const string Placeholder = "{{ Fill in }}";

    private static readonly string[] CommonParametersText =
    {
        "This cmdlet supports the common parameters: -Debug, -ErrorAction, -ErrorVariable, -InformationAction,",
        "-InformationVariable, -OutVariable, -OutBuffer, -PipelineVariable, -ProgressAction, -Verbose,",
        "-WarningAction, and -WarningVariable. For more information, see",
        "[about_CommonParameters](http://go.microsoft.com/fwlink/?LinkID=113216).",
    };

    /// <summary>Merges the assembly's view of <paramref name="cmdlet"/> into <paramref name="existing"/> (or a new page).</summary>
    public static CommandHelp Update(ReflectedCmdlet cmdlet, CommandHelp? existing, string onlineBase)
    {
        var help = new CommandHelp { Name = cmdlet.Name };
        help.FrontMatter["external help file"] = "NvmePS.dll-Help.xml";
        help.FrontMatter["Module Name"] = "NvmePS";
        help.FrontMatter["online version"] = existing?.FrontMatter.GetValueOrDefault("online version") ?? $"{onlineBase}{cmdlet.Name}.md";
        help.FrontMatter["schema"] = "2.0.0";
        help.Synopsis = existing?.Synopsis is { Length: > 0 } s ? s : Placeholder;
        help.Description = existing?.Description is { Length: > 0 } d ? d : Placeholder;
        if (existing is not null)
        {
            help.Examples.AddRange(existing.Examples);
            help.Inputs.AddRange(existing.Inputs);
            help.Outputs.AddRange(existing.Outputs);
            help.Links.AddRange(existing.Links);
            help.Notes = existing.Notes;
        }

        if (help.Examples.Count == 0)
        {
            help.Examples.Add(new ExampleHelp { Title = "Example 1", Code = "PS> " + Placeholder, Remarks = Placeholder });
        }

        if (help.Outputs.Count == 0)
        {
            help.Outputs.AddRange(cmdlet.OutputTypes.Select(o => new TypeHelp(o, Placeholder)));
        }

        if (help.Inputs.Count == 0)
        {
            help.Inputs.Add(new TypeHelp("None", "This cmdlet takes no pipeline input."));
        }

        List<string> sets = cmdlet.SetNames;
        foreach (string set in sets)
        {
            help.Syntax.Add(new SyntaxHelp
            {
                SetName = set == ReflectedCmdlet.AllSets ? "__AllParameterSets" : set,
                IsDefault = set == cmdlet.DefaultSet || sets.Count == 1,
                Line = SyntaxLine(cmdlet, set),
            });
        }

        foreach (ReflectedParameter p in cmdlet.Parameters.OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            ParameterHelp? old = existing?.Parameters.FirstOrDefault(e => string.Equals(e.Name, p.Name, StringComparison.OrdinalIgnoreCase));
            var ph = new ParameterHelp
            {
                Name = p.Name,
                Description = old?.Description is { Length: > 0 } pd ? pd : Placeholder,
            };

            // Default values are prose the assembly cannot tell (property initialisers); keep what the page says.
            string defaultValue = old?.Blocks.FirstOrDefault()?.DefaultValue ?? (p.TypeName == "SwitchParameter" ? "False" : "None");
            // One block per distinct behaviour, as platyPS groups sets with identical attributes.
            foreach (var group in p.Sets.GroupBy(s => (s.Mandatory, s.Position, s.ByValue, s.ByPropertyName)))
            {
                var names = group.Select(g => g.Name).ToList();
                ph.Blocks.Add(new ParameterBlock
                {
                    Type = p.TypeName,
                    Sets = names.Contains(ReflectedCmdlet.AllSets) ? new List<string> { "(All)" } : names,
                    Aliases = p.Aliases,
                    Required = group.Key.Mandatory,
                    Position = group.Key.Position?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "Named",
                    DefaultValue = defaultValue,
                    PipelineInput = (group.Key.ByPropertyName, group.Key.ByValue) switch
                    {
                        (true, true) => "True (ByPropertyName, ByValue)",
                        (true, false) => "True (ByPropertyName)",
                        (false, true) => "True (ByValue)",
                        _ => "False",
                    },
                });
            }

            help.Parameters.Add(ph);
        }

        if (cmdlet.SupportsShouldProcess)
        {
            foreach (var (name, text) in new[]
            {
                ("Confirm", "Prompts you for confirmation before running the cmdlet."),
                ("WhatIf", "Shows what would happen if the cmdlet runs. The cmdlet is not run."),
            })
            {
                var ph = new ParameterHelp { Name = name, Description = text };
                ph.Blocks.Add(new ParameterBlock
                {
                    Type = "SwitchParameter",
                    Sets = new List<string> { "(All)" },
                    Aliases = new List<string> { name == "Confirm" ? "cf" : "wi" },
                    DefaultValue = "False",
                });
                help.Parameters.Add(ph);
            }
        }

        help.CommonParameters = true;
        return help;
    }

    private static string SyntaxLine(ReflectedCmdlet c, string set)
    {
        var sb = new StringBuilder(c.Name);
        var inSet = c.Parameters
            .Select(p => (P: p, S: p.Sets.FirstOrDefault(s => s.Name == set) ?? p.Sets.FirstOrDefault(s => s.Name == ReflectedCmdlet.AllSets)))
            .Where(x => x.S is not null)
            .OrderBy(x => x.S!.Position ?? int.MaxValue)
            .ThenBy(x => x.S!.Mandatory ? 0 : 1)
            .ThenBy(x => x.P.Name, StringComparer.Ordinal);
        foreach (var (p, s) in inSet)
        {
            string value = p.TypeName == "SwitchParameter" ? string.Empty : $" <{p.TypeName}>";
            string name = s!.Position is not null ? $"[-{p.Name}]" : $"-{p.Name}";
            string text = name + value;
            sb.Append(' ').Append(s.Mandatory ? text : $"[{text}]");
        }

        if (c.SupportsShouldProcess)
        {
            sb.Append(" [-WhatIf] [-Confirm]");
        }

        sb.Append(" [<CommonParameters>]");
        return sb.ToString();
    }

    public static string Write(CommandHelp h)
    {
        var sb = new StringBuilder();
        sb.Append("---\n");
        foreach (string key in new[] { "external help file", "Module Name", "online version", "schema" })
        {
            sb.Append(key).Append(": ").Append(h.FrontMatter.GetValueOrDefault(key) ?? string.Empty).Append('\n');
        }

        sb.Append("---\n\n");
        sb.Append("# ").Append(h.Name).Append("\n\n");
        sb.Append("## SYNOPSIS\n").Append(h.Synopsis).Append("\n\n");
        sb.Append("## SYNTAX\n\n");
        foreach (SyntaxHelp s in h.Syntax)
        {
            sb.Append("### ").Append(s.SetName).Append(s.IsDefault ? " (Default)" : string.Empty).Append('\n');
            sb.Append("```\n").Append(s.Line).Append("\n```\n\n");
        }

        sb.Append("## DESCRIPTION\n").Append(h.Description).Append("\n\n");
        sb.Append("## EXAMPLES\n\n");
        foreach (ExampleHelp e in h.Examples)
        {
            sb.Append("### ").Append(e.Title).Append('\n');
            sb.Append("```powershell\n").Append(e.Code).Append("\n```\n\n");
            sb.Append(e.Remarks).Append("\n\n");
        }

        sb.Append("## PARAMETERS\n\n");
        foreach (ParameterHelp p in h.Parameters)
        {
            sb.Append("### -").Append(p.Name).Append('\n').Append(p.Description).Append("\n\n");
            foreach (ParameterBlock b in p.Blocks)
            {
                sb.Append("```yaml\n");
                sb.Append("Type: ").Append(b.Type).Append('\n');
                sb.Append("Parameter Sets: ").Append(string.Join(", ", b.Sets)).Append('\n');
                sb.Append("Aliases:").Append(b.Aliases.Count == 0 ? string.Empty : " " + string.Join(", ", b.Aliases)).Append("\n\n");
                sb.Append("Required: ").Append(b.Required ? "True" : "False").Append('\n');
                sb.Append("Position: ").Append(b.Position).Append('\n');
                sb.Append("Default value: ").Append(b.DefaultValue).Append('\n');
                sb.Append("Accept pipeline input: ").Append(b.PipelineInput).Append('\n');
                sb.Append("Accept wildcard characters: ").Append(b.Wildcards ? "True" : "False").Append('\n');
                sb.Append("```\n\n");
            }
        }

        sb.Append("### CommonParameters\n").Append(string.Join("\n", CommonParametersText)).Append("\n\n");
        foreach (var (title, list) in new[] { ("INPUTS", h.Inputs), ("OUTPUTS", h.Outputs) })
        {
            sb.Append("## ").Append(title).Append("\n\n");
            foreach (TypeHelp t in list)
            {
                sb.Append("### ").Append(t.Type).Append('\n').Append(t.Description).Append("\n\n");
            }
        }

        sb.Append("## NOTES\n").Append(h.Notes).Append("\n\n");
        sb.Append("## RELATED LINKS\n\n");
        foreach (LinkHelp l in h.Links)
        {
            sb.Append('[').Append(l.Text).Append("](").Append(l.Uri).Append(")\n\n");
        }

        return sb.ToString().TrimEnd('\n') + "\n";
    }

    /// <summary>Parses a page without the completeness checks (for updating a page still being written).</summary>
    public static CommandHelp? TryParseLenient(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            return MarkdownHelpParser.Parse(File.ReadAllText(path), Path.GetFileName(path));
        }
        catch (HelpFormatException)
        {
            return MarkdownHelpParser.ParseLenient(File.ReadAllText(path), Path.GetFileName(path));
        }
    }
}
