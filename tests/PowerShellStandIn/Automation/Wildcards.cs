using System.Text;
using System.Text.RegularExpressions;

namespace System.Management.Automation
{
    [Flags]
    public enum WildcardOptions
    {
        None = 0,
        Compiled = 1,
        IgnoreCase = 2,
        CultureInvariant = 4,
    }

    /// <summary>PowerShell wildcards: * any run, ? one character, [abc] / [a-z] sets, ` escapes the next character.</summary>
    public sealed class WildcardPattern
    {
        private readonly Regex _regex;

        public WildcardPattern(string pattern)
            : this(pattern, WildcardOptions.None)
        {
        }

        public WildcardPattern(string pattern, WildcardOptions options)
        {
            ArgumentNullException.ThrowIfNull(pattern);
            var sb = new StringBuilder("^");
            for (int i = 0; i < pattern.Length; i++)
            {
                char c = pattern[i];
                switch (c)
                {
                    case '`' when i + 1 < pattern.Length:
                        sb.Append(Regex.Escape(pattern[++i].ToString()));
                        break;
                    case '*':
                        sb.Append(".*");
                        break;
                    case '?':
                        sb.Append('.');
                        break;
                    case '[':
                        int end = pattern.IndexOf(']', i + 1);
                        if (end < 0)
                        {
                            throw new WildcardPatternException($"The specified wildcard character pattern is not valid: {pattern}");
                        }

                        sb.Append('[').Append(pattern[(i + 1)..end].Replace("\\", "\\\\", StringComparison.Ordinal)).Append(']');
                        i = end;
                        break;
                    default:
                        sb.Append(Regex.Escape(c.ToString()));
                        break;
                }
            }

            sb.Append('$');
            _regex = new Regex(sb.ToString(), RegexOptions.Singleline | ((options & WildcardOptions.IgnoreCase) != 0 ? RegexOptions.IgnoreCase | RegexOptions.CultureInvariant : RegexOptions.None));
        }

        public static WildcardPattern Get(string pattern, WildcardOptions options) => new(pattern, options);

        public bool IsMatch(string input) => input is not null && _regex.IsMatch(input);

        public static bool ContainsWildcardCharacters(string pattern)
        {
            if (string.IsNullOrEmpty(pattern))
            {
                return false;
            }

            for (int i = 0; i < pattern.Length; i++)
            {
                if (pattern[i] == '`')
                {
                    i++;
                }
                else if (pattern[i] is '*' or '?' or '[')
                {
                    return true;
                }
            }

            return false;
        }

        public static string Escape(string pattern) => Regex.Replace(pattern ?? string.Empty, @"[*?\[\]`]", "`$0");

        public static string Unescape(string pattern) => Regex.Replace(pattern ?? string.Empty, "`(.)", "$1");
    }

    public class WildcardPatternException : RuntimeException
    {
        public WildcardPatternException()
        {
        }

        public WildcardPatternException(string message)
            : base(message)
        {
        }

        public WildcardPatternException(string message, Exception? innerException)
            : base(message, innerException)
        {
        }
    }

    public class SessionStateException : RuntimeException
    {
        public SessionStateException()
        {
        }

        public SessionStateException(string message)
            : base(message)
        {
        }

        public SessionStateException(string message, Exception? innerException)
            : base(message, innerException)
        {
        }

        public string ItemName => string.Empty;
    }

    public class ItemNotFoundException : SessionStateException
    {
        public ItemNotFoundException()
        {
        }

        public ItemNotFoundException(string message)
            : base(message)
        {
        }

        public ItemNotFoundException(string message, Exception? innerException)
            : base(message, innerException)
        {
        }
    }
}
