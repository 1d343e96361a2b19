//! What the import does with input that is not a tidy UTF-8 document: any bytes (never a
//! panic), encodings (BOM, UTF-16 LE/BE, CRLF), a half-damaged document (the readable half
//! is imported, the rest listed), a large document (it finishes; the time is measured by
//! `bench/import.sh`), nothing to import (a located error), and redaction that must not
//! change what a block means.

use std::fmt::Write as _;

use portolan_discover::markdown::{self, ImportError};
use proptest::prelude::*;

fn utf16le(s: &str) -> Vec<u8> {
    let mut v = vec![0xFF, 0xFE];
    v.extend(s.encode_utf16().flat_map(u16::to_le_bytes));
    v
}

fn utf16be(s: &str) -> Vec<u8> {
    let mut v = vec![0xFE, 0xFF];
    v.extend(s.encode_utf16().flat_map(u16::to_be_bytes));
    v
}

const DOC: &str = "# Ports\n\n| Dienst | Port | Erreichbar von |\n|---|---|---|\n| Grafana | 3000 | intern |\n| Größenmesser | 9100 | intern |\n";

#[test]
fn every_encoding_imports_the_same_spec() {
    let plain = markdown::import_bytes("d.md", DOC.as_bytes()).expect("utf-8");
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend(DOC.replace('\n', "\r\n").as_bytes());
    for (what, bytes) in [
        ("utf-8 BOM + CRLF", bom),
        ("utf-16le", utf16le(DOC)),
        ("utf-16be", utf16be(DOC)),
    ] {
        let imp = markdown::import_bytes("d.md", &bytes).expect(what);
        assert_eq!(imp.spec, plain.spec, "{what}");
    }
    assert!(plain.spec.contains("[services.grossenmesser]") || plain.spec.contains("Größenmesser"));
}

#[test]
fn half_unreadable_document_imports_the_readable_half_and_lists_the_rest() {
    let mut bytes = b"# Ports\n\n| Service | Port |\n|---|---|\n| api | 8080 |\n\n".to_vec();
    bytes.extend(b"\x00\x01\x02\xfe\xff\x00\x10 binary junk \x00\x00\n");
    bytes.extend(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\n");
    bytes.extend(b"\n| Service | Port |\n|---|---|\n| worker | 9000 |\n");
    let imp = markdown::import_bytes("half.md", &bytes).expect("readable half");
    assert!(imp.spec.contains("[services.api]"), "{}", imp.spec);
    assert!(imp.spec.contains("[services.worker]"), "{}", imp.spec);
    // line 7 is junk; the PNG header is lines 8-10 (its CR and LF end lines too)
    let unreadable: Vec<usize> = imp.explain.unreadable.iter().map(|(l, _)| *l).collect();
    assert_eq!(unreadable, [7, 8, 9, 10], "{:?}", imp.explain.unreadable);
    let warnings = imp.warnings().join("\n");
    assert!(warnings.contains("half.md:7: line not read"), "{warnings}");
}

#[test]
fn nothing_to_import_is_an_error_with_a_location() {
    let e = markdown::import_bytes(
        "notes.md",
        b"# Notes\n\nWe met on Tuesday and 12 people came.\n",
    )
    .expect_err("nothing");
    assert!(matches!(e, ImportError::NothingUsable { .. }));
    assert!(
        e.to_string().starts_with("notes.md:1:1: nothing to import"),
        "{e}"
    );
    let e = markdown::import_bytes("x.md", b"").expect_err("empty");
    assert_eq!(e.to_string(), "x.md:1:1: empty document");
    let e = markdown::import_bytes("x.md", b"\x00\x01\x02\x03").expect_err("binary");
    assert!(
        e.to_string().starts_with("x.md:1:1: not a text document"),
        "{e}"
    );
}

#[test]
fn a_large_document_finishes() {
    // 1 MB of the shapes the import reads, repeated: tables, lists, prose, code blocks,
    // firewall commands, HTML. 5 MB documents are timed by bench/import.sh (BENCHMARKS.md);
    // here it
    // must only finish and stay correct.
    let mut doc = String::from("# Big\n\n");
    let mut i = 0u32;
    while doc.len() < 1024 * 1024 {
        let p = 1024 + (i % 60000);
        let _ = write!(
            doc,
            "## Host h{i}\n\n| Service | Port | Access |\n|---|---|---|\n| svc{i} | {p} | internal |\n\n- item{i} → {p}\n\nThe daemon{i} listens on {p}.\n\n```bash\nsudo ufw allow {p}/tcp\ndocker run --name c{i} -p 127.0.0.1:{p}:80 img\n```\n\n<table><tr><th>Name</th><th>Port</th></tr><tr><td>h{i}</td><td>{p}</td></tr></table>\n\n"
        );
        i += 1;
    }
    let imp = markdown::import_bytes("big.md", doc.as_bytes()).expect("imports");
    assert!(imp.totals.bindings > 1000, "{:?}", imp.totals);
}

#[test]
fn redaction_keeps_a_compose_block_parseable() {
    // Regression ("unknown anchor"): `POSTGRES_PASSWORD: ***` is a YAML alias to an anchor
    // that does not exist, so the whole compose block — and its `5432:5432` publish, the
    // finding it proves — used to disappear.
    let doc = "# DB\n\n| Service | Port | Access |\n|---|---|---|\n| postgres | 5432 | localhost only |\n\n```yaml\nservices:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: Hx7corralTide\n    command: [\"postgres\", \"-c\", \"password_encryption=scram-sha-256\"]\n    ports:\n      - \"5432:5432\"\n  cache:\n    image: redis:7\n    command: redis-server --requirepass Qe4lantern77\n```\n";
    let imp = markdown::import_bytes("db.md", doc.as_bytes()).expect("imports");
    assert!(
        imp.spec
            .contains("publisher = \"docker\", bind = \"0.0.0.0\""),
        "the publish is lost:\n{}",
        imp.spec
    );
    let everything = format!(
        "{}{}{}{}",
        imp.spec,
        imp.to_json(),
        imp.explain_text(),
        imp.warnings().join("\n")
    );
    for secret in ["Hx7corralTide", "Qe4lantern77"] {
        assert!(!everything.contains(secret), "{secret} printed");
    }
    assert_eq!(imp.report.secrets.len(), 2);
    assert!(
        !imp.report
            .problems
            .iter()
            .any(|p| p.reason.contains("anchor")),
        "{:?}",
        imp.report.problems
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = markdown::import_bytes("p.md", &bytes);
    }

    #[test]
    fn utf16_of_any_text_never_panics(text in "(?s).{0,300}", be in any::<bool>()) {
        let bytes = if be { utf16be(&text) } else { utf16le(&text) };
        let _ = markdown::import_bytes("p.md", &bytes);
    }
}
