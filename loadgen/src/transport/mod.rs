//! How requests reach the engine and answers come back: over TCP to a
//! gateway (one loadgen starts itself, or `--target`), or into the
//! pipeline in this process (`--transport inproc`).
//!
//! `setup` starts or connects the one the options ask for. Each implements
//! [`Transport`](crate::driver::Transport) and turns what it receives into
//! [`Exec`](crate::transport::exec::Exec) reports, so the driver does not
//! know which one it drives. `wait` is how either sleeps between ticks
//! without taking a core from the engine. `credentials` holds the
//! passwords sessions log on with; `leader` finds a cluster's leader
//! (`--target A,B,C`).

pub(crate) mod credentials;
pub(crate) mod exec;
pub(crate) mod inproc;
pub(crate) mod leader;
pub(crate) mod local;
pub(crate) mod session;
pub(crate) mod setup;
pub(crate) mod tcp;
pub(crate) mod wait;
