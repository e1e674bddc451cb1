using Kernel.Syscalls;
using Ukpack;

namespace HostTests;

/// <summary>The support table as data (syscalls/SyscallList.cs): well formed, and the source
/// of docs/syscalls.md.</summary>
public class SyscallListTests
{
    [Fact]
    public void NumbersAndNamesAreUniqueAndInRange()
    {
        var all = SyscallList.All;
        all.Should().NotBeEmpty();
        all.Select(e => e.Number).Should().OnlyHaveUniqueItems();
        all.Select(e => e.Name).Should().OnlyHaveUniqueItems();
        all.Should().OnlyContain(e => e.Number >= 0 && e.Number < 512, "the kernel's table has 512 slots");
        all.Should().OnlyContain(e => System.Text.RegularExpressions.Regex.IsMatch(e.Name, "^[a-z_0-9]+$"));
    }

    [Fact]
    public void EveryCallThatIsNotFullSaysWhy()
    {
        SyscallList.All.Where(e => e.Level != Support.Full).Should().OnlyContain(e => !string.IsNullOrWhiteSpace(e.Note));
    }

    [Theory]
    [InlineData(0, "read", Support.Full)]
    [InlineData(1, "write", Support.Full)]
    [InlineData(59, "execve", Support.Partial)]
    [InlineData(334, "rseq", Support.None)]
    [InlineData(115, "getgroups", Support.Full)]
    [InlineData(111, "getpgrp", Support.Full)]
    [InlineData(125, "capget", Support.Full)]
    [InlineData(227, "clock_settime", Support.Full)]
    [InlineData(164, "settimeofday", Support.Full)]
    [InlineData(330, "pkey_alloc", Support.Partial)]
    [InlineData(449, "futex_waitv", Support.Full)]
    public void KnownRows(int nr, string name, Support level)
    {
        var e = SyscallList.All.Single(x => x.Number == nr);
        e.Name.Should().Be(name);
        e.Level.Should().Be(level);
    }

    [Fact]
    public void NoStaleNotes()
    {
        // Pipes block, flock and OFD locks wait, CPU-time clocks count CPU time.
        SyscallList.All.Should().NotContain(e => e.Note != null && (e.Note.Contains("one thread") || e.Note.Contains("instead of waiting")
            || e.Note.Contains("CPU clocks count wall time") || e.Note.Contains("EOPNOTSUPP") && e.Name == "clock_nanosleep"));
    }

    [Fact]
    public void DocsPageIsGeneratedFromTheData()
    {
        var md = SyscallDocs.Markdown();
        var lines = md.Split('\n');
        lines[0].Should().Be("# System calls");
        lines.Count(l => l.StartsWith("| ") && char.IsDigit(l[2])).Should().Be(SyscallList.All.Length);
        md.Should().Contain("| 0 | read | full |  |\n");
        md.Should().Contain("| 334 | rseq | none | ENOSYS: libc falls back |\n");
        // A note's '|' is escaped, so every row keeps its four cells.
        md.Should().Contain("(CLONE_VM\\|CLONE_THREAD)");
        lines.Where(l => l.StartsWith("| ") && char.IsDigit(l[2]))
            .Should().OnlyContain(l => System.Text.RegularExpressions.Regex.Matches(l, @"(?<!\\)\|").Count == 5);
        var docs = Path.Combine(TestUtil.RepoRoot(), "docs", "syscalls.md");
        File.Exists(docs).Should().BeTrue("docs/syscalls.md is generated: run `make docs`");
        var onDisk = File.ReadAllText(docs);
        if (onDisk != md)
        {
            var a = onDisk.Split('\n');
            int i = 0;
            while (i < a.Length && i < lines.Length && a[i] == lines[i]) i++;
            Assert.Fail($"docs/syscalls.md is stale: run `make docs`. First difference at line {i + 1}:\n" +
                        $"  docs: {(i < a.Length ? a[i] : "<end of file>")}\n  data: {(i < lines.Length ? lines[i] : "<end>")}");
        }
    }

    [Fact]
    public void TextListingFilters()
    {
        var t = SyscallDocs.Text("clock_");
        t.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().OnlyContain(l => l.Contains("clock_"));
        t.Should().Contain("clock_settime");
        SyscallDocs.Text(null).Should().Contain("any other number is ENOSYS");
    }
}
