namespace System
{
    // Integer formatting with the .NET TryFormat shape: "D" (default) decimal, "X"/"x" hex,
    // an optional digit count ("X16"). Writes into the caller's span, never allocates.
    internal static class Number
    {
        internal static bool TryFormatUInt64(ulong value, bool negative, Span<char> destination, out int charsWritten, ReadOnlySpan<char> format)
        {
            charsWritten = 0;
            char kind = format.Length > 0 ? format[0] : 'D';
            int minDigits = 1;
            if (format.Length > 1)
            {
                minDigits = 0;
                for (int i = 1; i < format.Length; i++) minDigits = minDigits * 10 + (format[i] - '0');
            }
            bool hex = kind == 'X' || kind == 'x';
            char a = kind == 'x' ? 'a' : 'A';
            Span<char> tmp = stackalloc char[64];
            int n = 0;
            uint radix = hex ? 16u : 10u;
            do
            {
                uint d = (uint)(value % radix);
                tmp[n++] = (char)(d < 10 ? '0' + d : a + d - 10);
                value /= radix;
            } while (value != 0);
            while (n < minDigits && n < tmp.Length) tmp[n++] = '0';
            int total = n + (negative ? 1 : 0);
            if (total > destination.Length) return false;
            int pos = 0;
            if (negative) destination[pos++] = '-';
            while (n > 0) destination[pos++] = tmp[--n];
            charsWritten = pos;
            return true;
        }
    }

}
