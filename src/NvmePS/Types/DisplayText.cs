namespace NvmePS;

/// <summary>Text shortening for the format views. PowerShell cuts a table cell at its right end, which hides the
/// part of an NQN that tells two subsystems apart (the naming authority comes first, the unique name last).</summary>
public static class DisplayText
{
    /// <summary>Width of the NQN columns in the table views; Format-List and the property show the whole NQN.</summary>
    public const int NqnColumn = 44;

    /// <summary><paramref name="text"/> unchanged when it fits, else its head and its longer tail around "…".</summary>
    public static string Middle(string? text, int width)
    {
        if (string.IsNullOrEmpty(text) || text.Length <= width || width < 5)
        {
            return text ?? string.Empty;
        }

        int head = (width - 1) / 3;
        int tail = width - 1 - head;
        return string.Concat(text.AsSpan(0, head), "…", text.AsSpan(text.Length - tail));
    }

    /// <summary>An NQN shortened to the table views' NQN column.</summary>
    public static string Nqn(string? nqn) => Middle(nqn, NqnColumn);
}
