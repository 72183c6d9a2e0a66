//! `gateway-accounts`: writes the gateway's accounts file, so nobody edits
//! password hashes by hand.
//!
//! ```text
//! gateway-accounts add FILE --account 7 [--role operator] [--disabled]
//! gateway-accounts hash
//! ```
//!
//! `add` creates FILE if it does not exist, and adds the account or
//! replaces its entry (a new password, role or state). Both read the
//! password from the terminal without echoing it, or, when standard input
//! is not a terminal, its first line (for scripts: `echo "$PW" | ...`). The
//! password is never written anywhere: only its salted Argon2id hash.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use gateway::auth::{
    AccountEntry, Accounts, LimitFields, PASSWORD_LEN, Role, hash_password, password_field,
};

#[derive(Parser, Debug)]
#[command(about = "Add an account to the gateway's accounts file, or hash a password")]
struct Args {
    #[command(subcommand)]
    command: Action,
}

#[derive(Subcommand, Debug)]
enum Action {
    /// Add the account to FILE (created if missing), or replace its entry.
    Add {
        file: PathBuf,
        /// The account id (1 and up).
        #[arg(long)]
        account: u32,
        #[arg(long, value_enum, default_value = "trader")]
        role: RoleArg,
        /// Keep the account but refuse its logons.
        #[arg(long)]
        disabled: bool,
    },
    /// Print the hash of a password, for an accounts file kept by other means.
    Hash,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RoleArg {
    Trader,
    Operator,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gateway-accounts: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    match args.command {
        Action::Hash => {
            println!("{}", hash_password(read_password()?.as_bytes())?);
            Ok(())
        }
        Action::Add {
            file,
            account,
            role,
            disabled,
        } => {
            if account == 0 {
                return Err("account 0 is not an account: ids start at 1".into());
            }
            let mut accounts = if file.exists() {
                Accounts::load(&file).map_err(|e| e.to_string())?
            } else {
                Accounts::default()
            };
            let password_hash = hash_password(read_password()?.as_bytes())?;
            let role = match role {
                RoleArg::Trader => Role::Trader,
                RoleArg::Operator => Role::Operator,
            };
            // An operator has no limits; a trader keeps those the file gave it.
            let limits = match (role, accounts.get(account)) {
                (Role::Trader, Some(old)) => old.limits,
                _ => LimitFields::default(),
            };
            accounts.set(
                account,
                AccountEntry {
                    role,
                    password_hash,
                    enabled: !disabled,
                    limits,
                },
            );
            accounts.save(&file).map_err(|e| e.to_string())?;
            eprintln!(
                "gateway-accounts: account {account} ({role:?}{}) written to {}",
                if disabled { ", disabled" } else { "" },
                file.display()
            );
            Ok(())
        }
    }
}

/// The password, from the terminal (not echoed) or standard input's first
/// line; checked to fit the `Logon` field.
fn read_password() -> Result<String, String> {
    let password = if std::io::stdin().is_terminal() {
        rpassword::prompt_password("password: ").map_err(|e| format!("cannot read it: {e}"))?
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    if password.is_empty() {
        return Err("an empty password: give one on standard input or at the prompt".into());
    }
    if password_field(&password).is_none() {
        return Err(format!(
            "a password must be at most {PASSWORD_LEN} bytes of UTF-8 without a zero byte"
        ));
    }
    Ok(password)
}
