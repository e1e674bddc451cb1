using System.Runtime.InteropServices;

namespace Ukpack;

/// <summary>lstat(2) for the fields .NET does not expose (inode, uid/gid, nanosecond mtime).
/// Linux x86-64 struct stat layout.</summary>
public readonly record struct StatInfo(ulong Dev, ulong Ino, ulong NLink, uint Mode, uint Uid, uint Gid, long Size, long MtimeSec, uint MtimeNsec);

public static unsafe class UnixStat
{
    [DllImport("libc", EntryPoint = "lstat", SetLastError = true)]
    static extern int lstat_(string path, byte* buf);

    [DllImport("libc", EntryPoint = "__lxstat", SetLastError = true)]
    static extern int lxstat_(int ver, string path, byte* buf);

    static bool _useLxstat;

    public static StatInfo LStat(string path)
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
            throw new UkpackException("building a root filesystem needs Linux on x86-64");
        byte* buf = stackalloc byte[256];
        int rc;
        if (!_useLxstat)
        {
            try { rc = lstat_(path, buf); }
            catch (EntryPointNotFoundException) { _useLxstat = true; rc = lxstat_(1, path, buf); }
        }
        else rc = lxstat_(1, path, buf);
        if (rc != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new UkpackException($"{path}: {Marshal.GetPInvokeErrorMessage(errno)}");
        }
        return new StatInfo(
            Dev: *(ulong*)(buf + 0), Ino: *(ulong*)(buf + 8), NLink: *(ulong*)(buf + 16),
            Mode: *(uint*)(buf + 24), Uid: *(uint*)(buf + 28), Gid: *(uint*)(buf + 32),
            Size: *(long*)(buf + 48), MtimeSec: *(long*)(buf + 88), MtimeNsec: (uint)*(long*)(buf + 96));
    }
}
