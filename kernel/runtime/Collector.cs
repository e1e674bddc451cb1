using System.Runtime;
using System.Runtime.CompilerServices;
using Kernel.Console;
using Kernel.Memory;
using Kernel.Time;

namespace Kernel.Runtime
{
    /// The kernel's garbage collector: non-moving mark-sweep over GcHeap.
    ///
    /// Roots, all scanned conservatively (any word that points into an allocated object
    /// keeps it):
    ///  - the kernel image's writable data (.data through .bss): the GC static region's
    ///    slots, which hold the static-field objects; preinitialised (frozen) objects such
    ///    as a static array that code later fills with heap references; plain globals;
    ///  - every thread's kernel stack from its saved (or, for the collecting thread, its
    ///    current) stack pointer to the top. switch_context and gc_spill_registers push the
    ///    callee-saved registers there first, so references held in registers are seen; a
    ///    syscall or interrupt frame on the stack holds only user values, which are harmless.
    ///    The scheduler, which knows the threads, provides the stack walk (Configure, wired
    ///    in Kmain).
    /// From the roots, objects are traced precisely through their MethodTable's GC
    /// descriptor (GcDesc).
    ///
    /// What a developer must know: raw memory (Kernel.Memory.Heap blocks, frames, user
    /// pages) is NOT scanned. A managed reference stored only there, or a pointer into a
    /// managed array kept past its `fixed` block in an object field, is freed under you.
    /// Keep references in managed fields, statics or locals.
    ///
    /// When: at allocation, once the bytes allocated since the last collection pass the
    /// live size (at least MinTriggerBytes); from the idle loop when enough was allocated;
    /// and when frames run out. Never in an interrupt that arrived in kernel code (see
    /// EnterNoCollect); the kernel is not preempted, so every other thread is parked in
    /// switch_context or in user mode.
    public static unsafe class Collector
    {
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "gc_spill_registers")]
        static extern void SpillRegistersAndCall(delegate*<ulong, void> fn);
        [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "gc_data_bounds")]
        static extern void DataBounds(ulong* output);

        public const ulong MinTriggerBytes = 1UL << 20;
        const ulong IdleTriggerBytes = 256UL << 10;

        static delegate*<ulong, void> _scanStacks;
        static bool _enabled, _collecting;
        static int _noCollect;
        static ulong _stressEvery, _stressCount;
        static ulong _trigger = MinTriggerBytes;
        static MarkStack _stack;

        public static ulong Collections, LastPauseNs, MaxPauseNs, TotalPauseNs, LastLiveBytes, LastFreedBytes, TotalFreedBytes;

        /// The stack walk (installed by the scheduler's layer) and the stress setting:
        /// `stressEvery` > 0 collects at every n-th allocation.
        public static void Configure(delegate*<ulong, void> scanStacks, ulong stressEvery)
        {
            _scanStacks = scanStacks;
            _stressEvery = stressEvery;
        }

        /// Turns collection on, once the scheduler knows the threads and the collecting code
        /// runs on a thread's stack.
        public static void Enable()
        {
            if (_scanStacks == null) Panic.Halt("gc: enabled before the stack walk was configured");
            if (!_enabled) _stack.Init(&GetPage, &FreePage);
            _enabled = true;
        }

        /// An interrupt or exception that arrived while kernel code ran: no collection until
        /// it returns (the interrupted code may be anywhere).
        public static void EnterNoCollect() => _noCollect++;
        public static void LeaveNoCollect() => _noCollect--;

        static bool CanCollect => _enabled && !_collecting && _noCollect == 0;

        /// Called before each allocation: collects when the policy says so.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void BeforeAllocate()
        {
            if (GcHeap.AllocatedSinceSweep < _trigger && _stressEvery == 0) return;     // the common case
            AllocationSlowPath();
        }

        static void AllocationSlowPath()
        {
            if (!CanCollect) return;
            if (_stressEvery == 0) { Collect(); return; }
            if (++_stressCount >= _stressEvery) { _stressCount = 0; Collect(); }
        }

        /// The idle loop's chance to collect while nothing else wants the CPU: once a quarter
        /// of the allocation trigger has been allocated (at least IdleTriggerBytes), so a
        /// large live heap is not traced over and over by a program that sleeps often.
        public static void Idle()
        {
            ulong threshold = _trigger / 4 > IdleTriggerBytes ? _trigger / 4 : IdleTriggerBytes;
            if (CanCollect && GcHeap.AllocatedSinceSweep >= threshold) Collect();
        }

        /// Collects now if it is safe to; returns whether it did (an allocation that found no
        /// frame retries after this).
        public static bool TryCollect()
        {
            if (!CanCollect) return false;
            Collect();
            return true;
        }

        /// Memory is short (PhysicalMemory.Reclaim): collects if that may free something, i.e.
        /// objects were allocated since the last collection or it was a while ago (objects
        /// that were live then may have been dropped since). Returns whether it collected.
        /// When memory is taken by what the collector cannot free (file data, program pages),
        /// collections free nothing: after one that freed no page, the next waits (10 ms,
        /// doubling with each futile one, and at least 4 pauses) unless ReclaimQuantum bytes
        /// of objects have been allocated since (new garbage may have come), so a full /tmp
        /// does not turn every failed allocation into a full trace. A collection that frees
        /// pages resets it.
        public static bool Reclaim()
        {
            if (!CanCollect) return false;
            ulong since = Clock.MonotonicNs() - _lastCollectionNs;
            ulong wait = (10000000UL << (_futileReclaims < 10 ? _futileReclaims : 10));
            if (wait < 4 * LastPauseNs) wait = 4 * LastPauseNs;
            bool allocated = _futileReclaims == 0 ? GcHeap.AllocatedSinceSweep > 0 : GcHeap.AllocatedSinceSweep >= ReclaimQuantum;
            if (since < wait && !allocated) return false;
            ulong freeBefore = PhysicalMemory.FreeBytes;
            Collect();
            _futileReclaims = PhysicalMemory.FreeBytes > freeBefore ? 0 : _futileReclaims + 1;
            return true;
        }

        static ulong _lastCollectionNs;
        static int _futileReclaims;
        const ulong ReclaimQuantum = 64UL << 10;

        public static void Collect()
        {
            if (!CanCollect) return;
            SpillRegistersAndCall(&CollectFrom);
        }

        static void CollectFrom(ulong rsp)
        {
            _collecting = true;
            ulong t0 = Clock.MonotonicNs();

            ulong* data = stackalloc ulong[2];
            DataBounds(data);
            ScanRange(data[0], data[1]);
            _scanStacks(rsp);
            Drain();
            while (_stack.Overflowed)
            {
                // Some marked objects were not traced: trace every marked object again (each
                // is drained at once, so the stack stays shallow) until nothing overflows.
                _stack.Overflowed = false;
                GcHeap.ForEachMarked(&TraceAndDrain);
            }
            ulong freed = GcHeap.Sweep(_stressEvery != 0);

            _lastCollectionNs = Clock.MonotonicNs();
            ulong pause = _lastCollectionNs - t0;
            Collections++;
            LastPauseNs = pause; TotalPauseNs += pause;
            if (pause > MaxPauseNs) MaxPauseNs = pause;
            LastLiveBytes = GcHeap.BytesInUse; LastFreedBytes = freed; TotalFreedBytes += freed;
            _trigger = LastLiveBytes > MinTriggerBytes ? LastLiveBytes : MinTriggerBytes;
            _collecting = false;
            if (Log.Enabled(LogLevel.Debug) && _stressEvery == 0) Report();
        }

        static void Report()
        {
            var w = Log.Begin(LogLevel.Debug, stackalloc byte[160]);
            w.Str("gc #"); w.Udec(Collections); w.Str(": pause "); w.Udec(LastPauseNs / 1000);
            w.Str(" us, live "); w.Udec(LastLiveBytes >> 10); w.Str(" KiB, freed "); w.Udec(LastFreedBytes >> 10);
            w.Str(" KiB, heap pages "); w.Udec(GcHeap.SpanPages + GcHeap.LargePages);
            Log.End(ref w);
        }

        /// Conservatively marks whatever the aligned words of [lo, hi) point into.
        public static void ScanRange(ulong lo, ulong hi)
        {
            for (ulong p = (lo + 7) & ~7UL; p + 8 <= hi; p += 8) MarkValue(*(ulong*)p);
        }

        static void MarkValue(ulong value)
        {
            ulong obj = GcHeap.TryMark(value);
            if (obj != 0) _stack.Push(obj);     // on overflow the object stays marked; the rescan traces it
        }

        struct Marker : IReferenceVisitor
        {
            public void Visit(ulong* slot) => MarkValue(*slot);
        }

        static void Trace(ulong obj)
        {
            var marker = new Marker();
            GcDesc.VisitReferences(*(void**)obj, (void*)obj, ref marker);
        }

        static void TraceAndDrain(ulong obj) { Trace(obj); Drain(); }

        static void Drain()
        {
            while (_stack.TryPop(out ulong obj)) Trace(obj);
        }

        static void* GetPage()
        {
            ulong phys = PhysicalMemory.AllocateFramesUninitialized(1);
            return phys == ulong.MaxValue ? null : PhysicalMemory.ToVirtual(phys);
        }

        static void FreePage(void* page) => PhysicalMemory.FreeFrames(PhysicalMemory.ToPhysical(page), 1);
    }
}
