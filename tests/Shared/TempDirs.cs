using System.Diagnostics;

namespace TestShared;

/// <summary>Fresh temporary directories for one test process, named PREFIX-PID-RANDOM.
/// They are removed when the process exits; because a test host can be torn down before its
/// ProcessExit handlers run, each new process also removes the directories of processes that
/// are gone, so repeated runs do not fill the disk.</summary>
public sealed class TempDirs
{
    readonly string _prefix;
    readonly List<string> _made = [];

    public TempDirs(string prefix)
    {
        _prefix = prefix;
        SweepStale();
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            lock (_made) foreach (var d in _made) try { Directory.Delete(d, true); } catch { }
        };
    }

    public string Make()
    {
        var d = Directory.CreateTempSubdirectory($"{_prefix}{Environment.ProcessId}-").FullName;
        lock (_made) _made.Add(d);
        return d;
    }

    void SweepStale()
    {
        foreach (var d in Directory.EnumerateDirectories(Path.GetTempPath(), _prefix + "*"))
        {
            var rest = Path.GetFileName(d)[_prefix.Length..];
            int dash = rest.IndexOf('-');
            if (dash <= 0 || !int.TryParse(rest[..dash], out int pid) || pid == Environment.ProcessId) continue;
            if (Directory.Exists($"/proc/{pid}")) continue;       // still running (or a reused pid: left for later)
            try { Directory.Delete(d, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
