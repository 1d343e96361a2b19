//! `duplicate-host-identity`: one host name or machine id claimed by two or more hosts.
//! Commands recognise "this host" by those claims (`check`, `agent`, `snapshot` without
//! `--host`), so a claim two hosts share leaves a machine that matches both unrecognised.
//! Host names compare ignoring case, as DNS and the short-name rule do; one finding per
//! shared value, at every host's claim.

use std::collections::BTreeMap;

use portolan_model::IdentityClaim;

use crate::Context;
use crate::finding::Finding;
use crate::rules::Rule;

pub(crate) fn check(cx: &Context<'_>, out: &mut Vec<Finding>) {
    let mut names: BTreeMap<String, Vec<(&str, &IdentityClaim)>> = BTreeMap::new();
    let mut ids: BTreeMap<&str, Vec<(&str, &IdentityClaim)>> = BTreeMap::new();
    for h in &cx.model.hosts {
        let mut mine: Vec<String> = Vec::new();
        for c in &h.hostnames {
            let key = c.value.to_ascii_lowercase();
            // a host that names itself twice claims the name once
            if !mine.contains(&key) {
                names.entry(key.clone()).or_default().push((&h.name, c));
                mine.push(key);
            }
        }
        if let Some(c) = &h.machine_id {
            ids.entry(&c.value).or_default().push((&h.name, c));
        }
    }
    for (name, claims) in names.iter().filter(|(_, c)| c.len() > 1) {
        out.push(finding(&format!("host name `{name}`"), claims));
    }
    for (id, claims) in ids.iter().filter(|(_, c)| c.len() > 1) {
        out.push(finding(&format!("machine id {id}"), claims));
    }
}

fn finding(what: &str, claims: &[(&str, &IdentityClaim)]) -> Finding {
    let hosts: Vec<String> = claims.iter().map(|(h, _)| format!("`{h}`")).collect();
    let mut f = Finding::new(
        Rule::DuplicateHostIdentity,
        format!(
            "{what} is claimed by {} hosts: {}",
            claims.len(),
            hosts.join(", ")
        ),
    );
    for (h, c) in claims {
        f = f.subject(h.to_string());
        if let Some(loc) = c.loc {
            f = f.at(loc, format!("claimed by host `{h}`"));
        }
    }
    f.help(
        "a machine has one host in the spec: keep the claim on the host it belongs to (a machine id is `cat /etc/machine-id` on that machine), or merge the hosts",
    )
}

#[cfg(test)]
mod tests {
    use crate::rules::Rule;

    fn lint(text: &str) -> Vec<crate::Finding> {
        let m = portolan_model::load_str("ports.toml", text).unwrap();
        let mut r = crate::lint(&m).unwrap();
        r.findings.retain(|f| f.rule == Rule::DuplicateHostIdentity);
        r.findings
    }

    #[test]
    fn a_host_name_claimed_twice_ignoring_case_names_both_claims() {
        let f = lint(
            "[hosts.web-1]\nhostnames = [\"web-1\", \"web.example\"]\n[hosts.web-2]\nhostname = \"WEB.example\"\n",
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            f[0].message,
            "host name `web.example` is claimed by 2 hosts: `web-1`, `web-2`"
        );
        assert_eq!(f[0].subjects, ["web-1", "web-2"]);
        assert_eq!(f[0].labels.len(), 2);
    }

    #[test]
    fn a_machine_id_claimed_twice_and_a_host_repeating_itself() {
        let id = "0123456789abcdef0123456789abcdef";
        let f = lint(&format!(
            "[hosts.a]\nmachine-id = \"{id}\"\nhostname = \"a\"\nhostnames = [\"a\"]\n[hosts.b]\nmachine-id = \"{id}\"\n"
        ));
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            f[0].message,
            format!("machine id {id} is claimed by 2 hosts: `a`, `b`")
        );
        assert!(
            lint("[hosts.a]\nhostnames = [\"a\"]\n[hosts.b]\nhostnames = [\"a.example\"]\n")
                .is_empty()
        );
    }
}
