// rusttest: Rust std threads on the kernel: spawn/join of 8 threads with return values,
// mpsc channels (bounded and unbounded), an Arc<Mutex<>> counter, a Condvar handshake,
// RwLock, Barrier, thread::sleep, thread-locals and named threads. Prints deterministic facts
// only and ends with "failures: N" (exit 1 when N > 0), like the C programs of the suite.
use std::cell::Cell;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, Condvar, Mutex, RwLock};
use std::thread;
use std::time::{Duration, Instant};

static FAILURES: AtomicU32 = AtomicU32::new(0);

fn check(label: &str, ok: bool) {
    println!("{}: {}", label, if ok { "yes" } else { "no" });
    if !ok {
        FAILURES.fetch_add(1, Ordering::SeqCst);
    }
}

thread_local! {
    static TLS: Cell<u32> = Cell::new(7);
}

fn main() {
    // ---- spawn/join of 8 threads with return values ----
    let handles: Vec<_> = (0..8u64)
        .map(|i| thread::spawn(move || (0..=i * 1000).sum::<u64>()))
        .collect();
    let sums: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    println!("join values: {:?}", sums);

    // ---- Arc<Mutex<>> counter ----
    let counter = Arc::new(Mutex::new(0u64));
    let hs: Vec<_> = (0..8)
        .map(|_| {
            let c = Arc::clone(&counter);
            thread::spawn(move || {
                for k in 0..1000 {
                    *c.lock().unwrap() += 1;
                    if k % 100 == 0 {
                        thread::yield_now();
                    }
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    println!("mutex counter: {}", *counter.lock().unwrap());
    println!("Arc strong count after joins: {}", Arc::strong_count(&counter));

    // ---- mpsc: many producers, one consumer ----
    let (tx, rx) = mpsc::channel();
    for id in 0..8u32 {
        let tx = tx.clone();
        thread::spawn(move || {
            for k in 0..10u32 {
                tx.send(id * 100 + k).unwrap();
            }
        });
    }
    drop(tx);
    let mut got: Vec<u32> = rx.iter().collect();
    got.sort();
    println!("channel received {} values, sum {}", got.len(), got.iter().sum::<u32>());

    // ---- sync_channel(0): rendezvous keeps order ----
    let (stx, srx) = mpsc::sync_channel::<u32>(0);
    let prod = thread::spawn(move || {
        for i in 0..20 {
            stx.send(i).unwrap();
        }
    });
    let seq: Vec<u32> = srx.iter().collect();
    prod.join().unwrap();
    check("rendezvous channel kept order 0..19", seq == (0..20).collect::<Vec<_>>());
    let (_t, r) = mpsc::channel::<u32>();
    check("recv_timeout times out", r.recv_timeout(Duration::from_millis(30)).is_err());

    // ---- Condvar handshake ----
    let pair = Arc::new((Mutex::new(0u32), Condvar::new()));
    let p2 = Arc::clone(&pair);
    let waiter = thread::spawn(move || {
        let (m, cv) = &*p2;
        let mut g = m.lock().unwrap();
        while *g != 1 {
            g = cv.wait(g).unwrap();
        }
        *g = 2;
        cv.notify_all();
    });
    {
        let (m, cv) = &*pair;
        thread::sleep(Duration::from_millis(20));
        *m.lock().unwrap() = 1;
        cv.notify_all();
        let mut g = m.lock().unwrap();
        while *g != 2 {
            g = cv.wait(g).unwrap();
        }
        println!("condvar handshake state: {}", *g);
        let (g, res) = cv.wait_timeout(g, Duration::from_millis(30)).unwrap();
        check("Condvar::wait_timeout timed out", res.timed_out());
        drop(g);
    }
    waiter.join().unwrap();

    // ---- RwLock and Barrier ----
    let rw = Arc::new(RwLock::new(vec![0u32; 4]));
    let barrier = Arc::new(Barrier::new(8));
    let leaders = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..8usize)
        .map(|i| {
            let rw = Arc::clone(&rw);
            let b = Arc::clone(&barrier);
            let l = Arc::clone(&leaders);
            thread::spawn(move || {
                rw.write().unwrap()[i % 4] += 1;
                if b.wait().is_leader() {
                    l.fetch_add(1, Ordering::SeqCst);
                }
                rw.read().unwrap().iter().sum::<u32>()
            })
        })
        .collect();
    let seen: Vec<u32> = hs.into_iter().map(|h| h.join().unwrap()).collect();
    check("every thread saw all 8 writes after the barrier", seen.iter().all(|&s| s == 8));
    println!("barrier leaders: {}", leaders.load(Ordering::SeqCst));

    // ---- thread::sleep ----
    let t0 = Instant::now();
    thread::sleep(Duration::from_millis(50));
    check("thread::sleep(50ms) slept >= 50ms", t0.elapsed() >= Duration::from_millis(50));

    // ---- thread-locals, names, panics ----
    TLS.with(|v| v.set(1));
    let other = thread::spawn(|| TLS.with(|v| { let a = v.get(); v.set(99); a })).join().unwrap();
    println!("thread-local in a new thread starts at: {}", other);
    println!("main thread-local still: {}", TLS.with(|v| v.get()));
    let name = thread::Builder::new()
        .name("worker-7".into())
        .spawn(|| thread::current().name().map(|s| s.to_string()))
        .unwrap()
        .join()
        .unwrap();
    println!("named thread: {:?}", name);
    println!("main thread name: {:?}", thread::current().name());
    check("available_parallelism >= 1", thread::available_parallelism().map(|n| n.get() >= 1).unwrap_or(false));
    let scoped_sum = {
        let data = vec![1u32, 2, 3, 4];
        thread::scope(|s| {
            let h1 = s.spawn(|| data[..2].iter().sum::<u32>());
            let h2 = s.spawn(|| data[2..].iter().sum::<u32>());
            h1.join().unwrap() + h2.join().unwrap()
        })
    };
    println!("scoped threads sum: {}", scoped_sum);

    let f = FAILURES.load(Ordering::SeqCst);
    println!("failures: {}", f);
    std::process::exit(if f > 0 { 1 } else { 0 });
}
