using System.Text;
using System.Text.RegularExpressions;

namespace NvmePS.HelpGen;

/// <summary>Reads a cmdlet page written in platyPS's markdown schema 2.0.0 and checks it is complete.</summary>
internal static partial class MarkdownHelpParser
{
    private static readonly string[] RequiredSections = { "SYNOPSIS", "SYNTAX", "DESCRIPTION", "EXAMPLES", "PARAMETERS", "INPUTS", "OUTPUTS" };

    private sealed class Block
    {
        public string Heading = string.Empty;
        public List<string> Prose = new();
        public List<(string Lang, string Text)> Fences = new();
        public List<Block> Children = new();

        public string Text => string.Join("\n", Prose).Trim();
    }

    public static CommandHelp Parse(string markdown, string fileName) => ParseCore(markdown, fileName, strict: true);

    /// <summary>Parses what is there without completeness checks.</summary>
    public static CommandHelp ParseLenient(string markdown, string fileName) => ParseCore(markdown, fileName, strict: false);

    private static CommandHelp ParseCore(string markdown, string fileName, bool strict)
    {
        var problems = new List<string>();
        var help = new CommandHelp();
        string[] lines = markdown.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        int i = 0;
        if (lines.Length > 0 && lines[0].Trim() == "---")
        {
            i = 1;
            for (; i < lines.Length && lines[i].Trim() != "---"; i++)
            {
                int colon = lines[i].IndexOf(':', StringComparison.Ordinal);
                if (colon > 0)
                {
                    help.FrontMatter[lines[i][..colon].Trim()] = lines[i][(colon + 1)..].Trim();
                }
            }

            i++;
        }
        else
        {
            problems.Add("no YAML front matter (--- … ---)");
        }

        if (!help.FrontMatter.TryGetValue("schema", out string? schema) || schema != "2.0.0")
        {
            problems.Add("front matter must say 'schema: 2.0.0'");
        }

        // Split into H1 / H2 / H3 blocks, honouring code fences.
        Block? h2 = null, h3 = null;
        var sections = new List<Block>();
        bool inFence = false;
        string fenceLang = string.Empty;
        var fence = new StringBuilder();
        for (; i < lines.Length; i++)
        {
            string line = lines[i];
            if (line.StartsWith("```", StringComparison.Ordinal))
            {
                if (!inFence)
                {
                    inFence = true;
                    fenceLang = line[3..].Trim();
                    fence.Clear();
                }
                else
                {
                    inFence = false;
                    Block target = h3 ?? h2 ?? throw new HelpFormatException($"{fileName}: code block outside any section");
                    target.Fences.Add((fenceLang, fence.ToString().TrimEnd('\n')));
                }

                continue;
            }

            if (inFence)
            {
                fence.Append(line).Append('\n');
                continue;
            }

            if (line.StartsWith("# ", StringComparison.Ordinal))
            {
                help.Name = line[2..].Trim();
                continue;
            }

            if (line.StartsWith("## ", StringComparison.Ordinal))
            {
                h2 = new Block { Heading = line[3..].Trim() };
                h3 = null;
                sections.Add(h2);
                continue;
            }

            if (line.StartsWith("### ", StringComparison.Ordinal))
            {
                if (h2 is null)
                {
                    problems.Add($"'{line}' outside a section");
                    continue;
                }

                h3 = new Block { Heading = line[4..].Trim() };
                h2.Children.Add(h3);
                continue;
            }

            (h3 ?? h2)?.Prose.Add(line);
        }

        if (inFence)
        {
            problems.Add("unterminated code block");
        }

        string expectedName = Path.GetFileNameWithoutExtension(fileName);
        if (help.Name != expectedName)
        {
            problems.Add($"the H1 title '{help.Name}' does not match the file name '{expectedName}'");
        }

        Block? Section(string name) => sections.FirstOrDefault(s => string.Equals(s.Heading, name, StringComparison.OrdinalIgnoreCase));
        foreach (string required in RequiredSections)
        {
            if (Section(required) is null)
            {
                problems.Add($"missing section '## {required}'");
            }
        }

        help.Synopsis = Section("SYNOPSIS")?.Text ?? string.Empty;
        if (help.Synopsis.Length == 0)
        {
            problems.Add("empty SYNOPSIS");
        }

        help.Description = Section("DESCRIPTION")?.Text ?? string.Empty;
        if (help.Description.Length == 0)
        {
            problems.Add("empty DESCRIPTION");
        }

        foreach (Block s in Section("SYNTAX")?.Children ?? new List<Block>())
        {
            Match m = SyntaxHeading().Match(s.Heading);
            help.Syntax.Add(new SyntaxHelp
            {
                SetName = m.Groups["set"].Value.Trim(),
                IsDefault = m.Groups["default"].Success,
                Line = s.Fences.FirstOrDefault().Text?.Trim() ?? string.Empty,
            });
            if (s.Fences.Count == 0)
            {
                problems.Add($"syntax '{s.Heading}' has no code block");
            }
        }

        if (help.Syntax.Count == 0)
        {
            problems.Add("SYNTAX lists no parameter set");
        }

        foreach (Block e in Section("EXAMPLES")?.Children ?? new List<Block>())
        {
            var ex = new ExampleHelp
            {
                Title = e.Heading,
                Code = string.Join("\n", e.Fences.Select(f => f.Text)),
                Remarks = e.Text,
            };
            if (e.Fences.Count == 0)
            {
                problems.Add($"example '{e.Heading}' has no code block");
            }

            if (ex.Remarks.Length == 0)
            {
                problems.Add($"example '{e.Heading}' has no explanation");
            }

            help.Examples.Add(ex);
        }

        if (help.Examples.Count < 2)
        {
            problems.Add($"{help.Examples.Count} example(s); at least two are required");
        }

        foreach (Block p in Section("PARAMETERS")?.Children ?? new List<Block>())
        {
            if (string.Equals(p.Heading, "CommonParameters", StringComparison.OrdinalIgnoreCase))
            {
                help.CommonParameters = true;
                continue;
            }

            if (!p.Heading.StartsWith('-'))
            {
                problems.Add($"parameter heading '{p.Heading}' must start with '-'");
                continue;
            }

            var ph = new ParameterHelp { Name = p.Heading[1..].Trim(), Description = p.Text };
            if (ph.Description.Length == 0)
            {
                problems.Add($"parameter -{ph.Name} has no description");
            }

            foreach (var (lang, text) in p.Fences.Where(f => f.Lang == "yaml"))
            {
                try
                {
                    ph.Blocks.Add(ParseBlock(text));
                }
                catch (HelpFormatException e)
                {
                    problems.Add($"parameter -{ph.Name}: {e.Message}");
                }
            }

            if (ph.Blocks.Count == 0)
            {
                problems.Add($"parameter -{ph.Name} has no yaml block");
            }

            help.Parameters.Add(ph);
        }

        if (!help.CommonParameters)
        {
            problems.Add("PARAMETERS lacks '### CommonParameters'");
        }

        foreach (var (section, list) in new[] { ("INPUTS", help.Inputs), ("OUTPUTS", help.Outputs) })
        {
            foreach (Block t in Section(section)?.Children ?? new List<Block>())
            {
                list.Add(new TypeHelp(t.Heading, t.Text));
            }

            if (list.Count == 0)
            {
                problems.Add($"{section} names no type");
            }
        }

        help.Notes = Section("NOTES")?.Text ?? string.Empty;
        foreach (Match m in LinkPattern().Matches(Section("RELATED LINKS")?.Text ?? string.Empty))
        {
            help.Links.Add(new LinkHelp(m.Groups["text"].Value, m.Groups["uri"].Value));
        }

        if (markdown.Contains("{{", StringComparison.Ordinal))
        {
            problems.Add("placeholder text '{{ … }}' left in the page");
        }

        if (strict && problems.Count > 0)
        {
            throw new HelpFormatException($"{fileName}: " + string.Join("; ", problems));
        }

        return help;
    }

    internal static ParameterBlock ParseBlock(string yaml)
    {
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (string line in yaml.Split('\n'))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                values[line[..colon].Trim()] = line[(colon + 1)..].Trim();
            }
        }

        string Get(string key) => values.TryGetValue(key, out string? v) ? v : throw new HelpFormatException($"yaml block lacks '{key}:'");
        static List<string> Split(string v) => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        return new ParameterBlock
        {
            Type = Get("Type"),
            Sets = Split(Get("Parameter Sets")),
            Aliases = Split(Get("Aliases")),
            Required = bool.Parse(Get("Required")),
            Position = Get("Position"),
            DefaultValue = Get("Default value"),
            PipelineInput = Get("Accept pipeline input"),
            Wildcards = bool.Parse(Get("Accept wildcard characters")),
        };
    }

    [GeneratedRegex(@"^(?<set>.+?)(?<default>\s*\(Default\))?$")]
    private static partial Regex SyntaxHeading();

    [GeneratedRegex(@"\[(?<text>[^\]]+)\]\((?<uri>[^)]*)\)")]
    private static partial Regex LinkPattern();
}
