//! The gateway: the wire protocol clients speak, their sessions, and the TCP server.

pub mod protocol;
