//! A blocking test client for the gateway, and a gateway on a free loopback port.

#![allow(dead_code, clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use gateway::protocol::{
    ClientMessage, Decoded, Envelope, Logon, MAX_FRAME_BYTES, NewOrder, ServerMessage, Side,
    TimeInForce, decode_frame, encode_frame,
};
use gateway::{Gateway, GatewayConfig};
use journal::Durability;

pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!("gw-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A gateway config for tests: loopback port 0, small books, `os`
/// durability, no authentication.
pub fn config(dir: &TempDir) -> GatewayConfig {
    let mut config = GatewayConfig::new("127.0.0.1:0".parse().unwrap(), &dir.0);
    config.pipeline.durability = Durability::Os;
    config.pipeline.engine.prefault = false;
    config.pipeline.engine.max_orders_per_book = 1 << 12;
    // Sessions here log on as any account without a password; the
    // authentication tests (tests/auth.rs) give the gateway accounts.
    config.auth = Some(gateway::Auth::Insecure);
    config.pipeline.inbound_ring = 1024;
    config.pipeline.outbound_ring = 1024;
    config
}

/// `config` with small outbound buffers and a heartbeat interval of a
/// second, so a client that stops reading is pushed back soon and found a
/// slow reader a second later (docs/protocol.md, "Slow readers").
pub fn slow_reader_config(dir: &TempDir) -> GatewayConfig {
    let mut config = config(dir);
    config.limits.outbound_buffer_bytes = 32 * 1024;
    config.limits.socket_send_buffer = Some(8 * 1024);
    config.limits.heartbeat_interval = SLOW_READER_AFTER;
    config
}

/// How long `slow_reader_config`'s gateway waits for a pushed-back client
/// to read before it ends the session: its heartbeat interval.
pub const SLOW_READER_AFTER: Duration = Duration::from_secs(1);

pub fn start(dir: &TempDir) -> Gateway {
    Gateway::start(config(dir)).unwrap()
}

/// Writes raw frames to a client's socket (`Client::writer`).
pub struct Writer(TcpStream);

impl Writer {
    pub fn send_raw(&self, bytes: &[u8]) {
        // The gateway may have closed us already (that is what some tests check).
        let _ = (&self.0).write_all(bytes);
    }
}

pub struct Client {
    pub stream: TcpStream,
    pub seq: u64,
    buf: Vec<u8>,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_nodelay(true).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        Client {
            stream,
            seq: 0,
            buf: Vec::new(),
        }
    }

    /// Connects from the loopback address `local` (e.g. `127.0.1.5`), so
    /// the gateway counts its failed logons apart from other clients'.
    pub fn connect_from(local: &str, to: SocketAddr) -> Client {
        let socket =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        let local: SocketAddr = format!("{local}:0").parse().unwrap();
        socket.bind(&local.into()).unwrap();
        socket.connect(&to.into()).unwrap();
        let stream: TcpStream = socket.into();
        stream.set_nodelay(true).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        Client::from_stream(stream)
    }

    /// A client over an existing stream (a clone, to read on another thread).
    pub fn from_stream(stream: TcpStream) -> Client {
        Client {
            stream,
            seq: 0,
            buf: Vec::new(),
        }
    }

    /// As `logon`, over a socket whose kernel receive buffer is tiny, so a
    /// client that stops reading backs up into the gateway quickly.
    pub fn logon_with_small_receive_buffer(addr: SocketAddr, account: u32) -> Client {
        Client::logon_small(addr, account, false)
    }

    /// As `logon_with_small_receive_buffer`, asking for cancel-on-disconnect
    /// or not.
    pub fn logon_small(addr: SocketAddr, account: u32, cancel_on_disconnect: bool) -> Client {
        let socket =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        socket.connect(&addr.into()).unwrap();
        let stream: TcpStream = socket.into();
        stream.set_nodelay(true).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let mut c = Client::from_stream(stream);
        c.send_logon(account, cancel_on_disconnect);
        c.expect("logon ack", |m| matches!(m, ServerMessage::LogonAck(_)));
        c
    }

    /// Connects and logs on as `account`, returning the client after the ack.
    pub fn logon(addr: SocketAddr, account: u32) -> Client {
        let mut c = Client::connect(addr);
        c.send_logon(account, false);
        match c.recv() {
            Some(ServerMessage::LogonAck(ack)) => assert_eq!(ack.account, account),
            other => panic!("expected LogonAck, got {other:?}"),
        }
        c
    }

    /// As `logon`, retrying for up to 5 s while the gateway answers
    /// `ACCOUNT_IN_USE`: it has not yet seen the account's previous
    /// connection close.
    pub fn logon_again(addr: SocketAddr, account: u32) -> Client {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let mut c = Client::connect(addr);
            c.send_logon(account, false);
            match c.recv() {
                Some(ServerMessage::LogonAck(_)) => return c,
                Some(ServerMessage::LogonReject(r))
                    if r.reason == gateway::protocol::LogonRejectReason::AccountInUse
                        && Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(10));
                }
                other => panic!("expected LogonAck, got {other:?}"),
            }
        }
    }

    /// Sends `Logon` for `account`, without a password (the tests' gateway
    /// runs without authentication unless a test gives it accounts).
    pub fn send_logon(&mut self, account: u32, cancel_on_disconnect: bool) {
        self.send(ClientMessage::Logon(Logon {
            account,
            cancel_on_disconnect,
            password: [0; 32],
        }));
    }

    pub fn send(&mut self, msg: ClientMessage) {
        self.seq += 1;
        self.send_with_seq(self.seq, msg);
    }

    pub fn send_with_seq(&mut self, seq: u64, msg: ClientMessage) {
        // The gateway may have closed us already (that is what some tests check).
        let _ = self.stream.write_all(&encode(seq, msg));
    }

    /// The bytes of `msg` framed with this client's next sequence number
    /// (counted as sent: send them with `send_raw`).
    pub fn frame(&mut self, msg: ClientMessage) -> Vec<u8> {
        self.seq += 1;
        encode(self.seq, msg)
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        let _ = self.stream.write_all(bytes);
    }

    /// A second handle on the socket, to write from another thread while
    /// this one reads (a write blocks while the gateway pushes back).
    pub fn writer(&self) -> Writer {
        Writer(self.stream.try_clone().unwrap())
    }

    pub fn order(
        &mut self,
        client_order_id: u64,
        side: Side,
        price: i64,
        qty: u64,
        tif: TimeInForce,
    ) {
        self.send(ClientMessage::NewOrder(NewOrder {
            client_order_id,
            instrument: 1,
            side,
            price,
            qty,
            time_in_force: tif,
        }));
    }

    /// The next message, or `None` after 5 s without one (or when closed).
    pub fn recv(&mut self) -> Option<ServerMessage> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Ok(Decoded::Message { envelope, consumed }) =
                decode_frame::<ServerMessage>(&self.buf)
            {
                self.buf.drain(..consumed);
                return Some(envelope.msg);
            }
            if Instant::now() > deadline {
                return None;
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => return None,
            }
        }
    }

    /// A message if one is already here (no waiting beyond one short read).
    pub fn recv_now(&mut self) -> Option<ServerMessage> {
        if let Ok(Decoded::Message { envelope, consumed }) =
            decode_frame::<ServerMessage>(&self.buf)
        {
            self.buf.drain(..consumed);
            return Some(envelope.msg);
        }
        self.stream.set_nonblocking(true).ok()?;
        let mut chunk = [0u8; 65536];
        let read = self.stream.read(&mut chunk);
        self.stream.set_nonblocking(false).ok()?;
        match read {
            Ok(n) if n > 0 => self.buf.extend_from_slice(&chunk[..n]),
            _ => return None,
        }
        if let Ok(Decoded::Message { envelope, consumed }) =
            decode_frame::<ServerMessage>(&self.buf)
        {
            self.buf.drain(..consumed);
            return Some(envelope.msg);
        }
        None
    }

    /// Messages until `pred` matches one (returned), skipping heartbeats and market data.
    pub fn expect(&mut self, what: &str, pred: impl Fn(&ServerMessage) -> bool) -> ServerMessage {
        let mut seen = Vec::new();
        while let Some(msg) = self.recv() {
            if pred(&msg) {
                return msg;
            }
            seen.push(msg);
        }
        let n = seen.len();
        let tail = &seen[n.saturating_sub(5)..];
        panic!("expected {what}; got {n} other messages, the last: {tail:?}");
    }

    /// Waits up to 5 s for a message `pred` accepts, sending a heartbeat
    /// every 20 ms meanwhile, so the session stays alive however long
    /// the gateway takes (a plain `expect` would be timed out with a short
    /// heartbeat interval).
    pub fn expect_heartbeating(&mut self, what: &str, pred: impl Fn(&ServerMessage) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            self.send(ClientMessage::Heartbeat);
            while let Some(m) = self.recv_now() {
                if pred(&m) {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("expected {what} within 5 s");
    }

    /// Frames of `n` resting buy orders (client order ids 0.., prices
    /// 50..90, instrument 1), to be sent in one `send_raw`: each gets
    /// replies, which a client that does not read lets pile up.
    pub fn resting_bids(&mut self, n: u64) -> Vec<u8> {
        let mut bytes = Vec::new();
        for i in 0..n {
            bytes.extend(self.frame(ClientMessage::NewOrder(NewOrder {
                client_order_id: i,
                instrument: 1,
                side: Side::Buy,
                price: 50 + (i % 40) as i64,
                qty: 1,
                time_in_force: TimeInForce::Gtc,
            })));
        }
        bytes
    }

    /// `true` when writing starts failing within 5 s: the gateway closed the
    /// connection (this reads nothing, so it does not relieve a backlog).
    pub fn writes_fail(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            self.seq += 1;
            let mut frame = [0u8; MAX_FRAME_BYTES];
            let n = encode_frame(
                &Envelope {
                    seq: self.seq,
                    msg: ClientMessage::Heartbeat,
                },
                &mut frame,
            )
            .unwrap();
            if self.stream.write_all(&frame[..n]).is_err() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    /// `true` when the gateway has closed the connection (within 5 s).
    pub fn closed(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => return true,
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => return true,
            }
        }
        false
    }
}

fn encode(seq: u64, msg: ClientMessage) -> Vec<u8> {
    let mut frame = [0u8; MAX_FRAME_BYTES];
    let n = encode_frame(&Envelope { seq, msg }, &mut frame).unwrap();
    frame[..n].to_vec()
}

/// The `gateway` binary, running, and everything it has logged so far.
pub struct GatewayProcess {
    pub child: std::process::Child,
    pub addr: SocketAddr,
    /// Its start line ("... listening on ADDR ...").
    pub start_line: String,
    pub log: std::sync::Arc<std::sync::Mutex<String>>,
}

/// Starts the `gateway` binary on a free port with its journal in
/// `journal`, `args` and the environment `env`, and waits for its start
/// line. `Err`: it ended without one, with what it logged.
pub fn spawn_gateway(
    journal: &std::path::Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> Result<GatewayProcess, String> {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gateway"))
        .args(["--listen", "127.0.0.1:0", "--journal"])
        .arg(journal)
        .args(args)
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let into = std::sync::Arc::clone(&log);
    // Reads all it logs, so it never blocks writing to stderr.
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            // The start line: a log line (time, level), then the message.
            if line.contains("listening on ") {
                let _ = tx.send(line.clone());
            }
            let mut log = into.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    });
    let start_line = rx.recv_timeout(Duration::from_secs(60)).ok();
    let addr = start_line.as_deref().and_then(|line| {
        let (_, rest) = line.split_once("listening on ")?;
        rest.split_whitespace().next()?.parse().ok()
    });
    let (Some(start_line), Some(addr)) = (start_line, addr) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(log.lock().unwrap().clone());
    };
    Ok(GatewayProcess {
        child,
        addr,
        start_line,
        log,
    })
}

impl GatewayProcess {
    /// Stops it with SIGTERM, as an operator would, and returns all it logged.
    pub fn terminate(mut self) -> String {
        let pid = libc::pid_t::try_from(self.child.id()).unwrap();
        // SAFETY: kill(2) sends a signal to our own child process, which is
        // still running (not yet waited for), so its pid is its own.
        let sent = unsafe { libc::kill(pid, libc::SIGTERM) };
        assert_eq!(sent, 0, "kill: {}", std::io::Error::last_os_error());
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "the gateway did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
        // The reader thread takes the last lines.
        std::thread::sleep(Duration::from_millis(100));
        self.log.lock().unwrap().clone()
    }
}

impl Drop for GatewayProcess {
    /// A failing test leaves no gateway behind.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
