// Crasher - crashpipe's .NET crash test app.  One scenario per run:
//
//   Crasher SCENARIO      main | worker | async | generic | nullref | pinvoke | failfast |
//                         stackoverflow | threads100 | asyncvoid | aggregate | names |
//                         longname | hang | deepcycle
//
// Before it crashes it prints, one fact a line, what a test needs to check the report:
//   crasher scenario S runtime V pid P     (V = Environment.Version, e.g. 10.0.12)
//   crash tid T                            the OS thread id of the thread that will crash
//                                          (async: the thread of the continuation that throws;
//                                          the runtime rethrows on a thread pool thread, which
//                                          may be another one: see NOTES.md)
//   expect type T / expect message M       the managed exception as thrown (none for failfast,
//   expect inner T: M                      pinvoke and stackoverflow)
//   expect failfast M                      failfast only
//   parked tid T name N                    threads100: every parked thread
//   expect frames F1,F2,...                innermost first: method names the crashed thread must
//                                          show in this order (a subsequence), as the DAC names them
//   thread tid T managed-name N            longname, hang: a thread's tid and its Thread.Name
//   hang ready                             hang: every thread is parked; the process waits forever
//                                          (for `dotnet-dump collect`) until it is killed
//
// Every method a test names is [MethodImpl(NoInlining)] and calls its callee in a non-tail
// position (the result is used afterwards), so the JIT neither inlines nor tail-calls it away.
// The messages are constants here; tests/run-dotnet.sh also reads them from this file.
using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;

namespace Crasher
{
    public static class Messages
    {
        public const string Main = "crashpipe-test: main thread gave up at level 3 (\"quoted\" \\ backslash)";
        public const string MainInner = "crashpipe-test: inner cause of the main crash";
        public const string Worker = "crashpipe-test: worker thread gave up";
        public const string Async = "crashpipe-test: async continuation gave up";
        public const string Generic = "crashpipe-test: generic recursion bottomed out";
        public const string FailFast = "crashpipe-test: failfast requested";
        public const string AsyncVoid = "crashpipe-test: order validation failed";
        public const string Aggregate = "crashpipe-test: two tasks failed";
        public const string AggregateFirst = "crashpipe-test: first task gave up";
        public const string AggregateSecond = "crashpipe-test: second task gave up";
        public const string Names = "crashpipe-test: every kind of method name on one stack";
        public const string LongName = "crashpipe-test: settlement worker gave up";
    }

    internal sealed class Holder
    {
        public int Value;
        public Holder Next;
    }

    // Generic frames: Outer<string>.Inner<int> runs shared (canonical) code for T and exact code
    // for U; the DAC's names for them are what the comparison is about.
    public static class Outer<T>
    {
        [MethodImpl(MethodImplOptions.NoInlining)]
        public static int Inner<U>(int depth, T t, U u)
        {
            if (depth == 0)
            {
                return Bottom<U>(t, u);
            }
            int r = Inner<U>(depth - 1, t, u);
            return r + 1;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        public static int Bottom<U>(T t, U u)
        {
            throw new FormatException(Messages.Generic);
        }
    }

    public static class Program
    {
        [DllImport("libc.so.6", EntryPoint = "gettid")]
        private static extern int gettid();

        [DllImport("crashlib", EntryPoint = "crashlib_crash")]
        private static extern int crashlib_crash(int depth);

        internal static void Say(string line)
        {
            Console.Out.WriteLine(line);
            Console.Out.Flush();
        }

        internal static void SayCrashTid()
        {
            Say("crash tid " + gettid());
        }

        internal static void Expect(Exception e)
        {
            Say("expect type " + e.GetType().FullName);
            Say("expect message " + e.Message);
            for (Exception i = e.InnerException; i != null; i = i.InnerException)
            {
                Say("expect inner " + i.GetType().FullName + ": " + i.Message);
            }
        }

        internal static void ExpectFrames(params string[] names)
        {
            Say("expect frames " + string.Join(",", names));
        }

        public static int Main(string[] args)
        {
            string scenario = args.Length > 0 ? args[0] : "";
            Say("crasher scenario " + scenario + " runtime " + Environment.Version + " pid " + Environment.ProcessId);
            int r;
            switch (scenario)
            {
                case "main": r = MainLevel1(7); break;
                case "worker": r = RunWorker(); break;
                case "async": r = RunAsync(); break;
                case "generic": r = RunGeneric(); break;
                case "nullref": r = NullRefLevel1(null); break;
                case "pinvoke": r = PInvokeLevel1(3); break;
                case "failfast": r = FailFastLevel1(); break;
                case "stackoverflow": r = RunStackOverflow(); break;
                case "threads100": r = RunThreads100(); break;
                case "asyncvoid": r = Orders.Run(); break;
                case "aggregate": r = Aggregates.Run(); break;
                case "names": r = NameShapes.Run(); break;
                case "longname": r = RunLongName(); break;
                case "hang": r = RunHang(); break;
                case "deepcycle": r = DeepCycleEntry(); break;
                default:
                    Console.Error.WriteLine("usage: Crasher main|worker|async|generic|nullref|pinvoke|failfast|stackoverflow|threads100|asyncvoid|aggregate|names|longname|hang|deepcycle");
                    return 2;
            }
            Say("crasher did not crash: " + r);
            return 3;
        }

        // ---- main: InvalidOperationException (with an inner IOException) three calls deep ----
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static int MainLevel1(int x)
        {
            int r = MainLevel2(x + 1);
            return r + 1;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static int MainLevel2(int x)
        {
            int r = MainLevel3(x + 1);
            return r + 1;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static int MainLevel3(int x)
        {
            var e = new InvalidOperationException(Messages.Main, new IOException(Messages.MainInner));
            SayCrashTid();
            Expect(e);
            ExpectFrames("Crasher.Program.MainLevel3", "Crasher.Program.MainLevel2", "Crasher.Program.MainLevel1", "Crasher.Program.Main");
            if (x > 0)
            {
                throw e;
            }
            return x;
        }

        // ---- worker: ApplicationException on a new named thread; main waits in Join ----
        private static int RunWorker()
        {
            var t = new Thread(WorkerEntry) { Name = "crash-worker" };
            t.Start();
            t.Join();
            return 0;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void WorkerEntry()
        {
            int r = WorkerLevel1(1);
            GC.KeepAlive(r);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static int WorkerLevel1(int x)
        {
            int r = WorkerLevel2(x + 1);
            return r + 1;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static int WorkerLevel2(int x)
        {
            var e = new ApplicationException(Messages.Worker);
            SayCrashTid();
            Expect(e);
            ExpectFrames("Crasher.Program.WorkerLevel2", "Crasher.Program.WorkerLevel1", "Crasher.Program.WorkerEntry");
            if (x > 0)
            {
                throw e;
            }
            return x;
        }

        // ---- async: an async void method throws in a continuation after await Task.Delay and
        // Task.Yield; with no SynchronizationContext the runtime rethrows it on the thread pool.
        private static int RunAsync()
        {
            AsyncEntry();
            Thread.Sleep(Timeout.Infinite);
            return 0;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static async void AsyncEntry()
        {
            await Task.Delay(10);
            int r = await AsyncLevel1(1);
            GC.KeepAlive(r);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static async Task<int> AsyncLevel1(int x)
        {
            await Task.Yield();
            int r = await AsyncLevel2(x + 1);
            return r + 1;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static async Task<int> AsyncLevel2(int x)
        {
            await Task.Delay(1);
            var e = new TimeoutException(Messages.Async);
            SayCrashTid();
            Expect(e);
            // the crashed thread is the thread pool's rethrow, not this method (see NOTES.md)
            ExpectFrames("System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw", "System.Threading.ThreadPoolWorkQueue.Dispatch");
            if (x > 0)
            {
                throw e;
            }
            return x;
        }

        // ---- generic: Outer<string>.Inner<int> recursion 10 deep, then a FormatException ----
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static int RunGeneric()
        {
            SayCrashTid();
            Expect(new FormatException(Messages.Generic));
            ExpectFrames("Crasher.Outer`1.Bottom", "Crasher.Outer`1.Inner", "Crasher.Program.RunGeneric", "Crasher.Program.Main");
            int r = Outer<string>.Inner<int>(10, "t", 42);
            return r + 1;
        }

        // ---- nullref: a null dereference in managed code -> NullReferenceException ----
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static int NullRefLevel1(Holder h)
        {
            SayCrashTid();
            Say("expect type System.NullReferenceException");
            Say("expect message Object reference not set to an instance of an object.");
            ExpectFrames("Crasher.Program.NullRefLevel3", "Crasher.Program.NullRefLevel2", "Crasher.Program.NullRefLevel1", "Crasher.Program.Main");
            int r = NullRefLevel2(h);
            return r + 1;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static int NullRefLevel2(Holder h)
        {
            int r = NullRefLevel3(h);
            return r + 1;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static int NullRefLevel3(Holder h)
        {
            int r = h.Value;
            return r + 1;
        }

        // ---- pinvoke: managed frames call into libcrashlib.so, which dereferences NULL ----
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static int PInvokeLevel1(int depth)
        {
            SayCrashTid();
            ExpectFrames("Crasher.Program.PInvokeLevel2", "Crasher.Program.PInvokeLevel1", "Crasher.Program.Main");
            Say("expect native crashlib_deref,crashlib_level,crashlib_level,crashlib_level,crashlib_level,crashlib_crash");
            int r = PInvokeLevel2(depth);
            return r + 1;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static int PInvokeLevel2(int depth)
        {
            int r = crashlib_crash(depth);
            return r + 1;
        }

        // ---- failfast: Environment.FailFast a few frames deep ----
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static int FailFastLevel1()
        {
            int r = FailFastLevel2();
            return r + 1;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static int FailFastLevel2()
        {
            SayCrashTid();
            Say("expect failfast " + Messages.FailFast);
            ExpectFrames("Crasher.Program.FailFastLevel2", "Crasher.Program.FailFastLevel1", "Crasher.Program.Main");
            Environment.FailFast(Messages.FailFast);
            return 0;
        }

        // ---- stackoverflow: infinite recursion on a thread with a 1 MiB stack ----
        private static int RunStackOverflow()
        {
            var t = new Thread(StackOverflowEntry, 1024 * 1024) { Name = "overflow" };
            t.Start();
            t.Join();
            return 0;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void StackOverflowEntry()
        {
            SayCrashTid();
            Say("expect type System.StackOverflowException");
            ExpectFrames("Crasher.Program.Recurse", "Crasher.Program.Recurse", "Crasher.Program.Recurse");
            int r = Recurse(0);
            GC.KeepAlive(r);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static int Recurse(int n)
        {
            int r = Recurse(n + 1);
            return r + n;
        }

        // ---- deepcycle: a stack overflow on the main thread (8 MiB: a stack 100000s of
        // frames deep) in a cycle of three methods, below two frames of its own: the
        // runtime prints the cycle once ("Repeat N times:") and the bottom ----
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static int DeepCycleEntry()
        {
            SayCrashTid();
            Say("expect type System.StackOverflowException");
            ExpectFrames("Crasher.Program.CycleA", "Crasher.Program.CycleC", "Crasher.Program.CycleB",
                         "Crasher.Program.DeepCycleEntry", "Crasher.Program.Main");
            int r = CycleA(0);
            GC.KeepAlive(r);
            return r;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static int CycleA(int n)
        {
            int r = CycleB(n + 1);
            return r + n;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static int CycleB(int n)
        {
            int r = CycleC(n + 1);
            return r - n;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static int CycleC(int n)
        {
            int r = CycleA(n + 1);
            return r ^ n;
        }

        // ---- threads100: 100 threads parked a few frames deep (50 in Monitor.Wait, 50 in
        // ManualResetEvent.WaitOne that is never set), then main throws.  Both wait without a
        // timeout, so a parked thread does not move between createdump's snapshot and the
        // kernel core seconds later (a System.Threading.Barrier would: it waits in growing
        // timeouts and spins in between; see NOTES.md) ----
        private static readonly object Gate = new object();
        private static readonly ManualResetEvent Never = new ManualResetEvent(false);

        private static int RunThreads100()
        {
            const int n = 100;
            var parked = new CountdownEvent(n);
            var threads = new List<Thread>();
            for (int i = 0; i < n; i++)
            {
                int k = i;
                var t = new Thread(() => ParkLevel1(k, parked)) { Name = "parked-" + k.ToString("D3"), IsBackground = true };
                threads.Add(t);
                t.Start();
            }
            parked.Wait();
            // Monitor parkers signal while holding Gate and release it only in Monitor.Wait:
            // once main holds Gate, all of them are waiting.  WaitHandle parkers: poll their state.
            lock (Gate)
            {
            }
            foreach (var t in threads)
            {
                while ((t.ThreadState & ThreadState.WaitSleepJoin) == 0)
                {
                    Thread.Sleep(1);
                }
            }
            Thread.Sleep(50);
            int r = MainLevel1(1);
            return r;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static int ParkLevel1(int k, CountdownEvent parked)
        {
            int r = ParkLevel2(k, parked);
            return r + 1;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static int ParkLevel2(int k, CountdownEvent parked)
        {
            int r = (k % 2 == 0) ? ParkInMonitor(k, parked) : ParkInWaitHandle(k, parked);
            return r + 1;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static int ParkInMonitor(int k, CountdownEvent parked)
        {
            lock (Gate)
            {
                Say("parked tid " + gettid() + " name parked-" + k.ToString("D3"));
                parked.Signal();
                Monitor.Wait(Gate);
            }
            return k;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static int ParkInWaitHandle(int k, CountdownEvent parked)
        {
            Say("parked tid " + gettid() + " name parked-" + k.ToString("D3"));
            parked.Signal();
            Never.WaitOne();
            return k;
        }

        // ---- longname: a thread named longer than the kernel's 15-byte comm throws; the OS
        // name is "settlement-work", Thread.Name "settlement-worker" ----
        public const string SettlementThreadName = "settlement-worker";

        private static int RunLongName()
        {
            var t = new Thread(LongNameEntry) { Name = SettlementThreadName };
            t.Start();
            t.Join();
            return 0;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void LongNameEntry()
        {
            Say("thread tid " + gettid() + " managed-name " + Thread.CurrentThread.Name);
            int r = LongNameLevel1(1);
            GC.KeepAlive(r);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static int LongNameLevel1(int x)
        {
            var e = new InvalidDataException(Messages.LongName);
            SayCrashTid();
            Expect(e);
            ExpectFrames("Crasher.Program.LongNameLevel1", "Crasher.Program.LongNameEntry");
            if (x > 0)
            {
                throw e;
            }
            return x;
        }

        // ---- hang: two named threads and main parked without a timeout; the main thread
        // caught an exception before (a thrown exception that is handled crashes nothing) ----
        private static int RunHang()
        {
            try
            {
                throw new ArgumentException("crashpipe-test: handled before the hang");
            }
            catch (ArgumentException)
            {
            }
            var parked = new CountdownEvent(2);
            for (int i = 0; i < 2; i++)
            {
                var t = new Thread(() => HangLevel1(parked)) { Name = "hang-worker-" + i, IsBackground = true };
                t.Start();
            }
            parked.Wait();
            Say("thread tid " + gettid() + " managed-name " + (Thread.CurrentThread.Name ?? ""));
            Say("hang ready");
            Never.WaitOne();
            return 0;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static int HangLevel1(CountdownEvent parked)
        {
            Say("thread tid " + gettid() + " managed-name " + Thread.CurrentThread.Name);
            parked.Signal();
            Never.WaitOne();
            return 1;
        }
    }

    // ---- asyncvoid: the example: an async void handler awaits, then a method it
    // calls throws; the runtime rethrows it on the thread pool (ExceptionDispatchInfo), so
    // the exception's own stack has two segments: Validate <- FireAndForget, then the
    // thread pool's frames.  The crashed thread is the rethrow's (see async above).
    public static class Orders
    {
        public static int Run()
        {
            FireAndForget(7);
            Thread.Sleep(Timeout.Infinite);
            return 0;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        public static async void FireAndForget(int id)
        {
            await Task.Delay(10);
            int r = Validate(id);
            GC.KeepAlive(r);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        public static int Validate(int id)
        {
            var e = new InvalidOperationException(Messages.AsyncVoid);
            Program.SayCrashTid();
            Program.Expect(e);
            Program.ExpectFrames("System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw", "System.Threading.ThreadPoolWorkQueue.Dispatch");
            if (id > 0)
            {
                throw e;
            }
            return id;
        }
    }

    // ---- aggregate: two tasks fail on the thread pool, Task.WaitAll throws an
    // AggregateException with both as its inner exceptions, each with its own stack; unhandled
    // on the main thread ----
    public static class Aggregates
    {
        [MethodImpl(MethodImplOptions.NoInlining)]
        public static int Run()
        {
            var first = Task.Run(() => First(1));
            var second = Task.Run(() => Second(2));
            // both have failed before WaitAll, so the order of the inner exceptions is the tasks'
            ((IAsyncResult)first).AsyncWaitHandle.WaitOne();
            ((IAsyncResult)second).AsyncWaitHandle.WaitOne();
            Program.SayCrashTid();
            Program.Expect(new AggregateException(Messages.Aggregate, first.Exception.InnerException, second.Exception.InnerException));
            Program.ExpectFrames("Crasher.Aggregates.WaitBoth", "Crasher.Aggregates.Run", "Crasher.Program.Main");
            int r = WaitBoth(first, second);
            return r + 1;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static int WaitBoth(Task<int> first, Task<int> second)
        {
            try
            {
                Task.WaitAll(first, second);
            }
            catch (AggregateException e)
            {
                // a new AggregateException of the two, thrown from here, so its message is ours
                throw new AggregateException(Messages.Aggregate, e.InnerExceptions);
            }
            return first.Result + second.Result;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static int First(int x)
        {
            int r = FirstLevel2(x + 1);
            return r + 1;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static int FirstLevel2(int x)
        {
            if (x > 0)
            {
                throw new InvalidOperationException(Messages.AggregateFirst);
            }
            return x;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static int Second(int x)
        {
            if (x > 0)
            {
                throw new ArgumentException(Messages.AggregateSecond);
            }
            return x;
        }
    }

    // ---- names: one synchronous stack through every kind of method the runtime names in
    // its own way (tests/run-dotnet-names.sh compares the report's `display` of each frame
    // with the "at ..." lines the runtime prints): a constructor, a property getter, an
    // operator, a struct method with an `in` parameter, an explicit interface
    // implementation, a lambda, a closure, a local function, an iterator's MoveNext, a
    // generic method of a nested generic type with ref/out/params/array/generic parameters,
    // an unsafe method with a pointer, and a [StackTraceHidden] method the runtime leaves out.
    public interface IStep
    {
        int Go(int x);
    }

    public struct NameValue : IStep
    {
        public int V;

        [MethodImpl(MethodImplOptions.NoInlining)]
        public int Step(in int x)
        {
            IStep s = this;
            int r = s.Go(x + V);
            return r + 1;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        int IStep.Go(int x)
        {
            int r = NameShapes.ViaLambdas(x);
            return r + 1;
        }
    }

    public static class NameOuter<T>
    {
        public static class Nested<V>
        {
            [MethodImpl(MethodImplOptions.NoInlining)]
            public static int Deep<W>(T t, V v, W w, ref int r, out string o, List<int> l,
                                      Dictionary<string, List<T>> d, int[,] md, int?[] n, params object[] p)
            {
                o = null;
                int k = NameShapes.Hidden(r + l.Count + md.Length + n.Length + p.Length);
                return k + 1;
            }
        }
    }

    public sealed class NameHolder
    {
        private readonly int _depth;

        [MethodImpl(MethodImplOptions.NoInlining)]
        public NameHolder(int depth)
        {
            _depth = depth;
            int r = Walk;
            GC.KeepAlive(r);
        }

        private NameHolder()
        {
        }

        public int Walk
        {
            [MethodImpl(MethodImplOptions.NoInlining)]
            get
            {
                var sum = this + new NameHolder();
                return sum._depth + 1;
            }
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        public static NameHolder operator +(NameHolder a, NameHolder b)
        {
            var v = new NameValue { V = a._depth };
            int x = 1;
            int r = v.Step(in x);
            return r > 0 ? new NameHolder() : a;
        }
    }

    public static class NameShapes
    {
        [MethodImpl(MethodImplOptions.NoInlining)]
        public static int Run()
        {
            Program.SayCrashTid();
            Program.Expect(new ArgumentException(Messages.Names));
            var h = new NameHolder(3);
            return h.Walk;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        public static int ViaLambdas(int x)
        {
            int captured = x * 2;
            Func<int, int> plain = [MethodImpl(MethodImplOptions.NoInlining)] (int a) =>
            {
                Func<int, int> closure = [MethodImpl(MethodImplOptions.NoInlining)] (int b) =>
                {
                    int r = Local(b + captured);
                    return r + 1;
                };
                int q = closure(a);
                return q + 1;
            };
            int s = plain(x);
            return s + 1;

            [MethodImpl(MethodImplOptions.NoInlining)]
            static int Local(int c)
            {
                int total = 0;
                foreach (int v in Iterate(c))
                {
                    total += v;
                }
                return total + 1;
            }
        }

        public static IEnumerable<int> Iterate(int n)
        {
            yield return n;
            int r = 0;
            int result = NameOuter<string>.Nested<NameValue>.Deep<long>("t", new NameValue(), 5L, ref r,
                out string o, new List<int> { n }, new Dictionary<string, List<string>>(), new int[1, 1],
                new int?[1], n, "p");
            GC.KeepAlive(o);
            yield return result;
        }

        [System.Diagnostics.StackTraceHidden]
        [MethodImpl(MethodImplOptions.NoInlining)]
        public static unsafe int Hidden(int x)
        {
            int r = Pointer(&x, (x, "tuple"));
            return r + 1;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        public static unsafe int Pointer(int* p, (int, string) t)
        {
            if (*p + t.Item1 >= 0)
            {
                throw new ArgumentException(Messages.Names);
            }
            return *p;
        }
    }
}
