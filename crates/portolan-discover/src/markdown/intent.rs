//! What a cell or phrase says about who may reach a port and how: the audience
//! (`Internet`, `office LAN and VPN`, `nur localhost`, `red interna`, `containers on this
//! host`, a declared network's name, a CIDR), whether it is reached through the proxy
//! (`nginx only`, `behind Apache`), whether it requires authentication (`yes (scram)`,
//! `mTLS`, `nein`) or TLS (`HTTPS only: ja`), and the app protocol words imply (`web UI`,
//! `HTTPS`). In English, German, Spanish, French and Russian.

use super::cells;
use super::draft::{Audience, Draft};

fn words(t: &str) -> Vec<String> {
    t.split(|c: char| !(c.is_alphanumeric() || c == '-'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn any(t: &str, list: &[&str]) -> bool {
    list.iter().any(|w| t.contains(w))
}

/// Whether the text says the port is reached through the reverse proxy.
pub fn via_proxy(text: &str) -> bool {
    let t = cells::clean(text).to_lowercase();
    any(
        &t,
        &[
            "via nginx",
            "via caddy",
            "via apache",
            "via traefik",
            "via haproxy",
            "via envoy",
            "via the proxy",
            "via ingress",
            "behind nginx",
            "behind the proxy",
            "behind apache",
            "behind caddy",
            "behind traefik",
            "nginx only",
            "nginx on the same",
            "proxy only",
            "only nginx",
            "only the proxy",
            "apache only",
            "solo apache",
            "detrás de",
            "derrière",
            "hinter nginx",
            "hinter dem proxy",
            "за nginx",
            "через nginx",
        ],
    )
}

/// The audience a text describes. Empty when it says nothing about reach; `None` when the
/// port is used only outbound.
pub fn audience(draft: &Draft, text: &str) -> Option<Vec<Audience>> {
    let t = cells::clean(text).to_lowercase();
    if any(
        &t,
        &[
            "outbound",
            "egress",
            "client only",
            "ausgehend",
            "saliente",
            "sortant",
        ],
    ) {
        return None;
    }
    let w = words(&t);
    let has = |x: &str| w.iter().any(|y| y == x);
    let mut out = Vec::new();
    if has("public")
        || has("wan")
        || has("internet")
        || has("anywhere")
        || has("world")
        || has("external")
        || has("everyone")
        || has("öffentlich")
        || has("público")
        || has("pública")
        || has("publico")
        || has("publique")
        || has("public-facing")
        || t.contains("интернет")
        || t.contains("публичн")
    {
        return Some(vec![Audience::Public]);
    }
    if has("localhost")
        || has("loopback")
        || t.contains("127.0.0.1")
        || t.contains("[::1]")
        || (has("local") && (has("only") || has("uniquement") || has("nur")))
        || t.contains("same vm")
        || t.contains("same host") && !t.contains("container")
        || t.contains("this host only") && !t.contains("container")
        || t.contains("только локально")
    {
        return Some(vec![Audience::Localhost]);
    }
    if t.contains("container") && (t.contains("host") || t.contains("docker")) {
        return Some(vec![Audience::HostInternal]);
    }
    let pos_lan = has("pos") && has("lan");
    if pos_lan {
        out.push(Audience::Network("pos-lan".into()));
    }
    // declared networks named in the text
    for name in draft.networks.keys() {
        if has(name)
            && !(pos_lan && name == "lan")
            && !out.contains(&Audience::Network(name.clone()))
        {
            out.push(Audience::Network(name.clone()));
        }
    }
    if has("vpn") && !out.contains(&Audience::Network("vpn".into())) {
        out.push(Audience::Network("vpn".into()));
    }
    if !pos_lan
        && (has("lan") || has("office") || has("filialnetz") || has("büro"))
        && !out.contains(&Audience::Network("lan".into()))
    {
        out.push(Audience::Network("lan".into()));
    }
    for (ip, prefix, at) in super::facts::addresses(&t) {
        // an address in a URL is where the service is, not who reaches it
        if t[..at].ends_with("://") || (prefix.is_none() && t[..at].ends_with('@')) {
            continue;
        }
        if let Some(c) = super::emit::cidr(&match prefix {
            Some(p) => format!("{ip}/{p}"),
            None => ip.to_string(),
        }) {
            let named = draft
                .networks
                .iter()
                .find(|(_, (cs, _))| cs.split(", ").any(|x| x == c))
                .map(|(n, _)| n.clone());
            let a = named.map_or(Audience::Cidr(c), Audience::Network);
            if !out.contains(&a) {
                out.push(a);
            }
        }
    }
    if out.is_empty()
        && (has("internal")
            || has("private")
            || has("admin")
            || has("intranet")
            || has("cluster")
            || has("intern")
            || has("interne")
            || has("interno")
            || has("interna")
            || has("vpc")
            || has("campus")
            || has("vlan")
            || t.contains("внутренн")
            || t.contains("nodes only")
            || t.contains("brokers only")
            || t.contains("только брокеры")
            || has("réseau")
            || has("red"))
    {
        out.push(Audience::Internal);
    }
    Some(out)
}

/// Whether a cell says authentication is required (`yes`, `mTLS`, `yes (scram)`, `ja
/// (LDAP)`, `Zertifikat`) or not (`no`, `none`, `nein`, `anonymous`); `None` when unclear
/// (`per route`).
pub fn auth(text: &str) -> Option<bool> {
    let t = cells::clean(text).to_lowercase();
    let first = words(&t).into_iter().next().unwrap_or_default();
    match first.as_str() {
        "yes" | "ja" | "sí" | "si" | "oui" | "да" | "required" | "mtls" | "mandatory"
        | "zertifikat" | "certificate" | "certificado" | "certificat" | "ldap" | "oauth"
        | "oidc" | "sso" | "basic" | "token" | "password" | "scram" => Some(true),
        "no" | "nein" | "non" | "нет" | "none" | "anonymous" | "anonym" | "ninguna" | "aucune"
        | "off" | "false" => Some(false),
        _ => None,
    }
}

/// Whether a cell says TLS only / HTTPS only (`yes`, `ja`, `sí`, `oui`, `да`).
pub fn yes_no(text: &str) -> Option<bool> {
    let t = cells::clean(text).to_lowercase();
    let first = words(&t).into_iter().next().unwrap_or_default();
    match first.as_str() {
        "yes" | "ja" | "sí" | "si" | "oui" | "да" | "true" | "y" | "only" => Some(true),
        "no" | "nein" | "non" | "нет" | "false" | "n" => Some(false),
        _ => None,
    }
}

/// The app protocol words imply, if any (`web UI` → `http`, `HTTPS` → `https`, `DNS` →
/// `dns`).
pub fn app_from_words(text: &str) -> Option<&'static str> {
    let t = cells::clean(text).to_lowercase();
    let w = words(&t);
    let has = |x: &str| w.iter().any(|y| y == x);
    if has("https") || has("wss") {
        Some(if has("wss") { "wss" } else { "https" })
    } else if has("http")
        || t.contains("web ui")
        || has("ui")
        || has("gui")
        || has("dashboard")
        || has("frontend")
        || has("webui")
        || t.contains("web interface")
        || has("console")
    {
        Some("http")
    } else if has("dns") {
        Some("dns")
    } else if has("dhcp") {
        Some("dhcp")
    } else if has("ntp") {
        Some("ntp")
    } else if has("ssh") || has("sshd") {
        Some("ssh")
    } else if has("mqtt") {
        Some("mqtt")
    } else if has("smtp") {
        Some("smtp")
    } else if has("wireguard") {
        Some("wireguard")
    } else if has("snmp") {
        Some("snmp")
    } else if has("syslog") {
        Some("syslog")
    } else if has("tftp") {
        Some("tftp")
    } else {
        None
    }
}

/// Whether the text says the port speaks TLS (`HTTPS`, `TLS`, `STARTTLS`, `SSL`, `IMAPS`,
/// `mTLS`).
pub fn says_tls(text: &str) -> bool {
    let t = cells::clean(text).to_lowercase();
    let w = words(&t);
    w.iter().any(|x| {
        matches!(
            x.as_str(),
            "https"
                | "tls"
                | "starttls"
                | "ssl"
                | "mtls"
                | "imaps"
                | "smtps"
                | "ldaps"
                | "wss"
                | "dtls"
        )
    })
}

/// The transports a text names: `UDP`, `TCP and UDP`, `tcp+udp` (empty: not said).
pub fn transports(text: &str) -> Vec<portolan_model::spec::Transport> {
    use portolan_model::spec::Transport;
    let t = cells::clean(text).to_lowercase();
    let w = words(&t);
    let tcp = w.iter().any(|x| x == "tcp") || t.contains("/tcp");
    let udp = w.iter().any(|x| x == "udp") || t.contains("/udp");
    match (tcp, udp) {
        (true, true) => vec![Transport::Tcp, Transport::Udp],
        (false, true) => vec![Transport::Udp],
        (true, false) => vec![Transport::Tcp],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audiences() {
        let mut d = Draft::default();
        d.networks
            .insert("kassennetz".into(), ("172.16.20.0/24".into(), 1));
        let a = |t: &str| audience(&d, t);
        assert_eq!(a("Internet"), Some(vec![Audience::Public]));
        assert_eq!(a("nur localhost"), Some(vec![Audience::Localhost]));
        assert_eq!(
            a("office LAN and VPN"),
            Some(vec![
                Audience::Network("vpn".into()),
                Audience::Network("lan".into())
            ])
        );
        assert_eq!(
            a("Kassennetz"),
            Some(vec![Audience::Network("kassennetz".into())])
        );
        assert_eq!(
            a("containers on this host only"),
            Some(vec![Audience::HostInternal])
        );
        assert_eq!(
            a("nodes only (10.44.0.0/24)"),
            Some(vec![Audience::Cidr("10.44.0.0/24".into())])
        );
        assert_eq!(a("red interna"), Some(vec![Audience::Internal]));
        assert_eq!(a("outbound only"), None);
        assert_eq!(a("per route"), Some(vec![]));
        assert!(via_proxy("nginx on the same VM"));
        assert!(via_proxy("solo Apache (local)"));
    }

    #[test]
    fn auth_and_tls() {
        assert_eq!(auth("yes (scram)"), Some(true));
        assert_eq!(auth("mTLS"), Some(true));
        assert_eq!(auth("nein"), Some(false));
        assert_eq!(auth("per route"), None);
        assert_eq!(yes_no("ja"), Some(true));
        assert!(says_tls("submission, STARTTLS required"));
        assert_eq!(app_from_words("comics web UI"), Some("http"));
        assert_eq!(transports("(tcp and udp)").len(), 2);
    }
}
