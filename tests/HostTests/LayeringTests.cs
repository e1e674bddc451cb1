using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace HostTests;

/// <summary>
/// The kernel's layering, checked on its sources: every kernel file belongs to a layer (by
/// folder), a layer may use only itself and the layers below it, and a file's namespace is
/// its folder's. The sources are compiled with Roslyn (against our corelib, as the kernel
/// build does) so each name is judged by the declaration it binds to, not by its `using`s.
/// </summary>
public class LayeringTests
{
    /// <summary>
    /// The layers, lowest first. A file may use declarations of its own layer and of any
    /// layer before it; each folder is its own layer, so there can be no cycle between
    /// folders. A path ending in ".cs" places one file; otherwise the longest matching folder
    /// prefix wins.
    /// </summary>
    public static readonly (string Path, string Namespace, int Layer)[] Layers =
    [
        // 0, the machine layer: the runtime (NativeAOT helpers; our corelib is below it),
        // console, panic, arch, memory, time and drivers. It names nothing from sched, proc,
        // fs or above; its folders still use each other (the heap logs, the log reads the
        // clock, paging uses the CPU), so they are one layer.
        ("kernel/runtime/", "Kernel.Runtime", 0),
        ("kernel/console/", "Kernel.Console", 0),
        ("kernel/Panic.cs", "Kernel", 0),
        ("kernel/Symbols.cs", "Kernel", 0),
        ("kernel/BootOptions.cs", "Kernel", 0),
        ("kernel/arch/x86_64/", "Kernel.Arch", 0),
        ("kernel/memory/", "Kernel.Memory", 0),
        ("kernel/time/", "Kernel.Time", 0),
        ("drivers/", "Kernel.Drivers", 0),
        // 1, the Linux ABI: errno, results, user pointers, structs, constants, the ELF format.
        ("abi/", "Kernel.Abi", 1),
        // 2, threads and their scheduling (signals and timers reach it through hooks).
        ("kernel/sched/", "Kernel.Sched", 2),
        // 3, files: the VFS and its file systems, pipes, the console.
        ("fs/", "Kernel.Fs", 3),
        // 4, networking: sockets (the socket file and its families), the TCP/IP stack over
        // the network drivers. Sockets are files; processes (SCM_CREDENTIALS, SIGPIPE) are
        // reached through hooks installed by Kmain.
        ("net/", "Kernel.Net", 4),
        // 5, processes: memory, signals, timers, faults, signalfd, procfs.
        ("kernel/proc/", "Kernel.Proc", 5),
        ("kernel/vdso/", "Kernel.Vdso", 6),
        // 7.., the syscall layer, the loader, and the one wiring point.
        ("syscalls/", "Kernel.Syscalls", 7),
        ("loader/", "Kernel.Loader", 8),
        ("kernel/SelfTest.cs", "Kernel", 9),
        ("kernel/SelfTest.Gc.cs", "Kernel", 9),
        ("kernel/SelfTest.Virtio.cs", "Kernel", 9),
        ("kernel/Kmain.cs", "Kernel", 9),
    ];

    static readonly string[] SourceRoots = ["kernel", "drivers", "abi", "fs", "net", "syscalls", "loader"];

    static int LayerOf(string rel)
    {
        int best = -1, bestLen = -1;
        for (int i = 0; i < Layers.Length; i++)
        {
            string p = Layers[i].Path;
            bool match = p.EndsWith(".cs") ? rel == p : rel.StartsWith(p);
            if (match && p.Length > bestLen) { best = i; bestLen = p.Length; }
        }
        return best;
    }

    sealed record Use(string File, int Line, string Name, string DeclFile);

    static readonly Lazy<(List<string> Files, List<Use> Uses, List<string> Problems)> _analysis = new(Compute);

    static (List<string> Files, List<Use> Uses, List<string> Problems) Analyse()
    {
        var (files, uses, problems) = _analysis.Value;
        return (files, uses, new List<string>(problems));
    }

    static (List<string> Files, List<Use> Uses, List<string> Problems) Compute()
    {
        string root = TestUtil.RepoRoot();
        var parse = new CSharpParseOptions(LanguageVersion.Preview);
        var trees = new List<SyntaxTree>();
        var kernelFiles = new List<string>();
        foreach (var top in SourceRoots)
        {
            string dir = Path.Combine(root, top);
            if (!Directory.Exists(dir)) continue;
            foreach (var f in Directory.EnumerateFiles(dir, "*.cs", SearchOption.AllDirectories))
            {
                string rel = Path.GetRelativePath(root, f).Replace('\\', '/');
                if (rel.Contains("/obj/") || rel.Contains("/bin/") || rel.StartsWith("kernel/build/")) continue;
                trees.Add(CSharpSyntaxTree.ParseText(File.ReadAllText(f), parse, rel, Encoding.UTF8));
                if (!rel.StartsWith("kernel/runtime/Corelib/")) kernelFiles.Add(rel);
            }
        }
        var comp = CSharpCompilation.Create("KernelLayering", trees, [],
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Disable));
        var problems = new List<string>();
        foreach (var d in comp.GetDiagnostics())
            if (d.Severity == DiagnosticSeverity.Error) problems.Add("does not compile: " + d);

        var uses = new List<Use>();
        foreach (var tree in trees)
        {
            string rel = tree.FilePath;
            if (!kernelFiles.Contains(rel)) continue;
            int layer = LayerOf(rel);
            if (layer < 0) { problems.Add($"{rel}: in no layer (add its folder to LayeringTests.Layers)"); continue; }
            var rootNode = tree.GetRoot();
            foreach (var ns in rootNode.DescendantNodes().OfType<BaseNamespaceDeclarationSyntax>())
                if (ns.Name.ToString() != Layers[layer].Namespace)
                    problems.Add($"{rel}: namespace {ns.Name} in a folder whose namespace is {Layers[layer].Namespace}");
            var model = comp.GetSemanticModel(tree);
            foreach (var node in rootNode.DescendantNodes().OfType<SimpleNameSyntax>())
            {
                var info = model.GetSymbolInfo(node);
                var sym = info.Symbol ?? info.CandidateSymbols.FirstOrDefault();
                var type = DeclaringType(sym);
                if (type == null) continue;
                foreach (var loc in type.OriginalDefinition.Locations)
                {
                    if (!loc.IsInSource || loc.SourceTree == null) continue;
                    string declFile = loc.SourceTree.FilePath;
                    if (declFile == rel || !kernelFiles.Contains(declFile)) continue;
                    uses.Add(new Use(rel, node.GetLocation().GetLineSpan().StartLinePosition.Line + 1, type.ToDisplayString(), declFile));
                }
            }
        }
        return (kernelFiles, uses, problems);
    }

    static INamedTypeSymbol? DeclaringType(ISymbol? s)
    {
        switch (s)
        {
            case null: return null;
            case INamedTypeSymbol t: return t;
            case IArrayTypeSymbol a: return DeclaringType(a.ElementType);
            case IPointerTypeSymbol p: return DeclaringType(p.PointedAtType);
            case IMethodSymbol m when m.ReducedFrom != null: return m.ReducedFrom.ContainingType;
            case INamespaceSymbol: return null;
            case ILocalSymbol or IParameterSymbol or ILabelSymbol or IRangeVariableSymbol or ITypeParameterSymbol: return null;
            default: return s.ContainingType;
        }
    }

    [Fact]
    public void Every_file_uses_only_its_own_layer_and_the_ones_below()
    {
        var (_, uses, problems) = Analyse();
        foreach (var u in uses)
        {
            int from = LayerOf(u.File), to = LayerOf(u.DeclFile);
            if (from >= 0 && to >= 0 && Layers[to].Layer > Layers[from].Layer)
                problems.Add($"{u.File}:{u.Line}: {Layers[from].Path} uses {u.Name} ({u.DeclFile}), a layer above it");
        }
        var all = problems.Distinct().ToList();
        Assert.True(all.Count == 0, all.Count + " layering problems:\n" + string.Join("\n", all));
    }

    [Fact]
    public void The_check_sees_a_use_of_a_higher_layer()
    {
        // The analysis must find real uses, or the rule above could never fail.
        var (_, uses, _) = Analyse();
        uses.Should().Contain(u => u.File == "kernel/Kmain.cs" && u.DeclFile == "kernel/proc/Signals.cs");
        uses.Should().Contain(u => u.File == "fs/Pipe.cs" && u.DeclFile == "abi/Errno.cs");
        int L(string f) => Layers[LayerOf(f)].Layer;
        L("kernel/sched/Scheduler.cs").Should().BeLessThan(L("kernel/proc/Process.cs"));
        L("kernel/arch/x86_64/Cpu.cs").Should().BeLessThan(L("abi/Errno.cs"));
        L("abi/Errno.cs").Should().BeLessThan(L("fs/Vfs.cs"));
    }
}
