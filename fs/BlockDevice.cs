using System;
using Kernel.Drivers;
using Kernel.Memory;
using Kernel.Abi;

namespace Kernel.Fs
{
    /// /dev/vda, /dev/vdb, ...: the virtio-blk disks as Linux shows them (block devices,
    /// major 254, 16 minors per disk). No page cache: reads and writes go to the device
    /// through the driver's bounce buffers (write-through), and fsync sends a flush, so an
    /// fsync'd write is in the host's file when fsync returns.
    public static class BlockDevices
    {
        public const uint Major = 254;
        public const uint BLKROGET = 0x125e, BLKGETSIZE = 0x1260, BLKFLSBUF = 0x1261, BLKSSZGET = 0x1268,
            BLKDISCARD = 0x1277, BLKPBSZGET = 0x127b, BLKIOMIN = 0x1278, BLKIOOPT = 0x1279,
            BLKBSZGET = 0x80081270, BLKGETSIZE64 = 0x80081272;

        /// Linux's st_rdev encoding (new_encode_dev).
        public static ulong EncodeDev(uint major, uint minor) => (minor & 0xff) | (major << 8) | ((ulong)(minor & ~0xffu) << 12);

        public static void AddNodes(MemDir dev)
        {
            for (int i = 0; i < VirtioBlk.DiskCount; i++)
            {
                Span<byte> name = stackalloc byte[3];
                name[0] = (byte)'v'; name[1] = (byte)'d'; name[2] = (byte)('a' + i);
                var n = new BlockDevNode(dev.Fs, VirtioBlk.Disks[i]);
                dev.Link(name, n);
                n.Nlink = 1;
            }
        }
    }

    public sealed class BlockDevNode : Inode
    {
        public readonly VirtioBlk Disk;
        public BlockDevNode(FileSystem fs, VirtioBlk disk)
        {
            InitCommon(fs, FileMode.S_IFBLK | 0x1b0u);     // brw-rw----
            Disk = disk;
            Rdev = BlockDevices.EncodeDev(BlockDevices.Major, (uint)disk.Index * 16);
            Nlink = 0;
        }
        public override long Blocks() => 0;
        public override Errno Open(uint flags, out OpenFile file)
        {
            file = new BlockDeviceFile(this, flags);
            return 0;
        }
        public override Errno Truncate(long size) => 0;     // O_TRUNC on a block device does nothing
    }

    /// An open block device: offset-addressed I/O in bytes at any alignment (partial
    /// sectors are read, patched and written back).
    public sealed unsafe class BlockDeviceFile : OpenFile
    {
        readonly BlockDevNode _node;
        VirtioBlk Disk => _node.Disk;
        public BlockDeviceFile(BlockDevNode node, uint flags) { _node = node; StatusFlags = flags; node.Opened(); }

        public override Inode Inode => _node;
        public override bool Positional => true;
        protected override void Closed() => _node.Closed();
        long Capacity => (long)Disk.Sectors * VirtioBlk.SectorSize;

        public override void Stat(ref Abi.Stat st)
        {
            _node.FillStat(ref st);
            st.Size = 0; st.Blocks = 0;
        }

        public override SysResult Read(UserPtr buffer, ulong length)
        {
            SysResult r = Transfer(false, Offset, buffer, null, length);
            if (!r.IsError) Offset += r.Raw;
            return r;
        }

        public override SysResult Write(UserPtr buffer, ulong length)
        {
            SysResult r = Transfer(true, Offset, buffer, null, length);
            if (!r.IsError) Offset += r.Raw;
            return r;
        }

        public override SysResult ReadAt(UserPtr buffer, ulong length, long offset) => offset < 0 ? Errno.EINVAL : Transfer(false, offset, buffer, null, length);
        public override SysResult WriteAt(UserPtr buffer, ulong length, long offset) => offset < 0 ? Errno.EINVAL : Transfer(true, offset, buffer, null, length);

        public override SysResult ReadKernelAt(byte* dst, long len, long offset) => Transfer(false, offset, default, dst, (ulong)len);
        public override SysResult WriteKernel(byte* src, long len)
        {
            SysResult r = Transfer(true, Offset, default, src, (ulong)len);
            if (!r.IsError) Offset += r.Raw;
            return r;
        }

        /// Reads or writes `length` bytes at `offset` between the disk and user memory
        /// (`user`) or kernel memory (`kernel` when not null). Up to Depth chunks of one call
        /// are in flight at once; they complete in order, and the count returned is the
        /// prefix that completed (as Linux, a short count after an error, else the errno).
        SysResult Transfer(bool write, long offset, UserPtr user, byte* kernel, ulong length)
        {
            if (offset < 0) return Errno.EINVAL;
            if (write && Disk.ReadOnly) return Errno.EPERM;
            long cap = Capacity;
            if (length == 0) return 0;
            if (offset >= cap) return write ? (SysResult)Errno.ENOSPC : 0;
            if (length > (ulong)(cap - offset)) length = (ulong)(cap - offset);
            if (length > 0x7ffff000) length = 0x7ffff000;
            const int Depth = 4;
            int* qSlot = stackalloc int[Depth];
            ulong* qAt = stackalloc ulong[Depth], qN = stackalloc ulong[Depth];
            uint* qWithin = stackalloc uint[Depth];
            int qHead = 0, qCount = 0;
            ulong submitted = 0, done = 0;
            bool stop = false;
            Errno err = 0;
            while (true)
            {
                while (!stop && submitted < length && qCount < Depth)
                {
                    int slot = qCount == 0 ? Disk.Acquire() : Disk.TryAcquire();
                    if (slot < 0) break;
                    long pos = offset + (long)submitted;
                    long first = pos & ~(long)(VirtioBlk.SectorSize - 1);
                    uint within = (uint)(pos - first);
                    ulong n = length - submitted;
                    if (n > VirtioBlk.SlotBytes - within) n = VirtioBlk.SlotBytes - within;
                    uint span = (uint)((within + n + VirtioBlk.SectorSize - 1) & ~(ulong)(VirtioBlk.SectorSize - 1));
                    ulong sector = (ulong)first / VirtioBlk.SectorSize;
                    byte* buf = Disk.Buffer(slot);
                    if (write)
                    {
                        // A partial sector at either end: read it first, patch, write back.
                        if ((within != 0 || ((within + n) & (VirtioBlk.SectorSize - 1)) != 0))
                        {
                            Disk.StartRequest(slot, VirtioBlk.TypeIn, sector, span);
                            if (Disk.Finish(slot) != VirtioBlk.StatusOk) { err = Errno.EIO; stop = true; }
                        }
                        if (!stop)
                        {
                            if (kernel != null) Mem.Copy(buf + within, kernel + submitted, n);
                            else if (user.Add(submitted).CopyIn(buf + within, n) != 0) { err = Errno.EFAULT; stop = true; }
                        }
                        if (stop) { Disk.Release(slot); break; }
                    }
                    Disk.StartRequest(slot, write ? VirtioBlk.TypeOut : VirtioBlk.TypeIn, sector, span);
                    int e = (qHead + qCount) % Depth;
                    qSlot[e] = slot; qAt[e] = submitted; qN[e] = n; qWithin[e] = within;
                    qCount++;
                    submitted += n;
                }
                if (qCount == 0) break;
                int h = qHead;
                qHead = (qHead + 1) % Depth; qCount--;
                byte status = Disk.Finish(qSlot[h]);
                if (done == qAt[h])          // still the contiguous prefix: nothing before it failed
                {
                    if (status != VirtioBlk.StatusOk) { if (err == 0) err = Errno.EIO; stop = true; }
                    else if (!write)
                    {
                        byte* buf = Disk.Buffer(qSlot[h]) + qWithin[h];
                        if (kernel != null) Mem.Copy(kernel + qAt[h], buf, qN[h]);
                        else if (user.Add(qAt[h]).CopyOut(buf, qN[h]) != 0) { if (err == 0) err = Errno.EFAULT; stop = true; }
                    }
                    if (!stop) done += qN[h];
                }
                Disk.Release(qSlot[h]);
            }
            if (done > 0) return (long)done;
            return err != 0 ? (SysResult)err : 0;
        }

        /// Linux's fixed-size llseek: SEEK_SET/CUR/END within [0, capacity].
        public override SysResult Seek(long offset, int whence)
        {
            long pos;
            switch (whence)
            {
                case 0: pos = offset; break;
                case 1: pos = Offset + offset; break;
                case 2: pos = Capacity + offset; break;
                default: return Errno.EINVAL;
            }
            if (pos < 0 || pos > Capacity) return Errno.EINVAL;
            Offset = pos;
            return pos;
        }

        /// fsync/fdatasync: a flush request (when the device has a write cache to flush).
        public SysResult Flush()
        {
            if (!Disk.CanFlush) return SysResult.Ok;
            int slot = Disk.Acquire();
            Disk.StartRequest(slot, VirtioBlk.TypeFlush, 0, 0);
            byte status = Disk.Finish(slot);
            Disk.Release(slot);
            return status == VirtioBlk.StatusOk ? SysResult.Ok : Errno.EIO;
        }

        public override SysResult Ioctl(uint request, ulong arg)
        {
            var p = new UserPtr(arg);
            ulong u64; int i32;
            switch (request)
            {
                case BlockDevices.BLKGETSIZE64: u64 = (ulong)Capacity; return p.CopyOut(&u64, 8) != 0 ? Errno.EFAULT : SysResult.Ok;
                case BlockDevices.BLKGETSIZE: u64 = Disk.Sectors; return p.CopyOut(&u64, 8) != 0 ? Errno.EFAULT : SysResult.Ok;
                case BlockDevices.BLKSSZGET: case BlockDevices.BLKPBSZGET: case BlockDevices.BLKIOMIN:
                    i32 = VirtioBlk.SectorSize; return p.CopyOut(&i32, 4) != 0 ? Errno.EFAULT : SysResult.Ok;
                case BlockDevices.BLKIOOPT: i32 = 0; return p.CopyOut(&i32, 4) != 0 ? Errno.EFAULT : SysResult.Ok;
                case BlockDevices.BLKBSZGET: i32 = 4096; return p.CopyOut(&i32, 4) != 0 ? Errno.EFAULT : SysResult.Ok;
                case BlockDevices.BLKROGET: i32 = Disk.ReadOnly ? 1 : 0; return p.CopyOut(&i32, 4) != 0 ? Errno.EFAULT : SysResult.Ok;
                case BlockDevices.BLKFLSBUF: return SysResult.Ok;                 // no cache to drop
                case BlockDevices.BLKDISCARD:
                    {
                        ulong* range = stackalloc ulong[2];
                        if (p.CopyIn(range, 16) != 0) return Errno.EFAULT;
                        if ((StatusFlags & 3) == 0) return Errno.EBADF;
                        if (((range[0] | range[1]) & (VirtioBlk.SectorSize - 1)) != 0) return Errno.EINVAL;
                        if (range[0] + range[1] < range[0] || range[0] + range[1] > (ulong)Capacity) return Errno.EINVAL;
                        if (Disk.ReadOnly) return Errno.EPERM;
                        if (!Disk.CanDiscard) return Errno.EOPNOTSUPP;
                        ulong done = 0;
                        while (done < range[1])
                        {
                            ulong n = range[1] - done;
                            if (n > 1UL << 30) n = 1UL << 30;
                            int slot = Disk.Acquire();
                            Disk.StartRequest(slot, VirtioBlk.TypeDiscard, (range[0] + done) / VirtioBlk.SectorSize, (uint)n);
                            byte st = Disk.Finish(slot);
                            Disk.Release(slot);
                            if (st != VirtioBlk.StatusOk) return st == VirtioBlk.StatusUnsupported ? Errno.EOPNOTSUPP : Errno.EIO;
                            done += n;
                        }
                        return SysResult.Ok;
                    }
            }
            return Errno.ENOTTY;
        }
    }
}
