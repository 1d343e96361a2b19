//! Which way a table or section points: ports something here listens on, or connections
//! this system makes to others (`SaaS` APIs on 443, an SMTP relay, an NTP pool). Decided from
//! the heading and the column names, in English, German, Spanish, French and Russian
//! (`Outbound`, `Egress`, `External APIs we call`, `Dependencies`, `Destination`,
//! `Ausgehende Verbindungen`, `Dependencias externas (salientes)`, `Flux sortants`,
//! `Исходящие соединения`). Rows of an outbound table become `[[flows]]`, never listeners:
//! a Stripe row read as a listener on 443 would collide with the real public 443.

/// Words of a heading (or table caption) that say the rows are outbound.
const OUTBOUND_HEADING: &[&str] = &[
    "outbound",
    "egress",
    "outgoing",
    "external api",
    "external service",
    "external dependenc",
    "third-party",
    "third party",
    "dependencies",
    "we call",
    "calls out",
    "connects to",
    "connections made",
    "upstream provider",
    "saas",
    "clients, not servers",
    // German
    "ausgehend",
    "abhängigkeit",
    "externe dienste",
    "externe schnittstellen",
    // Spanish
    "saliente",
    "dependencias",
    "servicios externos",
    // French
    "sortant",
    "dépendances",
    "dependances",
    "services externes",
    // Russian
    "исходящ",
    "внешние сервисы",
    "зависимост",
];

/// Words of a heading that say the rows listen here, even if an outbound word appears too
/// ("Inbound and outbound" is not outbound-only).
const INBOUND_HEADING: &[&str] = &[
    "inbound",
    "incoming",
    "listen",
    "eingehend",
    "entrante",
    "entrant",
    "входящ",
];

/// Column names that only an outbound table has.
const OUTBOUND_COLUMNS: &[&str] = &[
    "destination",
    "endpoint",
    "provider",
    "remote host",
    "remote",
    "target host",
    "called by",
    "used by",
    "connects to",
    "connection",
    "connection string",
    "dsn",
    "verbindung",
    "conexión",
    "cadena de conexión",
    "подключение",
    "caller",
    "calls",
    "connects to",
    "ziel",
    "zielhost",
    "anbieter",
    "destino",
    "proveedor",
    "servicio externo",
    "fournisseur",
    "назначение",
    "провайдер",
];

/// Whether a heading says its tables/lists are outbound connections.
pub fn outbound_heading(heading: &str) -> bool {
    let h = heading.to_lowercase();
    OUTBOUND_HEADING.iter().any(|w| h.contains(w)) && !INBOUND_HEADING.iter().any(|w| h.contains(w))
}

/// Whether a column name belongs to an outbound table.
pub fn outbound_column(header: &str) -> bool {
    let h = super::cells::clean(header).to_lowercase();
    let h = h.trim_end_matches([':', ' ', '.']);
    OUTBOUND_COLUMNS.contains(&h)
        || h.starts_with("outbound")
        || h.starts_with("egress")
        || h.starts_with("external ")
}

/// Whether a table is outbound: its heading or caption (a text line right above it) says
/// so, or one of its columns only an outbound table has.
pub fn outbound_table(headings: &[String], caption: Option<&str>, header: &[String]) -> bool {
    if caption.is_some_and(outbound_heading) {
        return true;
    }
    let inner = headings.last().map_or("", String::as_str);
    if outbound_heading(inner) {
        return true;
    }
    let il = inner.to_lowercase();
    if INBOUND_HEADING.iter().any(|w| il.contains(w)) {
        return false;
    }
    if header.iter().any(|h| outbound_column(h)) {
        return true;
    }
    // a section above (`## Outbound` › `### Payments`) counts unless a nearer heading says
    // inbound
    for h in headings.iter().rev().skip(1) {
        let l = h.to_lowercase();
        if INBOUND_HEADING.iter().any(|w| l.contains(w)) {
            return false;
        }
        if outbound_heading(h) {
            return true;
        }
    }
    false
}

/// Whether a sentence or list item describes a connection this system makes rather than a
/// port it listens on (`calls https://api.adyen.com`, `pushes traces to x:4317`, `Redis at
/// cache:6379` under a "clients" heading).
pub fn outbound_sentence(text: &str) -> bool {
    let t = text.to_lowercase();
    [
        " calls ",
        " call ",
        "calls `",
        " pushes ",
        " sends ",
        " connects to",
        " talks to",
        " goes out",
        " go out",
        " fetches ",
        " uploads",
        " downloads ",
        " reports to",
        " polls ",
        " posts to",
        " relay ",
        " endpoint is",
        "backups go to",
        "goes to",
        " ruft ",
        " sendet ",
        " verbindet sich",
        " llama a",
        " envía ",
        " conecta con",
        " appelle ",
        " envoie ",
        " se connecte",
        " обращается",
        " отправляет",
        " подключается",
    ]
    .iter()
    .any(|w| t.contains(w) || t.starts_with(w.trim_start()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_string()).collect()
    }

    #[test]
    fn headings_and_columns() {
        for heading in [
            "External APIs we call",
            "Outbound dependencies",
            "Ausgehende Verbindungen",
            "Dependencias externas (salientes)",
            "Flux sortants",
            "Исходящие соединения",
            "Clients, not servers",
        ] {
            assert!(outbound_heading(heading), "{heading}");
        }
        for heading in [
            "Inbound",
            "Services",
            "Eingehende Dienste",
            "Inbound and outbound",
        ] {
            assert!(!outbound_heading(heading), "{heading}");
        }
        assert!(outbound_table(
            &h(&["Ports"]),
            None,
            &h(&["Service", "Destination", "Port"])
        ));
        assert!(outbound_table(
            &h(&["Network", "Outbound", "Payments"]),
            None,
            &h(&["Name", "Port"])
        ));
        assert!(!outbound_table(
            &h(&["Outbound", "Inbound"]),
            None,
            &h(&["Service", "Port"])
        ));
        assert!(outbound_table(
            &h(&["External APIs we call"]),
            Some("nothing here listens on our side"),
            &h(&["Provider", "Port"])
        ));
        assert!(outbound_table(
            &h(&["Lighthouse"]),
            Some("Outbound dependencies (what the helpdesk calls)"),
            &h(&["Service", "Port"])
        ));
        assert!(!outbound_table(
            &h(&["Ports"]),
            None,
            &h(&["Service", "Port", "Access"])
        ));
    }
}
