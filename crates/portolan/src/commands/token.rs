//! `portolan token create|list|revoke`: the registry's API tokens, straight on its database
//! (so the first admin token exists before any server runs). A new token is printed once;
//! the database keeps only its SHA-256.

use std::fmt::Write as _;

use portolan_store::Store;

use crate::error::CliError;
use crate::exit::Exit;
use crate::output;
use crate::settings::{Settings, TokenSettings};

fn store_error(e: &portolan_store::StoreError) -> CliError {
    match e {
        portolan_store::StoreError::NotFound { .. }
        | portolan_store::StoreError::Invalid { .. } => CliError::Usage(e.to_string()),
        _ => CliError::Usage(format!("registry database: {e}")),
    }
}

fn date(t: i64) -> String {
    portolan_model::spec::Timestamp(t).to_string()
}

pub(crate) fn run(s: &Settings, t: &TokenSettings) -> Result<Exit, CliError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::io("cannot start the async runtime", e))?;
    let db = match t {
        TokenSettings::Create { db, .. }
        | TokenSettings::List { db }
        | TokenSettings::Revoke { db, .. } => db,
    };
    let now = portolan_alloc::lease::now()?;
    runtime.block_on(async {
        let store: Box<dyn Store> = portolan_store::open(db).await.map_err(|e| store_error(&e))?;
        match t {
            TokenSettings::Create {
                role,
                label,
                expires,
                ..
            } => {
                let expires = expires.map(|e| now.saturating_add(e));
                let t = store
                    .create_token(*role, label, expires, now)
                    .await
                    .map_err(|e| store_error(&e))?;
                if s.json {
                    let v = serde_json::json!({
                        "id": t.info.id, "role": role.as_str(), "label": t.info.label,
                        "expires": t.info.expires.map(date), "token": t.token,
                    });
                    output::stdout(&(serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"))?;
                } else {
                    output::stdout(&format!("{}\n", t.token))?;
                    if s.verbosity >= 0 {
                        eprintln!(
                            "created {} token {}{}; it is shown only now",
                            role.as_str(),
                            t.info.id,
                            t.info
                                .expires
                                .map(|e| format!(", expires {}", date(e)))
                                .unwrap_or_default()
                        );
                    }
                }
            }
            TokenSettings::List { .. } => {
                let list = store.tokens().await.map_err(|e| store_error(&e))?;
                if s.json {
                    let v: Vec<serde_json::Value> = list
                        .iter()
                        .map(|t| {
                            serde_json::json!({
                                "id": t.id, "role": t.role.as_str(), "label": t.label,
                                "created": date(t.created), "expires": t.expires.map(date),
                                "revoked": t.revoked.map(date),
                            })
                        })
                        .collect();
                    output::stdout(&(serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"))?;
                } else {
                    let mut out = String::from("ID                ROLE   STATE    CREATED               EXPIRES               LABEL\n");
                    for t in &list {
                        let state = if t.revoked.is_some() {
                            "revoked"
                        } else if t.expires.is_some_and(|e| e <= now) {
                            "expired"
                        } else {
                            "active"
                        };
                        let _ = writeln!(
                            out,
                            "{:<17} {:<6} {:<8} {:<21} {:<21} {}",
                            t.id,
                            t.role.as_str(),
                            state,
                            date(t.created),
                            t.expires.map_or_else(|| "never".into(), date),
                            t.label
                        );
                    }
                    output::stdout(&out)?;
                }
            }
            TokenSettings::Revoke { id, .. } => {
                store
                    .revoke_token(id, now)
                    .await
                    .map_err(|e| store_error(&e))?;
                if s.verbosity >= 0 {
                    output::stdout(&format!("revoked token {id}\n"))?;
                }
            }
        }
        Ok(Exit::Ok)
    })
}
