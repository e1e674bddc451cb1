namespace Kernel.Syscalls
{
    public static unsafe partial class SyscallTable
    {
        /// Handlers of the socket calls (Sys.Socket.cs) over the socket layer (net/Socket.cs).
        static void RegisterSockets()
        {
            Sys.InitSocketLayer();
            Bind(41, &Sys.SocketCall);
            Bind(42, &Sys.ConnectCall);
            Bind(43, &Sys.AcceptCall);
            Bind(44, &Sys.Sendto);
            Bind(45, &Sys.Recvfrom);
            Bind(46, &Sys.Sendmsg);
            Bind(47, &Sys.Recvmsg);
            Bind(48, &Sys.ShutdownCall);
            Bind(49, &Sys.BindCall);
            Bind(50, &Sys.ListenCall);
            Bind(51, &Sys.Getsockname);
            Bind(52, &Sys.Getpeername);
            Bind(53, &Sys.Socketpair);
            Bind(54, &Sys.Setsockopt);
            Bind(55, &Sys.Getsockopt);
            Bind(288, &Sys.Accept4);
            Bind(299, &Sys.Recvmmsg);
            Bind(307, &Sys.Sendmmsg);
        }
    }
}
