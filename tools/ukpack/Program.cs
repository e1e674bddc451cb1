using System.CommandLine;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Ukpack;

public static class Program
{
    public static int Main(string[] args)
    {
        try
        {
            return Cli.Run(args);
        }
        catch (UkpackException e)
        {
            Console.Error.WriteLine("ukpack: error: " + e.Message);
            return e.ExitCode;
        }
        catch (Exception e)
        {
            // Never a stack trace: one line, and the type for bug reports.
            Console.Error.WriteLine($"ukpack: internal error: {e.GetType().Name}: {e.Message}");
            return QemuRunner.ExitFailure;
        }
    }
}

public static class Cli
{
    public static ILoggerFactory MakeLogger(bool verbose) => LoggerFactory.Create(b =>
    {
        b.SetMinimumLevel(verbose ? LogLevel.Information : LogLevel.Warning);
        b.AddSimpleConsole(o => { o.SingleLine = true; o.IncludeScopes = false; o.ColorBehavior = LoggerColorBehavior.Disabled; });
        b.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
    });

    public static RootCommand BuildCommand()
    {
        var root = new RootCommand("ukpack: pack a Linux x86-64 program into a unikernel image and run it under QEMU.\n" +
            "  `ukpack APP [options] [-- ARGS...]` is short for `ukpack build APP ...`.");

        // ---- build
        var appArg = new Argument<string?>("APP")
        {
            Arity = ArgumentArity.ZeroOrOne,
            Description = "the program: a Linux x86-64 ELF, static, static-PIE or dynamically linked (a dynamic one's " +
                          "interpreter and libraries come from --fs when that tree has the interpreter, else from this machine)",
        };
        var argsArg = new Argument<string[]>("ARGS") { Description = "the program's arguments, after --", Arity = ArgumentArity.ZeroOrMore };
        var fsOpt = new Option<string?>("--fs") { Description = "directory or tarball (.tar, .tar.gz, `docker export` output) packed as the root filesystem; APP inside it keeps its path (with a tarball, APP may be a path in the archive), else it goes to /app/" };
        var outOpt = new Option<string?>("--output", "-o") { Description = "image to write (default: ./<APP basename>.img)" };
        var envOpt = new Option<string[]>("--env", "-e") { Description = "environment string K=V (repeatable; default PATH=/usr/local/bin:/usr/bin:/bin and HOME=/)", Arity = ArgumentArity.ZeroOrMore, AllowMultipleArgumentsPerToken = false };
        var kernelOpt = new Option<string?>("--kernel") { Description = "kernel ELF (default: kernel.elf beside ukpack)" };
        var bVerbose = new Option<bool>("--verbose", "-v") { Description = "print what is being done" };
        var bConfig = new Option<string?>("--config") { Description = "configuration file (default ./ukpack.json when APP is not given; docs/ukpack-config.md)" };
        var rootDiskOpt = new Option<bool>("--root-disk") { Description = "keep the root filesystem on a disk instead of in memory: an ext4 filesystem (made by mke2fs -d) in the same image file, mounted as / over virtio-blk, so a large tree boots with little guest memory; a run's writes never change the image" };
        var rootDiskSizeOpt = new Option<string?>("--root-disk-size") { Description = "size of that ext4 filesystem, e.g. 4G (implies --root-disk; default: the tree's size plus room for a run's writes, which take no space in the image file)" };
        var build = new Command("build", "build a bootable image from a program and a root filesystem") { appArg, argsArg, fsOpt, outOpt, envOpt, kernelOpt, rootDiskOpt, rootDiskSizeOpt, bVerbose, bConfig };
        build.SetAction(pr =>
        {
            using var lf = MakeLogger(pr.GetValue(bVerbose));
            var app = pr.GetValue(appArg);
            var o = new BuildOptions
            {
                App = app ?? "",
                Fs = pr.GetValue(fsOpt),
                Output = pr.GetValue(outOpt),
                Env = pr.GetValue(envOpt) ?? [],
                Kernel = pr.GetValue(kernelOpt),
                Args = pr.GetValue(argsArg) ?? [],
                RootDisk = pr.GetValue(rootDiskOpt) || pr.GetValue(rootDiskSizeOpt) != null,
                RootDiskSize = pr.GetValue(rootDiskSizeOpt) is { } rds ? RootDisk.ParseSize(rds, "--root-disk-size") : null,
            };
            if (app == null || pr.GetValue(bConfig) != null)
            {
                // Everything from the configuration file; the command line's options win.
                var cfg = UkpackConfig.Find(pr.GetValue(bConfig))
                    ?? throw new UkpackException($"no APP given and no {UkpackConfig.DefaultName} here (see `ukpack build --help`)", 2);
                o = o with
                {
                    App = app ?? cfg.Program!,
                    Fs = o.Fs ?? cfg.Rootfs,
                    Output = o.Output ?? cfg.ImagePath,
                    Env = o.Env.Count > 0 ? o.Env : cfg.Env.Count > 0 ? Builder.DefaultEnv.Where(d => !cfg.Env.Any(e => e.Split('=')[0] == d.Split('=')[0])).Concat(cfg.Env).ToList() : [],
                    Kernel = o.Kernel ?? cfg.Kernel,
                    Args = o.Args.Count > 0 ? o.Args : cfg.Args,
                    Files = cfg.Files,
                    RootDisk = o.RootDisk || cfg.RootDisk == true || cfg.RootDiskSize != null,
                    RootDiskSize = o.RootDiskSize ?? (cfg.RootDiskSize is { } cs ? RootDisk.ParseSize(cs, "\"rootDiskSize\"") : null),
                };
            }
            return Builder.Build(o, lf.CreateLogger("ukpack"));
        });

        // ---- run
        var imgArg = new Argument<string?>("IMAGE") { Description = "image written by ukpack build (default: the image of ./ukpack.json)", Arity = ArgumentArity.ZeroOrOne };
        var runArgs = new Argument<string[]>("ARGS") { Description = "arguments replacing the image's (after --)", Arity = ArgumentArity.ZeroOrMore };
        var accelOpt = new Option<string>("--accel") { Description = "QEMU accelerator", DefaultValueFactory = _ => "tcg" };
        accelOpt.AcceptOnlyFromAmong("tcg", "kvm");
        var memOpt = new Option<string>("--mem", "-m") { Description = "guest memory", DefaultValueFactory = _ => "512M" };
        var smpOpt = new Option<int>("--smp") { Description = "guest CPUs", DefaultValueFactory = _ => 1 };
        var machineOpt = new Option<string>("--machine", "-M") { Description = "QEMU machine", DefaultValueFactory = _ => "microvm" };
        machineOpt.CompletionSources.Add("microvm", "pc", "q35");
        machineOpt.AcceptOnlyFromAmong("microvm", "pc", "q35");
        var verboseOpt = new Option<bool>("--verbose", "-v") { Description = "show kernel log lines and the QEMU command on stderr" };
        var logOpt = new Option<int?>("--log") { Description = "kernel log level 0..3 (default 1, or 2 with -v)" };
        var timeoutOpt = new Option<double?>("--timeout") { Description = "kill QEMU after this many seconds (exit 124)" };
        var qemuOpt = new Option<string?>("--qemu") { Description = "QEMU executable (default qemu-system-x86_64, or $UKPACK_QEMU)" };
        var gcStressOpt = new Option<int>("--gc-stress") { Description = "collect kernel garbage at every N-th kernel allocation (tests the collector; slow)" };
        var diskOpt = new Option<string[]>("--disk") { Description = "attach a raw file as a virtio-blk disk: FILE or FILE:ro (repeatable; /dev/vda, /dev/vdb, ... in order)", Arity = ArgumentArity.ZeroOrMore, AllowMultipleArgumentsPerToken = false };
        var volumeOpt = new Option<string[]>("--volume") { Description = "mount an ext4 volume file (ukpack volume create) in the guest: FILE:/guest/path or FILE:/guest/path:ro (repeatable; the directory is created when missing)", Arity = ArgumentArity.ZeroOrMore, AllowMultipleArgumentsPerToken = false };
        var rngOpt = new Option<bool>("--rng") { Description = "attach a virtio-rng, mixed into getrandom and /dev/urandom with RDRAND" };
        var serialStdioOpt = new Option<bool>("--serial-stdio") { Description = "carry the program's stdin/stdout/stderr over the serial ports instead of virtio-console (slow; for debugging the fallback)" };
        var publishOpt = new Option<string[]>("--publish", "-p") { Description = "forward a host port to the guest: [IP:]HOSTPORT:GUESTPORT[/udp] (repeatable; the host side binds 127.0.0.1 unless IP is given)", Arity = ArgumentArity.ZeroOrMore, AllowMultipleArgumentsPerToken = false };
        var netOpt = new Option<string?>("--net") { Description = "guest network: user (QEMU's user network, the default with -p), tap=NAME, or none (the default otherwise)" };
        var ipOpt = new Option<string?>("--ip") { Description = "static guest address A.B.C.D[/PREFIX] instead of DHCP" };
        var gatewayOpt = new Option<string?>("--gateway") { Description = "default gateway with --ip" };
        var dnsOpt = new Option<string?>("--dns") { Description = "DNS server with --ip" };
        var ip6Opt = new Option<string?>("--ip6") { Description = "static guest IPv6 address ADDR[/PREFIX] (beside the link-local one and SLAAC)" };
        var gateway6Opt = new Option<string?>("--gateway6") { Description = "default IPv6 router (instead of the one router advertisements name)" };
        var run = new Command("run", "boot an image under QEMU") { imgArg, runArgs, accelOpt, memOpt, smpOpt, machineOpt, verboseOpt, logOpt, timeoutOpt, qemuOpt, gcStressOpt, diskOpt, volumeOpt, rngOpt, serialStdioOpt, publishOpt, netOpt, ipOpt, gatewayOpt, dnsOpt, ip6Opt, gateway6Opt };
        var straceOpt = new Option<string?>("--strace")
        {
            Description = "log every system call the program makes, strace-style (name(args) = result), on stderr, or with " +
                          "--strace=FILE into FILE; signal deliveries and the exit too",
        };
        run.Options.Add(straceOpt);
        var gdbOpt = new Option<string?>("--gdb")
        {
            Description = $"wait for gdb on 127.0.0.1:PORT (default {GdbSession.DefaultPort}) with QEMU's gdb stub; prints the gdb command, whose " +
                          "script loads the kernel's, the program's and its libraries' symbols and stops at the program's first instruction",
        };
        run.Options.Add(gdbOpt);
        var rEnvOpt = new Option<string[]>("--env", "-e") { Description = "set K=V in the program's environment for this run (repeatable; the image's other variables stay)", Arity = ArgumentArity.ZeroOrMore, AllowMultipleArgumentsPerToken = false };
        run.Options.Add(rEnvOpt);
        var rConfig = new Option<string?>("--config") { Description = "configuration file whose image and run settings to use (default ./ukpack.json when IMAGE is not given)" };
        run.Options.Add(rConfig);
        run.SetAction(pr =>
        {
            bool v = pr.GetValue(verboseOpt);
            using var lf = MakeLogger(v);
            var o = new RunOptions
            {
                Image = pr.GetValue(imgArg)!,
                Accel = pr.GetValue(accelOpt)!,
                Memory = pr.GetValue(memOpt)!,
                Smp = pr.GetValue(smpOpt),
                Machine = pr.GetValue(machineOpt)!,
                Verbose = v,
                LogLevel = pr.GetValue(logOpt),
                Args = pr.GetValue(runArgs) ?? [],
                TimeoutSeconds = pr.GetValue(timeoutOpt),
                Qemu = pr.GetValue(qemuOpt),
                GcStress = pr.GetValue(gcStressOpt),
                Disks = (pr.GetValue(diskOpt) ?? []).Select(DiskSpec.Parse).ToList(),
                Volumes = (pr.GetValue(volumeOpt) ?? []).Select(VolumeSpec.Parse).ToList(),
                Rng = pr.GetValue(rngOpt),
                SerialStdio = pr.GetValue(serialStdioOpt),
                Net = NetSpec.Parse(pr.GetValue(netOpt), pr.GetValue(publishOpt) ?? [], pr.GetValue(ipOpt), pr.GetValue(gatewayOpt), pr.GetValue(dnsOpt)).WithIp6(pr.GetValue(ip6Opt), pr.GetValue(gateway6Opt)),
            };
            o = o with { Strace = pr.GetValue(straceOpt), Env = pr.GetValue(rEnvOpt) ?? [] };
            if (pr.GetValue(gdbOpt) is { } gdbValue) o = o with { GdbPort = GdbSession.ParsePort(gdbValue) };
            // `ukpack run -- ARGS` (the image from ukpack.json): the first word after -- is
            // an argument, not the IMAGE.
            int dd = Array.IndexOf(RawArgs, "--");
            if (o.Image != null && dd >= 0 && dd + 1 < RawArgs.Length && RawArgs[dd + 1] == o.Image && !RawArgs[..dd].Contains(o.Image))
                o = o with { Image = null!, Args = [o.Image, .. o.Args] };
            if (o.Image == null && pr.GetValue(rConfig) == null && UkpackConfig.Find(null) == null)
                throw new UkpackException($"no IMAGE given and no {UkpackConfig.DefaultName} here (see `ukpack run --help`)", 2);
            if (o.Image == null || pr.GetValue(rConfig) != null)
            {
                // The configuration's image and settings; options given on the command line win.
                var cfg = UkpackConfig.Find(pr.GetValue(rConfig))
                    ?? throw new UkpackException($"no IMAGE given and no {UkpackConfig.DefaultName} here (see `ukpack run --help`)", 2);
                bool Given(Option opt) => pr.GetResult(opt) is { Implicit: false };
                o = o with
                {
                    Image = o.Image ?? cfg.ImagePath,
                    Memory = Given(memOpt) ? o.Memory : cfg.Memory ?? o.Memory,
                    Smp = Given(smpOpt) ? o.Smp : cfg.Cpus ?? o.Smp,
                    Machine = Given(machineOpt) ? o.Machine : cfg.Machine ?? o.Machine,
                    Accel = Given(accelOpt) ? o.Accel : cfg.Accel ?? o.Accel,
                    TimeoutSeconds = o.TimeoutSeconds ?? cfg.Timeout,
                    LogLevel = o.LogLevel ?? cfg.Log,
                    Rng = o.Rng || (cfg.Rng ?? false),
                    Disks = o.Disks.Count > 0 ? o.Disks : cfg.Disks.Select(DiskSpec.Parse).ToList(),
                    // Any network option on the command line replaces the file's network settings.
                    Net = new Option[] { publishOpt, netOpt, ipOpt, gatewayOpt, dnsOpt, ip6Opt, gateway6Opt }.Any(Given) ? o.Net : cfg.Net ?? o.Net,
                    Volumes = o.Volumes.Count > 0 ? o.Volumes : cfg.Volumes.Select(VolumeSpec.Parse).ToList(),
                };
                if (!File.Exists(o.Image)) throw new UkpackException($"{o.Image}: no such image (build it first: ukpack build{(pr.GetValue(rConfig) is { } c ? " --config " + c : "")})");
            }
            if (o.Disks.Count + o.Volumes.Count > DiskSpec.Max) throw new UkpackException($"--disk, --volume: at most {DiskSpec.Max} disks (vda..vdz)");
            if (o.Volumes.Count > 8) throw new UkpackException("--volume: at most 8 volumes");
            if (o.GcStress < 0) throw new UkpackException("--gc-stress must be 0 or more");
            if (o.Smp < 1) throw new UkpackException("--smp must be at least 1");
            if (o.LogLevel is < 0 or > 3) throw new UkpackException("--log must be 0..3");
            return QemuRunner.RunAsync(o, lf.CreateLogger("ukpack")).GetAwaiter().GetResult();
        });

        // ---- inspect
        var inspImg = new Argument<string>("IMAGE") { Description = "image to describe" };
        var inspect = new Command("inspect", "describe an image") { inspImg };
        inspect.SetAction(pr => Inspector.Inspect(pr.GetValue(inspImg)!, Console.Out));

        // ---- export
        var expImg = new Argument<string>("IMAGE") { Description = "image to export" };
        var expFormat = new Option<string>("--format", "-f") { Description = "raw (a disk booting with BIOS or UEFI), qcow2, vmdk, gce (disk.raw in a .tar.gz), oci (a KubeVirt containerDisk as an OCI layout directory) or firecracker (a VM config file)", Required = true };
        expFormat.CompletionSources.Add(Exporter.Formats);
        var expOut = new Option<string?>("--output", "-o") { Description = "file or directory to write (default: IMAGE's name with the format's extension)" };
        var expMem = new Option<string>("--mem", "-m") { Description = "guest memory (firecracker)", DefaultValueFactory = _ => "512M" };
        var expSmp = new Option<int>("--smp") { Description = "guest CPUs (firecracker)", DefaultValueFactory = _ => 1 };
        var export = new Command("export", "write an image as a bootable disk, a containerDisk or a Firecracker config") { expImg, expFormat, expOut, expMem, expSmp };
        export.SetAction(pr => Exporter.Export(pr.GetValue(expImg)!, pr.GetValue(expFormat)!, pr.GetValue(expOut), pr.GetValue(expMem)!, pr.GetValue(expSmp), Console.Error));

        // ---- syscalls
        var mdOpt = new Option<bool>("--markdown") { Description = "print docs/syscalls.md" };
        var nameArg = new Argument<string?>("NAME") { Description = "only calls whose name contains NAME", Arity = ArgumentArity.ZeroOrOne };
        var syscalls = new Command("syscalls", "list the system calls the kernel supports, and how completely") { nameArg, mdOpt };
        syscalls.SetAction(pr =>
        {
            Console.Out.Write(pr.GetValue(mdOpt) ? SyscallDocs.Markdown() : SyscallDocs.Text(pr.GetValue(nameArg)));
            return 0;
        });

        // ---- check
        var chkApp = new Argument<string>("APP") { Description = "the program to check (a Linux x86-64 ELF)" };
        var chkFs = new Option<string?>("--fs") { Description = "the root filesystem tree it will be packed with (its libraries and modules are checked too)" };
        var chkStrict = new Option<bool>("--strict") { Description = "exit with status 3 when a missing system call is reachable" };
        var chkEnv = new Option<string[]>("--env", "-e") { Description = "environment K=V of the image (LD_LIBRARY_PATH is searched)", Arity = ArgumentArity.ZeroOrMore, AllowMultipleArgumentsPerToken = false };
        var chkVerbose = new Option<bool>("--verbose", "-v") { Description = "list every user of every call, unresolved sites, and calls present but unreachable" };
        var check = new Command("check", "report the system calls a program and its libraries can make, against the kernel's support table")
            { chkApp, chkFs, chkStrict, chkEnv, chkVerbose };
        check.SetAction(pr => SyscallCheck.Run(pr.GetValue(chkApp)!, pr.GetValue(chkFs), pr.GetValue(chkStrict), pr.GetValue(chkVerbose),
            pr.GetValue(chkEnv) ?? [], Console.Out));

        // ---- volume create
        var volFile = new Argument<string>("FILE") { Description = "the volume file to create" };
        var volSize = new Option<string>("--size") { Description = "its size (mke2fs syntax: 512M, 1G, ...)", Required = true };
        var volFrom = new Option<string?>("--from") { Description = "a directory whose contents populate the volume (mke2fs -d)" };
        var volForce = new Option<bool>("--force") { Description = "replace an existing file" };
        var volCreate = new Command("create", "make an ext4 volume file (mke2fs -t ext4) for ukpack run --volume") { volFile, volSize, volFrom, volForce };
        volCreate.SetAction(pr => VolumeTool.Create(pr.GetValue(volFile)!, pr.GetValue(volSize)!, pr.GetValue(volFrom), pr.GetValue(volForce)));
        var volume = new Command("volume", "ext4 volumes for ukpack run --volume") { volCreate };
        root.Subcommands.Add(volume);
        root.Subcommands.Add(build);
        root.Subcommands.Add(check);
        root.Subcommands.Add(run);
        root.Subcommands.Add(inspect);
        root.Subcommands.Add(export);
        root.Subcommands.Add(syscalls);

        // ---- completion
        var shellArg = new Argument<string>("SHELL") { Description = "bash or zsh" };
        shellArg.AcceptOnlyFromAmong("bash", "zsh");
        var completion = new Command("completion", "print a shell completion script: eval \"$(ukpack completion bash)\"") { shellArg };
        completion.SetAction(pr => { Console.Out.Write(Completion.Script(pr.GetValue(shellArg)!)); return 0; });
        root.Subcommands.Add(completion);
        Help.Document(root);
        return root;
    }

    /// <summary>`ukpack APP ...` (the first word neither a command nor an option) means
    /// `ukpack build APP ...`.</summary>
    public static string[] ExpandShorthand(RootCommand root, string[] args)
    {
        // "[suggest:N]" is System.CommandLine's completion directive (`ukpack completion`).
        if (args.Length == 0 || args[0].StartsWith('-') || args[0].StartsWith('[') || root.Subcommands.Any(c => c.Name == args[0] || c.Aliases.Contains(args[0])))
            return args;
        return ["build", .. args];
    }

    /// <summary>The command line as given (after the shorthand expansion).</summary>
    static string[] RawArgs = [];

    public static int Run(string[] args)
    {
        if (args is ["--version"]) { Console.Out.Write(Help.Version()); return 0; }
        var root = BuildCommand();
        args = ExpandShorthand(root, args);
        // `--strace` alone means stderr and `--gdb` alone the default port: --strace=FILE and
        // --gdb=PORT are the only ways to give a value, so `run --strace IMAGE` never takes
        // the image for the file.
        int ddash = Array.IndexOf(args, "--");
        for (int i = 0; i < (ddash < 0 ? args.Length : ddash); i++)
        {
            if (args[i] == "--strace") args[i] = "--strace=-";
            else if (args[i] == "--gdb") args[i] = "--gdb=";       // the default port
        }
        RawArgs = args;
        var pr = root.Parse(args);
        if (pr.Errors.Count > 0)
        {
            foreach (var e in pr.Errors) Console.Error.WriteLine("ukpack: error: " + e.Message);
            Console.Error.WriteLine("Try 'ukpack --help' for usage.");
            return 2;
        }
        // Arguments for the program must come after "--": an unknown option before it is an
        // error, not a program argument.
        int dd = Array.IndexOf(args, "--");
        var before = dd < 0 ? args : args[..dd];
        foreach (var t in pr.Tokens)
        {
            if (t.Type == System.CommandLine.Parsing.TokenType.Argument && t.Value.StartsWith('-') && t.Value != "-" && before.Contains(t.Value)
                && pr.CommandResult.Command.Name is "build" or "run")
            {
                bool isOptionValue = false;
                int k = Array.IndexOf(before, t.Value);
                if (k > 0 && before[k - 1].StartsWith('-') && pr.CommandResult.Command.Options.Any(o => o.Name == before[k - 1] || o.Aliases.Contains(before[k - 1])))
                    isOptionValue = true;
                if (!isOptionValue)
                {
                    Console.Error.WriteLine($"ukpack: error: unknown option {t.Value} (program arguments go after --)");
                    return 2;
                }
            }
        }
        var cfg = new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
        return pr.Invoke(cfg);
    }
}
