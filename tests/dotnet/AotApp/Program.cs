// Aot - crashpipe's NativeAOT crash test app (PublishAot). One scenario per run:
//
//   Aot SCENARIO      main | worker | failfast
//
//   main     Program.Charge(Int32) throws an InvalidOperationException, three calls below
//            Main, with an inner FormatException that Program.ParseAmount(String) threw and
//            Charge caught; nothing catches the outer one.
//   worker   the same from a new thread named "aot-worker" (Program.WorkerEntry), while the
//            main thread waits in Thread.Join.
//   failfast Program.GiveUp(Int32) calls Environment.FailFast with a message, two calls below
//            Main: no exception object, the runtime's crash info has the message only.
//
// Before it crashes it prints, one fact a line:
//   aot scenario S runtime V pid P     (V = Environment.Version)
//   crash tid T                        the OS thread id of the thread that throws
//   expect type T / expect message M   the exception as thrown
//   expect inner T: M                  its inner exception
//   expect failfast M                  failfast: the message
// The runtime then prints its own "Unhandled exception. ..." block on stderr: the test's oracle.
//
// Every method a test names is [MethodImpl(NoInlining)] and uses its callee's result, so the
// compiler neither inlines nor tail-calls it away.
using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;

public static class Messages
{
    public const string Charge = "crashpipe-aot: card declined for order 42 (\"quoted\" \\ backslash)";
    public const string ChargeInner = "crashpipe-aot: the amount was not a number";
    public const string FailFast = "crashpipe-aot: failfast requested";
}

public static class Program
{
    [DllImport("libc.so.6", EntryPoint = "gettid")]
    private static extern int gettid();

    private static void Say(string line)
    {
        Console.Out.WriteLine(line);
        Console.Out.Flush();
    }

    public static int Main(string[] args)
    {
        string scenario = args.Length > 0 ? args[0] : "";
        Say("aot scenario " + scenario + " runtime " + Environment.Version + " pid " + Environment.ProcessId);
        int r;
        switch (scenario)
        {
            case "main": r = Checkout(42); break;
            case "worker": r = RunWorker(); break;
            case "failfast": r = Refund(3); break;
            default:
                Console.Error.WriteLine("usage: Aot main|worker|failfast");
                return 2;
        }
        Say("aot did not crash: " + r);
        return 3;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int Checkout(int order)
    {
        int r = Bill(order + 1);
        return r + 1;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int Bill(int order)
    {
        int r = Charge(order - 1);
        return r + 1;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int Charge(int order)
    {
        Exception inner = null;
        try
        {
            order += ParseAmount("forty-two");
        }
        catch (FormatException e)
        {
            inner = e;
        }
        var ex = new InvalidOperationException(Messages.Charge, inner);
        Say("crash tid " + gettid());
        Say("expect type " + ex.GetType().FullName);
        Say("expect message " + ex.Message);
        Say("expect inner " + inner.GetType().FullName + ": " + inner.Message);
        if (order > 0)
        {
            throw ex;
        }
        return order;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int ParseAmount(string amount)
    {
        if (amount.Length > 0 && !char.IsDigit(amount[0]))
        {
            throw new FormatException(Messages.ChargeInner);
        }
        return amount.Length;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int Refund(int order)
    {
        int r = GiveUp(order + 1);
        return r + 1;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int GiveUp(int order)
    {
        Say("crash tid " + gettid());
        Say("expect failfast " + Messages.FailFast);
        if (order > 0)
        {
            Environment.FailFast(Messages.FailFast);
        }
        return order;
    }

    private static int RunWorker()
    {
        var t = new Thread(WorkerEntry) { Name = "aot-worker" };
        t.Start();
        t.Join();
        return 0;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void WorkerEntry()
    {
        int r = Checkout(7);
        GC.KeepAlive(r);
    }
}
