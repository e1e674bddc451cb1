using System;
using Kernel.Memory;
using Kernel.Abi;
using static Kernel.Abi.OpenFlags;

namespace Kernel.Fs
{
    /// /dev: a tmpfs directory (so /dev/shm and friends work) holding the character devices
    /// and the /proc/self/fd links.
    public static class DevTree
    {
        public static Inode Build(FileSystem fs)
        {
            var d = new MemDir(fs, 0x1ed);
            Add(d, "null"u8, DevKind.Null, 1, 3);
            Add(d, "zero"u8, DevKind.Zero, 1, 5);
            Add(d, "full"u8, DevKind.Full, 1, 7);
            Add(d, "random"u8, DevKind.Random, 1, 8);
            Add(d, "urandom"u8, DevKind.Random, 1, 9);
            Add(d, "tty"u8, DevKind.Tty, 5, 0).Gid = 5;                    // root:tty 0666, as Linux
            Add(d, "console"u8, DevKind.Console, 5, 1).Mode = FileMode.S_IFCHR | 0x180;   // 0600
            d.Symlink("stdin"u8, "/proc/self/fd/0"u8, out _);
            d.Symlink("stdout"u8, "/proc/self/fd/1"u8, out _);
            d.Symlink("stderr"u8, "/proc/self/fd/2"u8, out _);
            d.Symlink("fd"u8, "/proc/self/fd"u8, out _);
            d.Mkdir("shm"u8, 0x3ff | FileMode.S_ISVTX, out _);
            Add(d, "ptmx"u8, DevKind.Ptmx, 5, 2).Gid = 5;                  // root:tty 0666, as Linux
            // devpts on /dev/pts: the slaves of the pseudo-terminals (fs/Pty.cs).
            d.Mkdir("pts"u8, 0x1ed, out Inode pts);
            var ptsRoot = new PtsDir();
            pts.MountedHere = ptsRoot;
            ptsRoot.MountPoint = pts;
            ptsRoot.Parent = d;
            ptsRoot.Name = pts.Name;
            BlockDevices.AddNodes(d);
            return d;
        }

        static DevNode Add(MemDir d, ReadOnlySpan<byte> name, DevKind kind, uint major, uint minor)
        {
            var n = new DevNode(d.Fs, kind, (major << 8) | minor);
            d.Link(name, n);
            n.Nlink = 1;
            return n;
        }
    }

    public enum DevKind { Null, Zero, Full, Random, Tty, Console, Ptmx }

    /// A character device of /dev.
    public sealed unsafe class DevNode : Inode
    {
        public readonly DevKind Kind;
        public DevNode(FileSystem fs, DevKind kind, ulong rdev)
        {
            InitCommon(fs, FileMode.S_IFCHR | 0x1b6u);
            Kind = kind; Rdev = rdev; Nlink = 0;
        }
        public override long Blocks() => 0;

        public override Errno Open(uint flags, out OpenFile file)
        {
            if (Kind == DevKind.Ptmx) return PtyPair.OpenMaster(this, flags, out file);
            if (Kind == DevKind.Tty)
            {
                // The caller's controlling terminal: a pseudo-terminal's slave, or the console
                // (also, leniently, when the console is a terminal and the caller has none);
                // otherwise ENXIO, as Linux without a controlling terminal.
                file = null;
                Tty ctty = Tty.CallerCtty != null ? Tty.CallerCtty() : null;
                if (ctty is PtyPair pair) return pair.OpenSlave(this, flags, out file);
                if (!ConsoleFile.HasTerminal) return Errno.ENXIO;
                file = new ConsoleFile(ConsoleFile.Terminal, this) { StatusFlags = flags };
                return 0;
            }
            if (Kind == DevKind.Console)
            {
                // The serial console: reads come from the program's stdin, writes go to stdout.
                file = new ConsoleFile((flags & 3) == 0 ? 0 : 1, this) { StatusFlags = flags };
                return 0;
            }
            file = new InodeFile(this, flags);
            return 0;
        }

        public override SysResult Read(long offset, UserPtr buf, ulong len)
        {
            switch (Kind)
            {
                case DevKind.Null: return 0;
                case DevKind.Zero: case DevKind.Full:
                    return buf.Zero(len) == 0 ? (SysResult)(long)len : Errno.EFAULT;
                case DevKind.Random:
                    {
                        if (len > 0x1ffffff) len = 0x1ffffff;
                        return buf.FillRandom(len);
                    }
            }
            return Errno.EINVAL;
        }

        public override SysResult Write(long offset, UserPtr buf, ulong len)
        {
            if (Kind == DevKind.Full) return Errno.ENOSPC;
            return (long)len;          // null, zero, random: data is discarded
        }

        public override SysResult ReadKernel(long offset, byte* dst, long len)
        {
            if (Kind == DevKind.Null) return 0;
            if (Kind == DevKind.Random) { Arch.Random.Fill(dst, (ulong)len); return len; }
            Mem.Set(dst, 0, (ulong)len);
            return len;
        }
        public override SysResult WriteKernel(long offset, byte* src, long len) => Kind == DevKind.Full ? Errno.ENOSPC : len;
        public override Errno Truncate(long size) => 0;     // O_TRUNC on /dev/null is fine
        public override ulong PageFor(long index, bool write) => ulong.MaxValue;
    }
}
