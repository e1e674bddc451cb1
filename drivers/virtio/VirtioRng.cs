using Kernel.Console;

namespace Kernel.Drivers
{
    /// virtio-rng (virtio 1.x, 5.4): one queue of device-writable buffers the device fills
    /// with entropy. Its bytes are mixed into the kernel's random source (getrandom,
    /// /dev/urandom, AT_RANDOM) alongside RDRAND. A request is outstanding whenever the
    /// source has used up the last delivery; nothing ever waits for it.
    public sealed unsafe class VirtioRng : VirtioDevice
    {
        const uint Chunk = 64;
        static VirtioRng _instance;
        VirtQueue _q;
        byte* _buf;
        ulong _bufPhys;
        bool _pending;

        VirtioRng(VirtioTransport t) : base(t) { }

        public static VirtioRng Start(VirtioTransport t, int vector)
        {
            if (_instance != null) return null;            // one source is enough
            var d = new VirtioRng(t);
            if (!d.Begin(0)) return null;
            if (!VirtioBus.Route(t, vector)) { d.Fail("no interrupt route"); return null; }
            d._q = d.SetupQueue(0, 8);
            if (d._q == null) return null;
            d._buf = Dma.Allocate(Chunk, out d._bufPhys);
            if (d._buf == null) { d.Fail("no memory"); return null; }
            d.Ready();
            _instance = d;
            Arch.Random.WantEntropy = &Refill;
            d.Request();
            return d;
        }

        void Request()
        {
            if (_pending) return;
            System.Span<VirtBuffer> b = stackalloc VirtBuffer[1];
            b[0] = new VirtBuffer(_bufPhys, Chunk, true);
            if (_q.Add(b) < 0) return;
            _pending = true;
            if (_q.ShouldNotify()) Transport.Notify(0);
        }

        static void Refill() { if (_instance != null) _instance.Request(); }

        public override void OnInterrupt()
        {
            while (_q.TryPopUsed(out _, out uint n))
            {
                _pending = false;
                bool first = Arch.Random.EntropyBytesAdded == 0;
                if (n > Chunk) n = Chunk;
                if (n > 0) Arch.Random.AddEntropy(_buf, n);
                if (first && n > 0) Log.Info("virtio-rng: first entropy bytes: ", n);
            }
        }
    }
}
