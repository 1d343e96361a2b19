//! Helpers of the unit tests: the captured dumps under `tests/fixtures/firewall`, and
//! address sets written as CIDR lists.

use portolan_model::{IpNet, IpSet};

/// The text of fixture `name`.
pub(crate) fn fixture(name: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/firewall")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The set of `nets`.
pub(crate) fn set(nets: &[&str]) -> IpSet {
    let v: Vec<IpNet> = nets.iter().map(|n| n.parse().expect("CIDR")).collect();
    IpSet::from_nets(&v)
}
