namespace System
{
    /// Exceptions exist for API shape; the kernel has no unwinder, so `throw` ends in a
    /// panic that names the exception type and its message.
    public class Exception
    {
        private readonly string _message;
        public Exception() { }
        public Exception(string message) { _message = message; }
        public virtual string Message => _message;
    }

    public class SystemException : Exception { public SystemException() { } public SystemException(string m) : base(m) { } }
    public class ArgumentException : SystemException { public ArgumentException() { } public ArgumentException(string m) : base(m) { } }
    public class ArgumentNullException : ArgumentException { public ArgumentNullException() { } public ArgumentNullException(string m) : base(m) { } }
    public class ArgumentOutOfRangeException : ArgumentException { public ArgumentOutOfRangeException() { } public ArgumentOutOfRangeException(string m) : base(m) { } }
    public class IndexOutOfRangeException : SystemException { public IndexOutOfRangeException() : base("Index was outside the bounds of the array.") { } }
    public class InvalidOperationException : SystemException { public InvalidOperationException() { } public InvalidOperationException(string m) : base(m) { } }
    public class InvalidCastException : SystemException { public InvalidCastException() : base("Invalid cast.") { } }
    public class NullReferenceException : SystemException { public NullReferenceException() : base("Null reference.") { } }
    public class OverflowException : SystemException { public OverflowException() : base("Arithmetic overflow.") { } }
    public class DivideByZeroException : SystemException { public DivideByZeroException() : base("Divide by zero.") { } }
    public class ArrayTypeMismatchException : SystemException { public ArrayTypeMismatchException() : base("Array type mismatch.") { } }
    public class NotSupportedException : SystemException { public NotSupportedException() { } public NotSupportedException(string m) : base(m) { } }
    public class PlatformNotSupportedException : NotSupportedException { public PlatformNotSupportedException() { } public PlatformNotSupportedException(string m) : base(m) { } }
    public class NotImplementedException : SystemException { public NotImplementedException() { } public NotImplementedException(string m) : base(m) { } }
    public class OutOfMemoryException : SystemException { public OutOfMemoryException() : base("Out of memory.") { } }
}
