//! `portolan import` as a user drives it: `--json` is JSON (the spec as data and the explain
//! report), `--explain` accounts for every part with its lines, `-` reads standard input in
//! any encoding, and bad input is exit 2 naming the file and line without writing anything.

use assert_cmd::Command;

use crate::harness::Case;

/// A document unlike the examples: a host sentence, an intent column, an outbound table, a
/// table without ports, and a compose block holding a secret.
const DOC: &str = "\
# Inventory service — ports

Runs on **inv-1** (10.4.0.7).

| Component | Port | Reachable from |
|---|---|---|
| inventory-api | 8010 | internal |
| inventory-ui | 443 | internet |

## Outbound

| Provider | Host | Port |
|---|---|---|
| Postmark | api.postmarkapp.com | 443 |

## Release history

| Version | Date | Build |
|---|---|---|
| 4.2 | 2024-03-01 | 8812 |

```yaml
services:
  cache:
    image: redis:7
    environment:
      REDIS_PASSWORD: hunter2-very-secret
    ports:
      - \"6379:6379\"
```
";

const SECRET: &str = "hunter2-very-secret";

#[test]
fn import_json_is_the_spec_as_data_with_the_explain_report() {
    let out = Case::new()
        .file("inventory.md", DOC)
        .args(["--json", "import", "inventory.md"])
        .run()
        .success();
    assert!(!out.stdout.contains(SECRET) && !out.stderr.contains(SECRET));
    let v = out.json();
    assert_eq!(v["document"], "inventory.md");
    let spec = &v["spec"];
    assert_eq!(
        spec["services"]["inventory-api"]["bindings"]["port-8010"]["port"],
        8010
    );
    assert_eq!(
        spec["services"]["inventory-ui"]["bindings"]["https"]["exposure"],
        "public"
    );
    // the outbound row is a flow, never a listener on 443
    let flows = spec["flows"].as_array().expect("flows");
    assert_eq!(flows.len(), 1, "{flows:?}");
    assert_eq!(flows[0]["to"], "api.postmarkapp.com:443");
    assert!(spec["services"].get("postmark").is_none(), "{spec}");
    // the compose block survived redaction: its publish is there
    assert_eq!(spec["services"]["cache"]["bindings"]["redis"]["port"], 6379);
    // every part with its lines; the table without ports says why it was not used
    let parts = v["explain"].as_array().expect("explain");
    let history = parts
        .iter()
        .find(|p| p["first"] == 18)
        .expect("the release table is accounted for");
    assert_eq!(history["last"], 20);
    assert!(
        history["unused"]
            .as_str()
            .is_some_and(|u| u.contains("no port column")),
        "{history}"
    );
    assert_eq!(v["secrets"][0]["line"], 27, "{}", v["secrets"]);
}

#[test]
fn import_explain_accounts_for_every_part_and_still_writes_with_output() {
    let c = Case::new().file("inventory.md", DOC).args([
        "import",
        "inventory.md",
        "--explain",
        "-o",
        "ports.toml",
    ]);
    let out = c.run().success();
    for want in [
        "inventory.md: 31 lines, read as utf-8",
        "5-8  table under \"Inventory service — ports\": 2 listeners",
        "12-14  table under \"Outbound\": 1 flow",
        "18-20  table under \"Release history\": NOT USED: no port column",
        "22-30  code block ```yaml (compose)",
    ] {
        assert!(out.stdout.contains(want), "lacks {want:?}:\n{}", out.stdout);
    }
    // stderr: the unused table and the secret, located; then the summary
    assert!(
        out.stderr
            .contains("inventory.md:18: table (lines 18-20) not used"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("inventory.md:27:"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("4 services with 3 listeners on 1 host, 1 flow, 0 routes"),
        "{}",
        out.stderr
    );
    let spec = std::fs::read_to_string(c.path().join("ports.toml")).expect("written");
    assert!(spec.contains("[services.inventory-api]") && !spec.contains(SECRET));
}

#[test]
fn import_reads_standard_input_in_any_encoding() {
    // UTF-16 LE with BOM and CRLF, as a Windows editor saves it
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(
        DOC.replace('\n', "\r\n")
            .encode_utf16()
            .flat_map(u16::to_le_bytes),
    );
    let out = Command::cargo_bin("portolan")
        .expect("binary")
        .args(["import", "-"])
        .env("NO_COLOR", "1")
        .write_stdin(bytes)
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("[services.inventory-api]"), "{stdout}");
    assert!(stdout.contains("# from stdin:7"), "{stdout}");
    assert!(!stdout.contains(SECRET) && !stderr.contains(SECRET));
}

#[test]
fn import_of_bad_input_is_exit_2_with_a_location_and_writes_nothing() {
    let cases: [(&str, &[u8], &str); 4] = [
        ("empty.md", b"", "empty.md:1:1: empty document"),
        (
            "image.md",
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x01\0",
            "image.md:1:1: not a text document",
        ),
        (
            "prose.md",
            "# Team handbook\n\nWe meet on Mondays. Ask Ana about 2024 budgets.\n".as_bytes(),
            "prose.md:1:1: nothing to import",
        ),
        (
            "latin1.md",
            b"\xff\xfe\xff\xfe\x00\xd8\x00\xd8",
            "latin1.md:1:1:",
        ),
    ];
    for (name, bytes, want) in cases {
        let c = Case::new()
            .file(name, bytes)
            .args(["import", name, "-o", "ports.toml"]);
        c.run().code(2).no_panic().stderr_has(want);
        assert!(
            !c.path().join("ports.toml").exists(),
            "{name}: wrote a spec"
        );
    }
    // an existing spec is never overwritten without --force, and stays as it was
    let c = Case::new()
        .file("inventory.md", DOC)
        .file("ports.toml", "# mine\n")
        .args(["import", "inventory.md", "-o", "ports.toml"]);
    c.run().code(2).stderr_has("already exists");
    assert_eq!(
        std::fs::read_to_string(c.path().join("ports.toml")).expect("spec"),
        "# mine\n"
    );
}

#[test]
fn import_of_a_half_damaged_document_keeps_the_readable_half_and_names_the_rest() {
    let mut bytes = b"# Ports\n\n| Service | Port |\n|---|---|\n| api | 8010 |\n".to_vec();
    bytes.extend(b"\0\0\x01\x02\xff\xfe garbage \x00\x07\n");
    bytes.extend(b"| worker | 8011 |\n\nThe metrics endpoint listens on 9464.\n");
    let out = Case::new()
        .file("damaged.md", &bytes)
        .args(["import", "damaged.md"])
        .run()
        .success()
        .no_panic();
    // the table goes on across the unreadable line
    for port in ["port = 8010", "port = 8011", "port = 9464"] {
        assert!(out.stdout.contains(port), "lacks {port}:\n{}", out.stdout);
    }
    assert!(out.stderr.contains("damaged.md:6"), "{}", out.stderr);
    assert!(out.stderr.contains("1 unreadable line"), "{}", out.stderr);
}
