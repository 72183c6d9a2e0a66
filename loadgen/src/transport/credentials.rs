//! The passwords loadgen's sessions log on with.
//!
//! Against its own gateway, loadgen makes the accounts it uses: a random
//! password per session's account, hashed into the gateway's accounts, so
//! `loadgen --rate 1M` needs no setup and no insecure gateway. Against an
//! external one (`--target`), `--credentials FILE` gives them:
//!
//! ```toml
//! [[account]]
//! id = 1
//! password = "..."
//! ```
//!
//! Without it, sessions log on with an empty password (what a gateway
//! started `--insecure-no-auth` takes).

use std::collections::HashMap;
use std::path::Path;

use gateway::auth::{
    AccountEntry, Accounts, PASSWORD_LEN, Role, hash_password, password_field, random_password,
};
use serde::Deserialize;

use crate::error::RunError;

/// Each account's `Logon` password field.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    by_account: HashMap<u32, [u8; PASSWORD_LEN]>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileFormat {
    #[serde(default)]
    account: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    id: u32,
    password: String,
}

impl Credentials {
    /// The passwords in the file at `path`.
    pub fn load(path: &Path) -> Result<Credentials, RunError> {
        let bad = |problem: String| {
            RunError::Config(format!("credentials file {}: {problem}", path.display()))
        };
        let text =
            std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
        let file: FileFormat = toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let mut credentials = Credentials::default();
        for entry in file.account {
            let field = password_field(&entry.password).ok_or_else(|| {
                bad(format!(
                    "account {}: a password is at most {PASSWORD_LEN} bytes without a zero byte",
                    entry.id
                ))
            })?;
            credentials.by_account.insert(entry.id, field);
        }
        Ok(credentials)
    }

    /// A random password for each of `accounts`, and the gateway accounts
    /// that take them (trader accounts, hashed).
    pub fn generate(
        accounts: impl Iterator<Item = u32>,
    ) -> Result<(Credentials, Accounts), RunError> {
        let mut credentials = Credentials::default();
        let mut gateway_accounts = Accounts::default();
        for id in accounts {
            let password = random_password();
            let password_hash = hash_password(password.as_bytes()).map_err(RunError::Config)?;
            gateway_accounts.set(
                id,
                AccountEntry {
                    role: Role::Trader,
                    password_hash,
                    enabled: true,
                    // The built-in defaults (open orders per account and
                    // per instrument), as for any trader.
                    limits: Default::default(),
                },
            );
            let field = password_field(&password)
                .ok_or_else(|| RunError::Config("a generated password does not fit".into()))?;
            credentials.by_account.insert(id, field);
        }
        Ok((credentials, gateway_accounts))
    }

    /// The `Logon` password field of `account` (empty if none was given).
    pub fn field(&self, account: u32) -> [u8; PASSWORD_LEN] {
        self.by_account
            .get(&account)
            .copied()
            .unwrap_or([0; PASSWORD_LEN])
    }
}
