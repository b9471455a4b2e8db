// BatchApp - crashpipe's corpus app: a console batch job whose two parallel steps both fail.
//
//   BatchApp
//
// Import.Run starts two tasks, Import.LoadPrices and Import.LoadStock, each of which throws
// a couple of frames deep; Task.WaitAll gathers both into one AggregateException with two
// inner exceptions (in task order), which nobody catches: the runtime prints
// "Unhandled exception. System.AggregateException: ... ---> ..." with both inner
// exceptions and their stacks, and the process dies (SIGABRT).
//
// Facts for the tests, one a line on stdout (as WebApp's):
//   corpus app BatchApp runtime V pid P
//   crash tid T                            the main thread, which throws the aggregate
//   expect type System.AggregateException
//   expect inner T: M                      each inner exception, in order
using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;

namespace BatchApp
{
    public static class Import
    {
        public const string Prices = "price list line 17: unknown currency \"XBT\"";
        public const string Stock = "stock file is empty";

        [MethodImpl(MethodImplOptions.NoInlining)]
        public static int LoadPrices()
        {
            return ParsePrices(17);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static int ParsePrices(int line)
        {
            throw new FormatException(Prices);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        public static int LoadStock()
        {
            return CountStock(0);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static int CountStock(int lines)
        {
            if (lines == 0)
            {
                throw new InvalidOperationException(Stock);
            }
            return lines;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        public static int Run()
        {
            // both fail before either is waited for, so the aggregate holds both
            using var bothFailed = new CountdownEvent(2);
            Task<int> prices = Task.Run(() => { try { return LoadPrices(); } finally { bothFailed.Signal(); } });
            Task<int> stock = Task.Run(() => { try { return LoadStock(); } finally { bothFailed.Signal(); } });
            bothFailed.Wait();
            Program.Say("crash tid " + Program.Tid());
            Program.Say("expect type System.AggregateException");
            Program.Say("expect inner System.FormatException: " + Prices);
            Program.Say("expect inner System.InvalidOperationException: " + Stock);
            Task.WaitAll(prices, stock);
            return prices.Result + stock.Result;
        }
    }

    public static class Program
    {
        [DllImport("libc.so.6", EntryPoint = "gettid")]
        private static extern int gettid();

        public static int Tid()
        {
            return gettid();
        }

        public static void Say(string line)
        {
            Console.Out.WriteLine(line);
            Console.Out.Flush();
        }

        public static int Main(string[] args)
        {
            Say("corpus app BatchApp runtime " + Environment.Version + " pid " + Environment.ProcessId);
            int n = Import.Run();
            Say("imported " + n);
            return 0;
        }
    }
}
