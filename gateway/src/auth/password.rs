//! Passwords: hashed with Argon2id into a PHC string (`$argon2id$v=19$...`,
//! salt and parameters included), never stored in plain text; and the
//! fixed-width field they travel in.
//!
//! Why Argon2id with the crate's default parameters (19 MiB, 2 passes, 1
//! lane: OWASP's minimum): a stolen accounts file costs an attacker that
//! much memory and time per guess. The price is the same per logon, tens of
//! milliseconds of one core, which is why verification runs on a thread of
//! its own (`verifier.rs`). The measured figure: docs/performance.md,
//! "Logon verification".

use argon2::Argon2;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// Bytes of the `Logon` password field: a password of up to this many
/// bytes of UTF-8, the rest zeros (docs/protocol.md, "Logon").
pub const PASSWORD_LEN: usize = 32;

/// `password` as the `Logon` field, or `None` if it does not fit (longer
/// than `PASSWORD_LEN` bytes) or holds a zero byte (which ends it).
pub fn password_field(password: &str) -> Option<[u8; PASSWORD_LEN]> {
    let bytes = password.as_bytes();
    if bytes.len() > PASSWORD_LEN || bytes.contains(&0) {
        return None;
    }
    let mut field = [0u8; PASSWORD_LEN];
    field[..bytes.len()].copy_from_slice(bytes);
    Some(field)
}

/// The password a `Logon` field carries: the bytes before the first zero.
pub fn field_password(field: &[u8; PASSWORD_LEN]) -> &[u8] {
    let end = field.iter().position(|&b| b == 0).unwrap_or(PASSWORD_LEN);
    &field[..end]
}

/// A new salted hash of `password`, as a PHC string.
pub fn hash_password(password: &[u8]) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password, &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

/// A random password of 24 characters (hex, 96 bits): what loadgen gives
/// the accounts it makes for its own gateway.
pub fn random_password() -> String {
    let mut bytes = [0u8; 12];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A hash of a random password nobody knows: what a logon for an unknown
/// account is checked against, so it costs what a known one does.
pub fn hash_of_random_password() -> Result<String, String> {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    hash_password(&bytes)
}

/// Whether `password` matches the PHC string `hash` (in constant time,
/// with the parameters the hash names). A hash that does not parse
/// matches nothing; the accounts file is checked at load so that none does.
pub fn verify_password(hash: &str, password: &[u8]) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default().verify_password(password, &parsed).is_ok(),
        Err(_) => false,
    }
}

/// Whether `hash` is a PHC string this build can verify.
pub(crate) fn check_hash(hash: &str) -> Result<(), String> {
    let parsed = PasswordHash::new(hash).map_err(|e| format!("not a PHC password hash: {e}"))?;
    if parsed.algorithm.as_str() != "argon2id" {
        return Err(format!(
            "algorithm `{}`: use argon2id (`gateway-accounts hash` makes one)",
            parsed.algorithm
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let hash = hash_password(b"correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(check_hash(&hash).is_ok());
        assert!(verify_password(&hash, b"correct horse"));
        assert!(!verify_password(&hash, b"correct horsE"));
        assert!(!verify_password("not a hash", b"correct horse"));
        // Two hashes of one password differ: each has its own salt.
        assert_ne!(hash, hash_password(b"correct horse").unwrap());
    }

    #[test]
    fn the_field_round_trips_and_refuses_what_does_not_fit() {
        let field = password_field("secret").unwrap();
        assert_eq!(field_password(&field), b"secret");
        assert_eq!(field_password(&password_field("").unwrap()), b"");
        let longest = "x".repeat(PASSWORD_LEN);
        assert_eq!(
            field_password(&password_field(&longest).unwrap()),
            longest.as_bytes()
        );
        assert!(password_field(&"x".repeat(PASSWORD_LEN + 1)).is_none());
        assert!(password_field("a\0b").is_none());
    }
}
