//! Markdown import: header synonyms, cell forms, mojibake, firewall blocks, secrets, and
//! the three real documents imported, loaded and linted.

use std::fmt::Write as _;
use std::path::Path;

use portolan_discover::markdown::{self, Imported, cells, repair};
use proptest::prelude::*;

fn fixture(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/import")
        .join(name);
    std::fs::read_to_string(p).expect("fixture")
}

fn import_fixture(name: &str) -> Imported {
    markdown::import(name, &fixture(name))
}

/// Loads the imported spec from a temporary directory, as the CLI would.
fn load(spec: &str) -> portolan_model::Model {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ports.toml");
    std::fs::write(&path, spec).expect("write");
    match portolan_model::load(&path) {
        Ok(m) => m,
        Err(e) => panic!("imported spec does not load: {e}\n{spec}"),
    }
}

/// `rule subject…` per finding, sorted.
fn lint(spec: &str) -> Vec<String> {
    let model = load(spec);
    let report = portolan_lint::lint(&model).expect("lint config");
    let mut out: Vec<String> = report
        .findings
        .iter()
        .map(|f| format!("{} {}", f.rule.id(), f.subjects.join(" ")))
        .collect();
    out.sort();
    out
}

fn count(findings: &[String], prefix: &str) -> usize {
    findings.iter().filter(|f| f.starts_with(prefix)).count()
}

fn notes(imp: &Imported) -> Vec<String> {
    imp.report
        .problems
        .iter()
        .map(|p| format!("{}: {}", p.at.line, p.reason))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Pieces

#[test]
fn header_synonyms_name_the_columns() {
    use cells::Column::*;
    for (h, c) in [
        ("Service", Service),
        ("**Name**", Service),
        ("Component", Service),
        ("App", Service),
        ("Port", Port),
        ("Host Port", Port),
        ("Ports", Port),
        ("External Port", Port),
        ("Container Port", ContainerPort),
        ("Internal Port", ContainerPort),
        ("PROTOCOL", Protocol),
        ("Transport", Protocol),
        ("Purpose", Purpose),
        ("Description", Purpose),
        ("Notes", Purpose),
        ("Access", Access),
        ("Exposure", Access),
        ("Visibility", Access),
        ("Bind", Bind),
        ("Status", Status),
        ("State", Status),
        ("Env", Environment),
        ("Stage", Environment),
        ("Evidence", Evidence),
        ("Source", Evidence),
        ("Port Range", Range),
        ("Block", Range),
        ("Project", Project),
        ("Owner", Project),
        ("Team", Project),
        ("Server", Host),
        ("Host", Host),
        ("Address", Bind),
    ] {
        assert_eq!(cells::column(h), Some(c), "{h}");
    }
    assert_eq!(cells::column("Favourite colour"), None);
}

#[test]
fn cells_in_every_form() {
    let ports = |s: &str| -> Vec<String> {
        cells::ports(s)
            .expect(s)
            .iter()
            .map(|c| c.port.to_string())
            .collect()
    };
    assert_eq!(ports("80, 443"), ["80", "443"]);
    assert_eq!(ports("5401-5431, 5433-5499"), ["5401-5431", "5433-5499"]);
    assert_eq!(ports("**8069**"), ["8069"]);
    assert_eq!(ports("`8069`"), ["8069"]);
    assert_eq!(ports("[8000](http://localhost:8000)"), ["8000"]);
    assert_eq!(ports("5000:5399"), ["5000-5399"]);
    assert_eq!(ports("5000–5399"), ["5000-5399"]);
    assert_eq!(ports("8069 (web)"), ["8069"]);
    assert_eq!(ports("80<br>443"), ["80", "443"]);
    for empty in ["N/A", "-", "—", "", "n/a", "TBD"] {
        assert!(ports(empty).is_empty(), "{empty}");
    }
    let c = &cells::ports("127.0.0.1:5432/tcp").expect("bind")[0];
    assert_eq!(c.bind.map(|b| b.to_string()).as_deref(), Some("127.0.0.1"));
    assert_eq!(c.transport, Some(portolan_model::spec::Transport::Tcp));
    assert!(
        cells::ports("8069/udp").expect("udp")[0].transport
            == Some(portolan_model::spec::Transport::Udp)
    );
    assert!(cells::ports("seventy").is_err());
    assert!(cells::ports("70000").is_err());
    assert_eq!(cells::clean("&lt;b&gt; **x** &amp; `y`"), "<b> x & y");
}

#[test]
fn mojibake_is_repaired() {
    assert_eq!(repair::mojibake("a â€” b"), "a — b");
    assert_eq!(repair::mojibake("RÃ©seau"), "Réseau");
    assert_eq!(repair::mojibake("HTTP ‚Üí HTTPS"), "HTTP → HTTPS");
    assert_eq!(repair::mojibake("## üîå Ports"), "## 🔌 Ports");
    assert_eq!(repair::mojibake("Größe → café"), "Größe → café");
    // In a table cell too: the service keeps its real name.
    let doc = "| Service | Port |\n|---|---|\n| CafÃ© API | 8080 |\n";
    let imp = markdown::import("m.md", doc);
    assert!(imp.spec.contains("Café API"), "{}", imp.spec);
}

#[test]
fn firewall_blocks_become_host_rules() {
    let doc = "# Ports\n\n## Production\n\n| Service | Port | Access |\n|---|---|---|\n| API | 8080 | internal only |\n\n```bash\n# office LAN only\nsudo ufw allow from 192.168.5.0/24 to any port 8080 proto tcp\nsudo ufw allow 8080/tcp\nufw default deny incoming\n```\n";
    let imp = markdown::import("f.md", doc);
    assert!(imp.spec.contains("[hosts.prod.firewall]"), "{}", imp.spec);
    assert!(
        imp.spec.contains("lan = \"192.168.5.0/24\""),
        "{}",
        imp.spec
    );
    assert!(imp.spec.contains("from = \"lan\""), "{}", imp.spec);
    // `ufw allow 8080/tcp` opens the internal API to everyone.
    assert_eq!(
        lint(&imp.spec),
        [
            "internal-exposed api.http-alt",
            "public-without-tls api.http-alt"
        ]
    );
}

#[test]
fn secrets_are_redacted_and_located() {
    let doc = "# Ops\n\n```bash\nPGPASSWORD='hunter2x' psql -h db\nmysql --password=s3cr3tpw -h db\n```\n\n- **Password:** Tr0ub4dor\n- DATABASE_URL: postgresql://app:pa55word@db:5432/app\n";
    let imp = markdown::import("s.md", doc);
    let lines: Vec<u32> = imp.report.secrets.iter().map(|l| l.line).collect();
    assert_eq!(lines, [4, 5, 8, 9]);
    let all = format!("{}{:?}", imp.spec, imp.report);
    for secret in ["hunter2x", "s3cr3tpw", "Tr0ub4dor", "pa55word"] {
        assert!(!all.contains(secret), "{secret} leaked");
    }
}

#[test]
fn compose_blocks_publish_onto_the_table_services() {
    // Depends on `crate::compose::parse` (short syntax) or the import's own fallback.
    let doc = "## Services\n\n| Service | Port | Access |\n|---|---|---|\n| Web | 8069 | LAN only |\n\n## Development\n\n```yaml\nservices:\n  web:\n    ports:\n      - \"8069:8069\"\n  db:\n    ports:\n      - \"127.0.0.1:5432:5432\"\n```\n";
    let imp = markdown::import("c.md", doc);
    assert!(
        imp.spec.contains("[services.web.env.development]"),
        "{}",
        imp.spec
    );
    assert!(
        imp.spec.contains(
            "bindings.odoo = { target = 8069, publisher = \"docker\", bind = \"0.0.0.0\" }"
        ),
        "{}",
        imp.spec
    );
    assert!(imp.spec.contains("[services.db]"), "{}", imp.spec);
    let model = load(&imp.spec);
    assert_eq!(model.services.len(), 2);
}

#[test]
fn greps_that_check_other_ranges_are_noted() {
    let doc = "| Project | Port Range |\n|---|---|\n| Hub | 5400-5499 |\n\n```bash\n# Check Hub ports\nss -tlnp | grep -E \":(55[0-9][0-9])\"\n```\n";
    let imp = markdown::import("g.md", doc);
    assert_eq!(
        notes(&imp),
        [
            "7: `grep` for \"Check Hub ports\" matches ports 5500-5599, but project `hub`'s range is 5400-5499"
        ]
    );
}

// ---------------------------------------------------------------------------------------
// The three real documents

#[test]
fn opticserp_port_reference() {
    let imp = import_fixture("opticserp-port-reference.md");
    insta::assert_snapshot!("opticserp-port-reference", imp.spec);
    let f = lint(&imp.spec);
    assert_eq!(
        f,
        [
            // 2. compose publishes the LAN-only KKT adapter and longpolling past ufw
            "docker-bypasses-firewall kkt-adapter.http",
            "docker-bypasses-firewall odoo-longpolling.http",
            // 2. and 4. (dev: published to the world; prod: the other "LAN")
            "internal-exposed kkt-adapter.http",
            "internal-exposed kkt-adapter.http",
            // 6. "admin only" SSH allowed from anywhere (dev and prod)
            "internal-exposed ssh.ssh",
            "internal-exposed ssh.ssh",
            // 1. and 3. cleartext HTTP reachable from the Internet
            "public-without-tls kkt-adapter.http",
            "public-without-tls odoo-longpolling.http",
            "public-without-tls odoo-web.http",
            // 12. Prometheus and Grafana over the VPN without authentication
            "sensitive-without-auth grafana.http",
            "sensitive-without-auth prometheus.http",
        ]
    );
    assert!(imp.report.secrets.is_empty());
}

#[test]
fn es_dashboards_port_guide() {
    let imp = import_fixture("es-dashboards-port-guide.md");
    insta::assert_snapshot!("es-dashboards-port-guide", imp.spec);
    let f = lint(&imp.spec);
    // 7./9.: the ufw ranges open all 25 dashboards and the API (0.0.0.0, no TLS) to everyone
    assert_eq!(count(&f, "internal-exposed"), 27);
    assert_eq!(count(&f, "public-without-tls"), 27);
    assert!(f.contains(&"public-without-tls api-server.http".to_string()));
    // 15.: nginx in the dashboard project, outside its range
    assert!(f.contains(&"out-of-range nginx-reverse-proxy.http".to_string()));
    assert!(f.contains(&"out-of-range nginx-reverse-proxy.https".to_string()));
    // 1.: PostgreSQL inside the Hub's range, and opened by ufw
    assert!(f.contains(&"well-known-collision es-inventory-hub".to_string()));
    assert!(f.contains(&"sensitive-without-auth postgresql.postgres".to_string()));
    // 16.: the "available" blocks are full
    assert_eq!(count(&f, "range-exhausted dashboard-project"), 2);
    // 7.: the single-port ufw rules (5000, 5001, 5400, 5432) come after the ranges that
    // already open them, and the ranges open ports no binding declares
    assert_eq!(count(&f, "shadowed-rule"), 4);
    assert_eq!(count(&f, "rule-without-listener"), 2);
    assert_eq!(f.len(), 27 + 27 + 2 + 1 + 1 + 2 + 4 + 2);
    let n = notes(&imp);
    // 6.: greps of the wrong ranges, and one that can never match
    assert!(
        n.iter()
            .any(|x| x.starts_with("254: ") && x.contains("5500-5599") && x.contains("5400-5499")),
        "{n:?}"
    );
    assert!(
        n.iter()
            .any(|x| x.starts_with("251: ") && x.contains("5000-5499")),
        "{n:?}"
    );
    assert!(
        n.iter()
            .any(|x| x.starts_with("263: ") && x.contains("always prints nothing")),
        "{n:?}"
    );
    // 5.: the log's KPI Wall port is its container port
    assert!(
        n.iter()
            .any(|x| x.starts_with("304: ") && x.contains("5011")),
        "{n:?}"
    );
    // 8.: Flask's debugger on every interface
    assert!(
        n.iter()
            .any(|x| x.starts_with("101: ") && x.contains("debug")),
        "{n:?}"
    );
}

#[test]
fn business_platform_network() {
    let imp = import_fixture("business-platform-network.md");
    insta::assert_snapshot!("business-platform-network", imp.spec);
    let f = lint(&imp.spec);
    assert_eq!(
        f,
        [
            // 4. the CRM (runserver and gunicorn on 0.0.0.0) is reachable around nginx
            "internal-exposed crm-system.http",
            "internal-exposed crm-system.http-8083",
            // 3. Django on 0.0.0.0:8000, opened by the firewall
            "internal-exposed primary-platform.http",
            // 2. the "internal" Stripe dashboard behind nginx's public catch-all on :80
            "internal-exposed stripe-dashboard.http",
            "public-without-tls crm-system.http",
            "public-without-tls crm-system.http-8083",
            "public-without-tls nginx.http",
            "public-without-tls primary-platform.http",
        ]
    );
    // 10. the database password in the psql command
    assert_eq!(imp.report.secrets.len(), 1);
    assert_eq!(imp.report.secrets[0].line, 218);
    assert!(!imp.spec.contains("5514") && !format!("{:?}", imp.report).contains("5514"));
    let n = notes(&imp);
    // 1. Stripe on 8081 or 8006; 17. the unanchored grep
    assert!(
        n.iter()
            .any(|x| x.starts_with("42: ") && x.contains("8006")),
        "{n:?}"
    );
    assert!(
        n.iter()
            .any(|x| x.starts_with("237: ") && x.contains("STRIPE_PORT=8006")),
        "{n:?}"
    );
    assert!(
        n.iter()
            .any(|x| x.starts_with("205: ") && x.contains("not anchored")),
        "{n:?}"
    );
}

#[test]
fn import_is_deterministic() {
    let text = fixture("opticserp-port-reference.md");
    let a = markdown::import("x.md", &text);
    let b = markdown::import("x.md", &text);
    assert_eq!(a.spec, b.spec);
    assert_eq!(a.report, b.report);
}

// ---------------------------------------------------------------------------------------
// Properties

/// (service name, port) pairs of a loaded spec.
fn service_ports(spec: &str) -> Vec<(String, u16)> {
    let model = load(spec);
    let mut out: Vec<(String, u16)> = model
        .bindings
        .iter()
        .map(|b| (model.service(b.service).name.clone(), b.ports.lo))
        .collect();
    out.sort();
    out.dedup();
    out
}

fn decorate(s: &str, style: u8) -> String {
    match style % 5 {
        0 => s.to_string(),
        1 => format!("**{s}**"),
        2 => format!("`{s}`"),
        3 => format!(" {s} "),
        _ => format!("[{s}](http://example.invalid/{s})"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn arbitrary_text_never_panics(text in "(?s).{0,400}") {
        let _ = markdown::import("p.md", &text);
    }

    #[test]
    fn markdown_shaped_noise_never_panics(lines in proptest::collection::vec(
        prop_oneof![
            Just("| Service | Port | Access |".to_string()),
            Just("|---|---|---|".to_string()),
            Just("```bash".to_string()),
            Just("```yaml".to_string()),
            Just("```".to_string()),
            Just("services:".to_string()),
            Just("  web:".to_string()),
            Just("    ports:".to_string()),
            Just("      - \"80:80\"".to_string()),
            Just("sudo ufw allow from 10.0.0.0/8 to any port 22".to_string()),
            Just("iptables -A INPUT -p tcp --dport 1:2 -j ACCEPT".to_string()),
            Just("ss -tlnp | grep -E \"(\"".to_string()),
            Just("## Production".to_string()),
            Just("- **Port:** 80, x".to_string()),
            "[ -~]{0,30}".prop_map(|s| s),
            "\\|[ -~]{0,20}\\|[ -~]{0,10}".prop_map(|s| s),
        ], 0..40)) {
        let _ = markdown::import("p.md", &lines.join("\n"));
    }

    #[test]
    fn column_order_and_cell_markup_do_not_change_the_result(
        rows in proptest::collection::btree_map("[a-z]{3,8}", 1024u16..60000, 1..6),
        order in Just([0usize, 1, 2]).prop_shuffle(),
        styles in proptest::collection::vec(0u8..5, 24),
        upper in any::<bool>(),
    ) {
        // Distinct ports, so that no two rows collapse into one binding; and no name that
        // means "no value" in a cell (`tbd`, `none`, …), which the import rightly skips.
        let mut seen = std::collections::BTreeSet::new();
        let placeholder = ["none", "null", "nil", "tbd", "tba"];
        let rows: Vec<(String, u16)> = rows
            .into_iter()
            .filter(|(n, p)| !placeholder.contains(&n.as_str()) && seen.insert(*p))
            .collect();
        let header = ["Service", "Port", "Purpose"];
        let h = |i: usize| if upper { header[i].to_uppercase() } else { header[i].to_string() };
        let mut doc = format!("| {} | {} | {} |\n|---|---|---|\n", h(order[0]), h(order[1]), h(order[2]));
        let mut plain = String::from("| Service | Port | Purpose |\n|---|---|---|\n");
        for (i, (name, port)) in rows.iter().enumerate() {
            let cellv = |c: usize| -> String {
                let raw = match c { 0 => name.clone(), 1 => port.to_string(), _ => "does things".to_string() };
                decorate(&raw, styles[(i * 3 + c) % styles.len()])
            };
            let _ = writeln!(doc, "| {} | {} | {} |", cellv(order[0]), cellv(order[1]), cellv(order[2]));
            let _ = writeln!(plain, "| {name} | {port} | does things |");
        }
        let got = service_ports(&markdown::import("t.md", &doc).spec);
        let want = service_ports(&markdown::import("t.md", &plain).spec);
        let mut expected: Vec<(String, u16)> = rows.clone();
        expected.sort();
        prop_assert_eq!(&want, &expected);
        prop_assert_eq!(got, want);
    }
}
