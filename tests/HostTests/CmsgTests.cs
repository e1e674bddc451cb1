using System;
using Kernel.Abi;
using Kernel.Net;

namespace HostTests;

/// <summary>net/Cmsg.cs: control-message parsing and building as Linux does it.</summary>
public class CmsgTests
{
    static byte[] Msg(long len, int level, int type, params byte[] data)
    {
        var b = new byte[Cmsg.Align(Math.Max(len, 16))];
        BitConverter.GetBytes(len).CopyTo(b, 0);
        BitConverter.GetBytes(level).CopyTo(b, 8);
        BitConverter.GetBytes(type).CopyTo(b, 12);
        data.CopyTo(b, 16);
        return b;
    }

    static byte[] Concat(params byte[][] parts)
    {
        int n = 0; foreach (var p in parts) n += p.Length;
        var r = new byte[n]; int at = 0;
        foreach (var p in parts) { p.CopyTo(r, at); at += p.Length; }
        return r;
    }

    [Fact]
    public void Arithmetic()
    {
        Cmsg.Len(4).Should().Be(20);
        Cmsg.Space(4).Should().Be(24);
        Cmsg.Space(12).Should().Be(32);
        Cmsg.Align(17).Should().Be(24);
    }

    [Fact]
    public void ReadsSeveralMessages()
    {
        var buf = Concat(Msg(20, 1, 1, 3, 0, 0, 0), Msg(28, 1, 2, new byte[12]));
        var rd = new Cmsg.Reader(buf);
        rd.Next(out var e).Should().BeTrue(); e.Should().Be((Errno)0);
        (rd.Level, rd.Type, rd.Data.Length, (int)rd.Data[0]).Should().Be((1, 1, 4, 3));
        rd.Next(out e).Should().BeTrue();
        (rd.Type, rd.Data.Length).Should().Be((2, 12));
        rd.Next(out e).Should().BeFalse(); e.Should().Be((Errno)0);
    }

    [Fact]
    public void BadLengthIsEinval()
    {
        var rd = new Cmsg.Reader(Msg(8, 1, 1));
        rd.Next(out var e).Should().BeFalse(); e.Should().Be(Errno.EINVAL);
        var rd2 = new Cmsg.Reader(Msg(40, 1, 1).AsSpan(0, 24));   // longer than the buffer
        rd2.Next(out e).Should().BeFalse(); e.Should().Be(Errno.EINVAL);
        // A tail shorter than a header is not a message (CMSG_NXTHDR stops).
        var rd3 = new Cmsg.Reader(new byte[10]);
        rd3.Next(out e).Should().BeFalse(); e.Should().Be((Errno)0);
    }

    [Fact]
    public void PutTruncatesLikePutCmsg()
    {
        var buf = new byte[64];
        var w = new Cmsg.Writer(buf, 20);                    // room for the header and 4 of 12 bytes
        w.Put(1, 2, new byte[12] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 });
        w.Truncated.Should().BeTrue();
        w.Used.Should().Be(20);
        BitConverter.ToInt64(buf, 0).Should().Be(20);
        buf[19].Should().Be(4);
        var w2 = new Cmsg.Writer(buf, 10);                   // not even a header
        w2.Put(1, 2, new byte[4]);
        (w2.Truncated, w2.Used).Should().Be((true, 0));
    }

    [Fact]
    public void RightsFitWhatRoomAllows()
    {
        var buf = new byte[64];
        var w = new Cmsg.Writer(buf, 24);                    // CMSG_SPACE(4) + 0: two ints fit in (24-16)/4
        w.MaxInts.Should().Be(2);
        w.PutRights(new int[] { 5, 6 }, 3);
        w.Truncated.Should().BeTrue();
        BitConverter.ToInt64(buf, 0).Should().Be(24);
        BitConverter.ToInt32(buf, 16).Should().Be(5);
        BitConverter.ToInt32(buf, 20).Should().Be(6);
        w.Used.Should().Be(24);
        var w2 = new Cmsg.Writer(buf, 16);
        w2.MaxInts.Should().Be(0);
        w2.PutRights(ReadOnlySpan<int>.Empty, 1);
        (w2.Truncated, w2.Used).Should().Be((true, 0));
    }
}
