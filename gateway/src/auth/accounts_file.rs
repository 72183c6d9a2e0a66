//! The accounts file (`--accounts FILE`): who may log on, as what, with
//! which password (stored as a hash), and whether the account is enabled.
//!
//! TOML, one `[[account]]` table per account:
//!
//! ```toml
//! [[account]]
//! id = 7
//! role = "trader"            # or "operator"
//! password_hash = "$argon2id$v=19$m=19456,t=2,p=1$..."
//! enabled = true             # optional; false refuses its logons
//! ```
//!
//! Loaded once at start and checked whole: a duplicate id, account 0, or a
//! hash this build cannot verify stops the gateway with the file, the
//! account and what to do, rather than locking an account out at its first
//! logon. `gateway-accounts` writes it (`add`), so nobody edits hashes by
//! hand; `gateway/accounts.example.toml` is an example.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::limits::LimitFields;
use super::password::check_hash;

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Enters orders for itself.
    Trader,
    /// Controls the venue (kill switches, halts) and enters no orders.
    Operator,
}

/// One account of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountEntry {
    pub role: Role,
    /// Argon2id PHC string (`password.rs`).
    pub password_hash: String,
    pub enabled: bool,
    /// Its own limits (`limits.rs`), over the file's `[limits]`.
    pub limits: LimitFields,
}

/// Every account of the file, by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accounts {
    by_id: BTreeMap<u32, AccountEntry>,
    /// The file's `[limits]`: every trader's, unless its own say otherwise.
    defaults: LimitFields,
}

/// Why the accounts file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum AccountsError {
    #[error("cannot read the accounts file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the accounts file {} is not valid: {problem} (see gateway/accounts.example.toml; \
         `gateway-accounts add` writes entries)",
        path.display()
    )]
    Invalid { path: PathBuf, problem: String },
    #[error("cannot write the accounts file {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileFormat {
    #[serde(default, skip_serializing_if = "LimitFields::is_empty")]
    limits: LimitFields,
    #[serde(default)]
    account: Vec<EntryFormat>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryFormat {
    id: u32,
    role: Role,
    password_hash: String,
    #[serde(default = "enabled_by_default")]
    enabled: bool,
    #[serde(default, skip_serializing_if = "LimitFields::is_empty")]
    limits: LimitFields,
}

fn enabled_by_default() -> bool {
    true
}

impl Accounts {
    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<Accounts, AccountsError> {
        let text = std::fs::read_to_string(path).map_err(|source| AccountsError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Accounts::parse(&text).map_err(|problem| AccountsError::Invalid {
            path: path.to_path_buf(),
            problem,
        })
    }

    /// The accounts in `text` (the file's content), checked.
    pub fn parse(text: &str) -> Result<Accounts, String> {
        let file: FileFormat = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut accounts = Accounts {
            defaults: file.limits,
            ..Accounts::default()
        };
        for entry in file.account {
            let id = entry.id;
            if id == 0 {
                return Err("account 0 is not an account: ids start at 1".into());
            }
            check_hash(&entry.password_hash).map_err(|e| format!("account {id}: {e}"))?;
            let entry_value = AccountEntry {
                role: entry.role,
                password_hash: entry.password_hash,
                enabled: entry.enabled,
                limits: entry.limits,
            };
            if entry.role == Role::Operator && !entry.limits.is_empty() {
                return Err(format!(
                    "account {id}: an operator enters no orders, so it has no limits; \
                     remove its `limits`"
                ));
            }
            if accounts.by_id.insert(id, entry_value).is_some() {
                return Err(format!("account {id} appears twice"));
            }
        }
        Ok(accounts)
    }

    pub fn get(&self, id: u32) -> Option<&AccountEntry> {
        self.by_id.get(&id)
    }

    /// Every trading account's limits, ids ascending, for books of
    /// `orders_per_book` resting orders: what the gateway sequences at start.
    pub fn trader_limits(&self, orders_per_book: u32) -> Vec<(u32, matching::AccountLimits)> {
        self.by_id
            .iter()
            .filter(|(_, e)| e.role == Role::Trader)
            .map(|(&id, e)| (id, e.limits.over(self.defaults).resolve(orders_per_book)))
            .collect()
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Adds account `id`, or replaces what the file has for it.
    pub fn set(&mut self, id: u32, entry: AccountEntry) {
        self.by_id.insert(id, entry);
    }

    /// The file's content for these accounts, ids ascending.
    pub fn to_toml(&self) -> String {
        let file = FileFormat {
            limits: self.defaults,
            account: self
                .by_id
                .iter()
                .map(|(&id, e)| EntryFormat {
                    id,
                    role: e.role,
                    password_hash: e.password_hash.clone(),
                    enabled: e.enabled,
                    limits: e.limits,
                })
                .collect(),
        };
        let body = toml::to_string(&file).unwrap_or_default();
        format!(
            "# Accounts of the gateway (--accounts). Written by `gateway-accounts`;\n\
             # passwords are stored only as salted Argon2id hashes.\n\n{body}"
        )
    }

    /// Writes the file at `path`, atomically (a temp file renamed over it),
    /// so a gateway starting meanwhile reads the old file or the new one.
    pub fn save(&self, path: &Path) -> Result<(), AccountsError> {
        let write_err = |source| AccountsError::Write {
            path: path.to_path_buf(),
            source,
        };
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        std::fs::write(&tmp, self.to_toml()).map_err(write_err)?;
        std::fs::rename(&tmp, path).map_err(write_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::password::hash_password;

    #[test]
    fn a_file_round_trips_and_bad_ones_say_what_is_wrong() {
        let hash = hash_password(b"pw").unwrap();
        let mut accounts = Accounts::default();
        accounts.set(
            7,
            AccountEntry {
                role: Role::Trader,
                password_hash: hash.clone(),
                enabled: true,
                limits: LimitFields {
                    max_order_qty: Some(10),
                    ..LimitFields::default()
                },
            },
        );
        accounts.set(
            9,
            AccountEntry {
                role: Role::Operator,
                password_hash: hash.clone(),
                enabled: false,
                limits: LimitFields::default(),
            },
        );
        assert_eq!(Accounts::parse(&accounts.to_toml()).unwrap(), accounts);

        let entry = |id: u32, extra: &str| {
            format!(
                "[[account]]\nid = {id}\nrole = \"trader\"\npassword_hash = \"{hash}\"\n{extra}"
            )
        };
        let problem = |text: &str| Accounts::parse(text).unwrap_err();
        assert!(problem(&entry(0, "")).contains("account 0"));
        assert!(problem(&format!("{}{}", entry(3, ""), entry(3, ""))).contains("twice"));
        assert!(problem(&entry(3, "limit = 5\n")).contains("unknown field"));
        assert!(
            problem("[[account]]\nid = 3\nrole = \"trader\"\npassword_hash = \"plain\"\n")
                .contains("account 3: not a PHC password hash")
        );
        assert!(problem(&entry(3, "").replace("trader", "admin")).contains("unknown variant"));
        // `enabled` defaults to true.
        assert!(
            Accounts::parse(&entry(3, ""))
                .unwrap()
                .get(3)
                .unwrap()
                .enabled
        );
    }
}
