//! Every `cargo run …` command the README shows runs, as written.
//!
//! The test reads `README.md` at the workspace root, takes every command
//! containing `cargo run` from its code (fenced blocks, indented blocks and
//! inline code spans, a line ending in `\` joined with the next), and runs
//! each one through `sh -c` from the workspace root, in the README's order
//! (so `streamgen … > /tmp/stream.txt` comes before the `replay --bench` that
//! reads the file). A command fails the test, with its text and its stderr,
//! if it does not build, does not start, or does not end cleanly.
//!
//! The command text is kept as written; the test only appends arguments to
//! a `cargo run` whose program would otherwise run for long, chosen by the
//! program's name (`binary_kind`: the `--bin` or `--example`, else the
//! package), never by its package, so a binary can move between packages
//! without touching this file:
//!
//! - `loadgen`, `hiccup`: a short `--duration` (and no warm-up), each only
//!   if the command does not give that flag already (clap refuses a flag
//!   given twice);
//! - `gateway`: a free port and a journal under `target/`, unless given;
//!   the test waits for its start line, sends SIGTERM and expects exit 0;
//! - `replay`, `streamgen`, `journal`, `round_trip`, `gateway-accounts`:
//!   nothing; they end on their own;
//! - `venue-admin`: `--help`: it needs a running gateway, and the README's
//!   own gateway has been stopped by then;
//! - anything else: `--help`, which shows it starts.
//!
//! Arguments go at the end of the `cargo run` itself, before any `|`, `>`
//! or `#` that follows it on the line.
//!
//! First each distinct `cargo run` is built (`cargo run` → `cargo build`,
//! the same cargo options, nothing after `--`): a cold release build with
//! fat LTO takes minutes on a 2-core machine, so that phase has a long
//! timeout and the runs after it a short one. Every child runs in a
//! process group of its own, killed on timeout, so the test cannot hang.
//!
//! The nested `cargo` uses the workspace's own target directory: `cargo
//! test` holds the build directory's lock only while it compiles, not while
//! the test binaries run, so a `cargo build` started from a test does not
//! wait on it (checked with cargo 1.95: the nested build of
//! `target/release` and a nested debug build of `target/debug` both start
//! at once). Sharing it means the release build the README's first command
//! makes is the one this test makes.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A cold release build (fat LTO, one codegen unit) on a shared 2-core machine.
const BUILD_TIMEOUT: Duration = Duration::from_secs(40 * 60);
/// One command once built: its own run is bounded by the arguments appended.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);
/// A server's wait for its start line, and for its exit after SIGTERM.
const SERVER_TIMEOUT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------
// Extracting the commands from Markdown

/// Every command containing `cargo run` in the Markdown text's code, in
/// order of appearance, each once.
fn cargo_run_commands(markdown: &str) -> Vec<String> {
    let mut found = Vec::new();
    let lines: Vec<&str> = markdown.lines().collect();
    let mut paragraph: Vec<&str> = Vec::new();
    let mut after_blank = true;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_start();
        if let Some(fence) = fence_of(trimmed) {
            inline_spans(&paragraph, &mut found);
            paragraph.clear();
            let mut block = Vec::new();
            i += 1;
            while i < lines.len() && !lines[i].trim_start().starts_with(fence) {
                block.push(lines[i]);
                i += 1;
            }
            i += 1; // the closing fence
            code_block(&block, &mut found);
            after_blank = false;
            continue;
        }
        if line.trim().is_empty() {
            inline_spans(&paragraph, &mut found);
            paragraph.clear();
            after_blank = true;
            i += 1;
            continue;
        }
        if after_blank && paragraph.is_empty() && indented(line).is_some() {
            let mut block = Vec::new();
            while i < lines.len() {
                if let Some(code) = indented(lines[i]) {
                    block.push(code);
                } else if lines[i].trim().is_empty() {
                    block.push("");
                } else {
                    break;
                }
                i += 1;
            }
            code_block(&block, &mut found);
            after_blank = false;
            continue;
        }
        paragraph.push(line);
        after_blank = false;
        i += 1;
    }
    inline_spans(&paragraph, &mut found);

    let mut seen = std::collections::HashSet::new();
    found.retain(|c| seen.insert(c.clone()));
    found
}

/// The opening fence of a fenced code block (three or more backticks or
/// tildes), as the prefix that closes it.
fn fence_of(trimmed: &str) -> Option<&str> {
    for c in ['`', '~'] {
        let n = trimmed.chars().take_while(|&x| x == c).count();
        if n >= 3 {
            return Some(&trimmed[..n]);
        }
    }
    None
}

/// The code of a line of an indented code block (four spaces or a tab).
fn indented(line: &str) -> Option<&str> {
    line.strip_prefix("    ")
        .or_else(|| line.strip_prefix('\t'))
}

/// The commands of a code block: lines ending in `\` are joined with the
/// next, a leading `$ ` prompt is dropped.
fn code_block(lines: &[&str], found: &mut Vec<String>) {
    let mut logical = String::new();
    for line in lines {
        let line = line.trim_end();
        if let Some(head) = line.strip_suffix('\\') {
            logical.push_str(head.trim());
            logical.push(' ');
            continue;
        }
        logical.push_str(line.trim());
        let command = logical.trim();
        let command = command.strip_prefix("$ ").unwrap_or(command);
        if runs_cargo(command) {
            found.push(command.to_string());
        }
        logical.clear();
    }
}

/// The commands in a paragraph's code spans (which may run over a line
/// break: that is a space in the span).
fn inline_spans(paragraph: &[&str], found: &mut Vec<String>) {
    let text = paragraph.join("\n");
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'`' {
            i += 1;
            continue;
        }
        let open = b[i..].iter().take_while(|&&c| c == b'`').count();
        let start = i + open;
        // The closing run: the next run of exactly as many backticks.
        let mut j = start;
        let mut close = None;
        while j < b.len() {
            if b[j] == b'`' {
                let n = b[j..].iter().take_while(|&&c| c == b'`').count();
                if n == open {
                    close = Some(j);
                    break;
                }
                j += n;
            } else {
                j += 1;
            }
        }
        match close {
            Some(end) => {
                let span = text[start..end].replace('\n', " ");
                let span = span.trim();
                if runs_cargo(span) {
                    found.push(span.to_string());
                }
                i = end + open;
            }
            None => i = start,
        }
    }
}

fn runs_cargo(command: &str) -> bool {
    cargo_runs(command).next().is_some()
}

// ---------------------------------------------------------------------------
// Reading one command

/// Where each `cargo run` of a shell command starts and ends (byte
/// offsets): from `cargo` to the first `|`, `;`, `&`, `<`, `>`, `)` or
/// `#` outside quotes (a file-descriptor number before `>` stays out).
fn cargo_runs(command: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut from = 0;
    std::iter::from_fn(move || {
        loop {
            let at = from + command[from..].find("cargo")?;
            let word_start = at == 0 || !command.as_bytes()[at - 1].is_ascii_alphanumeric();
            let rest = &command[at + "cargo".len()..];
            let after = rest.trim_start();
            let is_run = word_start
                && rest.len() > after.len()
                && after
                    .strip_prefix("run")
                    .is_some_and(|r| r.is_empty() || r.starts_with(char::is_whitespace));
            if !is_run {
                from = at + "cargo".len();
                continue;
            }
            let end = segment_end(command, at);
            from = end;
            return Some((at, end));
        }
    })
}

fn segment_end(command: &str, start: usize) -> usize {
    let b = command.as_bytes();
    let mut quote = None;
    let mut i = start;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                b'\'' | b'"' => quote = Some(c),
                b'\\' => i += 1,
                b'|' | b';' | b'&' | b'<' | b'>' | b')' => {
                    let mut end = i;
                    // `2>` / `1>`: the digit belongs to the redirection.
                    if c == b'>'
                        && end > start + 1
                        && b[end - 1].is_ascii_digit()
                        && b[end - 2].is_ascii_whitespace()
                    {
                        end -= 1;
                    }
                    return trim_end(command, start, end);
                }
                b'#' if b[i - 1].is_ascii_whitespace() => return trim_end(command, start, i),
                _ => {}
            },
        }
        i += 1;
    }
    trim_end(command, start, b.len())
}

fn trim_end(command: &str, start: usize, end: usize) -> usize {
    start + command[start..end].trim_end().len()
}

/// One `cargo run …`: the cargo options, the program it runs, and the
/// program's arguments.
#[derive(Debug, PartialEq)]
struct CargoRun {
    /// Everything between `cargo run` and `--` (or the end).
    options: String,
    /// The program's name: `--bin` or `--example`, else the package.
    program: String,
    /// The words after `--`, if there is a `--`.
    args: Option<Vec<String>>,
}

fn parse_cargo_run(segment: &str) -> CargoRun {
    let words: Vec<&str> = segment.split_whitespace().skip(2).collect();
    let split = words.iter().position(|&w| w == "--");
    let (options, args) = match split {
        Some(k) => (
            &words[..k],
            Some(words[k + 1..].iter().map(|w| w.to_string()).collect()),
        ),
        None => (&words[..], None),
    };
    let value = |names: &[&str]| -> Option<String> {
        for (k, w) in options.iter().enumerate() {
            for name in names {
                if w == name {
                    return options.get(k + 1).map(|v| v.to_string());
                }
                if let Some(v) = w.strip_prefix(&format!("{name}=")) {
                    return Some(v.to_string());
                }
                if name.len() == 2
                    && let Some(v) = w.strip_prefix(name)
                    && !v.is_empty()
                    && !v.starts_with('=')
                {
                    return Some(v.to_string());
                }
            }
        }
        None
    };
    let program = value(&["--bin"])
        .or_else(|| value(&["--example"]))
        .or_else(|| value(&["-p", "--package"]))
        .unwrap_or_else(|| "?".to_string());
    CargoRun {
        options: options.join(" "),
        program,
        args,
    }
}

/// How a program is run, by its name.
enum Kind {
    /// Ends on its own: run as written.
    AsWritten,
    /// Runs until its `--duration`: these flags are appended unless given.
    Bounded(&'static [(&'static str, &'static str)]),
    /// Serves until signalled: these flags are appended unless given, then
    /// the test waits for the start line, sends SIGTERM, expects exit 0.
    Server {
        ready: &'static str,
        flags: Vec<(&'static str, String)>,
    },
    /// Unknown: `--help` is appended.
    Help,
}

fn binary_kind(program: &str, scratch: &Path) -> Kind {
    match program {
        "loadgen" => Kind::Bounded(&[("--duration", "1s"), ("--warmup", "0s")]),
        "hiccup" => Kind::Bounded(&[("--duration", "300ms")]),
        // Read standard input (closed here) or a file or journal, and end.
        "replay" | "streamgen" | "journal" => Kind::AsWritten,
        // 20,000 sequential round trips by default: about a second.
        "round_trip" => Kind::AsWritten,
        // Reads a password from standard input, writes a file, ends.
        "gateway-accounts" => Kind::AsWritten,
        // Talks to a running gateway, and the README's was stopped after
        // its start line: `--help` (clap's help of the subcommand) shows
        // it starts.
        "venue-admin" => Kind::Help,
        "gateway" => Kind::Server {
            ready: "listening on",
            flags: vec![
                ("--listen", "127.0.0.1:0".to_string()),
                (
                    "--journal",
                    scratch.join("gateway-journal").display().to_string(),
                ),
            ],
        },
        _ => Kind::Help,
    }
}

/// The words to append to a `cargo run` for this kind of program.
fn extra_args(run: &CargoRun, kind: &Kind) -> Vec<String> {
    let given = |flag: &str| {
        run.args.iter().flatten().any(|a| {
            a == flag
                || a.strip_prefix(flag)
                    .is_some_and(|rest| rest.starts_with('='))
        })
    };
    let mut extra: Vec<String> = match kind {
        Kind::AsWritten => Vec::new(),
        Kind::Bounded(flags) => flags
            .iter()
            .filter(|(f, _)| !given(f))
            .flat_map(|(f, v)| [f.to_string(), v.to_string()])
            .collect(),
        Kind::Server { flags, .. } => flags
            .iter()
            .filter(|(f, _)| !given(f))
            .flat_map(|(f, v)| [f.to_string(), v.clone()])
            .collect(),
        Kind::Help => vec!["--help".to_string()],
    };
    if !extra.is_empty() && run.args.is_none() {
        extra.insert(0, "--".to_string());
    }
    extra
}

// ---------------------------------------------------------------------------
// Running

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("loadgen's parent is the workspace root")
        .to_path_buf()
}

/// A shell child in a process group of its own, its output collected.
struct Running {
    child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
}

fn spawn(text: &str) -> Running {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(text)
        .current_dir(workspace_root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    // `cargo` is the cargo running these tests, first on the PATH.
    if let Some(dir) = std::env::var_os("CARGO")
        .map(PathBuf::from)
        .and_then(|c| c.parent().map(Path::to_path_buf))
    {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs = vec![dir];
        dirs.extend(std::env::split_paths(&path));
        cmd.env("PATH", std::env::join_paths(dirs).expect("PATH joins"));
    }
    let mut child = cmd.spawn().expect("sh starts");
    let stdout = Arc::new(Mutex::new(String::new()));
    let stderr = Arc::new(Mutex::new(String::new()));
    let readers = vec![
        collect(child.stdout.take().expect("piped"), Arc::clone(&stdout)),
        collect(child.stderr.take().expect("piped"), Arc::clone(&stderr)),
    ];
    Running {
        child,
        stdout,
        stderr,
        readers,
    }
}

fn collect(pipe: impl Read + Send + 'static, into: Arc<Mutex<String>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut lines = BufReader::new(pipe);
        let mut line = String::new();
        while lines.read_line(&mut line).is_ok_and(|n| n > 0) {
            into.lock().expect("not poisoned").push_str(&line);
            line.clear();
        }
    })
}

impl Running {
    /// Waits until the child exits or `until` says stop, up to `timeout`.
    /// `None`: timed out (the child's process group is then killed).
    fn wait(&mut self, timeout: Duration, until: impl Fn(&str) -> bool) -> Option<Waited> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                for r in self.readers.drain(..) {
                    let _ = r.join();
                }
                return Some(Waited::Exited(status));
            }
            if until(&self.stderr.lock().expect("not poisoned")) {
                return Some(Waited::Condition);
            }
            if Instant::now() > deadline {
                self.kill_group();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn kill_group(&mut self) {
        let pgid = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) with a negative pid signals that process group;
        // the group is the one this child leads (process_group(0)).
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
        let _ = self.child.wait();
    }

    fn output(&self) -> String {
        let tail = |s: &str| -> String {
            let keep = 4000;
            match s.char_indices().rev().nth(keep) {
                Some((at, _)) => format!("…{}", &s[at..]),
                None => s.to_string(),
            }
        };
        format!(
            "stderr:\n{}\nstdout:\n{}",
            tail(&self.stderr.lock().expect("not poisoned")),
            tail(&self.stdout.lock().expect("not poisoned"))
        )
    }
}

enum Waited {
    Exited(ExitStatus),
    Condition,
}

/// The processes under `root` that have no children: the programs a shell
/// and `cargo run` started (both may have exec'd into them already).
fn leaves(root: u32) -> Vec<u32> {
    let mut parent = HashMap::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid …": comm may hold spaces and parentheses.
        let ppid = stat
            .rfind(')')
            .and_then(|at| stat[at + 1..].split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(ppid) = ppid {
            parent.insert(pid, ppid);
        }
    }
    let under = |mut pid: u32| loop {
        if pid == root {
            return true;
        }
        match parent.get(&pid) {
            Some(&p) if p != 0 && p != pid => pid = p,
            _ => return false,
        }
    };
    let family: Vec<u32> = parent.keys().copied().filter(|&p| under(p)).collect();
    family
        .iter()
        .copied()
        .filter(|p| !family.iter().any(|q| parent.get(q) == Some(p)))
        .collect()
}

/// Runs one shell command to its end; `Err` says why it failed.
fn run_to_end(text: &str, timeout: Duration) -> Result<(), String> {
    let mut child = spawn(text);
    match child.wait(timeout, |_| false) {
        Some(Waited::Exited(status)) if status.success() => Ok(()),
        Some(Waited::Exited(status)) => Err(format!("exited with {status}\n{}", child.output())),
        Some(Waited::Condition) => unreachable!("no condition"),
        None => Err(format!(
            "did not end within {timeout:?} (killed)\n{}",
            child.output()
        )),
    }
}

/// Starts a server, waits for `ready` on its stderr, sends SIGTERM to the
/// program, and expects it to exit 0.
fn run_server(text: &str, ready: &str) -> Result<(), String> {
    let mut child = spawn(text);
    match child.wait(SERVER_TIMEOUT, |err| err.contains(ready)) {
        Some(Waited::Condition) => {}
        Some(Waited::Exited(status)) => {
            return Err(format!(
                "exited with {status} before printing {ready:?}\n{}",
                child.output()
            ));
        }
        None => {
            return Err(format!(
                "printed no {ready:?} within {SERVER_TIMEOUT:?} (killed)\n{}",
                child.output()
            ));
        }
    }
    for pid in leaves(child.child.id()) {
        // SAFETY: kill(2) on a process of this child's own tree.
        unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
    }
    match child.wait(SERVER_TIMEOUT, |_| false) {
        Some(Waited::Exited(status)) if status.success() => Ok(()),
        Some(Waited::Exited(status)) => Err(format!(
            "exited with {status} after SIGTERM\n{}",
            child.output()
        )),
        Some(Waited::Condition) => unreachable!("no condition"),
        None => Err(format!(
            "did not exit within {SERVER_TIMEOUT:?} of SIGTERM (killed)\n{}",
            child.output()
        )),
    }
}

/// The command with `extra` words inserted at the end of each `cargo run`.
fn with_extra_args(command: &str, scratch: &Path) -> (String, Option<&'static str>) {
    let mut text = String::new();
    let mut last = 0;
    let mut server = None;
    for (start, end) in cargo_runs(command) {
        let run = parse_cargo_run(&command[start..end]);
        let kind = binary_kind(&run.program, scratch);
        if let Kind::Server { ready, .. } = kind {
            server = Some(ready);
        }
        text.push_str(&command[last..end]);
        for word in extra_args(&run, &kind) {
            text.push(' ');
            text.push_str(&word);
        }
        last = end;
    }
    text.push_str(&command[last..]);
    (text, server)
}

#[test]
fn every_cargo_run_in_the_readme_runs() {
    let root = workspace_root();
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let commands = cargo_run_commands(&readme);
    assert!(!commands.is_empty(), "no `cargo run` found in README.md");
    let scratch = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("readme-commands");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).expect("scratch directory");

    let mut failures = Vec::new();
    let mut report = Vec::new();

    // Build everything first, each `cargo run` as a `cargo build`.
    let mut built: HashMap<String, bool> = HashMap::new();
    let mut unbuilt = std::collections::HashSet::new();
    for command in &commands {
        for (start, end) in cargo_runs(command) {
            let run = parse_cargo_run(&command[start..end]);
            let build = format!("cargo build {}", run.options);
            if let Some(&ok) = built.get(&build) {
                if !ok {
                    unbuilt.insert(command.clone());
                }
                continue;
            }
            let t = Instant::now();
            let result = run_to_end(&build, BUILD_TIMEOUT);
            built.insert(build.clone(), result.is_ok());
            if let Err(why) = result {
                failures.push(format!("{command}\n  does not build: {build}\n{why}"));
                unbuilt.insert(command.clone());
            }
            report.push(format!(
                "built {:>6.1}s  {build}",
                t.elapsed().as_secs_f64()
            ));
        }
    }

    for command in &commands {
        if unbuilt.contains(command) {
            report.push(format!("  not run  {command}"));
            continue;
        }
        let (text, server) = with_extra_args(command, &scratch);
        let t = Instant::now();
        let result = match server {
            Some(ready) => run_server(&text, ready),
            None => run_to_end(&text, RUN_TIMEOUT),
        };
        let took = t.elapsed().as_secs_f64();
        match result {
            Ok(()) => report.push(format!("ok    {took:>6.1}s  {text}")),
            Err(why) => {
                report.push(format!("FAIL  {took:>6.1}s  {text}"));
                failures.push(format!("{command}\n  ran as: {text}\n{why}"));
            }
        }
    }

    println!("README commands checked:\n{}", report.join("\n"));
    assert!(
        failures.is_empty(),
        "{} of {} README commands do not run:\n\n{}",
        failures.len(),
        commands.len(),
        failures.join("\n\n"),
    );
}

#[test]
fn finds_commands_in_code_blocks_spans_and_pipelines() {
    let md = r#"# Title

Run `cargo run --release -p loadgen -- --rate 1M` first, or `cargo
run -p loadgen --bin hiccup` (a span over a line break). Not `cargo test
--workspace`, nor `loadgen --rate 1M`.

    cargo run --release -p loadgen -- --rate 1M

    printf 'I 1 1 1000 1000\n' \
      | cargo run -q --release -p engine-tools --bin replay -- --dump

```sh
$ cargo run -q -p engine-tools --bin streamgen -- --commands 20 > /tmp/s.txt   # a comment
cargo build --release
```

| what | how |
|---|---|
| round trip | `cargo run --release -p gateway --example round_trip` |

~~~
cargo run -p gateway
~~~
"#;
    assert_eq!(
        cargo_run_commands(md),
        [
            "cargo run --release -p loadgen -- --rate 1M",
            "cargo run -p loadgen --bin hiccup",
            "printf 'I 1 1 1000 1000\\n' | cargo run -q --release -p engine-tools --bin replay -- --dump",
            "cargo run -q -p engine-tools --bin streamgen -- --commands 20 > /tmp/s.txt   # a comment",
            "cargo run --release -p gateway --example round_trip",
            "cargo run -p gateway",
        ]
    );
}

#[test]
fn appends_bounds_at_the_end_of_the_cargo_run() {
    let scratch = Path::new("/scratch");
    let text = |c: &str| with_extra_args(c, scratch).0;
    assert_eq!(
        text("cargo run --release -p loadgen -- --rate 1M"),
        "cargo run --release -p loadgen -- --rate 1M --duration 1s --warmup 0s"
    );
    // A flag already given is not given twice.
    assert_eq!(
        text("cargo run --release -p loadgen -- --rate 1M --duration=2s"),
        "cargo run --release -p loadgen -- --rate 1M --duration=2s --warmup 0s"
    );
    assert_eq!(
        text("cargo run --release -p loadgen --bin hiccup"),
        "cargo run --release -p loadgen --bin hiccup -- --duration 300ms"
    );
    assert_eq!(
        text("cargo run -q -p x --bin streamgen -- --commands 9 > /tmp/s.txt"),
        "cargo run -q -p x --bin streamgen -- --commands 9 > /tmp/s.txt"
    );
    assert_eq!(
        text("cargo run -q -p engine-tools --bin other -- verify d 2>/dev/null | head"),
        "cargo run -q -p engine-tools --bin other -- verify d --help 2>/dev/null | head"
    );
    assert_eq!(
        text("cargo run -p loadgen --bin hiccup  # the floor"),
        "cargo run -p loadgen --bin hiccup -- --duration 300ms  # the floor"
    );
    let (gateway, server) = with_extra_args("cargo run -p gateway -- --durability os", scratch);
    assert_eq!(
        gateway,
        "cargo run -p gateway -- --durability os --listen 127.0.0.1:0 \
         --journal /scratch/gateway-journal"
    );
    assert_eq!(server, Some("listening on"));
    let (admin, server) = with_extra_args(
        "VENUE_ADMIN_PASSWORD=pw cargo run -q -p gateway --bin venue-admin -- --account 100 halt 1",
        scratch,
    );
    assert_eq!(
        admin,
        "VENUE_ADMIN_PASSWORD=pw cargo run -q -p gateway --bin venue-admin -- --account 100 halt 1 \
         --help"
    );
    assert_eq!(server, None);
    assert_eq!(
        parse_cargo_run("cargo run --package=gateway --example round_trip -- 100 os"),
        CargoRun {
            options: "--package=gateway --example round_trip".to_string(),
            program: "round_trip".to_string(),
            args: Some(vec!["100".to_string(), "os".to_string()]),
        }
    );
}
