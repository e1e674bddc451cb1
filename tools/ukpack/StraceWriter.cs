namespace Ukpack;

/// <summary>`ukpack run --strace[=FILE]`: the kernel's "@@ST " lines on the debug console
/// (syscalls/Strace.cs), written to stderr ("-") or to FILE, one per line.</summary>
public sealed class StraceWriter : IDisposable
{
    public const string Prefix = "@@ST ";
    readonly StreamWriter? _file;

    StraceWriter(StreamWriter? file) { _file = file; }

    public static StraceWriter? Open(string? target)
    {
        if (target == null) return null;
        if (target == "-" || target.Length == 0) return new StraceWriter(null);
        try { return new StraceWriter(new StreamWriter(target, append: false) { AutoFlush = false }); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UkpackException($"--strace={target}: cannot write it: {e.Message}");
        }
    }

    public void WriteLine(string line)
    {
        if (_file != null) { lock (_file) _file.WriteLine(line); return; }
        lock (Console.Error) { Console.Error.WriteLine(line); Console.Error.Flush(); }
    }

    public void Dispose() { if (_file != null) lock (_file) _file.Dispose(); }
}
