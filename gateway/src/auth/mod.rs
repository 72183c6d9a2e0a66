//! Who may log on: the accounts file, password hashes, and the logon check
//! that runs off the poll loop.
//!
//! - `accounts_file.rs`: the `--accounts` file (TOML): each account's id,
//!   role, password hash and whether it is enabled; loaded and checked at
//!   start, written by the `gateway-accounts` tool.
//! - `password.rs`: hashing and verifying with Argon2id (the `argon2`
//!   crate, PHC strings), and the fixed-width password field of `Logon`.
//! - `limits.rs`: each trader's pre-trade limits from the same file, with
//!   the defaults that keep one account from filling a book.
//! - `failures.rs`: failed logons counted per address, and the delay that
//!   grows with them.
//!
//! The thread that verifies logons off the poll loop is the server's
//! (`server/logon_check.rs`). docs/protocol.md, "Authentication", has the
//! rules and the reasons.

mod accounts_file;
mod failures;
mod limits;
mod password;

pub use accounts_file::{AccountEntry, Accounts, AccountsError, Role};
pub use failures::LogonFailures;
pub use limits::{DEFAULT_MAX_OPEN_ORDERS, DEFAULT_MAX_OPEN_ORDERS_PER_INSTRUMENT, LimitFields};
pub use password::{
    PASSWORD_LEN, field_password, hash_of_random_password, hash_password, password_field,
    random_password, verify_password,
};

/// How the gateway decides who may log on. There is no default: a
/// gateway is started with one or the other, said explicitly.
#[derive(Debug, Clone)]
pub enum Auth {
    /// Logons carry a password checked against these accounts.
    Accounts(std::sync::Arc<Accounts>),
    /// Anyone who reaches the port may trade as any account (but 0),
    /// without a password: for tests and benchmarks on a closed machine.
    /// The gateway says so on its start line.
    Insecure,
}
