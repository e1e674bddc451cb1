using System.Runtime.CompilerServices;
using Kernel.Arch;
using Kernel.Console;
using Kernel.Runtime;
using Kernel.Time;

namespace Kernel
{
    /// Self-tests of the collector (test=gc) and its benchmark (test=gc-bench).
    public static unsafe partial class SelfTest
    {
        sealed class Probe { public object A; public long X; public object B; public string S; public int Y; }
        struct Pair { public object O; public long N; }
        struct Multi { public long A; public object B; public long C; public object D; public object E; public int F; }
        struct Outer { public Pair P1; public long Z; public Pair P2; }
        sealed class Gen<T> { public T A; public long X; public T B; }
        struct Boxed { public long X; public object O; public object P; }
        sealed class Node { public Node Next; public long Value; }

        static Node _list;                  // a root in the static region
        static ulong _slotsSeen;
        static ulong* _slots;

        static ulong Addr(object o) => *(ulong*)Unsafe.AsPointer(ref o);

        struct SlotRecorder : IReferenceVisitor
        {
            public void Visit(ulong* slot) { if (_slotsSeen < 16) _slots[_slotsSeen] = (ulong)slot; _slotsSeen++; }
        }

        /// The slots the collector would trace in `o`, as offsets from its start.
        static int ReferenceOffsets(object o, ulong* offsets)
        {
            _slots = offsets; _slotsSeen = 0;
            ulong a = Addr(o);
            var recorder = new SlotRecorder();
            GcDesc.VisitReferences(*(void**)a, (void*)a, ref recorder);
            for (ulong i = 0; i < _slotsSeen && i < 16; i++) offsets[i] -= a;
            return (int)_slotsSeen;
        }

        /// The scheduler and collector set up on the boot stack, as for a program.
        static void StartCollector(ulong stressEvery)
        {
            var boot = new Sched.Thread(null, 0) { IsKernel = true, KernelStackTop = Kmain.BootStackTop, KernelStackBytes = Kmain.BootStackPages * 4096 };
            Sched.Scheduler.Init(boot);
            Collector.Configure(&Sched.Scheduler.ScanStacks, stressEvery);
            Collector.Enable();
        }

        static void Gc()
        {
            bool ok = true;
            ulong* offs = stackalloc ulong[16];

            // The GC descriptors ILC emits decode to exactly the reference fields.
            var p = new Probe();
            ulong pa = Addr(p);
            ulong a = (ulong)Unsafe.AsPointer(ref p.A) - pa, b = (ulong)Unsafe.AsPointer(ref p.B) - pa, s = (ulong)Unsafe.AsPointer(ref p.S) - pa;
            int n = ReferenceOffsets(p, offs);
            bool found = n == 3;
            for (int i = 0; i < n && i < 16; i++) found &= offs[i] == a || offs[i] == b || offs[i] == s;
            ok &= Check(found, "class: the descriptor lists its three reference fields");
            n = ReferenceOffsets(new object[5], offs);
            ok &= Check(n == 5 && offs[0] == 16 && offs[4] == 48, "object[5]: five slots from offset 16");
            var pairs = new Pair[3];
            n = ReferenceOffsets(pairs, offs);
            ulong pairsAddr = Addr(pairs);
            ok &= Check(n == 3 && offs[0] == (ulong)Unsafe.AsPointer(ref pairs[0].O) - pairsAddr
                && offs[2] == (ulong)Unsafe.AsPointer(ref pairs[2].O) - pairsAddr, "struct array: one slot per element");
            ok &= Check(ReferenceOffsets("text", offs) == 0 && ReferenceOffsets(new byte[40], offs) == 0, "strings and byte arrays have no references");
            ok &= Check(DescriptorShapes(offs), "struct arrays with several runs and nested structs, generics, boxed structs, jagged and empty arrays");

            StartCollector(0);

            // Reachable objects survive, unreachable ones are freed.
            _list = BuildList(20000);
            Collector.Collect();
            ulong live = GcHeap.BytesInUse;
            MakeGarbage(20000);
            ulong withGarbage = GcHeap.BytesInUse;
            Collector.Collect();
            ok &= Check(withGarbage - live >= 20000 * 32, "garbage was allocated");
            ok &= Check(GcHeap.BytesInUse <= live + 4096, "a collection frees what is unreachable");
            ok &= Check(ListIntact(_list, 20000), "reachable objects are intact");

            // Frames of emptied spans go back to the frame allocator.
            ulong framesBefore = Memory.PhysicalMemory.FreeBytes;
            _list = null;
            Collector.Collect();
            ok &= Check(Memory.PhysicalMemory.FreeBytes >= framesBefore + 20000 * 24, "a dropped list's pages return to the frame allocator");

            // A large object survives through a stack reference only, and is freed after.
            ok &= Check(LargeObjectLives(), "a large array reachable from the stack survives");

            // Stress: collect at every allocation while building a structure.
            Collector.Configure(&Sched.Scheduler.ScanStacks, 1);
            _list = BuildList(300);
            ok &= Check(ListIntact(_list, 300), "a list built with a collection at every allocation is intact");
            ok &= Check(ShapesSurviveStress(), "struct arrays and generic objects built with a collection at every allocation are intact");

            Log.Info(ok ? "self-test gc: PASS" : "self-test gc: FAIL");
            Power.Exit(ok ? (byte)0 : (byte)1);
        }

        /// More shapes of GC descriptor, each against the real field addresses.
        static bool DescriptorShapes(ulong* offs)
        {
            bool ok = true;
            var ms = new Multi[3];
            ulong ma = Addr(ms);
            ok &= ReferenceOffsets(ms, offs) == 9;
            for (int i = 0; i < 3 && ok; i++)
                ok = offs[3 * i] == (ulong)Unsafe.AsPointer(ref ms[i].B) - ma && offs[3 * i + 1] == (ulong)Unsafe.AsPointer(ref ms[i].D) - ma
                    && offs[3 * i + 2] == (ulong)Unsafe.AsPointer(ref ms[i].E) - ma;
            var os = new Outer[3];
            ulong oa = Addr(os);
            ok &= ReferenceOffsets(os, offs) == 6;
            for (int i = 0; i < 3 && ok; i++)
                ok = offs[2 * i] == (ulong)Unsafe.AsPointer(ref os[i].P1.O) - oa && offs[2 * i + 1] == (ulong)Unsafe.AsPointer(ref os[i].P2.O) - oa;
            var g = new Gen<string>();
            ulong ga = Addr(g), a = (ulong)Unsafe.AsPointer(ref g.A) - ga, b = (ulong)Unsafe.AsPointer(ref g.B) - ga;
            ok &= ReferenceOffsets(g, offs) == 2 && ((offs[0] == a && offs[1] == b) || (offs[0] == b && offs[1] == a));
            var bm = new Boxed();
            ulong bo = 8 + (ulong)Unsafe.AsPointer(ref bm.O) - (ulong)Unsafe.AsPointer(ref bm);      // after the box's MethodTable
            ulong bp = 8 + (ulong)Unsafe.AsPointer(ref bm.P) - (ulong)Unsafe.AsPointer(ref bm);
            object boxed = bm;
            ok &= ReferenceOffsets(boxed, offs) == 2 && ((offs[0] == bo && offs[1] == bp) || (offs[0] == bp && offs[1] == bo));
            ok &= ReferenceOffsets(new object[3][], offs) == 3 && offs[0] == 16 && offs[2] == 32;
            ok &= ReferenceOffsets(new Multi[0], offs) == 0;
            return ok;
        }

        /// Structures of those shapes built with a collection at every allocation.
        [MethodImpl(MethodImplOptions.NoInlining)]
        static bool ShapesSurviveStress()
        {
            var ms = new Multi[40];
            for (int i = 0; i < 40; i++) { ms[i].B = new Node { Value = i }; ms[i].D = new Node { Value = 100 + i }; ms[i].E = new Node { Value = 200 + i }; MakeGarbage(3); }
            var gl = new Gen<Node>[20];
            for (int i = 0; i < 20; i++) { gl[i] = new Gen<Node> { A = new Node { Value = i }, B = new Node { Value = -i } }; MakeGarbage(2); }
            bool ok = true;
            for (int i = 0; i < 40; i++) ok &= ((Node)ms[i].B).Value == i && ((Node)ms[i].D).Value == 100 + i && ((Node)ms[i].E).Value == 200 + i;
            for (int i = 0; i < 20; i++) ok &= gl[i].A.Value == i && gl[i].B.Value == -i;
            return ok;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        static bool LargeObjectLives()
        {
            var big = new long[5000];
            for (int i = 0; i < big.Length; i++) big[i] = i * 3;
            MakeGarbage(1000);
            Collector.Collect();
            long sum = 0;
            for (int i = 0; i < big.Length; i++) sum += big[i];
            return sum == 3L * 5000 * 4999 / 2;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        static Node BuildList(int n)
        {
            Node head = null;
            for (int i = 0; i < n; i++) head = new Node { Next = head, Value = i };
            return head;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        static void MakeGarbage(int n)
        {
            for (int i = 0; i < n; i++) { var g = new Node { Value = i }; g.Next = g; }
        }

        static bool ListIntact(Node head, int n)
        {
            for (int i = n - 1; i >= 0; i--, head = head.Next)
                if (head == null || head.Value != i) return false;
            return head == null;
        }

        /// Pause for 10k/100k/1M live objects and allocation throughput; one line each:
        /// "gc-bench live=N pause_us=P" and "gc-bench alloc_per_s=A".
        static void GcBench()
        {
            StartCollector(0);
            for (int n = 10000; n <= 1000000; n *= 10)
            {
                _list = BuildList(n);
                Collector.Collect();
                ulong t0 = Clock.MonotonicNs();
                Collector.Collect();
                ulong pause = Clock.MonotonicNs() - t0;
                var w = Log.Begin(LogLevel.Error, stackalloc byte[120]);
                w.Str("gc-bench live="); w.Udec((ulong)n); w.Str(" pause_us="); w.Udec(pause / 1000);
                w.Str(" heap_kib="); w.Udec(GcHeap.BytesInUse >> 10);
                Log.End(ref w);
                _list = null;
            }
            Collector.Collect();
            const int allocs = 1000000;
            ulong gcs = Collector.Collections, s0 = Clock.MonotonicNs();
            MakeGarbage(allocs);
            ulong ns = Clock.MonotonicNs() - s0;
            var v = Log.Begin(LogLevel.Error, stackalloc byte[120]);
            v.Str("gc-bench alloc_per_s="); v.Udec(allocs * 1000000000UL / (ns == 0 ? 1 : ns));
            v.Str(" collections="); v.Udec(Collector.Collections - gcs);
            Log.End(ref v);
            Power.Exit(0);
        }
    }
}
