//! The wire protocol (see docs/protocol.md).
