//! The server's clock is the workspace's one clock ([`portolan_model::clock`]), read once
//! when the server starts and handed to every handler in the [`AppState`](crate::AppState).

pub use portolan_model::clock::{Clock, ClockError, PORTOLAN_NOW};
