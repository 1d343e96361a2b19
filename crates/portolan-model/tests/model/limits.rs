//! The loader's bounds on hostile input (issue 12, item 1): only regular files, opened so a
//! FIFO cannot block; a size cap checked before reading; a NUL byte ends the read; keys and
//! values nested past the parser's limit give a located error, not a crash.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use portolan_model::{LoadError, LoadOptions, MAX_SPEC_BYTES, load, load_with};

const VALID: &str = "[hosts.web]\naddresses = [\"10.0.0.5\"]\n";

/// Loads `path` on another thread; a load that has not returned after a minute is a hang.
fn load_or_hang(path: &Path) -> Result<portolan_model::Model, LoadError> {
    let (tx, rx) = mpsc::channel();
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        let _ = tx.send(load(&path));
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("the load returned (it hung on the file)")
}

/// `(line, column)` of the first error of an invalid spec.
fn first_error(e: &LoadError) -> (usize, usize, String) {
    let LoadError::Invalid { sources, errors } = e else {
        panic!("expected a located error, got {e}");
    };
    let loc = errors[0].loc.expect("located");
    let p = sources.position(loc);
    (p.line, p.column, errors[0].message.clone())
}

#[test]
fn a_fifo_named_ports_toml_is_refused_without_waiting_for_a_writer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("ports.toml");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
    let err = load_or_hang(&fifo).expect_err("a FIFO is not a spec");
    assert!(
        matches!(err, LoadError::NotRegular { kind: "FIFO", .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("ports.toml is a FIFO, not a regular file"),
        "{err}"
    );
}

#[test]
fn a_spec_symlinked_to_dev_zero_is_refused_before_reading() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = dir.path().join("ports.toml");
    std::os::unix::fs::symlink("/dev/zero", &spec).expect("symlink");
    let err = load_or_hang(&spec).expect_err("a device is not a spec");
    assert!(
        matches!(
            err,
            LoadError::NotRegular {
                kind: "character device",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a_file_over_the_size_cap_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = dir.path().join("ports.toml");
    // sparse: the size is there, the disk blocks are not
    let f = std::fs::File::create(&spec).expect("create");
    f.set_len(MAX_SPEC_BYTES + 1).expect("set_len");
    let err = load_or_hang(&spec).expect_err("too large");
    assert!(
        matches!(err, LoadError::TooLarge { size, limit, .. } if size == MAX_SPEC_BYTES + 1 && limit == MAX_SPEC_BYTES),
        "{err}"
    );
    // a caller's own limit, at the boundary
    std::fs::write(&spec, VALID).expect("write");
    let exact = LoadOptions {
        max_file_bytes: VALID.len() as u64,
        ..LoadOptions::default()
    };
    load_with(&spec, &exact).expect("a file of exactly the limit loads");
    let under = LoadOptions {
        max_file_bytes: VALID.len() as u64 - 1,
        ..LoadOptions::default()
    };
    assert!(matches!(
        load_with(&spec, &under),
        Err(LoadError::TooLarge { .. })
    ));
}

#[test]
fn a_nul_byte_is_reported_where_it_is_and_the_rest_is_not_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = dir.path().join("ports.toml");
    std::fs::write(&spec, format!("{VALID}# a\0comment\n")).expect("write");
    let err = load_or_hang(&spec).expect_err("NUL");
    let (line, col, message) = first_error(&err);
    assert_eq!((line, col), (3, 4));
    assert!(message.contains("NUL byte"), "{message}");
    // 300 MB of NULs (sparse): rejected at 1:1 having read one piece, not 300 MB
    let f = std::fs::File::create(&spec).expect("create");
    f.set_len(300 << 20).expect("set_len");
    let err = load_or_hang(&spec).expect_err("NUL");
    let LoadError::Invalid { sources, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!(first_error(&err).0, 1);
    let text = &sources.file(portolan_model::FileId(0)).expect("file").text;
    assert!(text.len() <= 8 << 20, "read {} bytes", text.len());
}

#[test]
fn a_directory_spec_skips_fifos_among_its_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("a.toml"), VALID).expect("write");
    let status = std::process::Command::new("mkfifo")
        .arg(dir.path().join("b.toml"))
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
    let model = load_or_hang(dir.path()).expect("loads the regular file");
    assert_eq!(model.hosts.iter().filter(|h| h.name == "web").count(), 1);
}

/// Nesting deeper than the parser allows, in each place TOML nests, each with and without
/// the chunked loader: an error at the line of the deep construct, never a stack overflow.
#[test]
fn nesting_past_the_parser_limit_is_a_located_error() {
    let n = 100_000;
    let padding = "# padding to make the chunked loader cut this file\n".repeat(200);
    let cases = [
        (
            "arrays",
            format!(
                "[hosts.web]\naddresses = {}{}\n",
                "[".repeat(n),
                "]".repeat(n)
            ),
        ),
        (
            "inline tables",
            format!(
                "[hosts.web]\ndescription = {}1{}\n",
                "{a = ".repeat(n),
                "}".repeat(n)
            ),
        ),
        ("header", format!("{VALID}[{}]\n", vec!["a"; 200].join("."))),
        (
            "dotted key",
            format!("{VALID}{} = 1\n", vec!["b"; 100].join(".")),
        ),
        (
            "long header",
            format!("{VALID}[{}]\n", vec!["a"; n].join(".")),
        ),
    ];
    for (what, text) in cases {
        for chunk_bytes in [0, 1000] {
            let dir = tempfile::tempdir().expect("tempdir");
            let spec = dir.path().join("ports.toml");
            std::fs::write(&spec, format!("{padding}{text}")).expect("write");
            let options = LoadOptions {
                chunk_bytes,
                ..LoadOptions::default()
            };
            let err = load_with(&spec, &options).expect_err(what);
            let (line, _, message) = first_error(&err);
            let want = 200
                + if what.contains("header") || what == "dotted key" {
                    3
                } else {
                    2
                };
            assert_eq!(line, want, "{what} (chunks of {chunk_bytes}): {message}");
        }
    }
}
