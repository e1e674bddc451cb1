using System.Diagnostics;

namespace Ukpack;

/// <summary>One line of progress on stderr for a long step of `ukpack build` (scanning a large
/// --fs tree, writing the image), redrawn at most ten times a second and erased when the step
/// ends. Only on a terminal, and only once the step has taken half a second
/// (UKPACK_PROGRESS_DELAY_MS changes that, for tests), so short builds and logs stay clean.</summary>
public sealed class Progress : IDisposable
{
    static readonly bool Terminal = QemuRunner.IsTerminal(2);
    static readonly long DelayMs = long.TryParse(Environment.GetEnvironmentVariable("UKPACK_PROGRESS_DELAY_MS"), out var d) ? d : 500;

    readonly string _what;
    readonly long _totalBytes;
    readonly Stopwatch _clock = Stopwatch.StartNew();
    long _lastMs = -1000;
    bool _shown;

    /// <summary>`totalBytes` 0: a count of files without a known end.</summary>
    public Progress(string what, long totalBytes = 0) { _what = what; _totalBytes = totalBytes; }

    public void Files(long count)
    {
        if (Due()) Draw($"{_what}: {count} files");
    }

    public void Bytes(long done)
    {
        if (Due()) Draw($"{_what}: {done >> 20} of {_totalBytes >> 20} MiB ({(_totalBytes > 0 ? done * 100 / _totalBytes : 100)}%)");
    }

    bool Due()
    {
        long now = _clock.ElapsedMilliseconds;
        if (!Terminal || now < DelayMs || now - _lastMs < 100) return false;
        _lastMs = now;
        return true;
    }

    void Draw(string line)
    {
        Console.Error.Write("\rukpack: " + line + "\u001b[K");
        _shown = true;
    }

    public void Dispose()
    {
        if (_shown) Console.Error.Write("\r\u001b[K");
    }
}
