using System.Text;
using System.Text.Json;

namespace Ukpack;

/// <summary>
/// ukpack.json (docs/ukpack-config.md): what `ukpack build` packs and how `ukpack run` boots
/// it, so both work with no arguments. JSON with comments and trailing commas allowed; every
/// error names the file and line. Paths are relative to the file's directory.
/// </summary>
public sealed class UkpackConfig
{
    public const string DefaultName = "ukpack.json";

    public required string File { get; init; }
    public string? Program { get; private set; }
    public List<string> Args { get; } = [];
    public List<string> Env { get; } = [];
    public string? Rootfs { get; private set; }
    /// <summary>Guest path -> host file or directory added to the image.</summary>
    public List<(string Guest, string Host)> Files { get; } = [];
    public string? Output { get; private set; }
    public string? Kernel { get; private set; }
    public string? Memory { get; private set; }
    public int? Cpus { get; private set; }
    public string? Machine { get; private set; }
    public string? Accel { get; private set; }
    public List<string> Disks { get; } = [];
    /// <summary>ext4 volume files mounted in the guest: "FILE:/guest/path[:ro]" (FILE made absolute).</summary>
    public List<string> Volumes { get; } = [];
    public bool? Rng { get; private set; }
    /// <summary>"rootDisk": the root filesystem on an ext4 disk in the image (--root-disk).</summary>
    public bool? RootDisk { get; private set; }
    /// <summary>"rootDiskSize": its size, e.g. "4G" (--root-disk-size).</summary>
    public string? RootDiskSize { get; private set; }
    public double? Timeout { get; private set; }
    public int? Log { get; private set; }
    /// <summary>"ports" and "network" as one NetSpec (null: neither given).</summary>
    public NetSpec? Net { get; private set; }

    static readonly string[] Keys =
        ["program", "args", "env", "rootfs", "files", "output", "kernel", "memory", "cpus", "machine", "accel", "disks", "volumes", "rootDisk", "rootDiskSize", "rng", "timeout", "log", "ports", "network"];

    /// <summary>The image the config builds: "output", else the program's name + .img, beside the file.</summary>
    public string ImagePath => Output ?? Path.Combine(Path.GetDirectoryName(File) ?? ".", Path.GetFileName(Program ?? "app") + ".img");

    /// <summary>`--config FILE`, else ./ukpack.json; null when neither exists and none was named.</summary>
    public static UkpackConfig? Find(string? named)
    {
        if (named != null)
        {
            if (!System.IO.File.Exists(named)) throw new UkpackException($"{named}: no such file");
            return Load(named);
        }
        return System.IO.File.Exists(DefaultName) ? Load(DefaultName) : null;
    }

    public static UkpackConfig Load(string path)
    {
        byte[] bytes;
        try { bytes = System.IO.File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new UkpackException($"{path}: {e.Message}"); }
        var c = new UkpackConfig { File = Path.GetFullPath(path) };
        var p = new Parser(path, bytes);
        try { c.Parse(ref p); }
        catch (JsonException e) { throw new UkpackException($"{path}:{(e.LineNumber ?? 0) + 1}: not valid JSON: {FirstSentence(e.Message)}"); }
        if (c.Program == null) throw new UkpackException($"{path}:1: \"program\" is required (the program to pack)");
        return c;
    }

    static string FirstSentence(string m)
    {
        int i = m.IndexOf(" Path:", StringComparison.Ordinal);
        if (i < 0) i = m.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return (i > 0 ? m[..i] : m).TrimEnd('.');
    }

    ref struct Parser(string file, byte[] bytes)
    {
        public Utf8JsonReader R = new(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        readonly byte[] _bytes = bytes;
        public readonly string File = file;

        public int Line()
        {
            int n = 1;
            long end = Math.Min(R.TokenStartIndex, _bytes.Length);
            for (long i = 0; i < end; i++) if (_bytes[i] == (byte)'\n') n++;
            return n;
        }

        public UkpackException Error(string message) => new($"{File}:{Line()}: {message}");

        public void Read()
        {
            if (!R.Read()) throw new UkpackException($"{File}:{Line()}: unexpected end of file");
        }

        public string String(string key)
        {
            Read();
            if (R.TokenType != JsonTokenType.String) throw Error($"\"{key}\" must be a string");
            var s = R.GetString()!;
            if (s.Contains('\0')) throw Error($"\"{key}\" contains a NUL character");
            return s;
        }

        public List<string> Strings(string key)
        {
            Read();
            if (R.TokenType != JsonTokenType.StartArray) throw Error($"\"{key}\" must be an array of strings");
            var list = new List<string>();
            while (true)
            {
                Read();
                if (R.TokenType == JsonTokenType.EndArray) return list;
                if (R.TokenType != JsonTokenType.String) throw Error($"\"{key}\" must be an array of strings");
                var s = R.GetString()!;
                if (s.Contains('\0')) throw Error($"\"{key}\" contains a NUL character");
                list.Add(s);
            }
        }

        /// <summary>An object of string values, as (key, value, line) in order.</summary>
        public List<(string K, string V, int Line)> StringMap(string key)
        {
            Read();
            if (R.TokenType != JsonTokenType.StartObject) throw Error($"\"{key}\" must be an object of strings");
            var list = new List<(string, string, int)>();
            while (true)
            {
                Read();
                if (R.TokenType == JsonTokenType.EndObject) return list;
                var k = R.GetString()!;
                int line = Line();
                Read();
                if (R.TokenType != JsonTokenType.String) throw Error($"\"{key}\": the value of \"{k}\" must be a string");
                list.Add((k, R.GetString()!, line));
            }
        }

        public void Skip() { Read(); R.Skip(); }
    }

    string Resolve(string path) => Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(File)!, path));

    void Parse(ref Parser p)
    {
        p.Read();
        if (p.R.TokenType != JsonTokenType.StartObject) throw p.Error("the configuration must be a JSON object");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        List<string> ports = [];
        int portsLine = 0, netLine = 0;
        string? netMode = null, ip = null, gateway = null, dns = null;
        while (true)
        {
            p.Read();
            if (p.R.TokenType == JsonTokenType.EndObject) break;
            var key = p.R.GetString()!;
            if (!seen.Add(key)) throw p.Error($"\"{key}\" is given twice");
            switch (key)
            {
                case "program": Program = Resolve(p.String(key)); break;
                case "args": Args.AddRange(p.Strings(key)); break;
                case "env":
                    foreach (var (k, v, line) in p.StringMap(key))
                    {
                        if (k.Length == 0 || k.Contains('=') || k.Contains('\0') || v.Contains('\0'))
                            throw new UkpackException($"{p.File}:{line}: \"env\": \"{k}\" is not a valid variable name");
                        Env.Add(k + "=" + v);
                    }
                    break;
                case "rootfs":
                    Rootfs = Resolve(p.String(key));
                    if (!Directory.Exists(Rootfs) && !System.IO.File.Exists(Rootfs)) throw p.Error($"\"rootfs\": {Rootfs}: no such directory or tarball");
                    break;
                case "files":
                    foreach (var (g, h, line) in p.StringMap(key))
                    {
                        if (!g.StartsWith('/')) throw new UkpackException($"{p.File}:{line}: \"files\": \"{g}\" must be an absolute path in the image");
                        var host = Resolve(h);
                        if (!System.IO.File.Exists(host) && !Directory.Exists(host))
                            throw new UkpackException($"{p.File}:{line}: \"files\": {host}: no such file or directory");
                        Files.Add((g, host));
                    }
                    break;
                case "output": Output = Resolve(p.String(key)); break;
                case "kernel": Kernel = Resolve(p.String(key)); break;
                case "memory":
                    Memory = p.String(key);
                    if (!System.Text.RegularExpressions.Regex.IsMatch(Memory, "^[0-9]+[KMGT]?$"))
                        throw p.Error($"\"memory\" must be a size such as \"512M\" or \"2G\", not \"{Memory}\"");
                    break;
                case "cpus":
                    p.Read();
                    if (p.R.TokenType != JsonTokenType.Number || !p.R.TryGetInt32(out var cpus) || cpus < 1 || cpus > 64)
                        throw p.Error("\"cpus\" must be an integer from 1 to 64");
                    Cpus = cpus;
                    break;
                case "machine":
                    Machine = p.String(key);
                    if (Machine is not ("microvm" or "pc" or "q35")) throw p.Error($"\"machine\" must be \"microvm\", \"pc\" or \"q35\", not \"{Machine}\"");
                    break;
                case "accel":
                    Accel = p.String(key);
                    if (Accel is not ("tcg" or "kvm")) throw p.Error($"\"accel\" must be \"tcg\" or \"kvm\", not \"{Accel}\"");
                    break;
                case "disks":
                    foreach (var d in p.Strings(key)) Disks.Add(d.EndsWith(":ro", StringComparison.Ordinal) ? Resolve(d[..^3]) + ":ro" : Resolve(d));
                    break;
                case "volumes":
                    foreach (var v in p.Strings(key))
                    {
                        int c = v.IndexOf(":/", StringComparison.Ordinal);
                        if (c <= 0) throw p.Error($"\"volumes\": \"{v}\" is not FILE:/guest/path[:ro]");
                        Volumes.Add(Resolve(v[..c]) + v[c..]);
                    }
                    break;
                case "rootDisk":
                    p.Read();
                    if (p.R.TokenType is not (JsonTokenType.True or JsonTokenType.False)) throw p.Error("\"rootDisk\" must be true or false");
                    RootDisk = p.R.GetBoolean();
                    break;
                case "rootDiskSize":
                    RootDiskSize = p.String(key);
                    if (!System.Text.RegularExpressions.Regex.IsMatch(RootDiskSize, "^[0-9]+[KMGT]?$"))
                        throw p.Error($"\"rootDiskSize\" must be a size such as \"4G\", not \"{RootDiskSize}\"");
                    break;
                case "rng":
                    p.Read();
                    if (p.R.TokenType is not (JsonTokenType.True or JsonTokenType.False)) throw p.Error("\"rng\" must be true or false");
                    Rng = p.R.GetBoolean();
                    break;
                case "timeout":
                    p.Read();
                    if (p.R.TokenType != JsonTokenType.Number || !p.R.TryGetDouble(out var t) || t <= 0) throw p.Error("\"timeout\" must be a positive number of seconds");
                    Timeout = t;
                    break;
                case "ports":
                    portsLine = p.Line();
                    ports = p.Strings(key);
                    foreach (var s in ports)
                    {
                        try { PortForward.Parse(s); }
                        catch (UkpackException e) { throw p.Error($"\"ports\": {e.Message.Replace("-p ", "")}"); }
                    }
                    break;
                case "network":
                    // "user", "none", "tap=NAME", or {"mode": ..., "ip": ..., "gateway": ..., "dns": ...}
                    netLine = p.Line();
                    p.Read();
                    if (p.R.TokenType == JsonTokenType.String) netMode = p.R.GetString();
                    else if (p.R.TokenType == JsonTokenType.StartObject)
                    {
                        while (true)
                        {
                            p.Read();
                            if (p.R.TokenType == JsonTokenType.EndObject) break;
                            var k = p.R.GetString()!;
                            var v = p.String("network." + k);
                            switch (k)
                            {
                                case "mode": netMode = v; break;
                                case "ip": ip = v; break;
                                case "gateway": gateway = v; break;
                                case "dns": dns = v; break;
                                default: throw p.Error($"\"network\": unknown key \"{k}\" (known: mode, ip, gateway, dns)");
                            }
                        }
                    }
                    else throw p.Error("\"network\" must be \"user\", \"none\", \"tap=NAME\" or an object with mode, ip, gateway, dns");
                    break;
                case "log":
                    p.Read();
                    if (p.R.TokenType != JsonTokenType.Number || !p.R.TryGetInt32(out var lv) || lv is < 0 or > 3) throw p.Error("\"log\" must be 0, 1, 2 or 3");
                    Log = lv;
                    break;
                default:
                    throw p.Error($"unknown key \"{key}\" (known: {string.Join(", ", Keys)})");
            }
        }
        if (p.R.Read()) throw p.Error("text after the configuration object");
        if (portsLine != 0 || netLine != 0)
        {
            // The same checks as ukpack run's options, reported at the line of the key.
            try { Net = NetSpec.Parse(netMode, ports, ip, gateway, dns); }
            catch (UkpackException e) { throw new UkpackException($"{p.File}:{Math.Max(portsLine, netLine)}: {e.Message}"); }
        }
    }

    /// <summary>`-e K=V` at run time: the image's environment with K replaced or added.</summary>
    public static List<string> MergeEnv(IReadOnlyList<string> image, IReadOnlyList<string> overrides)
    {
        var env = image.ToList();
        foreach (var kv in overrides)
        {
            int eq = kv.IndexOf('=');
            if (eq <= 0) throw new UkpackException($"-e {kv}: expected K=V");
            if (kv.Contains('\0')) throw new UkpackException("-e: NUL byte in value");
            var prefix = kv[..(eq + 1)];
            int i = env.FindIndex(e => e.StartsWith(prefix, StringComparison.Ordinal));
            if (i >= 0) env[i] = kv; else env.Add(kv);
        }
        return env;
    }
}
