//! `venue-admin`: one operator control, sent to a running gateway.
//!
//! ```text
//! venue-admin [--connect ADDR] --account ID [--password-file FILE] halt SYMBOL
//! venue-admin ... resume SYMBOL | kill ACCOUNT | enable ACCOUNT
//! ```
//!
//! Logs on as an operator account over the wire protocol (a blocking
//! `TcpStream` and the crate's own frame codec), sends one `Halt` or
//! `KillSwitch`, waits for its `ControlAck`, prints one line, logs out.
//! Exits 0 when the control was applied, 1 when it was not (with what
//! happened and how to fix it), 2 on a usage error. docs/protocol.md,
//! "Operator controls", has the rules.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use gateway::auth::{PASSWORD_LEN, password_field};
use gateway::protocol::{
    ClientMessage, ControlAck, ControlStatus, Decoded, Envelope, Halt, KillSwitch, Logon,
    LogonRejectReason, MAX_FRAME_BYTES, ServerMessage, SessionRejectReason, decode_frame,
    encode_frame,
};

/// The environment variable a password may come in.
const PASSWORD_ENV: &str = "VENUE_ADMIN_PASSWORD";
/// How long the `ControlAck` may take.
const ACK_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the logon may take: the gateway delays logons from an address
/// with recent failures by up to 10 s, then checks the password.
const LOGON_TIMEOUT: Duration = Duration::from_secs(20);
/// How long connecting may take, and the goodbye after the answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const LOGOUT_TIMEOUT: Duration = Duration::from_secs(2);

/// Send an operator control to a running gateway: halt or resume an
/// instrument, or turn an account's kill switch on or off.
#[derive(Debug, Parser)]
#[command(
    version,
    about = "Send an operator control to a running gateway: halt or resume an instrument, \
or turn an account's kill switch on or off",
    override_usage = "venue-admin [--connect ADDR] --account ID [--password-file FILE] \
<halt SYMBOL | resume SYMBOL | kill ACCOUNT | enable ACCOUNT>",
    long_about = "Send an operator control to a running gateway: halt or resume an \
instrument, or turn an account's kill switch on or off.

Logs on as --account, which must have the role \"operator\" in the gateway's \
accounts file (a gateway started --insecure-no-auth has no operators), sends \
the control, and waits until the gateway says it is durable. Prints one line, \
such as `kill 7: applied at sequence 1240, 3 orders cancelled`, and exits 0; \
exits 1, saying why, if the control was not applied.

The password is the first line of --password-file, else the environment \
variable VENUE_ADMIN_PASSWORD, else asked for on the terminal (not echoed).",
    after_help = "Example, against a gateway started with gateway/accounts.example.toml:\n  \
VENUE_ADMIN_PASSWORD=example-operator venue-admin --account 100 halt 1"
)]
struct Args {
    /// The gateway's address (its --listen).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7001")]
    connect: String,
    /// The operator account to log on as.
    #[arg(long, value_name = "ID")]
    account: u32,
    /// A file whose first line is the account's password.
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
    #[command(subcommand)]
    control: Control,
}

#[derive(Debug, Clone, Copy, Subcommand)]
enum Control {
    /// Halt an instrument: new orders and replaces are rejected HALTED;
    /// cancels still work and resting orders stay.
    Halt {
        #[arg(value_name = "SYMBOL")]
        symbol: u32,
    },
    /// Resume a halted instrument.
    Resume {
        #[arg(value_name = "SYMBOL")]
        symbol: u32,
    },
    /// Kill an account: cancel each of its live orders, and reject its new
    /// orders and replaces (ACCOUNT_BLOCKED) until it is enabled.
    Kill {
        #[arg(value_name = "ACCOUNT")]
        target: u32,
    },
    /// Enable a killed account again.
    Enable {
        #[arg(value_name = "ACCOUNT")]
        target: u32,
    },
}

impl Control {
    fn message(self) -> ClientMessage {
        match self {
            Control::Halt { symbol } => ClientMessage::Halt(Halt {
                instrument: symbol,
                halt: true,
            }),
            Control::Resume { symbol } => ClientMessage::Halt(Halt {
                instrument: symbol,
                halt: false,
            }),
            Control::Kill { target } => ClientMessage::KillSwitch(KillSwitch {
                account: target,
                kill: true,
            }),
            Control::Enable { target } => ClientMessage::KillSwitch(KillSwitch {
                account: target,
                kill: false,
            }),
        }
    }

    /// How the output names it: `halt 1`, `kill 7`.
    fn describe(self) -> String {
        match self {
            Control::Halt { symbol } => format!("halt {symbol}"),
            Control::Resume { symbol } => format!("resume {symbol}"),
            Control::Kill { target } => format!("kill {target}"),
            Control::Enable { target } => format!("enable {target}"),
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!("venue-admin: {why}");
            ExitCode::from(1)
        }
    }
}

/// Sends the control; the line to print, or why it was not applied.
fn run(args: &Args) -> Result<String, String> {
    let password = read_password(args)?;
    let field = password_field(&password).ok_or_else(|| {
        format!("a password is at most {PASSWORD_LEN} bytes of UTF-8 without a zero byte")
    })?;
    let mut session = Session::connect(&args.connect)?;
    session.logon(args.account, field)?;
    let control = args.control;
    let what = control.describe();
    let answer = session.control(control.message());
    // Whatever the answer, the session is open: end it politely.
    session.logout();
    let ack = answer.map_err(|why| format!("{what}: {why}"))?;
    match ack.status {
        ControlStatus::Applied => {
            let mut line = format!("{what}: applied at sequence {}", ack.command_seq);
            if let Control::Kill { .. } = control {
                match ack.cancelled {
                    1 => line.push_str(", 1 order cancelled"),
                    n => line.push_str(&format!(", {n} orders cancelled")),
                }
            }
            Ok(line)
        }
        ControlStatus::UnknownInstrument => Err(format!(
            "{what}: not applied (UNKNOWN_INSTRUMENT): the venue has no instrument {}; \
             check the symbol against the gateway's instruments file (--instruments)",
            ack.target
        )),
    }
}

/// The password: `--password-file`'s first line, the environment, or the terminal.
fn read_password(args: &Args) -> Result<String, String> {
    let password = if let Some(path) = &args.password_file {
        let file = std::fs::File::open(path)
            .map_err(|e| format!("cannot open the password file {}: {e}", path.display()))?;
        let mut line = String::new();
        BufReader::new(file)
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the password file {}: {e}", path.display()))?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else if let Some(value) = std::env::var_os(PASSWORD_ENV) {
        value
            .into_string()
            .map_err(|_| format!("{PASSWORD_ENV} is not UTF-8"))?
    } else {
        rpassword::prompt_password(format!("password of account {}: ", args.account)).map_err(
            |e| {
                format!(
                    "cannot ask for the password ({e}): give --password-file FILE \
                     or set {PASSWORD_ENV}"
                )
            },
        )?
    };
    if password.is_empty() {
        return Err("the password is empty".into());
    }
    Ok(password)
}

/// A logged-on session over a blocking socket.
struct Session {
    stream: TcpStream,
    /// Bytes read and not yet decoded.
    buf: Vec<u8>,
    /// The last sequence number sent.
    seq: u64,
    /// Send a heartbeat when nothing was sent for this long (from `LogonAck`).
    heartbeat: Option<Duration>,
    last_sent: Instant,
}

impl Session {
    fn connect(addr: &str) -> Result<Session, String> {
        let addrs: Vec<_> = addr
            .to_socket_addrs()
            .map_err(|e| format!("--connect {addr}: {e}"))?
            .collect();
        let mut last_error = None;
        for a in &addrs {
            match TcpStream::connect_timeout(a, CONNECT_TIMEOUT) {
                Ok(stream) => {
                    let _ = stream.set_nodelay(true);
                    return Ok(Session {
                        stream,
                        buf: Vec::with_capacity(MAX_FRAME_BYTES),
                        seq: 0,
                        heartbeat: None,
                        last_sent: Instant::now(),
                    });
                }
                Err(e) => last_error = Some(e),
            }
        }
        Err(format!(
            "cannot connect to {addr}: {}; is the gateway running and listening there \
             (its --listen; give it with --connect)?",
            last_error.map_or_else(|| "no address".to_string(), |e| e.to_string())
        ))
    }

    fn send(&mut self, msg: ClientMessage) -> Result<u64, String> {
        self.seq += 1;
        let mut frame = [0u8; MAX_FRAME_BYTES];
        let len = encode_frame(&Envelope { seq: self.seq, msg }, &mut frame)
            .map_err(|e| format!("cannot encode {}: {e}", msg.name()))?;
        self.stream
            .write_all(&frame[..len])
            .map_err(|e| format!("cannot send {}: {e}", msg.name()))?;
        self.last_sent = Instant::now();
        Ok(self.seq)
    }

    /// The next message from the gateway, or `None` when `deadline` passes
    /// first. Heartbeats are sent meanwhile, as the protocol asks.
    fn recv(&mut self, deadline: Instant) -> Result<Option<ServerMessage>, String> {
        loop {
            match decode_frame::<ServerMessage>(&self.buf) {
                Ok(Decoded::Message { envelope, consumed }) => {
                    self.buf.drain(..consumed);
                    return Ok(Some(envelope.msg));
                }
                Ok(Decoded::NeedMore { .. }) => {}
                // A message of a newer protocol version: skip it.
                Err(e) if !e.is_fatal() => {
                    self.buf.drain(..e.consumed);
                    continue;
                }
                Err(e) => return Err(format!("the gateway sent a frame it cannot have: {e}")),
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            let mut wait = deadline - now;
            if let Some(interval) = self.heartbeat {
                let due = self.last_sent + interval;
                if now >= due {
                    self.send(ClientMessage::Heartbeat)?;
                    continue;
                }
                wait = wait.min(due - now);
            }
            self.stream
                .set_read_timeout(Some(wait.max(Duration::from_millis(1))))
                .map_err(|e| format!("cannot set a read timeout: {e}"))?;
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err("the gateway closed the connection".into()),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("cannot read from the gateway: {e}")),
            }
        }
    }

    fn logon(&mut self, account: u32, password: [u8; PASSWORD_LEN]) -> Result<(), String> {
        self.send(ClientMessage::Logon(Logon {
            account,
            cancel_on_disconnect: false,
            password,
        }))?;
        let deadline = Instant::now() + LOGON_TIMEOUT;
        loop {
            match self.recv(deadline)? {
                Some(ServerMessage::LogonAck(ack)) => {
                    let ms = u64::from(ack.heartbeat_interval_ms);
                    self.heartbeat = (ms > 0).then(|| Duration::from_millis(ms));
                    return Ok(());
                }
                Some(ServerMessage::LogonReject(r)) => {
                    return Err(logon_refused(account, r.reason));
                }
                Some(ServerMessage::Logout(l)) => {
                    return Err(format!(
                        "the gateway ended the session before logon: {}",
                        upper_snake(&format!("{:?}", l.reason))
                    ));
                }
                Some(ServerMessage::Reject(r)) => {
                    return Err(format!(
                        "the gateway refused the logon: {}",
                        upper_snake(&format!("{:?}", r.reason))
                    ));
                }
                Some(_) => {}
                None => {
                    return Err(format!(
                        "no answer to the logon within {} s; is {} a gateway?",
                        LOGON_TIMEOUT.as_secs(),
                        self.stream
                            .peer_addr()
                            .map_or_else(|_| "this".to_string(), |a| a.to_string())
                    ));
                }
            }
        }
    }

    /// Sends the control and waits for its answer.
    fn control(&mut self, msg: ClientMessage) -> Result<ControlAck, String> {
        let ref_seq = self.send(msg)?;
        let deadline = Instant::now() + ACK_TIMEOUT;
        loop {
            match self.recv(deadline)? {
                Some(ServerMessage::ControlAck(ack)) if ack.ref_seq == ref_seq => return Ok(ack),
                Some(ServerMessage::Reject(r)) if r.ref_seq == ref_seq => {
                    return Err(control_refused(r.reason));
                }
                Some(ServerMessage::Logout(l)) => {
                    return Err(format!(
                        "the gateway ended the session ({}) before answering; \
                         the control may or may not have been applied: check the gateway's log",
                        upper_snake(&format!("{:?}", l.reason))
                    ));
                }
                Some(_) => {}
                None => {
                    return Err(format!(
                        "no ControlAck within {} s. The control may still be applied: check \
                         the gateway's log (or `journal export`) before sending it again",
                        ACK_TIMEOUT.as_secs()
                    ));
                }
            }
        }
    }

    /// Logs out and waits briefly for the gateway's answer; errors are moot.
    fn logout(&mut self) {
        if self.send(ClientMessage::Logout).is_err() {
            return;
        }
        // Nothing is sent after a Logout.
        self.heartbeat = None;
        let deadline = Instant::now() + LOGOUT_TIMEOUT;
        while let Ok(Some(msg)) = self.recv(deadline) {
            if matches!(msg, ServerMessage::Logout(_)) {
                break;
            }
        }
    }
}

/// What a `LogonReject` means here, and what to do about it.
fn logon_refused(account: u32, reason: LogonRejectReason) -> String {
    let fix = match reason {
        LogonRejectReason::BadCredentials => format!(
            "account {account} is not in the gateway's accounts file, is disabled, or the \
             password is wrong: check --account and the password (--password-file, \
             {PASSWORD_ENV} or the prompt)"
        ),
        LogonRejectReason::UnknownAccount => "account 0 is no account; give the operator's \
             id with --account (and a gateway started --insecure-no-auth has no operators)"
            .to_string(),
        LogonRejectReason::AccountInUse => format!(
            "account {account} already has a session, and the gateway allows one: log that \
             session out, or wait for its heartbeat timeout, and try again"
        ),
        LogonRejectReason::SessionLimit => {
            "the gateway has no room for another session (its --max-sessions); try again \
             when one has ended"
                .to_string()
        }
        LogonRejectReason::BadSequence => {
            "the logon's sequence number was refused (a bug in venue-admin)".to_string()
        }
    };
    format!(
        "logon refused ({}): {fix}",
        upper_snake(&format!("{reason:?}"))
    )
}

/// What a `Reject` of the control means, and what to do about it.
fn control_refused(reason: SessionRejectReason) -> String {
    let name = upper_snake(&format!("{reason:?}"));
    match reason {
        SessionRejectReason::NotAuthorized => format!(
            "refused ({name}): the account is not an operator. Log on with an account whose \
             role is \"operator\" in the gateway's accounts file (`gateway-accounts add FILE \
             --account N --role operator`, then restart the gateway); a gateway started \
             --insecure-no-auth has no operators"
        ),
        SessionRejectReason::Throttled => {
            format!("refused ({name}): the session is over its throttle; try again")
        }
        _ => format!(
            "refused ({name}): the gateway could not take the control (docs/protocol.md, \
             \"SessionRejectReason\"); is venue-admin older than the gateway?"
        ),
    }
}

/// `BadCredentials` as the protocol document writes it: `BAD_CREDENTIALS`.
fn upper_snake(debug: &str) -> String {
    let mut out = String::with_capacity(debug.len() + 4);
    let mut prev_lower = false;
    for c in debug.chars() {
        if c.is_ascii_uppercase() && prev_lower {
            out.push('_');
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        out.push(c.to_ascii_uppercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_as_the_protocol_writes_them() {
        assert_eq!(upper_snake("BadCredentials"), "BAD_CREDENTIALS");
        assert_eq!(upper_snake("NotAuthorized"), "NOT_AUTHORIZED");
        assert_eq!(
            upper_snake("DecodeFailed(Truncated)"),
            "DECODE_FAILED(TRUNCATED)"
        );
    }

    #[test]
    fn the_command_line_parses() {
        let args = Args::try_parse_from(["venue-admin", "--account", "100", "kill", "7"]).unwrap();
        assert_eq!(args.connect, "127.0.0.1:7001");
        assert!(matches!(args.control, Control::Kill { target: 7 }));
        assert_eq!(
            args.control.message(),
            ClientMessage::KillSwitch(KillSwitch {
                account: 7,
                kill: true
            })
        );
        let args = Args::try_parse_from([
            "venue-admin",
            "--connect",
            "10.0.0.1:9000",
            "--account",
            "100",
            "--password-file",
            "/tmp/pw",
            "resume",
            "3",
        ])
        .unwrap();
        assert_eq!(
            args.control.message(),
            ClientMessage::Halt(Halt {
                instrument: 3,
                halt: false
            })
        );
        assert!(Args::try_parse_from(["venue-admin", "halt", "1"]).is_err());
        assert!(Args::try_parse_from(["venue-admin", "--account", "1", "halt", "x"]).is_err());
    }
}
