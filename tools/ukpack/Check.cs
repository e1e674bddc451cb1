using System.Buffers.Binary;
using System.Text;
using Iced.Intel;
using Kernel.Syscalls;

namespace Ukpack;

/// <summary>
/// `ukpack check`: which system calls a program and its libraries can make, against the
/// kernel's support table (syscalls/SyscallList.cs, the source the kernel itself builds).
///
/// Every executable section of every object is decoded with Iced. The number reaching each
/// `syscall` instruction is found by walking back through the function (constant
/// propagation on the register that ends in rax: `mov eax, imm`, `xor eax, eax`, register
/// copies, joins at jump targets, stopping at calls, which clobber it). When the number comes
/// from an argument register at the function's start, the function is a wrapper (libc's
/// `syscall()`, musl's and glibc's internal ones): the same walk then runs for that argument
/// at each call site, in the same object or, through the PLT/GOT by symbol name, in others.
///
/// What is reachable: functions reached from the program's entry point, the interpreter's,
/// each loaded library's initialisers and the function pointers stored in its data
/// (relocations; for non-PIE programs, words in data equal to a function's address), over
/// direct calls and jumps, calls through the PLT/GOT to the defining library, and function
/// addresses taken in code (lea/mov). Modules loaded with dlopen (ELF libraries of the tree
/// that no object needs) count from all their exported functions.
/// </summary>
public sealed class SyscallCheck
{
    public sealed record Use(string File, string Function);

    /// <summary>Per syscall number: where it is used (reachable code).</summary>
    public SortedDictionary<int, SortedSet<string>> Reached { get; } = [];
    /// <summary>Present in the code but not reachable from the roots.</summary>
    public SortedDictionary<int, SortedSet<string>> Unreached { get; } = [];
    /// <summary>Reachable `syscall` instructions whose number is not a constant we can see.</summary>
    public SortedSet<string> Unresolved { get; } = new(StringComparer.Ordinal);
    public int Objects { get; private set; }
    public int SyscallInstructions { get; private set; }
    public long InstructionsDecoded { get; private set; }

    static readonly Register[] ArgRegs = [Register.RDI, Register.RSI, Register.RDX, Register.RCX, Register.R8, Register.R9];
    /// <summary>Go's register ABI (ABIInternal): integer arguments in these, in order. Its
    /// syscall wrappers take the number first, in rax.</summary>
    static readonly Register[] GoArgRegs = [Register.RAX, Register.RBX, Register.RCX, Register.RDI, Register.RSI, Register.R8, Register.R9, Register.R10, Register.R11];
    static Register[] ArgRegsOf(Obj o) => o.Go ? GoArgRegs : ArgRegs;
    static bool CallerSaved(Obj o, Register r) => o.Go || r is Register.RAX or Register.RCX or Register.RDX or Register.RSI or Register.RDI
        or Register.R8 or Register.R9 or Register.R10 or Register.R11;

    sealed class Obj
    {
        public required string Guest;
        public required string File;
        public required ElfObject Elf;
        public bool Dlopen;
        public bool Go;                                // built by the Go toolchain (its register ABI)
        public Instruction[] Ins = [];
        public ulong[] Ip = [];
        public ulong[] Starts = [];                   // function starts, sorted
        public Dictionary<ulong, string> Names = [];   // function start -> name
        public Dictionary<ulong, string> PltStubs = []; // PLT entry -> imported name
        public Dictionary<ulong, List<int>> Jumpers = []; // branch target -> branch instruction indices
        public List<(ulong Lo, ulong Hi)> Exec = [];
        public HashSet<ulong> Roots = [];
        public Dictionary<ulong, List<int>> Sites = []; // function start -> syscall instruction indices
        public Dictionary<ulong, List<(int Idx, ulong Target)>> Calls = []; // function -> direct call/jmp out of it
        public Dictionary<ulong, List<(int Idx, string Name)>> ImportCalls = [];
        public Dictionary<ulong, HashSet<ulong>> Taken = []; // function -> addresses taken in its code

        public bool InExec(ulong a) { foreach (var (lo, hi) in Exec) if (a >= lo && a < hi) return true; return false; }

        public ulong FuncOf(ulong a)
        {
            int i = Array.BinarySearch(Starts, a);
            if (i < 0) i = ~i - 1;
            return i >= 0 ? Starts[i] : 0;
        }

        public int IndexOf(ulong a)
        {
            int i = Array.BinarySearch(Ip, a);
            return i >= 0 ? i : ~i;
        }

        public string Name(ulong f) => Names.TryGetValue(f, out var n) ? n : $"sub_{f:x}";
    }

    /// <summary>Functions the dynamic linker calls by name (glibc's ld.so runs libc's
    /// __libc_early_init, which sets up malloc, before the program starts).</summary>
    static readonly HashSet<string> LookedUpByLoader = new(StringComparer.Ordinal) { "__libc_early_init" };

    readonly List<Obj> _objs = [];
    readonly Dictionary<string, (Obj O, ulong Addr)> _exports = new(StringComparer.Ordinal);

    /// <summary>Analyzes `objects` (guest path -> host path); the first is the program.</summary>
    public static SyscallCheck Analyze(string programGuest, IReadOnlyDictionary<string, string> objects)
    {
        var c = new SyscallCheck();
        c.Load(programGuest, objects);
        foreach (var o in c._objs) c.Decode(o);
        c.Resolve();
        return c;
    }

    /// <summary>The program, its interpreter and what they load (DT_NEEDED), without the
    /// modules of the tree that only dlopen would load.</summary>
    public static SortedDictionary<string, string> LoadClosure(string programGuest, IReadOnlyDictionary<string, string> objects)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var byName = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var g in objects.Keys) byName.TryAdd(Path.GetFileName(g), g);
        var queue = new Queue<string>([programGuest]);
        while (queue.Count > 0)
        {
            var g = queue.Dequeue();
            if (!objects.TryGetValue(g, out var h) || !result.TryAdd(g, h)) continue;
            if (ElfObject.Load(h) is not { } e) continue;
            if (e.Interp is { } ip && objects.ContainsKey(ip)) queue.Enqueue(ip);
            foreach (var n in e.Needed) if (byName.TryGetValue(n, out var dep)) queue.Enqueue(dep);
        }
        return result;
    }

    void Load(string programGuest, IReadOnlyDictionary<string, string> objects)
    {
        var all = new Dictionary<string, ElfObject>(StringComparer.Ordinal);
        foreach (var (g, h) in objects) if (ElfObject.Load(h) is { } e) all[g] = e;
        if (!all.TryGetValue(programGuest, out var prog)) throw new UkpackException($"{programGuest}: not an x86-64 ELF file");
        // The program's load order: itself, its interpreter, then DT_NEEDED breadth-first,
        // matched by SONAME or file name.
        var order = new List<string> { programGuest };
        if (prog.Interp is { } ip && all.ContainsKey(ip)) order.Add(ip);
        string? ByName(string n) => all.Keys.FirstOrDefault(k => all[k].Soname == n && Path.GetFileName(k) == n)
                                    ?? all.Keys.FirstOrDefault(k => Path.GetFileName(k) == n) ?? all.Keys.FirstOrDefault(k => all[k].Soname == n);
        for (int i = 0; i < order.Count; i++)
            foreach (var n in all[order[i]].Needed)
                if (ByName(n) is { } g && !order.Contains(g)) order.Add(g);
        int loaded = order.Count;
        // dlopen candidates: libraries (not programs) of the tree, then what they need.
        foreach (var (g, e) in all.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            if (!order.Contains(g) && e.Type == 3 && e.Interp == null && e.IsDynamic && !g.EndsWith(".so.debug", StringComparison.Ordinal)) order.Add(g);
        for (int i = loaded; i < order.Count; i++)
            foreach (var n in all[order[i]].Needed)
                if (ByName(n) is { } g && !order.Contains(g)) order.Add(g);
        for (int i = 0; i < order.Count; i++)
        {
            var e = all[order[i]];
            bool dl = i >= loaded && !order.Take(loaded).Contains(order[i]);
            // A module is dlopen'd when nothing loaded needs it; what modules need is loaded with them.
            _objs.Add(new Obj { Guest = order[i], File = Path.GetFileName(order[i]), Elf = e, Dlopen = dl });
        }
        Objects = _objs.Count;
    }

    void Decode(Obj o)
    {
        var e = o.Elf;
        o.Go = e.Sections.Any(s => s.Name is ".go.buildinfo" or ".gopclntab" or ".note.go.buildid");
        var execSections = e.Sections.Where(s => (s.Flags & ElfObject.SHF_EXECINSTR) != 0 && s.Type == 1 && s.Size > 0).ToList();
        var regions = execSections.Count > 0
            ? execSections.Select(s => (s.Addr, s.Offset, s.Size, s.Name)).ToList()
            : e.Segments.Where(s => s.Type == 1 && (s.Flags & 1) != 0).Select(s => (s.VAddr, s.Offset, s.FileSize, "")).ToList();
        var ins = new List<Instruction>();
        var plt = new List<(ulong Lo, ulong Hi)>();
        foreach (var (addr, off, size, name) in regions)
        {
            if (off + size > (ulong)e.Bytes.Length) continue;
            o.Exec.Add((addr, addr + size));
            if (name.StartsWith(".plt", StringComparison.Ordinal)) plt.Add((addr, addr + size));
            var dec = Iced.Intel.Decoder.Create(64, new ByteArrayCodeReader(e.Bytes, (int)off, (int)size), addr);
            ulong end = addr + size;
            while (dec.IP < end)
            {
                dec.Decode(out var i);
                ins.Add(i);
            }
        }
        o.Ins = ins.ToArray();
        o.Ip = o.Ins.Select(i => i.IP).ToArray();
        InstructionsDecoded += o.Ins.Length;
        bool InPlt(ulong a) { foreach (var (lo, hi) in plt) if (a >= lo && a < hi) return true; return false; }

        // PLT stubs: `jmp [rip+GOT]` whose slot an import relocation names.
        for (int k = 0; k < o.Ins.Length; k++)
        {
            ref var i = ref o.Ins[k];
            if (InPlt(i.IP) && i.Mnemonic == Mnemonic.Jmp && i.IsIPRelativeMemoryOperand && e.ImportSlots.TryGetValue(i.IPRelativeMemoryAddress, out var n))
                o.PltStubs[i.IP & ~0xfUL] = n;
        }

        // Function starts: symbols, entry, call targets, pointers in data.
        var starts = new HashSet<ulong>();
        foreach (var s in e.Symbols) if (o.InExec(s.Value) && !InPlt(s.Value)) { starts.Add(s.Value); o.Names.TryAdd(s.Value, s.Name); }
        if (o.InExec(e.Entry)) { starts.Add(e.Entry); o.Names.TryAdd(e.Entry, "_start"); }
        foreach (var s in e.Sections.Where(s => s.Name is ".init" or ".fini" && o.InExec(s.Addr))) { starts.Add(s.Addr); o.Names.TryAdd(s.Addr, s.Name); o.Roots.Add(s.Addr); }
        for (int k = 0; k < o.Ins.Length; k++)
        {
            ref var i = ref o.Ins[k];
            if (i.FlowControl == FlowControl.Call && i.Op0Kind == OpKind.NearBranch64 && o.InExec(i.NearBranch64) && !InPlt(i.NearBranch64))
                starts.Add(i.NearBranch64);
        }
        foreach (var t in e.RelativeTargets.Concat(e.SymbolPointerTargets))
            if (o.InExec(t) && !InPlt(t)) { starts.Add(t); o.Roots.Add(t); }
        if (e.Type == 2)
        {
            // A non-PIE program has no relocations for its data's function pointers: take
            // aligned words in data sections that equal a known function start.
            var known = new HashSet<ulong>(starts);
            foreach (var s in e.Sections.Where(s => s.Type == 1 && (s.Flags & 2) != 0 && (s.Flags & ElfObject.SHF_EXECINSTR) == 0))
                for (ulong p = s.Offset; p + 8 <= s.Offset + s.Size && p + 8 <= (ulong)e.Bytes.Length; p += 8)
                {
                    var v = BinaryPrimitives.ReadUInt64LittleEndian(e.Bytes.AsSpan((int)p, 8));
                    if (known.Contains(v)) o.Roots.Add(v);
                }
        }
        o.Starts = starts.OrderBy(x => x).ToArray();

        // Per function: syscall sites, calls and jumps out of it, imports, addresses taken.
        for (int k = 0; k < o.Ins.Length; k++)
        {
            ref var i = ref o.Ins[k];
            if (InPlt(i.IP)) continue;
            var f = o.FuncOf(i.IP);
            if (i.Mnemonic == Mnemonic.Syscall)
            {
                SyscallInstructions++;
                (o.Sites.TryGetValue(f, out var l) ? l : o.Sites[f] = []).Add(k);
                continue;
            }
            var fc = i.FlowControl;
            if (fc is FlowControl.Call or FlowControl.UnconditionalBranch or FlowControl.ConditionalBranch && i.Op0Kind == OpKind.NearBranch64)
            {
                var t = i.NearBranch64;
                if (fc != FlowControl.Call) (o.Jumpers.TryGetValue(t, out var jl) ? jl : o.Jumpers[t] = []).Add(k);
                if (o.PltStubs.TryGetValue(t & ~0xfUL, out var imp) && InPlt(t))
                {
                    if (fc != FlowControl.ConditionalBranch) (o.ImportCalls.TryGetValue(f, out var il) ? il : o.ImportCalls[f] = []).Add((k, imp));
                }
                else if (o.InExec(t) && (fc == FlowControl.Call || o.FuncOf(t) != f))
                    (o.Calls.TryGetValue(f, out var cl) ? cl : o.Calls[f] = []).Add((k, o.FuncOf(t)));
            }
            else if ((fc is FlowControl.IndirectCall or FlowControl.IndirectBranch) && i.IsIPRelativeMemoryOperand
                     && e.ImportSlots.TryGetValue(i.IPRelativeMemoryAddress, out var imp2))
                (o.ImportCalls.TryGetValue(f, out var il) ? il : o.ImportCalls[f] = []).Add((k, imp2));
            else if (i.Mnemonic == Mnemonic.Lea && i.IsIPRelativeMemoryOperand && o.InExec(i.IPRelativeMemoryAddress))
                (o.Taken.TryGetValue(f, out var tl) ? tl : o.Taken[f] = []).Add(i.IPRelativeMemoryAddress);
            else if (e.Type == 2 && i.Mnemonic == Mnemonic.Mov && i.Op0Kind == OpKind.Register && i.Op1Kind is OpKind.Immediate32 or OpKind.Immediate32to64 or OpKind.Immediate64
                     && o.InExec(i.GetImmediate(1)))
                (o.Taken.TryGetValue(f, out var tl) ? tl : o.Taken[f] = []).Add(i.GetImmediate(1));
        }
        if (o.Elf.IsDynamic)
            foreach (var (n, v) in o.Elf.Exports())
                if (o.InExec(v)) { _exports.TryAdd(n, (o, v)); o.Names.TryAdd(v, n); }
    }

    /// <summary>What reaches register `reg` just before instruction `idx`.</summary>
    sealed class Val
    {
        public readonly HashSet<int> Consts = [];
        public readonly HashSet<int> Args = [];
        public bool Unknown;
    }

    static readonly InstructionInfoFactory InfoFactory = new();

    static bool Writes(in Instruction i, Register full)
    {
        var info = InfoFactory.GetInfo(i);
        foreach (var u in info.GetUsedRegisters())
            if (u.Register.GetFullRegister() == full && u.Access is OpAccess.Write or OpAccess.CondWrite or OpAccess.ReadWrite or OpAccess.ReadCondWrite)
                return true;
        return false;
    }

    static void Walk(Obj o, int idx, Register reg, Val acc, HashSet<(int, Register)> seen, ref int budget)
    {
        ulong f = o.FuncOf(o.Ip[idx]);
        int i = idx - 1;
        while (true)
        {
            if (--budget < 0) { acc.Unknown = true; return; }
            // Control may also arrive at instruction i+1 by a jump.
            if (o.Jumpers.TryGetValue(o.Ip[i + 1], out var js))
                foreach (var j in js)
                    if (o.FuncOf(o.Ip[j]) == f && seen.Add((j, reg))) Walk(o, j, reg, acc, seen, ref budget);
            if (i < 0 || o.Ip[i] < f || o.FuncOf(o.Ip[i]) != f)
            {
                int k = Array.IndexOf(ArgRegsOf(o), reg);
                if (k >= 0) acc.Args.Add(k); else acc.Unknown = true;
                return;
            }
            ref var ins = ref o.Ins[i];
            var fc = ins.FlowControl;
            if (fc is FlowControl.UnconditionalBranch or FlowControl.IndirectBranch or FlowControl.Return or FlowControl.Exception || ins.IsInvalid)
            {
                if (!o.Jumpers.ContainsKey(o.Ip[i + 1])) acc.Unknown = true;
                return;
            }
            if (fc is FlowControl.Call or FlowControl.IndirectCall && CallerSaved(o, reg)) { acc.Unknown = true; return; }
            if (Writes(ins, reg))
            {
                if (ins.Mnemonic == Mnemonic.Mov && ins.Op0Kind == OpKind.Register && ins.Op0Register.GetSize() >= 4)
                {
                    if (ins.Op1Kind is OpKind.Immediate32 or OpKind.Immediate32to64 or OpKind.Immediate64 or OpKind.Immediate8to32)
                    {
                        long v = (long)ins.GetImmediate(1);
                        if (v is >= 0 and < 1024) acc.Consts.Add((int)v); else acc.Unknown = true;
                        return;
                    }
                    if (ins.Op1Kind == OpKind.Register && ins.Op1Register.GetSize() >= 4)
                    {
                        reg = ins.Op1Register.GetFullRegister();
                        i--;
                        continue;
                    }
                }
                if (ins.Mnemonic is Mnemonic.Xor or Mnemonic.Sub && ins.Op0Kind == OpKind.Register && ins.Op1Kind == OpKind.Register && ins.Op0Register == ins.Op1Register)
                {
                    acc.Consts.Add(0);
                    return;
                }
                acc.Unknown = true;
                return;
            }
            i--;
        }
    }

    static Val ValueAt(Obj o, int idx, Register reg)
    {
        var v = new Val();
        int budget = 2000;
        Walk(o, idx, reg, v, [(idx, reg)], ref budget);
        return v;
    }

    void Resolve()
    {
        // 1. Reachable functions.
        var reach = new HashSet<(Obj, ulong)>();
        var work = new Stack<(Obj, ulong)>();
        void Push(Obj o, ulong f) { if (f != 0 && reach.Add((o, f))) work.Push((o, f)); }
        bool first = true;
        foreach (var o in _objs)
        {
            if (first || o.Guest == _objs[0].Elf.Interp) Push(o, o.FuncOf(o.Elf.Entry));
            first = false;
            foreach (var r in o.Roots) Push(o, o.FuncOf(r));
            foreach (var (n, v) in o.Elf.Exports())
                if (o.InExec(v) && (o.Dlopen || LookedUpByLoader.Contains(n))) Push(o, o.FuncOf(v));
        }
        while (work.Count > 0)
        {
            var (o, f) = work.Pop();
            if (o.Calls.TryGetValue(f, out var cl)) foreach (var (_, t) in cl) Push(o, t);
            if (o.Taken.TryGetValue(f, out var tk)) foreach (var t in tk) Push(o, o.FuncOf(t));
            if (o.ImportCalls.TryGetValue(f, out var ic))
                foreach (var (_, n) in ic)
                    if (_exports.TryGetValue(n, out var ex)) Push(ex.O, ex.O.FuncOf(ex.Addr));
        }

        // 2. Syscall sites, and wrappers whose number is an argument.
        var wrappers = new Queue<(Obj O, ulong F, int Arg)>();
        var seenWrappers = new HashSet<(Obj, ulong, int)>();
        void Record(Obj o, ulong f, Val v, string? via, bool reachable)
        {
            string who = o.File + ": " + o.Name(f) + (via != null ? " (via " + via + ")" : "");
            foreach (var n in v.Consts)
            {
                var map = reachable ? Reached : Unreached;
                (map.TryGetValue(n, out var s) ? s : map[n] = new SortedSet<string>(StringComparer.Ordinal)).Add(who);
            }
            foreach (var a in v.Args)
                if (seenWrappers.Add((o, f, a))) wrappers.Enqueue((o, f, a));
            if (v.Unknown && v.Consts.Count == 0 && v.Args.Count == 0 && reachable) Unresolved.Add(who);
        }
        foreach (var o in _objs)
            foreach (var (f, sites) in o.Sites)
                foreach (var idx in sites)
                    Record(o, f, ValueAt(o, idx, Register.RAX), null, reach.Contains((o, f)));

        // Callers of wrappers: in the same object directly, in others through imports.
        int rounds = 0;
        while (wrappers.Count > 0 && rounds++ < 10000)
        {
            var (wo, wf, arg) = wrappers.Dequeue();
            var names = wo.Elf.Exports().Where(x => x.Value == wf).Select(x => x.Name).ToHashSet(StringComparer.Ordinal);
            var via = wo.Name(wf);
            foreach (var o in _objs)
            {
                foreach (var (f, calls) in o.Calls)
                    if (o == wo)
                        foreach (var (idx, t) in calls)
                            if (t == wf && o.Ins[idx].NearBranch64 == wf)
                                Record(o, f, ValueAt(o, idx, ArgRegsOf(wo)[arg]), via, reach.Contains((o, f)));
                if (names.Count == 0) continue;
                foreach (var (f, calls) in o.ImportCalls)
                    foreach (var (idx, n) in calls)
                        if (names.Contains(n) && _exports.TryGetValue(n, out var ex) && ex.O == wo)
                            Record(o, f, ValueAt(o, idx, ArgRegsOf(wo)[arg]), via, reach.Contains((o, f)));
            }
        }
        foreach (var n in Reached.Keys) Unreached.Remove(n);
    }

    // ---- report

    static readonly Dictionary<int, SyscallEntry> Table = SyscallList.All.GroupBy(e => e.Number).ToDictionary(g => g.Key, g => g.First());

    /// <summary>Names of the calls the table does not list come from the kernel headers of
    /// this machine (asm/unistd_64.h, from linux-libc-dev), when they are installed.</summary>
    static readonly Lazy<Dictionary<int, string>> HeaderNames = new(() =>
    {
        var d = new Dictionary<int, string>();
        foreach (var h in new[] { "/usr/include/x86_64-linux-gnu/asm/unistd_64.h", "/usr/include/asm/unistd_64.h" })
        {
            if (!File.Exists(h)) continue;
            foreach (var line in File.ReadLines(h))
            {
                var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length == 3 && parts[0] == "#define" && parts[1].StartsWith("__NR_", StringComparison.Ordinal) && int.TryParse(parts[2], out var n))
                    d.TryAdd(n, parts[1][5..]);
            }
            break;
        }
        return d;
    });

    public static string NameOf(int nr) => Table.TryGetValue(nr, out var e) ? e.Name
        : HeaderNames.Value.TryGetValue(nr, out var n) ? n : $"syscall_{nr}";
    public static Support LevelOf(int nr) => Table.TryGetValue(nr, out var e) ? e.Level : Support.None;

    public IEnumerable<int> Missing => Reached.Keys.Where(n => LevelOf(n) == Support.None);
    public IEnumerable<int> PartialOnes => Reached.Keys.Where(n => LevelOf(n) == Support.Partial);
    public IEnumerable<int> Supported => Reached.Keys.Where(n => LevelOf(n) == Support.Full);

    /// <summary>One line for the end of `ukpack build`.</summary>
    public string Summary()
    {
        var sb = new StringBuilder($"check: {Reached.Count} system calls reachable: {Supported.Count()} supported, {PartialOnes.Count()} partial, {Missing.Count()} missing");
        if (Missing.Any()) sb.Append(" (").Append(string.Join(", ", Missing.Select(NameOf))).Append(')');
        sb.Append("; `ukpack check` for details");
        return sb.ToString();
    }

    public string Report(string program, bool verbose)
    {
        var sb = new StringBuilder();
        sb.Append($"{program}: {Objects} ELF objects, {InstructionsDecoded} instructions, {SyscallInstructions} syscall instructions\n");
        sb.Append($"{Reached.Count} system calls reachable: {Supported.Count()} supported, {PartialOnes.Count()} partial, {Missing.Count()} missing\n");
        int w = Reached.Keys.Select(n => NameOf(n).Length).DefaultIfEmpty(8).Max();
        void Users(SortedSet<string> users)
        {
            int max = verbose ? int.MaxValue : 3;
            sb.Append("      used in: ").Append(string.Join(", ", users.Take(max)));
            if (users.Count > max) sb.Append($", and {users.Count - max} more");
            sb.Append('\n');
        }
        foreach (var (title, set) in new[] { ("missing", Missing), ("partial", PartialOnes), ("supported", Supported) })
        {
            var list = set.ToList();
            if (list.Count == 0) continue;
            sb.Append($"\n{title} ({list.Count}):\n");
            foreach (var n in list)
            {
                sb.Append($"  {n,3} {NameOf(n).PadRight(w)}");
                if (Table.TryGetValue(n, out var e) && e.Note != null && title != "supported") sb.Append("  ").Append(e.Note);
                else if (!Table.ContainsKey(n)) sb.Append("  not in the kernel's table (ENOSYS)");
                sb.Append('\n');
                Users(Reached[n]);
            }
        }
        if (Unresolved.Count > 0)
        {
            sb.Append($"\n{Unresolved.Count} reachable functions make a system call whose number is not a constant here:\n");
            foreach (var u in Unresolved.Take(verbose ? int.MaxValue : 8)) sb.Append("  ").Append(u).Append('\n');
            if (!verbose && Unresolved.Count > 8) sb.Append($"  and {Unresolved.Count - 8} more (-v)\n");
        }
        if (verbose && Unreached.Count > 0)
        {
            sb.Append($"\npresent but not reachable from the program ({Unreached.Count}): ");
            sb.Append(string.Join(" ", Unreached.Keys.Select(NameOf))).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>`ukpack check APP [--fs DIR] [--strict] [-v]`.</summary>
    public static int Run(string app, string? fs, bool strict, bool verbose, IReadOnlyList<string> env, TextWriter output)
    {
        var (bytes, elf) = Builder.LoadProgram(app);
        var appFull = Path.GetFullPath(app);
        string programPath = "/app/" + Path.GetFileName(appFull);
        if (fs != null)
        {
            if (!Directory.Exists(fs)) throw new UkpackException($"{fs}: no such directory");
            var fsFull = Path.GetFullPath(fs).TrimEnd('/');
            if (appFull.StartsWith(fsFull + "/", StringComparison.Ordinal)) programPath = appFull[fsFull.Length..];
        }
        bool ownInterp = elf.HasInterp() && fs != null &&
            File.Exists(Path.Combine(fs, Encoding.UTF8.GetString(elf.Interp(bytes)).TrimEnd('\0').TrimStart('/')));
        var closure = LibraryClosure.Resolve(programPath, appFull, fs, ownInterp, env, null);
        var c = Analyze(programPath, closure.Objects);
        output.Write(c.Report(programPath, verbose));
        if (strict && c.Missing.Any())
        {
            output.Flush();
            Console.Error.WriteLine($"ukpack: check: {c.Missing.Count()} missing system calls are reachable: {string.Join(", ", c.Missing.Select(NameOf))}");
            return 3;
        }
        return 0;
    }
}
