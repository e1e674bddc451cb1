using System;
using Kernel.Arch;
using Kernel.Console;

namespace Kernel
{
    /// A broken kernel invariant: report and power off with a distinct status.
    public static unsafe class Panic
    {
        public static void Halt(string message)
        {
            Cpu.DisableInterrupts();
            var w = Log.Begin(LogLevel.Error, stackalloc byte[256]);
            w.Str("panic: "); w.Str(message);
            Log.End(ref w);
            Backtrace.Print(Cpu.FramePointer(), Cpu.StackPointer());
            Power.Exit(Power.PanicCode);
        }

        /// `throw` in kernel code: there is no unwinder, so name the exception and stop.
        public static void Exception(void* exception, ulong site)
        {
            Cpu.DisableInterrupts();
            var w = Log.Begin(LogLevel.Error, stackalloc byte[384]);
            w.Str("panic: unhandled exception ");
            if (exception != null)
            {
                ulong mt = *(ulong*)exception;
                Symbols.AppendTypeName(ref w, mt);
                object ex = System.Runtime.CompilerServices.Unsafe.AsRef<object>(&exception);
                if (ex is System.Exception e && e.Message != null) { w.Str(": "); w.Str(e.Message); }
            }
            else w.Str("(fail-fast)");
            w.Str(" thrown at "); Symbols.Append(ref w, site);
            Log.End(ref w);
            Backtrace.Print(Cpu.FramePointer(), Cpu.StackPointer());
            Power.Exit(Power.PanicCode);
        }
    }
}
