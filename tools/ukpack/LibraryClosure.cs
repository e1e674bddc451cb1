using Microsoft.Extensions.Logging;

namespace Ukpack;

/// <summary>
/// The shared libraries every ELF object in the image needs: the program's, and those of each
/// ELF object in the --fs tree (Python/Perl/Ruby extension modules, plugins, other programs),
/// followed transitively. Names are resolved the way ld.so does (ld.so(8)): DT_RPATH (when
/// there is no DT_RUNPATH) of the object and then of the executable, LD_LIBRARY_PATH of the
/// image's environment, DT_RUNPATH, the directories of ld.so.conf, then the default
/// directories; $ORIGIN, $LIB and $PLATFORM are expanded; a candidate that is not an x86-64
/// ELF is skipped, as ld.so skips incompatible files.
///
/// A name is looked up first in the image's tree (the --fs directory, symbolic links resolved
/// inside it), then, unless the tree has its own dynamic linker (a complete root filesystem),
/// on this machine at the same path; what comes from this machine is added to the image.
/// </summary>
public sealed class LibraryClosure
{
    public sealed record Added(string GuestPath, string HostPath, string Reason);

    /// <summary>ld.so's built-in directories on Debian x86-64 (multiarch first).</summary>
    public static readonly string[] DefaultDirs =
        ["/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"];

    /// <summary>Files to add from this machine, in discovery order (interpreter first).</summary>
    public List<Added> AddedFiles { get; } = [];
    /// <summary>Every ELF object of the image that was examined: guest path -> host path.</summary>
    public SortedDictionary<string, string> Objects { get; } = new(StringComparer.Ordinal);
    public List<string> Warnings { get; } = [];

    readonly string? _fsRoot;
    readonly bool _ownRoot;
    readonly List<string> _ldLibraryPath = [];
    readonly List<string> _confDirs;
    readonly ILogger? _log;
    readonly HashSet<string> _sonames = new(StringComparer.Ordinal);
    readonly Dictionary<string, ElfObject?> _cache = new(StringComparer.Ordinal);

    LibraryClosure(string? fsRoot, bool ownRoot, IEnumerable<string> env, ILogger? log)
    {
        _fsRoot = fsRoot == null ? null : Path.GetFullPath(fsRoot).TrimEnd('/');
        _ownRoot = ownRoot;
        _log = log;
        foreach (var kv in env)
            if (kv.StartsWith("LD_LIBRARY_PATH=", StringComparison.Ordinal))
                _ldLibraryPath.AddRange(kv["LD_LIBRARY_PATH=".Length..].Split(':', ';').Where(d => d.Length > 0));
        _confDirs = ReadLdSoConf("/etc/ld.so.conf", 0);
    }

    /// <summary>
    /// Resolves the closure. `programGuest` is the program's path in the image, `programHost`
    /// where it is on this machine. The program's own interpreter and libraries must be found
    /// (else UkpackException, unless the tree is a complete root); a tree object's missing
    /// library is a warning (a module for something not installed is common and harmless
    /// until imported).
    /// </summary>
    public static LibraryClosure Resolve(string programGuest, string programHost, string? fsRoot, bool ownRoot,
        IEnumerable<string> env, ILogger? log)
    {
        var c = new LibraryClosure(fsRoot, ownRoot, env, log);
        var prog = c.LoadObject(programHost);
        if (prog == null) return c;
        c.Objects[programGuest] = programHost;
        var queue = new Queue<(string Guest, string Host, ElfObject Obj, bool Required)>();
        // $ORIGIN of a program outside the tree is its directory on this machine (what ld.so
        // --list would use); its libraries are packed at the paths found there.
        var programOrigin = Path.GetDirectoryName(fsRoot != null && c.InTree(programHost) ? programGuest : programHost) ?? "/";
        if (prog.Interp is { Length: > 0 } interp) c.Require(interp, prog, programGuest, required: !ownRoot, "its interpreter (PT_INTERP)", queue);
        queue.Enqueue((programGuest, programHost, prog, true));

        if (c._fsRoot != null)
            foreach (var (guest, host) in c.TreeElfObjects())
                if (guest != programGuest && c.Objects.TryAdd(guest, host) && c.LoadObject(host) is { IsDynamic: true } o)
                {
                    // Another program of the tree (one the program executes) needs its interpreter too.
                    if (o.Interp is { Length: > 0 } treeInterp) c.Require(treeInterp, o, guest, required: false, "its interpreter (PT_INTERP)", queue);
                    queue.Enqueue((guest, host, o, false));
                }

        while (queue.Count > 0)
        {
            var (guest, host, obj, required) = queue.Dequeue();
            var origin = guest == programGuest ? programOrigin : Path.GetDirectoryName(guest) ?? "/";
            foreach (var name in obj.Needed)
            {
                // ld.so satisfies a name from an object already loaded under that SONAME
                // (libm's ld-linux-x86-64.so.2 is the interpreter) before searching.
                if (c._sonames.Contains(name)) continue;
                var found = c.Find(name, obj, origin, prog, out var via);
                if (found == null)
                {
                    var msg = $"library {name} not found (needed by {guest}){(c._ownRoot ? " in the --fs tree" : " in the --fs tree or on this machine")}";
                    if (required && !c._ownRoot) throw new UkpackException($"{programGuest}: {msg}");
                    if (!c.Warnings.Contains(msg)) c.Warnings.Add(msg);
                    continue;
                }
                var (g, h, fromHost) = found.Value;
                if (!c.Objects.TryAdd(g, h)) continue;
                if (fromHost) c.AddedFiles.Add(new Added(g, h, $"{name} needed by {guest}, found in {via}"));
                c._sonames.Add(name);
                if (c.LoadObject(h) is { } lib)
                {
                    if (lib.Soname != null) c._sonames.Add(lib.Soname);
                    queue.Enqueue((g, h, lib, required));
                }
            }
        }
        c.AddUnwinder(prog);
        foreach (var a in c.AddedFiles) log?.LogInformation("library closure: added {Path} ({Reason})", a.GuestPath, a.Reason);
        return c;
    }

    /// <summary>glibc loads libgcc_s.so.1 with dlopen to unwind a thread's stack in
    /// pthread_exit and pthread_cancel (and for backtrace); without it those abort the program
    /// ("libgcc_s.so.1 must be installed for pthread_exit to work"). Packed beside libc when
    /// it can be found as libc's own dependency would be; its absence is no error.</summary>
    void AddUnwinder(ElfObject prog)
    {
        const string unwinder = "libgcc_s.so.1";
        if (!_sonames.Contains("libc.so.6") || _sonames.Contains(unwinder)) return;
        var libc = Objects.FirstOrDefault(o => Path.GetFileName(o.Key) == "libc.so.6");
        if (libc.Key == null || LoadObject(libc.Value) is not { } libcObj) return;
        var found = Find(unwinder, libcObj, Path.GetDirectoryName(libc.Key) ?? "/", prog, out var via);
        if (found == null) return;
        var (g, h, fromHost) = found.Value;
        if (!Objects.TryAdd(g, h)) return;
        _sonames.Add(unwinder);
        if (fromHost) AddedFiles.Add(new Added(g, h, $"{unwinder}, which glibc's pthread_exit and pthread_cancel load with dlopen, found in {via}"));
    }

    void Require(string guestPath, ElfObject from, string fromGuest, bool required, string why, Queue<(string, string, ElfObject, bool)> queue)
    {
        var hit = Locate(guestPath);
        if (hit == null)
        {
            if (required) throw new UkpackException($"{fromGuest}: its interpreter {guestPath} is missing on this machine (PT_INTERP)");
            Warnings.Add($"{why} {guestPath} of {fromGuest} not found in the --fs tree");
            return;
        }
        var (h, fromHost) = hit.Value;
        if (!Objects.TryAdd(guestPath, h)) return;
        if (LoadObject(h)?.Soname is { } so) _sonames.Add(so);
        if (fromHost) AddedFiles.Add(new Added(guestPath, h, $"{why} of {fromGuest}"));
    }

    bool InTree(string hostPath) => _fsRoot != null && Path.GetFullPath(hostPath).StartsWith(_fsRoot + "/", StringComparison.Ordinal);

    ElfObject? LoadObject(string host)
    {
        if (_cache.TryGetValue(host, out var o)) return o;
        o = ElfObject.IsElfFile(host) ? ElfObject.Load(host) : null;
        _cache[host] = o;
        return o;
    }

    /// <summary>ld.so's search for a DT_NEEDED name. Returns (guest path, host path, from this machine).</summary>
    (string, string, bool)? Find(string name, ElfObject obj, string origin, ElfObject exe, out string via)
    {
        via = "";
        if (name.Contains('/'))
        {
            var p = name.StartsWith('/') ? name : Path.GetFullPath(Path.Combine(origin, name));
            via = "its path";
            return Locate(p) is { } hit && LoadObject(hit.Host) != null ? (p, hit.Host, hit.FromHost) : null;
        }
        var dirs = new List<(string Dir, string Via)>();
        if (obj.RunPath == null)
        {
            foreach (var d in Expand(obj.RPath, origin)) dirs.Add((d, "DT_RPATH " + d));
            if (!ReferenceEquals(obj, exe) && exe.RunPath == null)
                foreach (var d in Expand(exe.RPath, origin)) dirs.Add((d, "the program's DT_RPATH " + d));
        }
        foreach (var d in _ldLibraryPath) dirs.Add((d, "LD_LIBRARY_PATH " + d));
        foreach (var d in Expand(obj.RunPath, origin)) dirs.Add((d, "DT_RUNPATH " + d));
        foreach (var d in _confDirs) dirs.Add((d, "ld.so.conf directory " + d));
        foreach (var d in DefaultDirs) dirs.Add((d, "default directory " + d));
        foreach (var (dir, v) in dirs)
        {
            var p = dir.TrimEnd('/') + "/" + name;
            if (Locate(p) is { } hit && LoadObject(hit.Host) != null)
            {
                via = v;
                return (p, hit.Host, hit.FromHost);
            }
        }
        return null;
    }

    static IEnumerable<string> Expand(string? path, string origin)
    {
        if (string.IsNullOrEmpty(path)) yield break;
        foreach (var raw in path.Split(':'))
        {
            if (raw.Length == 0) continue;
            var d = raw.Replace("${ORIGIN}", origin).Replace("$ORIGIN", origin)
                       .Replace("${LIB}", "lib/x86_64-linux-gnu").Replace("$LIB", "lib/x86_64-linux-gnu")
                       .Replace("${PLATFORM}", "x86_64").Replace("$PLATFORM", "x86_64");
            if (d.StartsWith('/')) yield return Normalize(d);
        }
    }

    static string Normalize(string p)
    {
        var parts = new List<string>();
        foreach (var c in p.Split('/'))
        {
            if (c.Length == 0 || c == ".") continue;
            if (c == "..") { if (parts.Count > 0) parts.RemoveAt(parts.Count - 1); continue; }
            parts.Add(c);
        }
        return "/" + string.Join('/', parts);
    }

    /// <summary>A guest path as a regular file: in the tree first, else (when allowed) on this machine.</summary>
    (string Host, bool FromHost)? Locate(string guestPath)
    {
        if (_fsRoot != null && ResolveInTree(guestPath) is { } t) return (t, false);
        if (_ownRoot) return null;
        return File.Exists(guestPath) ? (guestPath, true) : null;
    }

    /// <summary>The host file a guest path names inside the tree, resolving symbolic links
    /// (absolute targets relative to the tree's root), or null.</summary>
    string? ResolveInTree(string guestPath)
    {
        var pending = new Stack<string>(Normalize(guestPath).Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse());
        var cur = new List<string>();
        int links = 0;
        while (pending.Count > 0)
        {
            var c = pending.Pop();
            if (c == ".") continue;
            if (c == "..") { if (cur.Count > 0) cur.RemoveAt(cur.Count - 1); continue; }
            var host = _fsRoot + "/" + string.Join('/', cur.Append(c));
            FileSystemInfo fi = new FileInfo(host);
            if (!fi.Exists && !Directory.Exists(host) && fi.LinkTarget == null) return null;
            if (fi.LinkTarget is { } target)
            {
                if (++links > 40) return null;
                if (target.StartsWith('/')) cur.Clear();
                foreach (var t in target.Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse()) pending.Push(t);
                continue;
            }
            cur.Add(c);
        }
        var final = _fsRoot + "/" + string.Join('/', cur);
        return File.Exists(final) ? final : null;
    }

    /// <summary>ld.so.conf: the tree's own when it is a complete root, else this machine's;
    /// `include` lines with globs are followed.</summary>
    List<string> ReadLdSoConf(string guestPath, int depth)
    {
        var dirs = new List<string>();
        if (depth > 8) return dirs;
        string? host = _ownRoot ? ResolveInTree(guestPath) : (File.Exists(guestPath) ? guestPath : null);
        if (host == null) return dirs;
        string[] lines;
        try { lines = File.ReadAllLines(host); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return dirs; }
        foreach (var raw in lines)
        {
            var line = raw;
            int hash = line.IndexOf('#');
            if (hash >= 0) line = line[..hash];
            line = line.Trim();
            if (line.Length == 0) continue;
            if (line.StartsWith("include", StringComparison.Ordinal) && line.Length > 7 && char.IsWhiteSpace(line[7]))
            {
                foreach (var pattern in line[8..].Split(' ', '\t', StringSplitOptions.RemoveEmptyEntries))
                {
                    var pat = pattern.StartsWith('/') ? pattern : Path.Combine(Path.GetDirectoryName(guestPath) ?? "/", pattern);
                    var dir = Path.GetDirectoryName(pat) ?? "/";
                    var hostDir = _ownRoot ? ResolveDirInTree(dir) : dir;
                    if (hostDir == null || !Directory.Exists(hostDir)) continue;
                    foreach (var f in Directory.GetFiles(hostDir, Path.GetFileName(pat)).OrderBy(x => x, StringComparer.Ordinal))
                        dirs.AddRange(ReadLdSoConf(dir.TrimEnd('/') + "/" + Path.GetFileName(f), depth + 1));
                }
                continue;
            }
            if (line.StartsWith("hwcap", StringComparison.Ordinal)) continue;
            foreach (var d in line.Split([' ', '\t', ',', ':'], StringSplitOptions.RemoveEmptyEntries))
                if (d.StartsWith('/') && !dirs.Contains(d)) dirs.Add(Normalize(d));
        }
        return dirs;
    }

    string? ResolveDirInTree(string dir) => _fsRoot + Normalize(dir) is var p && Directory.Exists(p) ? p : null;

    /// <summary>Regular files of the tree that are dynamically linked x86-64 ELF objects
    /// (symbolic links are not followed: their targets are visited as files).</summary>
    IEnumerable<(string Guest, string Host)> TreeElfObjects()
    {
        var opts = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint, IgnoreInaccessible = true };
        var files = Directory.EnumerateFiles(_fsRoot!, "*", opts).OrderBy(f => f, StringComparer.Ordinal);
        foreach (var f in files)
        {
            var fi = new FileInfo(f);
            if (fi.LinkTarget != null || fi.Length < 64) continue;
            if (!ElfObject.IsElfFile(f)) continue;
            yield return (f[_fsRoot!.Length..], f);
        }
    }
}
