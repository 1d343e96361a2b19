//! API tokens: the format, and their rows. A token is `ptk_ID_SECRET`, where `ID` is 8
//! random bytes (hex, public, the row key) and `SECRET` 32 random bytes (hex) from the OS
//! generator. Only the SHA-256 of the whole token is stored; verification recomputes it and
//! compares in constant time ([`crate::secrets`] does all three).

use crate::db::{Db, during};
use crate::error::{StoreError, TokenRejection};
use crate::secrets::{random_hex, same_secret, sha256_hex};
use crate::spec::rows::no_nul;
use crate::types::{NewToken, Role, TokenInfo};

const PREFIX: &str = "ptk_";

/// A fresh token: `(id, clear token, hash)`.
pub(crate) fn generate() -> Result<(String, String, String), StoreError> {
    let id = random_hex(8)?;
    let secret = random_hex(32)?;
    let token = format!("{PREFIX}{id}_{secret}");
    let h = hash(&token);
    Ok((id, token, h))
}

/// Hex SHA-256 of a clear token.
pub(crate) fn hash(token: &str) -> String {
    sha256_hex(token)
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

/// Creates a token; the clear token is returned this once.
pub(crate) async fn create(
    db: &Db,
    role: Role,
    label: &str,
    expires: Option<i64>,
    now: i64,
) -> Result<NewToken, StoreError> {
    if expires.is_some_and(|e| e <= now) {
        return Err(StoreError::Invalid {
            field: "expires",
            message: "the expiry lies in the past".into(),
        });
    }
    no_nul("label", label)?;
    let (id, token, hash) = generate()?;
    sqlx::query(
        "INSERT INTO tokens (id, hash, role, label, created, expires, revoked) \
         VALUES ($1, $2, $3, $4, $5, $6, NULL)",
    )
    .bind(&id)
    .bind(&hash)
    .bind(role.as_str())
    .bind(label)
    .bind(now)
    .bind(expires)
    .execute(&db.pool)
    .await
    .map_err(during("creating a token"))?;
    Ok(NewToken {
        info: TokenInfo {
            id,
            role,
            label: label.to_string(),
            created: now,
            expires,
            revoked: None,
        },
        token,
    })
}

/// A token's row with the hash it is checked against.
#[derive(sqlx::FromRow)]
struct StoredToken {
    hash: String,
    #[sqlx(flatten)]
    info: TokenInfo,
}

/// The columns of [`TokenInfo`].
const INFO_COLUMNS: &str = "id, role, label, created, expires, revoked";

/// Checks a bearer token: its record when valid, else [`StoreError::Token`].
pub(crate) async fn verify(db: &Db, token: &str, now: i64) -> Result<TokenInfo, StoreError> {
    let id = id_of(token).map_err(StoreError::Token)?;
    let stored: Option<StoredToken> = sqlx::query_as(&format!(
        "SELECT hash, {INFO_COLUMNS} FROM tokens WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&db.pool)
    .await
    .map_err(during("checking a token"))?;
    let Some(stored) = stored else {
        return Err(StoreError::Token(TokenRejection::Unknown));
    };
    if !same_secret(hash(token).as_bytes(), stored.hash.as_bytes()) {
        return Err(StoreError::Token(TokenRejection::Unknown));
    }
    if stored.info.revoked.is_some() {
        return Err(StoreError::Token(TokenRejection::Revoked));
    }
    if stored.info.expires.is_some_and(|e| e <= now) {
        return Err(StoreError::Token(TokenRejection::Expired));
    }
    Ok(stored.info)
}

/// Revokes a token by id (revoking it again changes nothing).
pub(crate) async fn revoke(db: &Db, id: &str, now: i64) -> Result<(), StoreError> {
    let done = sqlx::query("UPDATE tokens SET revoked = $2 WHERE id = $1 AND revoked IS NULL")
        .bind(id)
        .bind(now)
        .execute(&db.pool)
        .await
        .map_err(during("revoking a token"))?;
    if done.rows_affected() == 0 {
        let exists: Option<(String,)> = sqlx::query_as("SELECT id FROM tokens WHERE id = $1")
            .bind(id)
            .fetch_optional(&db.pool)
            .await
            .map_err(during("revoking a token"))?;
        if exists.is_none() {
            return Err(StoreError::NotFound {
                entity: "token",
                name: id.to_string(),
            });
        }
    }
    Ok(())
}

/// Every token (never the secrets), by creation time.
pub(crate) async fn list(db: &Db) -> Result<Vec<TokenInfo>, StoreError> {
    sqlx::query_as(&format!(
        "SELECT {INFO_COLUMNS} FROM tokens ORDER BY created, id"
    ))
    .fetch_all(&db.pool)
    .await
    .map_err(during("reading tokens"))
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
    }
}
