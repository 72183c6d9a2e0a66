//! One order's round trip through the gateway over loopback, against a bare
//! TCP echo measured in the same run.
//!
//! `cargo run --release -p gateway --example round_trip [-- ROUND_TRIPS [DURABILITY [LAYOUT [WAIT]]]]`
//!
//! WAIT is how the gateway's threads wait when idle: auto (the default),
//! spin, adaptive or block (see `pipeline::WaitSetting`).
//!
//! LAYOUT is where the gateway's stages and the client run:
//!
//! - `one-core` (default): the gateway on core 0 as `taskset -c 0 gateway`
//!   runs it, the client there too: the poll loop's thread does all the
//!   pipeline's work (J, M and O; on one core M is hosted with the others)
//!   and yields to the client. The echo below runs the same way, so this
//!   compares like with like, and it is the fastest and steadiest here: no
//!   message crosses cores (no halted vCPU to be woken by the hypervisor)
//!   and no stage hands work to another.
//! - `split`: the gateway's 2-core layout (poll loop with J and O spinning
//!   on core 0, M on core 1), the client on core 1 with M yielding to it,
//!   as loadgen runs.
//! - `joined`: every stage on the poll loop's thread on core 0, the client
//!   alone on core 1 (`Placement::AllHosted`).
//!
//! Both are measured the same way: a blocking client sends one frame, waits
//! for the answer, and records the time (HdrHistogram), one at a time (low
//! rate: no batching, no queueing). The echo server answers each frame with
//! the same bytes from a thread blocked in `read`; the gateway answers a
//! NewOrder with its `Accepted` after the matching engine executed it and
//! the journal wrote it (durability `os` by default). The difference is what
//! the gateway, the rings, the engine and the journal add to the kernel's
//! own loopback round trip. (Where each thread runs: see `ECHO_CORE`.)

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Instant;

use gateway::auth::{AccountEntry, Accounts, Role, hash_password, password_field, random_password};
use gateway::protocol::{
    ClientMessage, Decoded, Envelope, Logon, MAX_FRAME_BYTES, NewOrder, ServerMessage, Side,
    TimeInForce, decode_frame, encode_frame,
};
use gateway::{Auth, Gateway, GatewayConfig};
use hdrhistogram::Histogram;
use journal::Durability;
use pipeline::{Placement, Topology, WaitSetting};

/// The echo's client and server share one core: on the 2-vCPU VM that is
/// the kernel's best loopback round trip (about 16 µs at p50); unpinned, the
/// two threads often land on different cores, and each wake-up of a halted
/// vCPU costs about 40 µs (120 µs p50 measured). The gateway's client runs
/// where loadgen would (`Topology::client_core`).
const ECHO_CORE: usize = 0;

fn pin(core: usize) {
    let _ = core_affinity::set_for_current(core_affinity::CoreId { id: core });
}

fn frame(seq: u64, msg: ClientMessage) -> Vec<u8> {
    let mut buf = [0u8; MAX_FRAME_BYTES];
    let n = encode_frame(&Envelope { seq, msg }, &mut buf).expect("encodes");
    buf[..n].to_vec()
}

/// Reads until one whole server frame is decoded.
fn read_message(stream: &mut TcpStream, buf: &mut Vec<u8>) -> ServerMessage {
    loop {
        if let Ok(Decoded::Message { envelope, consumed }) = decode_frame::<ServerMessage>(buf) {
            buf.drain(..consumed);
            return envelope.msg;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).expect("reads");
        assert!(n > 0, "connection closed");
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn report(name: &str, h: &Histogram<u64>) {
    println!(
        "{name:<22} p50 {:>6.1} µs  p90 {:>6.1} µs  p99 {:>6.1} µs  p99.9 {:>7.1} µs  max {:>8.1} µs  (n={})",
        h.value_at_quantile(0.50) as f64 / 1000.0,
        h.value_at_quantile(0.90) as f64 / 1000.0,
        h.value_at_quantile(0.99) as f64 / 1000.0,
        h.value_at_quantile(0.999) as f64 / 1000.0,
        h.max() as f64 / 1000.0,
        h.len()
    );
}

const USAGE: &str = "usage: round_trip [ROUND_TRIPS [DURABILITY [LAYOUT [WAIT]]]]\n  \
    ROUND_TRIPS  orders sent one at a time (default 20000)\n  \
    DURABILITY   none, os (default) or fsync\n  \
    LAYOUT       one-core (default), split or joined\n  \
    WAIT         auto (default), spin, adaptive or block";

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("round_trip: {e}");
            std::process::ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().is_some_and(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return Ok(());
    }
    let n: u64 = match args.next() {
        Some(s) => s
            .parse()
            .map_err(|_| format!("ROUND_TRIPS {s:?}: expected a whole number\n{USAGE}"))?,
        None => 20_000,
    };
    let durability: Durability = match args.next() {
        Some(s) => s
            .parse()
            .map_err(|e| format!("DURABILITY {s:?}: {e}\n{USAGE}"))?,
        None => Durability::Os,
    };
    let layout = args.next().unwrap_or_else(|| "one-core".into());
    if !["one-core", "split", "joined"].contains(&layout.as_str()) {
        return Err(
            format!("LAYOUT {layout:?}: expected one-core, split or joined\n{USAGE}").into(),
        );
    }
    let wait: WaitSetting = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or_default();
    let order_frame_len = frame(2, ClientMessage::Heartbeat).len();
    // Detected before any thread is pinned: a pinned thread sees one core.
    let mut topology = if layout == "one-core" {
        Topology::fit(&[ECHO_CORE])
    } else {
        Topology::detect()?
    };

    // Bare TCP echo.
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let echo = std::thread::spawn(move || {
        pin(ECHO_CORE);
        if let Ok((mut s, _)) = listener.accept() {
            let _ = s.set_nodelay(true);
            let mut buf = [0u8; 256];
            while let Ok(k) = s.read(&mut buf) {
                if k == 0 || s.write_all(&buf[..k]).is_err() {
                    break;
                }
            }
        }
    });
    // The echo's client runs on a thread of its own, so that this thread
    // stays unpinned and the gateway below sees every core.
    let echo_h = std::thread::spawn(move || -> std::io::Result<Histogram<u64>> {
        pin(ECHO_CORE);
        let mut client = TcpStream::connect(addr)?;
        client.set_nodelay(true)?;
        let mut echo_h = Histogram::<u64>::new(3).map_err(std::io::Error::other)?;
        let payload = vec![7u8; order_frame_len];
        let mut back = vec![0u8; order_frame_len];
        for i in 0..n + 1000 {
            let t = Instant::now();
            client.write_all(&payload)?;
            client.read_exact(&mut back)?;
            if i >= 1000 {
                echo_h
                    .record(t.elapsed().as_nanos() as u64)
                    .map_err(std::io::Error::other)?;
            }
        }
        Ok(echo_h)
    })
    .join()
    .map_err(|_| "the echo client panicked")??;
    let _ = echo.join();

    // The gateway.
    let dir = std::env::temp_dir().join(format!("round-trip-{}", std::process::id()));
    let mut config = GatewayConfig::new("127.0.0.1:0".parse()?, &dir);
    config.pipeline.durability = durability;
    config.pipeline.wait = wait;
    // This thread is the gateway's client: it runs where an in-process
    // client should (M's core on 2 cores, M then yielding to it), and the
    // gateway is told so (`guest`), as loadgen does.
    let client_core = topology.client_core();
    topology.guest = Some(client_core);
    config.pipeline.topology = Some(topology);
    // joined: M on the gateway's thread as well, the client alone on its core.
    if layout == "joined" {
        config.pipeline.placement = Placement::AllHosted;
    }
    // Its one account, with a password of its own: the gateway checks it
    // at logon, off the hot path, as any venue would.
    let password = random_password();
    let mut accounts = Accounts::default();
    accounts.set(
        1,
        AccountEntry {
            role: Role::Trader,
            password_hash: hash_password(password.as_bytes())?,
            enabled: true,
            limits: Default::default(),
        },
    );
    config.auth = Some(Auth::Accounts(Arc::new(accounts)));
    let gw = Gateway::start(config)?;
    println!("gateway layout: {}", gw.topology());
    pin(client_core);
    let mut stream = TcpStream::connect(gw.local_addr())?;
    stream.set_nodelay(true)?;
    let mut buf = Vec::new();
    stream.write_all(&frame(
        1,
        ClientMessage::Logon(Logon {
            account: 1,
            cancel_on_disconnect: false,
            password: password_field(&password).ok_or("the password does not fit")?,
        }),
    ))?;
    let _ack = read_message(&mut stream, &mut buf);
    let mut gw_h = Histogram::<u64>::new(3)?;
    for i in 0..n + 1000 {
        // A resting order far from any other, then its cancel: the book
        // stays small and every order is answered with one Accepted.
        let order = ClientMessage::NewOrder(NewOrder {
            client_order_id: i,
            instrument: 1,
            side: Side::Buy,
            price: 1_000 + (i % 100) as i64,
            qty: 1,
            time_in_force: TimeInForce::Ioc,
        });
        let bytes = frame(2 + i, order);
        let t = Instant::now();
        stream.write_all(&bytes)?;
        loop {
            match read_message(&mut stream, &mut buf) {
                ServerMessage::Accepted(_) => break,
                ServerMessage::Rejected(r) => return Err(format!("rejected: {r:?}").into()),
                _ => {}
            }
        }
        if i >= 1000 {
            gw_h.record(t.elapsed().as_nanos() as u64)?;
        }
    }
    drop(stream);
    gw.shutdown()?;
    let _ = std::fs::remove_dir_all(&dir);

    println!(
        "{n} sequential round trips each, after 1000 warm-up; gateway durability {durability}, \
         layout {layout}"
    );
    report("tcp echo", &echo_h);
    report("gateway order→ack", &gw_h);
    println!(
        "gateway p50 / echo p50 = {:.2}x",
        gw_h.value_at_quantile(0.5) as f64 / echo_h.value_at_quantile(0.5).max(1) as f64
    );
    Ok(())
}
