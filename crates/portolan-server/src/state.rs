//! What every handler shares: the store and the clock (`PORTOLAN_NOW` pins it for tests, as
//! in the CLI).

use std::sync::Arc;

use portolan_store::Store;

/// Shared application state (cheap to clone).
#[derive(Clone, Debug)]
pub struct AppState {
    /// The registry.
    pub store: Arc<dyn Store>,
    /// The dashboard's login sessions (in memory; a restart logs everyone out).
    pub sessions: Arc<crate::web::Sessions>,
}

impl AppState {
    /// State over `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        AppState {
            store,
            sessions: Arc::default(),
        }
    }

    /// Seconds since the Unix epoch: `PORTOLAN_NOW` when set (tests), else the clock.
    pub fn now(&self) -> i64 {
        portolan_alloc::lease::now().unwrap_or(0)
    }
}
