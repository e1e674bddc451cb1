namespace Ukpack;

/// <summary>Host -> guest COM1 escaping (docs/image-format.md, Channels): 0xFF is sent as
/// FF FF, end of input as FF 04.</summary>
public static class StdinCodec
{
    public const byte Escape = 0xFF;
    public const byte EndOfInput = 0x04;
    public static readonly byte[] EofSequence = [Escape, EndOfInput];
    /// <summary>Our stdout (FF 05) or stderr (FF 06) was closed by its reader: the guest
    /// then gives the program EPIPE and SIGPIPE on those fds, as a closed pipe would.</summary>
    public static readonly byte[] StdoutClosedSequence = [Escape, 0x05], StderrClosedSequence = [Escape, 0x06];
    /// <summary>ukpack got SIGTERM (FF 07): the kernel sends the program's pid 1 a SIGTERM.</summary>
    public static readonly byte[] StopSequence = [Escape, 0x07];

    /// <summary>Escapes data into dst (which needs room for 2 * data.Length); returns the
    /// number of bytes written.</summary>
    public static int Encode(ReadOnlySpan<byte> data, Span<byte> dst)
    {
        int n = 0;
        foreach (var b in data)
        {
            dst[n++] = b;
            if (b == Escape) dst[n++] = Escape;
        }
        return n;
    }

    public static byte[] Encode(ReadOnlySpan<byte> data)
    {
        var buf = new byte[data.Length * 2];
        return buf[..Encode(data, buf)];
    }

    /// <summary>Streaming decoder (the guest's side; used by tests and as a reference).</summary>
    public sealed class Decoder
    {
        bool _pendingEscape;
        public bool Ended { get; private set; }

        /// <summary>Decodes src into output; stops at end of input. Unknown escapes (FF xx)
        /// are dropped.</summary>
        public void Feed(ReadOnlySpan<byte> src, List<byte> output)
        {
            foreach (var b in src)
            {
                if (Ended) return;
                if (_pendingEscape)
                {
                    _pendingEscape = false;
                    if (b == Escape) output.Add(Escape);
                    else if (b == EndOfInput) Ended = true;
                }
                else if (b == Escape) _pendingEscape = true;
                else output.Add(b);
            }
        }
    }
}

/// <summary>Kernel log lines from debugcon: "[    0.012345] E message", and "@@UKEXIT n".</summary>
public static class KernelLog
{
    /// <summary>Level letter (I, W, E, D...) and message of a log line; level '?' and the
    /// whole line if it does not have the usual shape.</summary>
    public static (char Level, string Message) Parse(string line)
    {
        if (line.StartsWith('['))
        {
            int close = line.IndexOf(']');
            if (close > 0)
            {
                int i = close + 1;
                while (i < line.Length && line[i] == ' ') i++;
                if (i < line.Length && char.IsAsciiLetterUpper(line[i]) && (i + 1 == line.Length || line[i + 1] == ' '))
                    return (line[i], i + 2 <= line.Length ? line[Math.Min(i + 2, line.Length)..] : "");
            }
        }
        return ('?', line);
    }

    public const string ExitMarker = "@@UKEXIT ";

    /// <summary>The status of an "@@UKEXIT status" line (timestamp prefix allowed).</summary>
    public static bool TryParseExit(string line, out int status)
    {
        status = 0;
        int k = line.IndexOf(ExitMarker, StringComparison.Ordinal);
        if (k < 0) return false;
        var rest = line[(k + ExitMarker.Length)..].Trim();
        return int.TryParse(rest, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out status);
    }
}
