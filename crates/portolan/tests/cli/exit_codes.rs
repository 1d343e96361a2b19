//! Exit codes do not depend on the reader (DESIGN.md): findings decide the code whether
//! stdout is read to the end, cut short by `head`, or a pipe nobody reads; a closed stderr
//! never turns an error into a panic; `check` on a machine it cannot place is an error,
//! not a silent "no findings".

use std::io::Read as _;
use std::process::Stdio;

use crate::harness::{Case, repo};

/// A pipe whose reading end is already closed: every write to it fails with EPIPE.
fn closed_pipe() -> Stdio {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    Stdio::from(writer)
}

fn example(name: &str) -> String {
    repo()
        .join("examples")
        .join(name)
        .join("ports.toml")
        .display()
        .to_string()
}

/// Bug: `lint --format sarif | head -1` exited 0 with 61 findings (the broken pipe was
/// taken for success); without `head` the same run exited 1.
#[test]
fn findings_decide_the_exit_code_when_stdout_is_a_closed_pipe() {
    let spec = example("opticserp-port-reference");
    for format in ["human", "json", "sarif"] {
        let status = Case::new()
            .args(["--spec", &spec, "lint", "--format", format])
            .command()
            .stdout(closed_pipe())
            .stderr(Stdio::piped())
            .output()
            .expect("run");
        assert_eq!(status.status.code(), Some(1), "--format {format}");
        let err = String::from_utf8_lossy(&status.stderr);
        assert!(!err.contains("panicked"), "{err}");
        assert!(
            !err.contains("Broken pipe"),
            "a closed pipe is no error: {err}"
        );
    }
}

#[test]
fn findings_decide_the_exit_code_under_head() {
    let spec = example("opticserp-port-reference");
    let bin = assert_cmd::cargo::cargo_bin("portolan");
    // PIPESTATUS[0]: the exit code of portolan, not of head
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "'{}' --spec '{spec}' lint --format sarif | head -c 1 >/dev/null; echo \"${{PIPESTATUS[0]}}\"",
            bin.display()
        ))
        .output()
        .expect("bash");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1");
    // and a clean spec stays 0 under head
    let c = Case::new().file(
        "ports.toml",
        "[services.web]\nbindings.http = { port = 8080, bind = \"127.0.0.1\", exposure = \"localhost\" }\n",
    );
    let out = c
        .command()
        .args(["lint", "--format", "json"])
        .stdout(closed_pipe())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
}

/// Bug: a malformed spec with stderr closed panicked (`eprintln!`, exit 101).
#[test]
fn a_closed_stderr_never_panics() {
    let bad = Case::new()
        .file("ports.toml", "[services.a\nport = 1\n")
        .args(["lint"]);
    let out = bad
        .command()
        .stdout(Stdio::piped())
        .stderr(closed_pipe())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "malformed spec, stderr closed");
    // both streams closed, on a command that writes to stderr on success (`init`'s note)
    let init = Case::new().args(["init"]);
    let out = init
        .command()
        .stdout(closed_pipe())
        .stderr(closed_pipe())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    assert!(init.path().join("ports.toml").exists());
    // usage errors from clap itself
    let out = Case::new()
        .args(["lint", "--no-such-flag"])
        .command()
        .stderr(closed_pipe())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}

/// The binary writes to stderr only through `errln!`, which ignores a closed stderr; the
/// crate denies `clippy::print_stderr`, and this keeps a plain `eprintln!` out of the source
/// (clippy is not run by `cargo test`).
#[test]
fn the_binary_has_no_eprintln() {
    let mut stack = vec![repo().join("crates/portolan/src")];
    let mut offenders = Vec::new();
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).expect("src dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let mut text = String::new();
                std::fs::File::open(&p)
                    .and_then(|mut f| f.read_to_string(&mut text))
                    .expect("read");
                for (i, line) in text.lines().enumerate() {
                    let code = line.split("//").next().unwrap_or("");
                    if std_print_macro(code) {
                        offenders.push(format!("{}:{}: {line}", p.display(), i + 1));
                    }
                }
            }
        }
    }
    assert!(offenders.is_empty(), "{}", offenders.join("\n"));
}

/// Whether a line of code calls `print!`, `println!`, `eprint!` or `eprintln!` (as a whole
/// identifier: `errln!` does not count).
fn std_print_macro(code: &str) -> bool {
    ["eprintln!", "eprint!", "println!", "print!"]
        .iter()
        .any(|m| {
            code.match_indices(m).any(|(at, _)| {
                !code[..at]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_')
            })
        })
}

/// Bug: `check` on a machine that is none of the spec's hosts printed `no findings` and
/// exited 0; only a note on stderr said drift had been skipped.
#[test]
fn check_on_an_unknown_machine_is_a_usage_error() {
    let spec = "[hosts.nowhere-7f3a]\naddresses = [\"198.51.100.77\"]\n\n[services.web]\nhosts = [\"nowhere-7f3a\"]\nbindings.http = { port = 8080, bind = \"127.0.0.1\", exposure = \"localhost\" }\n";
    Case::new()
        .file("ports.toml", spec)
        .args(["check"])
        .run()
        .code(2)
        .stderr_has("none of the spec's hosts (nowhere-7f3a)")
        .stderr_has("--no-drift");
    // --json: the error is a JSON object on stdout too
    let out = Case::new()
        .file("ports.toml", spec)
        .args(["check", "--json"])
        .run()
        .code(2);
    assert!(
        out.json()["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("--host NAME"))
    );
    // --no-drift says the spec checks are what is meant
    Case::new()
        .file("ports.toml", spec)
        .args(["check", "--no-drift"])
        .run()
        .success()
        .stdout_has("no findings");
    // --host says which host: drift against (empty) fixture listeners
    Case::new()
        .file("ports.toml", spec)
        .file("live.json", "[]")
        .env("PORTOLAN_LISTENERS_FIXTURE", "live.json")
        .args(["check", "--host", "nowhere-7f3a"])
        .run()
        .code(1)
        .stdout_has("declared-not-listening");
    // --no-drift and --host contradict each other
    Case::new()
        .file("ports.toml", spec)
        .args(["check", "--no-drift", "--host", "nowhere-7f3a"])
        .run()
        .code(2);
}
