//! README.md runs: every command of its "Set up and run", "Team registry" and "A quick tour"
//! sections is run as written, in order, in a copy of the repository's tracked files, by
//! bash, with the binary under test on PATH. Each section starts at the root of the copy.
//!
//! The rules, also stated in the README: `cargo` lines are not run (this test is the
//! build); a command exits 0 unless its comment says `# exit N`; a command ending in `&`
//! is started in the background and waited for (a registry: until `/healthz` answers);
//! output lines shown under a `$ ` command (those without `…`) must be lines of what it
//! printed. The registry's address `127.0.0.1:7878` becomes a free port, so parallel
//! runs do not collide. A section ends at its first `###` subsection: those are reference
//! for other machines (a second registry on one database, history queries), not the walkthrough.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use crate::harness::repo;

const SECTIONS: [&str; 3] = ["## Set up and run", "## Team registry", "## A quick tour"];

/// One command of the README.
#[derive(Debug)]
struct Step {
    /// 1-based line in README.md.
    line: usize,
    command: String,
    exit: i32,
    background: bool,
    /// Output lines shown under it (tour style), without those that elide (`…`).
    shown: Vec<String>,
}

/// The `sh` code blocks of one section, as steps.
fn steps_of(readme: &str, heading: &str) -> Vec<Step> {
    let lines: Vec<&str> = readme.lines().collect();
    let start = lines
        .iter()
        .position(|l| *l == heading)
        .unwrap_or_else(|| panic!("README.md has no {heading:?}"));
    let end = lines[start + 1..]
        .iter()
        // `###` subsections are reference (commands for other machines: a second registry
        // on PostgreSQL, a history query); the walkthrough is what comes before them
        .position(|l| l.starts_with("## ") || l.starts_with("### "))
        .map_or(lines.len(), |i| start + 1 + i);
    let mut steps = Vec::new();
    let mut i = start;
    while i < end {
        if lines[i] != "```sh" {
            i += 1;
            continue;
        }
        let close = lines[i + 1..end]
            .iter()
            .position(|l| *l == "```")
            .map_or_else(
                || panic!("README.md:{}: unclosed block", i + 1),
                |k| i + 1 + k,
            );
        let block: Vec<(usize, &str)> = (i + 1..close).map(|k| (k + 1, lines[k])).collect();
        let prompted = block.iter().any(|(_, l)| l.starts_with("$ "));
        for (line, text) in block {
            let command = if prompted {
                text.strip_prefix("$ ")
            } else {
                Some(text).filter(|t| !t.trim().is_empty() && !t.starts_with('#'))
            };
            match command {
                Some(command) => steps.push(step(line, command)),
                None if prompted => {
                    let step = steps
                        .last_mut()
                        .unwrap_or_else(|| panic!("README.md:{line}: output before a command"));
                    if !text.contains('…') {
                        step.shown.push(text.trim_end().to_string());
                    }
                }
                None => {}
            }
        }
        i = close + 1;
    }
    assert!(!steps.is_empty(), "{heading}: no commands");
    steps
}

fn step(line: usize, command: &str) -> Step {
    let code = command.split(" # ").next().unwrap_or(command).trim_end();
    let exit = command.split_once("# exit ").map_or(0, |(_, rest)| {
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits
            .parse()
            .unwrap_or_else(|_| panic!("README.md:{line}: `# exit` without a number"))
    });
    Step {
        line,
        command: command.to_string(),
        exit,
        background: code.ends_with('&') && !code.ends_with("&&"),
        shown: Vec::new(),
    }
}

/// The tracked files of the repository, copied (a fresh clone's content).
fn copy_of_the_repository(to: &Path) {
    let out = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(repo())
        .output()
        .expect("git ls-files");
    assert!(out.status.success(), "{out:?}");
    for name in out.stdout.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let name = Path::new(std::str::from_utf8(name).expect("UTF-8 path"));
        let from = repo().join(name);
        let Ok(meta) = std::fs::symlink_metadata(&from) else {
            continue; // deleted in the working tree
        };
        let dest = to.join(name);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        if meta.file_type().is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&from).unwrap(), &dest).unwrap();
        } else {
            std::fs::copy(&from, &dest).unwrap();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The bash script of one section: each command's output into `out/LINE.out`, its exit
/// code checked; background jobs stopped when the script ends, however it ends.
fn script(steps: &[Step], clone: &Path, out: &Path, port: u16) -> String {
    let mut s = format!(
        "cd '{clone}' || exit 90
trap 'for p in $(jobs -p); do kill $p 2>/dev/null; done; wait' EXIT
__check() {{ [ \"$1\" = \"$2\" ] || {{ echo \"README.md:$3: exit $1, want $2\" >&2; exit 99; }}; }}
__ready() {{
  for _ in $(seq 200); do curl -fsS \"http://$1/healthz\" >/dev/null 2>&1 && return 0; sleep 0.05; done
  echo \"README.md:$2: nothing answers on $1\" >&2; exit 98
}}
",
        clone = clone.display()
    );
    let registry = format!("127.0.0.1:{port}");
    for step in steps.iter().filter(|s| !s.command.starts_with("cargo ")) {
        let command = step.command.replace("127.0.0.1:7878", &registry);
        let file = out.join(format!("{}.out", step.line));
        if step.background {
            let code = command.split(" # ").next().unwrap().trim_end();
            let code = code.strip_suffix('&').unwrap().trim_end();
            let _ = writeln!(
                s,
                "# README.md:{line}\n{code} >'{file}' 2>&1 &\necho $! >>'{pids}'\n__ready {registry} {line}",
                line = step.line,
                file = file.display(),
                pids = out.join("background.pids").display(),
            );
        } else {
            let _ = writeln!(
                s,
                "# README.md:{line}\n{{ {command}\n}} >'{file}' 2>&1 </dev/null; __check $? {exit} {line}",
                line = step.line,
                file = file.display(),
                exit = step.exit,
            );
        }
    }
    s
}

fn run_section(heading: &str, readme: &str, clone: &Path, scratch: &Path) -> usize {
    let steps = steps_of(readme, heading);
    let out = scratch.join(format!(
        "out-{}",
        heading.trim_start_matches("# ").replace(' ', "-")
    ));
    std::fs::create_dir_all(&out).unwrap();
    let home = scratch.join("home");
    let tmp = scratch.join("tmp");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&tmp).unwrap();
    let bin = assert_cmd::cargo::cargo_bin("portolan");
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let text = script(&steps, clone, &out, free_port());
    let result = Command::new("bash")
        .args(["--noprofile", "--norc", "-c", &text])
        .env("PATH", path)
        .env("HOME", &home)
        .env("TMPDIR", &tmp)
        .env("NO_COLOR", "1")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("PORTOLAN_CONFIG")
        .env_remove("PORTOLAN_SPEC")
        .env_remove("PORTOLAN_SERVER")
        .env_remove("PORTOLAN_TOKEN")
        .env_remove("PORTOLAN_DB")
        .output()
        .expect("bash");
    if !result.status.success() {
        let err = String::from_utf8_lossy(&result.stderr);
        let printed = err
            .split("README.md:")
            .nth(1)
            .and_then(|rest| rest.split(':').next())
            .and_then(|line| std::fs::read_to_string(out.join(format!("{line}.out"))).ok())
            .unwrap_or_default();
        panic!("{heading}: {err}\n--- what the command printed\n{printed}");
    }
    for step in &steps {
        if step.shown.is_empty() {
            continue;
        }
        let printed = std::fs::read_to_string(out.join(format!("{}.out", step.line))).unwrap();
        let lines: Vec<&str> = printed.lines().map(str::trim_end).collect();
        for shown in &step.shown {
            assert!(
                lines.contains(&shown.as_str()),
                "README.md:{}: `{}` does not print {shown:?}; it printed:\n{printed}",
                step.line,
                step.command
            );
        }
    }
    // every registry the section started was stopped by the section itself
    if let Ok(pids) = std::fs::read_to_string(out.join("background.pids")) {
        for pid in pids.lines() {
            assert!(
                !Path::new("/proc").join(pid).exists(),
                "{heading}: background process {pid} still runs after the section"
            );
        }
    }
    steps.len()
}

#[test]
fn every_command_of_the_readme_runs_in_a_copy_of_the_repository() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let clone = scratch.path().join("portolan");
    copy_of_the_repository(&clone);
    let mut ran = 0;
    for heading in SECTIONS {
        ran += run_section(heading, &readme, &clone, scratch.path());
    }
    assert!(ran >= 30, "only {ran} commands found in the README");
}

#[test]
fn the_readme_runner_reads_exit_codes_background_jobs_and_shown_output() {
    let readme = "## A quick tour\n\n```sh\n$ portolan lint     # exit 1: findings\nerror: x\n…\n$ portolan serve --listen 127.0.0.1:7878 &   # a registry\n```\n\n## Next\n```sh\n$ not this\n```\n";
    let steps = steps_of(readme, "## A quick tour");
    assert_eq!(steps.len(), 2, "{steps:?}");
    assert_eq!(
        (steps[0].line, steps[0].exit, steps[0].background),
        (4, 1, false)
    );
    assert_eq!(steps[0].shown, ["error: x"]);
    assert_eq!((steps[1].exit, steps[1].background), (0, true));
}
