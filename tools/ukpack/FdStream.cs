using System.Runtime.InteropServices;

namespace Ukpack;

/// <summary>
/// Writes to a file descriptor with plain write(2), at whatever offset the descriptor has
/// (so `>>` appends and several writers share a file correctly), and reports EPIPE as an
/// IOException. Console streams ignore EPIPE and FileStream keeps its own offset, which
/// breaks both.
/// </summary>
public sealed unsafe class FdStream(int fd) : Stream
{
    [DllImport("libc", SetLastError = true)]
    static extern nint write(int fd, byte* buf, nint count);

    const int EINTR = 4, EAGAIN = 11;

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data)
        {
            int done = 0;
            while (done < data.Length)
            {
                nint n = write(fd, p + done, data.Length - done);
                if (n >= 0) { done += (int)n; continue; }
                int errno = Marshal.GetLastPInvokeError();
                if (errno == EINTR) continue;
                if (errno == EAGAIN) { Thread.Sleep(1); continue; }
                throw new IOException($"write to fd {fd} failed (errno {errno})", errno);
            }
        }
    }

    public override void Flush() { }
    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
