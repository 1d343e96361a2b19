//! The one home of the registry's secret handling: random hex from the operating system's
//! generator (token and webhook ids and secrets, dashboard session ids and CSRF tokens),
//! SHA-256 (what is stored of a token, the server's token cache key), HMAC-SHA256 (webhook
//! signatures) and constant-time comparison (`subtle`), so a secret is never compared with
//! `==` and a failing generator is always the same typed error.

use hmac::{Hmac, Mac as _};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

/// The operating system's random generator failed: a fault of the server, not of the
/// caller (the API answers 500).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the OS random generator failed: {0}")]
pub struct RandomError(#[from] pub getrandom::Error);

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// `bytes` random bytes from the operating system's generator, as lowercase hex (twice as
/// many characters).
pub fn random_hex(bytes: usize) -> Result<String, RandomError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf)?;
    Ok(hex(&buf))
}

/// The SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The SHA-256 of `text`, as lowercase hex (64 characters).
pub fn sha256_hex(text: &str) -> String {
    hex(&sha256(text.as_bytes()))
}

/// The HMAC-SHA256 of `message` under `key` (of any length), as lowercase hex.
pub fn hmac_sha256_hex(key: &[u8], message: &[u8]) -> String {
    // HMAC takes a key of any length
    let mut mac = Hmac::<Sha256>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    mac.update(message);
    hex(&mac.finalize().into_bytes())
}

/// Whether two secrets are equal, in time that depends only on their lengths. An empty
/// secret equals nothing (a missing form field or an unset value never matches).
pub fn same_secret(a: &[u8], b: &[u8]) -> bool {
    !a.is_empty() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_hex_has_twice_the_length_and_differs() {
        let a = random_hex(32).expect("random");
        let b = random_hex(32).expect("random");
        assert_eq!(a.len(), 64);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_ne!(a, b);
        assert_eq!(random_hex(0).expect("random"), "");
    }

    #[test]
    fn digests_match_known_vectors() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
        // RFC 4231, test case 2
        assert_eq!(
            hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn secrets_compare_by_content_and_length_and_never_empty() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"abc", b"ab"));
        assert!(!same_secret(b"", b""));
        assert!(!same_secret(b"", b"a"));
    }

    #[test]
    fn a_failing_generator_is_named() {
        let e = RandomError::from(getrandom::Error::UNSUPPORTED);
        assert!(
            e.to_string().starts_with("the OS random generator failed"),
            "{e}"
        );
    }
}
