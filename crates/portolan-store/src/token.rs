//! Bearer tokens: `ptk_ID_SECRET`, where `ID` is 8 random bytes (hex, public, the row key)
//! and `SECRET` 32 random bytes (hex) from the OS generator. Only the SHA-256 of the whole
//! token is stored; verification recomputes it and compares in constant time.

use sha2::{Digest, Sha256};

use crate::error::{StoreError, TokenRejection};

const PREFIX: &str = "ptk_";

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn random<const N: usize>() -> Result<[u8; N], StoreError> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| StoreError::Invalid {
        field: "token",
        message: format!("the OS random generator failed: {e}"),
    })?;
    Ok(buf)
}

/// A fresh token: `(id, clear token, hash)`.
pub(crate) fn generate() -> Result<(String, String, String), StoreError> {
    let id = hex(&random::<8>()?);
    let secret = hex(&random::<32>()?);
    let token = format!("{PREFIX}{id}_{secret}");
    let h = hash(&token);
    Ok((id, token, h))
}

/// Hex SHA-256 of a clear token.
pub(crate) fn hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// The id of a well-formed token.
pub(crate) fn id_of(token: &str) -> Result<&str, TokenRejection> {
    let rest = token
        .strip_prefix(PREFIX)
        .ok_or(TokenRejection::Malformed)?;
    let (id, secret) = rest.split_once('_').ok_or(TokenRejection::Malformed)?;
    let hexish = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    if hexish(id, 16) && hexish(secret, 64) {
        Ok(id)
    } else {
        Err(TokenRejection::Malformed)
    }
}

/// Equality of two byte strings in time independent of where they differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a
        .iter()
        .zip(b)
        .fold(0u8, |acc, (x, y)| acc | std::hint::black_box(x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_well_formed_and_distinct() {
        let (id, token, h) = generate().expect("random");
        assert_eq!(id_of(&token), Ok(id.as_str()));
        assert_eq!(hash(&token), h);
        assert_eq!(h.len(), 64);
        let (id2, token2, _) = generate().expect("random");
        assert_ne!(id, id2);
        assert_ne!(token, token2);
        assert_eq!(id_of("nope"), Err(TokenRejection::Malformed));
        assert_eq!(id_of("ptk_abc_def"), Err(TokenRejection::Malformed));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
