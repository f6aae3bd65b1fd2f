using System.Globalization;
using System.Text;

namespace NvmePS.Tests.Support;

/// <summary>
/// Reads a PowerShell data file (what Import-PowerShellDataFile accepts): hashtables @{ k = v }, arrays @( … ),
/// single- and double-quoted strings, numbers, $true/$false/$null, comments (# and &lt;# #&gt;). Anything else is
/// an error, as it is for Import-PowerShellDataFile (no expressions or commands in a manifest).
/// </summary>
public sealed class Psd1Reader
{
    private readonly string _s;
    private int _i;

    private Psd1Reader(string text)
    {
        _s = text;
    }

    public static Dictionary<string, object?> ReadFile(string path)
    {
        var r = new Psd1Reader(File.ReadAllText(path));
        r.Skip();
        var table = r.Value() as Dictionary<string, object?> ?? throw new FormatException("A data file must contain one hashtable.");
        r.Skip();
        if (r._i != r._s.Length)
        {
            throw new FormatException($"Unexpected text at offset {r._i}.");
        }

        return table;
    }

    private object? Value()
    {
        Skip();
        if (Peek("@{"))
        {
            _i += 2;
            var d = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
            while (true)
            {
                Skip();
                if (Peek("}"))
                {
                    _i++;
                    return d;
                }

                string key = Peek("'") || Peek("\"") ? (string)Value()! : Bareword();
                Skip();
                Expect("=");
                object? v = Value();
                if (!d.TryAdd(key, v))
                {
                    throw new FormatException($"Duplicate key '{key}'.");
                }

                SkipSeparators();
            }
        }

        if (Peek("@("))
        {
            _i += 2;
            var list = new List<object?>();
            while (true)
            {
                Skip();
                if (Peek(")"))
                {
                    _i++;
                    return list.ToArray();
                }

                list.Add(Value());
                SkipSeparators();
            }
        }

        if (Peek("'"))
        {
            _i++;
            var sb = new StringBuilder();
            while (true)
            {
                if (_i >= _s.Length)
                {
                    throw new FormatException("Unterminated string.");
                }

                if (_s[_i] == '\'' && _i + 1 < _s.Length && _s[_i + 1] == '\'')
                {
                    sb.Append('\'');
                    _i += 2;
                }
                else if (_s[_i] == '\'')
                {
                    _i++;
                    return sb.ToString();
                }
                else
                {
                    sb.Append(_s[_i++]);
                }
            }
        }

        if (Peek("\""))
        {
            int end = _s.IndexOf('"', _i + 1);
            string text = _s[(_i + 1)..end];
            if (text.Contains('$', StringComparison.Ordinal))
            {
                throw new FormatException("Expandable strings are not allowed in a data file.");
            }

            _i = end + 1;
            return text;
        }

        if (Peek("$true"))
        {
            _i += 5;
            return true;
        }

        if (Peek("$false"))
        {
            _i += 6;
            return false;
        }

        if (Peek("$null"))
        {
            _i += 5;
            return null;
        }

        string word = Bareword();
        return long.TryParse(word, NumberStyles.Integer, CultureInfo.InvariantCulture, out long n)
            ? n
            : throw new FormatException($"'{word}' is not allowed in a data file.");
    }

    private string Bareword()
    {
        int start = _i;
        while (_i < _s.Length && (char.IsLetterOrDigit(_s[_i]) || _s[_i] is '_' or '-' or '.'))
        {
            _i++;
        }

        return _i > start ? _s[start.._i] : throw new FormatException($"Unexpected '{(_i < _s.Length ? _s[_i] : ' ')}' at offset {_i}.");
    }

    private void SkipSeparators()
    {
        Skip();
        while (Peek(",") || Peek(";"))
        {
            _i++;
            Skip();
        }
    }

    private void Skip()
    {
        while (_i < _s.Length)
        {
            if (char.IsWhiteSpace(_s[_i]))
            {
                _i++;
            }
            else if (Peek("<#"))
            {
                _i = _s.IndexOf("#>", _i, StringComparison.Ordinal) + 2;
            }
            else if (_s[_i] == '#')
            {
                while (_i < _s.Length && _s[_i] != '\n')
                {
                    _i++;
                }
            }
            else
            {
                return;
            }
        }
    }

    private bool Peek(string token) => string.CompareOrdinal(_s, _i, token, 0, token.Length) == 0;

    private void Expect(string token)
    {
        if (!Peek(token))
        {
            throw new FormatException($"Expected '{token}' at offset {_i}.");
        }

        _i += token.Length;
    }
}
