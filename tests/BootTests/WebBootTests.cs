using System.Net;
using System.Text;

namespace BootTests;

/// <summary>
/// Real servers, unmodified, answering the host through `ukpack run -p` on QEMU's user
/// network: Debian's python3 `-m http.server` (a file byte-exact, a listing, a 404), a Node
/// http server (Debian's nodejs; it binds `::`), a Go net/http server (built here with the
/// host's go) answering keep-alive requests; and names resolved through the configured DNS
/// server by glibc's getaddrinfo, musl's and Go's resolver, answered by a small responder
/// of this test's own on the host loopback.
/// </summary>
public class WebBootTests
{
    const string Python = "/usr/bin/python3.11";
    internal const string Node = "/usr/bin/node";

    /// <summary>Bytes i*7 + i/1000 for a file of an odd size.</summary>
    static byte[] Pattern(int n)
    {
        var b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte)(i * 7 + i / 1000);
        return b;
    }

    static string Get(HttpClient http, string path, NetBootTests.Guest g)
    {
        try { return http.GetStringAsync(path).GetAwaiter().GetResult(); }
        catch (HttpRequestException e) { throw new Exception($"GET {path}: {e.Message}\n{g}"); }
    }

    [Fact]
    public void PythonHttpServerServesAFileByteExact()
    {
        File.Exists(Python).Should().BeTrue($"{Python} is needed (apt-get install python3)");
        var tree = Repo.TempDir();
        foreach (var d in new[] { "usr/bin", "usr/lib", "srv/sub", "tmp" }) Directory.CreateDirectory(Path.Combine(tree, d));
        File.Copy(Python, Path.Combine(tree, "usr/bin/python3.11"));
        var tar = Host.Run("/bin/sh", ["-c",
            "tar -C /usr/lib --exclude=test --exclude=tests --exclude=idlelib --exclude=tkinter --exclude=ensurepip " +
            "--exclude=lib2to3 --exclude=turtledemo --exclude=site-packages --exclude=dist-packages " +
            "--exclude=pydoc_data --exclude=unittest --exclude=asyncio --exclude=distutils -cf - python3.11 | " +
            $"tar -C '{tree}/usr/lib' -xf -"]);
        tar.Code.Should().Be(0, tar.ToString());
        var data = Pattern(1_000_003);
        File.WriteAllBytes(Path.Combine(tree, "srv/data.bin"), data);
        File.WriteAllText(Path.Combine(tree, "srv/sub/hello.txt"), "hello from the guest's disk\n");
        var img = Path.Combine(Repo.TempDir(), "pyhttp.img");
        var build = Ukpack.Run(["build", Path.Combine(tree, "usr/bin/python3.11"), "--fs", tree, "-o", img]);
        build.Code.Should().Be(0, build.ToString());

        int port = NetBootTests.FreePort();
        using var g = new NetBootTests.Guest(img, "-p", $"{port}:8000", "--", "-u", "-m", "http.server", "--directory", "/srv", "8000");
        g.WaitFor("Serving HTTP", 120);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };
        byte[] got;
        try { got = http.GetByteArrayAsync("/data.bin").GetAwaiter().GetResult(); }
        catch (HttpRequestException e) { throw new Exception($"GET /data.bin: {e.Message}\n{g}"); }
        got.Should().Equal(data, g.ToString());
        Get(http, "/sub/hello.txt", g).Should().Be("hello from the guest's disk\n");
        Get(http, "/", g).Should().Contain("<a href=\"data.bin\">data.bin</a>", g.ToString());
        var missing = http.GetAsync("/no/such/file").GetAwaiter().GetResult();
        ((int)missing.StatusCode).Should().Be(404, g.ToString());
        // http.server closes every connection (HTTP/1.0): a connection per request.
        for (int i = 0; i < 20; i++) Get(http, "/sub/hello.txt", g).Should().StartWith("hello");
        // Its request log goes to stderr, which may arrive after the answers.
        var until = DateTime.UtcNow.AddSeconds(30);
        while (!g.Err.Contains("\"GET /no/such/file HTTP/1.1\" 404") && DateTime.UtcNow < until) Thread.Sleep(100);
        g.Err.Should().Contain("\"GET /data.bin HTTP/1.1\" 200", g.ToString());
        g.Err.Should().Contain("\"GET /no/such/file HTTP/1.1\" 404", g.ToString());
    }

    const string NodeServer = """
        const http = require('http');
        let n = 0;
        const server = http.createServer((req, res) => {
          n++;
          if (req.url === '/quit') {
            res.setHeader('Connection', 'close');
            // The answer is out: exit at once (server.close() would wait for idle keep-alive
            // connections, which Node 18 does not close by itself).
            res.end('bye ' + n + '\n', () => { console.log('served ' + n); process.exit(0); });
            return;
          }
          let body = '';
          req.on('data', (d) => { body += d; });
          req.on('end', () => res.end('node ' + req.method + ' ' + req.url + ' #' + n + (body ? ' ' + body.toUpperCase() : '') + '\n'));
        });
        server.listen(Number(process.argv[2]), () => console.log('listening on ' + JSON.stringify(server.address())));
        """;

    /// <summary>A root tree for Debian's node running /srv/NAME: the script, /tmp, and the
    /// files of other packages (node-cjs-module-lexer, node-acorn, node-undici) from which
    /// Debian's nodejs loads some of its built-in modules (other builds have none).</summary>
    internal static string NodeTree(string name, string script)
    {
        File.Exists(Node).Should().BeTrue($"{Node} is needed (apt-get install nodejs)");
        var tree = Repo.TempDir();
        Directory.CreateDirectory(Path.Combine(tree, "srv"));
        Directory.CreateDirectory(Path.Combine(tree, "tmp"));
        File.WriteAllText(Path.Combine(tree, "srv", name), script);
        foreach (var f in new[] { "cjs-module-lexer/lexer.js", "cjs-module-lexer/dist/lexer.js", "undici/undici-fetch.js", "acorn/dist/acorn.js", "acorn-walk/dist/walk.js" })
        {
            var from = Path.Combine("/usr/share/nodejs", f);
            if (!File.Exists(from)) continue;
            var to = Path.Combine(tree, "usr/share/nodejs", f);
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(from, to);
        }
        return tree;
    }

    [Fact]
    public void NodeHttpServerAnswersKeepAliveRequests()
    {
        var tree = NodeTree("server.js", NodeServer);
        var img = Path.Combine(Repo.TempDir(), "node.img");
        var build = Ukpack.Run(["build", Node, "--fs", tree, "-o", img]);
        build.Code.Should().Be(0, build.ToString());

        int port = NetBootTests.FreePort();
        using var g = new NetBootTests.Guest(img, "-p", $"{port}:8000", "--", "/srv/server.js", "8000");
        g.WaitFor("listening on", 120);
        g.Out.Should().Contain("\"address\":\"::\"", "node binds :: by default\n{0}", g);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };
        const int N = 200;
        for (int i = 1; i <= N; i++) Get(http, $"/r{i}", g).Should().Be($"node GET /r{i} #{i}\n", g.ToString());
        var post = http.PostAsync("/echo", new StringContent("posted body")).GetAwaiter().GetResult();
        post.Content.ReadAsStringAsync().GetAwaiter().GetResult().Should().Be($"node POST /echo #{N + 1} POSTED BODY\n", g.ToString());
        Get(http, "/quit", g).Should().Be($"bye {N + 2}\n");
        g.Exit().Should().Be(0, g.ToString());
        g.Out.Should().Contain($"served {N + 2}\n", g.ToString());
    }

    /// <summary>The Go program: `serve PORT` (net/http until /quit) and `resolve NAME...`
    /// (Go's own resolver, as a CGO_ENABLED=0 build always uses).</summary>
    const string GoProgram = """
        package main

        import (
        	"context"
        	"fmt"
        	"net"
        	"net/http"
        	"os"
        	"strings"
        	"sync/atomic"
        )

        func main() {
        	switch os.Args[1] {
        	case "serve":
        		var n atomic.Int64
        		done := make(chan struct{})
        		mux := http.NewServeMux()
        		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
        			fmt.Fprintf(w, "go %s #%d\n", r.URL.Path, n.Add(1))
        		})
        		mux.HandleFunc("/quit", func(w http.ResponseWriter, r *http.Request) {
        			w.Header().Set("Connection", "close")
        			fmt.Fprintf(w, "bye #%d\n", n.Add(1))
        			close(done)
        		})
        		l, err := net.Listen("tcp", ":"+os.Args[2])
        		if err != nil {
        			fmt.Println("listen:", err)
        			os.Exit(1)
        		}
        		fmt.Println("listening on", l.Addr())
        		srv := &http.Server{Handler: mux}
        		go srv.Serve(l)
        		<-done
        		srv.Shutdown(context.Background())
        		fmt.Println("served", n.Load())
        	case "resolve":
        		for _, name := range os.Args[2:] {
        			addrs, err := net.DefaultResolver.LookupHost(context.Background(), name)
        			if err != nil {
        				if e, ok := err.(*net.DNSError); ok && e.IsNotFound {
        					fmt.Printf("%s: not found\n", name)
        				} else {
        					fmt.Printf("%s: %v\n", name, err)
        				}
        				continue
        			}
        			fmt.Printf("%s: %s\n", name, strings.Join(addrs, " "))
        		}
        	}
        }
        """;

    static readonly Lazy<string> _goProgram = new(() =>
    {
        var go = Repo.Which("go");
        go.Should().NotBeNull("the host's go builds the Go server (apt-get install golang-go)");
        var dir = Repo.TempDir();
        File.WriteAllText(Path.Combine(dir, "main.go"), GoProgram);
        File.WriteAllText(Path.Combine(dir, "go.mod"), "module websrv\n\ngo 1.19\n");
        var exe = Path.Combine(dir, "websrv");
        // As compat-suite/Makefile builds its Go program: static, offline, the local toolchain.
        var r = Host.Run("/usr/bin/env", ["CGO_ENABLED=0", $"GOCACHE={Path.Combine(Repo.Root, "out", "gocache")}", "GOPROXY=off", "GOFLAGS=",
            "GOTOOLCHAIN=local", $"HOME={dir}", go!, "build", "-trimpath", "-ldflags=-s", "-o", exe, "."], timeout: TimeSpan.FromSeconds(300), cwd: dir);
        r.Code.Should().Be(0, r.ToString());
        return exe;
    });

    [Fact]
    public void GoHttpServerAnswersKeepAliveRequests()
    {
        var img = Path.Combine(Repo.TempDir(), "gohttp.img");
        var build = Ukpack.Run(["build", _goProgram.Value, "-o", img]);
        build.Code.Should().Be(0, build.ToString());
        int port = NetBootTests.FreePort();
        using var g = new NetBootTests.Guest(img, "-p", $"{port}:8000", "--", "serve", "8000");
        g.WaitFor("listening on", 60);
        g.Out.Should().Contain("listening on [::]:8000", g.ToString());
        // One connection (HttpClient keeps it alive), each answer in order.
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 1 };
        using var http = new HttpClient(handler) { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };
        const int N = 400;
        for (int i = 1; i <= N; i++) Get(http, $"/r{i}", g).Should().Be($"go /r{i} #{i}\n", g.ToString());
        Get(http, "/quit", g).Should().Be($"bye #{N + 1}\n");
        g.Exit().Should().Be(0, g.ToString());
        g.Out.Should().Contain($"served {N + 1}\n", g.ToString());
    }

    /// <summary>A DNS responder on UDP 127.0.0.1:PORT: web.example.test has the A record
    /// 10.1.2.3 and no AAAA, every other name is NXDOMAIN; logs each question.</summary>
    const string DnsResponder = """
        import socket, struct, sys
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", int(sys.argv[1])))
        print("ready", flush=True)
        while True:
            q, peer = s.recvfrom(512)
            if len(q) < 17:
                continue
            qid, flags = struct.unpack(">HH", q[:4])
            i, labels = 12, []
            while i < len(q) and q[i]:
                labels.append(q[i + 1:i + 1 + q[i]].decode("ascii", "replace"))
                i += 1 + q[i]
            qtype, = struct.unpack(">H", q[i + 1:i + 3])
            name = ".".join(labels).lower()
            known = name == "web.example.test"
            answer = struct.pack(">HHHIH", 0xc00c, 1, 1, 60, 4) + bytes([10, 1, 2, 3]) if known and qtype == 1 else b""
            header = struct.pack(">HHHHHH", qid, 0x8180 | (flags & 0x0100) | (0 if known else 3), 1, 1 if answer else 0, 0, 0)
            s.sendto(header + q[12:i + 5] + answer, peer)
            print("question", name, qtype, flush=True)
        """;

    const string ResolveC = """
        #include <arpa/inet.h>
        #include <netdb.h>
        #include <stdio.h>
        #include <sys/socket.h>
        int main(int argc, char **argv) {
            for (int i = 1; i < argc; i++) {
                struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res, *r;
                int e = getaddrinfo(argv[i], "80", &hints, &res);
                if (e) { printf("%s: %s\n", argv[i], e == EAI_NONAME ? "not found" : gai_strerror(e)); continue; }
                printf("%s:", argv[i]);
                for (r = res; r; r = r->ai_next) {
                    char b[64];
                    void *a = r->ai_family == AF_INET ? (void *)&((struct sockaddr_in *)r->ai_addr)->sin_addr
                                                      : (void *)&((struct sockaddr_in6 *)r->ai_addr)->sin6_addr;
                    printf(" %s", inet_ntop(r->ai_family, a, b, sizeof b));
                }
                printf("\n");
                freeaddrinfo(res);
            }
            return 0;
        }
        """;

    /// <summary>
    /// QEMU's user network passes a guest's UDP to 10.0.2.2 on to the host's loopback, port
    /// unchanged, and resolvers only ask port 53: so the guest's /etc/resolv.conf names
    /// 10.0.2.2 and the responder listens on 127.0.0.1:53 of a network namespace of its own
    /// (`unshare -n`, where the port is always free) that QEMU runs in too. Where namespaces
    /// cannot be made (no CAP_SYS_ADMIN) the responder takes the host's 127.0.0.1:53, which
    /// needs root and a free port 53; the test fails, never skips, when neither works.
    /// </summary>
    [Fact]
    public void NamesResolveThroughTheConfiguredDnsServer()
    {
        var dir = Repo.TempDir();
        var tree = Path.Combine(dir, "tree");
        Directory.CreateDirectory(Path.Combine(tree, "etc"));
        File.WriteAllText(Path.Combine(tree, "etc/resolv.conf"), "nameserver 10.0.2.2\noptions timeout:5 attempts:3\n");

        var src = Path.Combine(dir, "resolve.c");
        File.WriteAllText(src, ResolveC);
        var glibc = Path.Combine(dir, "resolve-glibc");
        var cc = Host.Run("gcc", ["-O1", "-o", glibc, src]);              // dynamic: glibc's NSS as programs use it
        cc.Code.Should().Be(0, cc.ToString());
        var musl = Programs.Compile("resolve-musl", ResolveC);
        var images = new List<(string Name, string Image, string Args)>();
        foreach (var (name, exe, args) in new[] { ("glibc", glibc, ""), ("musl", musl, ""), ("go", _goProgram.Value, "resolve ") })
        {
            var img = Path.Combine(dir, name + ".img");
            var b = Ukpack.Run(["build", exe, "--fs", tree, "-o", img]);
            b.Code.Should().Be(0, b.ToString());
            images.Add((name, img, args));
        }
        File.WriteAllText(Path.Combine(dir, "dns.py"), DnsResponder);
        var script = new StringBuilder();
        script.Append("""
            cd "$(dirname "$0")"
            [ "$UKNS" = 1 ] && ip link set lo up
            python3 dns.py 53 > dns.log 2>&1 &
            DNS=$!
            trap 'kill $DNS' EXIT
            i=0
            while ! grep -q ready dns.log; do
                i=$((i + 1))
                if [ $i -gt 300 ] || ! kill -0 $DNS 2>/dev/null; then echo "the DNS responder did not start:"; cat dns.log; exit 1; fi
                sleep 0.1
            done

            """);
        foreach (var (name, img, args) in images)
            script.Append($"echo \"== {name}\"; \"$UKPACK\" run {img} --net user --timeout 120 -- {args}web.example.test nosuch.example.test localhost || echo \"status $?\"\n");
        var sh = Path.Combine(dir, "run.sh");
        File.WriteAllText(sh, script.ToString());

        bool ns = Host.Run("unshare", ["-n", "true"]).Code == 0;
        var env = new[] { $"UKPACK={Repo.Ukpack}", $"UKNS={(ns ? 1 : 0)}" };
        var r = ns ? Host.Run("/usr/bin/env", [.. env, "unshare", "-n", "/bin/sh", sh], timeout: TimeSpan.FromSeconds(400))
                   : Host.Run("/usr/bin/env", [.. env, "/bin/sh", sh], timeout: TimeSpan.FromSeconds(400));
        string log = File.Exists(Path.Combine(dir, "dns.log")) ? File.ReadAllText(Path.Combine(dir, "dns.log")) : "";
        string why = $"{r}\nresponder ({(ns ? "in a network namespace" : "on the host's 127.0.0.1:53")}): [{log}]";
        r.Code.Should().Be(0, why);
        // getaddrinfo(AF_UNSPEC) asks for A and AAAA; localhost comes from the supplied
        // /etc/hosts (::1 first, as RFC 6724 sorts it); Go's resolver reads /etc/hosts too.
        r.OutText.Should().Be(
            "== glibc\nweb.example.test: 10.1.2.3\nnosuch.example.test: not found\nlocalhost: ::1 127.0.0.1\n" +
            "== musl\nweb.example.test: 10.1.2.3\nnosuch.example.test: not found\nlocalhost: ::1 127.0.0.1\n" +
            "== go\nweb.example.test: 10.1.2.3\nnosuch.example.test: not found\nlocalhost: 127.0.0.1 ::1\n", why);
        log.Should().Contain("question web.example.test 1\n", why).And.Contain("question web.example.test 28\n", why)
            .And.Contain("question nosuch.example.test 1\n", why);
    }
}
