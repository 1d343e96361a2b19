//! The generators, one module per target (`fw` and `common` are shared helpers).

pub(crate) mod common;
pub mod compose;
pub mod env;
pub mod etc_services;
pub(crate) mod fw;
pub mod iptables;
pub mod markdown;
pub mod mermaid;
pub mod nftables;
pub mod nginx;
pub mod prometheus;
pub mod ufw;
