//! From findings to a spec: a starter `ports.toml` (`init --from-discover`), the services a
//! spec lacks (`discover --write`), and the comparison both ways (`discover --diff`).
