// gotest: the Go runtime on the kernel: goroutines, channels, a WaitGroup over 100
// goroutines, mutexes, time.Sleep / time.After / time.Ticker timers, os/signal delivery of
// SIGUSR1 sent with syscall.Kill, runtime.GOMAXPROCS, and net.Interfaces()/InterfaceAddrs()
// over netlink (only the loopback is looked at: the native host has others). Prints deterministic facts only and
// ends with "failures: N" (exit 1 when N > 0), like the C programs of the compat suite.
package main

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

var failures int

func check(label string, ok bool) {
	v := "yes"
	if !ok {
		v = "no"
		failures++
	}
	fmt.Printf("%s: %s\n", label, v)
}

func main() {
	// ---- GOMAXPROCS ----
	n := runtime.GOMAXPROCS(0)
	check("GOMAXPROCS(0) >= 1", n >= 1)
	check("NumCPU >= 1", runtime.NumCPU() >= 1)
	prev := runtime.GOMAXPROCS(2)
	check("GOMAXPROCS(2) returns the previous value", prev == n)
	check("GOMAXPROCS(0) == 2 now", runtime.GOMAXPROCS(0) == 2)

	// ---- unbuffered channel pipeline ----
	src := make(chan int)
	sq := make(chan int)
	go func() {
		for i := 1; i <= 100; i++ {
			src <- i
		}
		close(src)
	}()
	go func() {
		for v := range src {
			sq <- v * v
		}
		close(sq)
	}()
	sum := 0
	for v := range sq {
		sum += v
	}
	fmt.Printf("pipeline sum of squares 1..100: %d\n", sum)

	// ---- WaitGroup over 100 goroutines, mutex and atomic counters ----
	var wg sync.WaitGroup
	var mu sync.Mutex
	var atom int64
	counter := 0
	results := make([]int, 100)
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func(id int) {
			defer wg.Done()
			for k := 0; k < 100; k++ {
				mu.Lock()
				counter++
				mu.Unlock()
				atomic.AddInt64(&atom, 1)
				if k%10 == 0 {
					runtime.Gosched()
				}
			}
			results[id] = id * 2
		}(i)
	}
	wg.Wait()
	fmt.Printf("mutex counter: %d\n", counter)
	fmt.Printf("atomic counter: %d\n", atom)
	ok := true
	for i, r := range results {
		if r != i*2 {
			ok = false
		}
	}
	check("every goroutine stored its result", ok)

	// ---- buffered channel and select ----
	buf := make(chan int, 10)
	for i := 0; i < 10; i++ {
		buf <- i
	}
	fmt.Printf("buffered len/cap: %d/%d\n", len(buf), cap(buf))
	select {
	case buf <- 99:
		check("send to full buffered channel blocked", false)
	default:
		check("send to full buffered channel blocked", true)
	}
	got := 0
	for len(buf) > 0 {
		got += <-buf
	}
	fmt.Printf("drained sum: %d\n", got)

	// ---- timers ----
	t0 := time.Now()
	time.Sleep(50 * time.Millisecond)
	check("time.Sleep(50ms) slept >= 50ms", time.Since(t0) >= 50*time.Millisecond)
	t0 = time.Now()
	never := make(chan int)
	select {
	case <-never:
		check("time.After fired", false)
	case <-time.After(30 * time.Millisecond):
		check("time.After fired", true)
	}
	check("time.After waited >= 30ms", time.Since(t0) >= 30*time.Millisecond)
	tk := time.NewTicker(10 * time.Millisecond)
	ticks := 0
	t0 = time.Now()
	for range tk.C {
		ticks++
		if ticks == 5 {
			break
		}
	}
	tk.Stop()
	fmt.Printf("ticker ticks: %d\n", ticks)
	check("5 ticks took >= 50ms", time.Since(t0) >= 50*time.Millisecond)
	tm := time.NewTimer(time.Hour)
	check("Stop on a pending timer returns true", tm.Stop())
	fired := make(chan bool, 1)
	time.AfterFunc(20*time.Millisecond, func() { fired <- true })
	select {
	case <-fired:
		check("AfterFunc ran", true)
	case <-time.After(5 * time.Second):
		check("AfterFunc ran", false)
	}
	// many sleeping goroutines at once
	var wg2 sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg2.Add(1)
		go func(i int) {
			defer wg2.Done()
			time.Sleep(time.Duration(i%5) * time.Millisecond)
		}(i)
	}
	wg2.Wait()
	check("50 sleeping goroutines finished", true)
	check("monotonic clock advances", time.Since(t0) > 0)

	// ---- signals ----
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, syscall.SIGUSR1)
	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
		fmt.Printf("kill: %v\n", err)
		failures++
	}
	select {
	case s := <-sigc:
		fmt.Printf("received signal: %v\n", s)
	case <-time.After(5 * time.Second):
		fmt.Printf("received signal: none\n")
		failures++
	}
	signal.Stop(sigc)
	signal.Ignore(syscall.SIGUSR2)
	syscall.Kill(os.Getpid(), syscall.SIGUSR2)
	time.Sleep(10 * time.Millisecond)
	check("ignored SIGUSR2 did not kill", true)

	// ---- runtime odds and ends ----
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	check("GC ran", ms.NumGC >= 1)
	check("NumGoroutine small again", runtime.NumGoroutine() < 20)

	interfaces()

	fmt.Printf("failures: %d\n", failures)
	if failures > 0 {
		os.Exit(1)
	}
}

// net.Interfaces, Interface.Addrs, InterfaceAddrs, InterfaceByName/ByIndex: Go reads them
// with RTM_GETLINK and RTM_GETADDR dumps over a NETLINK_ROUTE socket.
func interfaces() {
	ifs, err := net.Interfaces()
	if err != nil {
		fmt.Printf("net.Interfaces: %v\n", err)
		failures++
		return
	}
	los := 0
	for _, ifi := range ifs {
		if ifi.Name != "lo" {
			continue
		}
		los++
		fmt.Printf("lo: index=%d flags=%v mtu>0=%v hwaddr=%q\n", ifi.Index, ifi.Flags, ifi.MTU > 0, ifi.HardwareAddr.String())
		addrs, err := ifi.Addrs()
		if err != nil {
			fmt.Printf("lo.Addrs: %v\n", err)
			failures++
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
				fmt.Printf("lo addr: %v\n", ipn)
			}
		}
	}
	check("net.Interfaces has lo once", los == 1)
	all, err := net.InterfaceAddrs()
	found := false
	for _, a := range all {
		if a.String() == "127.0.0.1/8" {
			found = true
		}
	}
	check("InterfaceAddrs has 127.0.0.1/8", err == nil && found)
	lo, err := net.InterfaceByName("lo")
	check("InterfaceByName(lo) is index 1", err == nil && lo.Index == 1)
	byIndex, err := net.InterfaceByIndex(1)
	check("InterfaceByIndex(1) is lo", err == nil && byIndex.Name == "lo")
	_, err = net.InterfaceByName("nosuchif0")
	fmt.Printf("InterfaceByName(nosuchif0): %v\n", err)
}
