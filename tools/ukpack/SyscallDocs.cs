using System.Text;
using Kernel.Syscalls;

namespace Ukpack;

/// <summary>The kernel's system-call support table (syscalls/SyscallList.cs, the same source
/// the kernel builds) as text: `ukpack syscalls` and docs/syscalls.md.</summary>
public static class SyscallDocs
{
    static string Level(Support s) => s switch { Support.Full => "full", Support.Partial => "partial", _ => "none" };

    static IEnumerable<SyscallEntry> ByNumber() => SyscallList.All.OrderBy(e => e.Number);

    /// <summary>docs/syscalls.md, exactly (`make docs` writes it; a host test checks it).</summary>
    public static string Markdown()
    {
        var sb = new StringBuilder();
        sb.Append("# System calls\n\nGenerated from syscalls/SyscallList.cs by `make docs` (`ukpack syscalls --markdown`); a test fails when it is stale.\n\n");
        sb.Append("| nr | name | support | note |\n| --- | --- | --- | --- |\n");
        foreach (var e in ByNumber())
            sb.Append("| ").Append(e.Number).Append(" | ").Append(e.Name).Append(" | ").Append(Level(e.Level))
              .Append(" | ").Append((e.Note ?? "").Replace("|", "\\|")).Append(" |\n");
        return sb.ToString();
    }

    /// <summary>A plain table for a terminal, optionally only the calls whose name contains `filter`.</summary>
    public static string Text(string? filter)
    {
        var rows = ByNumber().Where(e => filter == null || e.Name.Contains(filter, StringComparison.Ordinal)).ToList();
        int w = rows.Count == 0 ? 4 : Math.Max(4, rows.Max(e => e.Name.Length));
        var sb = new StringBuilder();
        foreach (var e in rows)
        {
            sb.Append(e.Number.ToString().PadLeft(3)).Append("  ").Append(e.Name.PadRight(w)).Append("  ");
            if (e.Note != null) sb.Append(Level(e.Level).PadRight(7)).Append("  ").Append(e.Note);
            else sb.Append(Level(e.Level));
            sb.Append('\n');
        }
        if (filter == null)
            sb.Append($"{rows.Count} calls listed: {rows.Count(e => e.Level == Support.Full)} full, {rows.Count(e => e.Level == Support.Partial)} partial, " +
                      $"{rows.Count(e => e.Level == Support.None)} none; any other number is ENOSYS\n");
        return sb.ToString();
    }
}
