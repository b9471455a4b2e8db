// WebApp - crashpipe's corpus app: an ASP.NET Core (Kestrel, minimal API) service that
// crashes the ways services do in production.
//
//   WebApp [--urls http://127.0.0.1:0]     listens on loopback (port 0: the kernel picks one)
//   WebApp request PATH                    the same, and once listening it sends itself
//                                          GET PATH over loopback (for bench/dotnet, which
//                                          starts a crashing program and only waits)
//
//   GET /orders/{id}   Orders.FireAndForget(id), an async void method: it awaits, then
//                      Orders.Validate(id) throws; nothing observes the exception, the runtime
//                      rethrows it on a thread pool thread and the process dies (SIGABRT)
//   GET /serialize     Newtonsoft.Json serialises a cyclic graph with
//                      ReferenceLoopHandling.Serialize: a stack overflow inside the library,
//                      below the endpoint, the routing middleware and Kestrel
//   GET /settle/{n}    wakes the Settlement BackgroundService, which hands batch n to a
//                      dedicated thread named "settlement-worker" (the kernel's comm keeps 15
//                      bytes of it: "settlement-work"); Ledger.Post throws there, unhandled
//
// The host is configured with BackgroundServiceExceptionBehavior.StopHost: an exception in
// ExecuteAsync itself only stops the host (a clean exit, no crash); the one on the
// settlement thread is an unhandled exception of a thread, which ends the process.
//
// Facts for the tests, one a line on stdout:
//   corpus app WebApp runtime V pid P     (V = Environment.Version)
//   listening URL                         the address Kestrel bound
//   crash tid T                           the OS thread id of the thread about to fail
//   expect type T / expect message M      the exception as thrown
//   expect thread name N                  /settle: Thread.Name of the crashing thread
// Logging is off, so that stderr holds only what the runtime itself prints when it dies.
using System;
using System.Linq;
using System.Net.Sockets;
using System.Text;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Newtonsoft.Json;

namespace WebApp
{
    public static class Facts
    {
        [DllImport("libc.so.6", EntryPoint = "gettid")]
        private static extern int gettid();

        public static void Say(string line)
        {
            Console.Out.WriteLine(line);
            Console.Out.Flush();
        }

        public static void Crashing(Exception e)
        {
            Say("crash tid " + gettid());
            Say("expect type " + e.GetType().FullName);
            Say("expect message " + e.Message);
        }

        public static void CrashTid()
        {
            Say("crash tid " + gettid());
        }
    }

    public static class Orders
    {
        [MethodImpl(MethodImplOptions.NoInlining)]
        public static async void FireAndForget(int id)
        {
            await Task.Delay(20);
            Validate(id);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        public static void Validate(int id)
        {
            var e = new InvalidOperationException("order " + id + " failed validation: no such customer");
            Facts.Crashing(e);
            throw e;
        }
    }

    public sealed class Node
    {
        public string Name { get; set; }
        public Node Parent { get; set; }
        public Node Child { get; set; }
    }

    public static class Catalog
    {
        [MethodImpl(MethodImplOptions.NoInlining)]
        public static string Render()
        {
            var root = new Node { Name = "catalog" };
            var child = new Node { Name = "shoes", Parent = root };
            root.Child = child;
            var settings = new JsonSerializerSettings { ReferenceLoopHandling = ReferenceLoopHandling.Serialize };
            Facts.CrashTid();
            Facts.Say("expect type System.StackOverflowException");
            string json = JsonConvert.SerializeObject(root, settings);
            return json.Length.ToString();
        }
    }

    public static class Ledger
    {
        [MethodImpl(MethodImplOptions.NoInlining)]
        public static void Post(int batch)
        {
            var e = new InvalidOperationException("settlement batch " + batch + " does not balance");
            Facts.Crashing(e);
            Facts.Say("expect thread name " + Thread.CurrentThread.Name);
            throw e;
        }
    }

    public sealed class Settlement : BackgroundService
    {
        private readonly TaskCompletionSource<int> go =
            new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Start(int batch)
        {
            go.TrySetResult(batch);
        }

        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            int batch = await go.Task.WaitAsync(stoppingToken);
            var worker = new Thread(() => Settle(batch)) { Name = "settlement-worker", IsBackground = true };
            worker.Start();
            await Task.Delay(Timeout.Infinite, stoppingToken);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void Settle(int batch)
        {
            Ledger.Post(batch);
            Facts.Say("not reached");
        }
    }

    public static class Program
    {
        // one GET over loopback from a thread of our own, the answer read and dropped
        private static void Request(int port, string path)
        {
            using var client = new TcpClient("127.0.0.1", port);
            using var stream = client.GetStream();
            byte[] req = Encoding.ASCII.GetBytes("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
            stream.Write(req, 0, req.Length);
            var buf = new byte[4096];
            while (stream.Read(buf, 0, buf.Length) > 0)
            {
            }
        }

        public static void Main(string[] args)
        {
            Facts.Say("corpus app WebApp runtime " + Environment.Version + " pid " + Environment.ProcessId);
            string selfRequest = null;
            if (args.Length == 2 && args[0] == "request")
            {
                selfRequest = args[1];
                args = new string[0];
            }
            var builder = WebApplication.CreateBuilder(args);
            builder.Logging.ClearProviders();
            builder.Services.Configure<HostOptions>(o =>
                o.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.StopHost);
            builder.Services.AddSingleton<Settlement>();
            builder.Services.AddHostedService(sp => sp.GetRequiredService<Settlement>());
            if (builder.Configuration["urls"] == null)
            {
                builder.WebHost.UseUrls("http://127.0.0.1:0");
            }
            var app = builder.Build();

            app.MapGet("/orders/{id:int}", (int id) =>
            {
                Orders.FireAndForget(id);
                return "accepted " + id + "\n";
            });
            app.MapGet("/serialize", () => Catalog.Render());
            app.MapGet("/settle/{batch:int}", (int batch, Settlement settlement) =>
            {
                settlement.Start(batch);
                return "settling " + batch + "\n";
            });

            app.Start();
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>();
            string address = addresses.Addresses.First();
            Facts.Say("listening " + address);
            if (selfRequest != null)
            {
                int port = new Uri(address).Port;
                new Thread(() => Request(port, selfRequest)) { IsBackground = true, Name = "self-request" }.Start();
            }
            app.WaitForShutdown();
        }
    }
}
