//! Installing portolan and wiring it into a machine: manual pages read with `man` and
//! checked by groff, completion scripts loaded into real bash, zsh, fish and elvish, the
//! systemd units verified by `systemd-analyze` (with the manual pages they name), the
//! pre-commit hook run by `pre-commit` from `PyPI` on a real commit, and the CI recipe's
//! steps run as the runner would run them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use clap::CommandFactory;

use crate::harness::{Case, repo};

fn portolan() -> PathBuf {
    assert_cmd::cargo::cargo_bin("portolan")
}

/// Runs `program` (which must be installed: a missing tool fails the test).
fn run(cmd: &mut Command) -> std::process::Output {
    cmd.output().unwrap_or_else(|e| {
        panic!(
            "cannot run {} (is it installed?): {e}",
            cmd.get_program().display()
        )
    })
}

/// A `Command` for `portolan` without the machine's config, registry or spec.
fn portolan_cmd(dir: &Path) -> Command {
    let mut cmd = Command::new(portolan());
    cmd.current_dir(dir)
        .env_remove("PORTOLAN_SPEC")
        .env_remove("PORTOLAN_SERVER")
        .env_remove("PORTOLAN_TOKEN")
        .env_remove("PORTOLAN_DB")
        .env("PORTOLAN_CONFIG", "")
        .env("NO_COLOR", "1");
    cmd
}

/// Every command's path below `portolan` (`["lint"]`, `["token", "create"]`, …).
fn command_paths() -> Vec<Vec<String>> {
    fn walk(cmd: &clap::Command, prefix: &[String], out: &mut Vec<Vec<String>>) {
        for sub in cmd.get_subcommands().filter(|c| !c.is_hide_set()) {
            if sub.get_name() == "help" {
                continue;
            }
            let mut path = prefix.to_vec();
            path.push(sub.get_name().to_string());
            walk(sub, &path, out);
            out.push(path);
        }
    }
    let mut out = Vec::new();
    walk(&portolan::cli::Cli::command(), &[], &mut out);
    out.sort();
    out
}

/// A page as `man` shows it (UTF-8, 100 columns, no pager).
fn man_render(page: &Path) -> String {
    let out = run(Command::new("man")
        .arg("-l")
        .arg(page)
        .env("MANWIDTH", "100")
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .env("LC_ALL", "C.UTF-8"));
    assert!(out.status.success(), "man -l {}: {:?}", page.display(), out);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// groff's warnings (`-ww`) about a page; empty when it is well-formed roff.
fn groff_warnings(page: &Path) -> String {
    let out = run(Command::new("groff")
        .args(["-k", "-man", "-Tutf8", "-ww", "-z"])
        .arg(page));
    assert!(out.status.success(), "groff {}: {:?}", page.display(), out);
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The lines of `--help` after `Examples:`.
fn help_examples(path: &[String]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let out = run(portolan_cmd(dir.path()).args(path).arg("--help"));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (_, examples) = text
        .split_once("Examples:\n")
        .unwrap_or_else(|| panic!("`{} --help` has no examples", path.join(" ")));
    examples
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

#[test]
fn man_writes_one_page_per_command_each_clean_roff_with_its_examples_verbatim() {
    let dir = tempfile::tempdir().unwrap();
    let man1 = dir.path().join("share/man/man1");
    let out = run(portolan_cmd(dir.path()).args(["man", "--dir"]).arg(&man1));
    assert!(out.status.success(), "{out:?}");
    let paths = command_paths();
    let mut want: Vec<String> = paths
        .iter()
        .map(|p| format!("portolan-{}.1", p.join("-")))
        .collect();
    want.push("portolan.1".into());
    want.sort();
    let mut got: Vec<String> = std::fs::read_dir(&man1)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    got.sort();
    assert_eq!(got, want);
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains(&format!("wrote {} manual pages into", want.len())),
        "{out:?}"
    );

    for path in &paths {
        let page = man1.join(format!("portolan-{}.1", path.join("-")));
        let warnings = groff_warnings(&page);
        assert!(warnings.is_empty(), "{}: {warnings}", page.display());
        let shown = man_render(&page);
        let name = format!("portolan-{}", path.join("-"));
        assert!(shown.contains(&format!("{name}(1)")), "{shown}");
        assert!(shown.contains("EXAMPLES"), "{name}: {shown}");
        // no-fill: every example line exactly as `--help` prints it
        let lines: Vec<&str> = shown.lines().map(str::trim).collect();
        for example in help_examples(path) {
            assert!(
                lines.contains(&example.as_str()),
                "{name}: example {example:?} not shown verbatim:\n{shown}"
            );
        }
    }
}

#[test]
fn man_prints_portolan_1_with_every_command_exit_status_environment_and_files() {
    let c = Case::new().args(["man"]);
    let out = c.run().success();
    let page = c.path().join("portolan.1");
    std::fs::write(&page, &out.stdout).unwrap();
    assert_eq!(groff_warnings(&page), "");
    let shown = man_render(&page);
    for section in [
        "NAME",
        "SYNOPSIS",
        "GLOBAL OPTIONS",
        "SUBCOMMANDS",
        "EXAMPLES",
        "EXIT STATUS",
        "ENVIRONMENT",
        "FILES",
    ] {
        assert!(
            shown.lines().any(|l| l == section),
            "no {section}:\n{shown}"
        );
    }
    for path in command_paths().iter().filter(|p| p.len() == 1) {
        assert!(
            shown.contains(&format!("portolan-{}(1)", path[0])),
            "{path:?} missing:\n{shown}"
        );
    }
    for name in [
        "PORTOLAN_SPEC",
        "PORTOLAN_CONFIG",
        "config.toml",
        "--fail-on",
    ] {
        assert!(shown.contains(name), "{name}:\n{shown}");
    }
}

#[test]
fn man_of_a_nested_command_and_of_an_unknown_one() {
    let out = Case::new().args(["man", "token", "create"]).run().success();
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with(".TH portolan-token-create 1 ")),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("\\-\\-role"), "{}", out.stdout);
    Case::new()
        .args(["man", "token", "mint"])
        .run()
        .code(2)
        .stderr_has("no command `token mint`; its subcommands: create, list, revoke");
    Case::new()
        .args(["man", "lnit"])
        .run()
        .code(2)
        .stderr_has("no command `lnit`; commands: init, lint,");
}

/// What bash's completion function offers for `words` (the last one being completed).
fn bash_completions(words: &[&str]) -> Vec<String> {
    let script = format!(
        r#"source <('{bin}' completions bash) || exit 3
complete -p portolan >/dev/null || exit 4
COMP_WORDS=({words})
COMP_CWORD={cword}
COMP_LINE="${{COMP_WORDS[*]}}"
COMP_POINT=${{#COMP_LINE}}
_portolan portolan "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}""#,
        bin = portolan().display(),
        words = words
            .iter()
            .map(|w| format!("'{w}'"))
            .collect::<Vec<_>>()
            .join(" "),
        cword = words.len() - 1,
    );
    let out = run(Command::new("bash").arg("--norc").arg("-c").arg(&script));
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn bash_completes_commands_subcommands_and_option_values() {
    assert_eq!(bash_completions(&["portolan", "li"]), ["lint"]);
    let token = bash_completions(&["portolan", "token", ""]);
    for sub in ["create", "list", "revoke"] {
        assert!(token.iter().any(|w| w == sub), "{token:?}");
    }
    let mut fail_on = bash_completions(&["portolan", "lint", "--fail-on", ""]);
    fail_on.sort();
    assert_eq!(fail_on, ["error", "info", "never", "warning"]);
    let gen_targets = bash_completions(&["portolan", "gen", ""]);
    for target in ["markdown", "nftables", "k8s-netpol"] {
        assert!(gen_targets.iter().any(|w| w == target), "{gen_targets:?}");
    }
}

#[test]
fn fish_completes_commands_with_their_descriptions() {
    let script = format!(
        "'{}' completions fish | source; or exit 3
complete -C 'portolan li'; complete -C 'portolan token '; complete -C 'portolan lint --fail-on '",
        portolan().display()
    );
    let out = run(Command::new("fish")
        .args(["--no-config", "-c"])
        .arg(&script));
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    for line in [
        "lint\tStatic checks of the spec",
        "create\tCreate a token and print it (once)",
        "revoke\tRevoke a token by id",
        "warning\tExit 1 on warnings or errors",
    ] {
        assert!(text.lines().any(|l| l == line), "{line:?} not in:\n{text}");
    }
}

#[test]
fn zsh_loads_the_completion_function_for_portolan() {
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "autoload -U compinit && compinit -u -d '{dump}' || exit 3
source <('{bin}' completions zsh) || exit 4
print -r -- \"$_comps[portolan]\"
whence -w _portolan",
        dump = dir.path().join("zcompdump").display(),
        bin = portolan().display()
    );
    let out = run(Command::new("zsh").args(["-f", "-c"]).arg(&script));
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "_portolan\n_portolan: function\n"
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

/// elvish's completer lives in `edit:`, which only an interactive elvish has: the test
/// binds it to a variable and calls it as the line editor would.
#[test]
fn elvish_completer_offers_subcommands() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(portolan_cmd(dir.path()).args(["completions", "elvish"]));
    assert!(out.status.success());
    let script = String::from_utf8(out.stdout).unwrap();
    let header = "set edit:completion:arg-completer[portolan] = ";
    assert!(script.contains(header), "{script}");
    let mut lines: Vec<String> = script
        .replace(header, "var completer = ")
        .lines()
        .map(|l| match l.find("edit:complex-candidate $text") {
            Some(at) => format!("{}put $text", &l[..at]),
            None => l.to_string(),
        })
        .collect();
    lines.push("$completer portolan token ''".into());
    let file = dir.path().join("portolan.elv");
    std::fs::write(&file, lines.join("\n")).unwrap();
    let out = run(Command::new("elvish").arg("-norc").arg(&file));
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    for sub in ["create", "list", "revoke"] {
        assert!(text.lines().any(|l| l.ends_with(sub)), "{sub}: {text}");
    }
}

#[test]
fn powershell_completer_registers_for_portolan() {
    // no PowerShell on Debian: the script's registration and its command table are checked
    let out = Case::new()
        .args(["completions", "powershell"])
        .run()
        .success();
    assert!(
        out.stdout
            .contains("Register-ArgumentCompleter -Native -CommandName 'portolan'")
    );
    assert!(
        out.stdout.contains("'portolan;token;create'"),
        "{}",
        out.stdout
    );
}

/// Rewrites a unit's `/usr/local/bin/portolan` to the binary under test.
fn unit_under_test(dir: &Path, name: &str) -> (PathBuf, Vec<String>) {
    let text = std::fs::read_to_string(repo().join("contrib/systemd").join(name)).unwrap();
    let text = text.replace("/usr/local/bin/portolan", &portolan().display().to_string());
    let exec = text
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .unwrap_or_else(|| panic!("{name}: no ExecStart"));
    let argv: Vec<String> = exec.split_whitespace().map(String::from).collect();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    (path, argv)
}

#[test]
fn systemd_units_verify_run_valid_commands_and_are_hardened() {
    let dir = tempfile::tempdir().unwrap();
    // the units' Documentation= names man:portolan-serve(1): systemd-analyze looks it up
    let out = run(portolan_cmd(dir.path())
        .args(["man", "--dir"])
        .arg(dir.path().join("man/man1")));
    assert!(out.status.success(), "{out:?}");
    for (name, most_exposed) in [
        ("portolan-serve.service", 2.0),
        ("portolan-agent.service", 4.0),
    ] {
        let (unit, argv) = unit_under_test(dir.path(), name);
        // the command line is one portolan accepts
        if let Err(e) = <portolan::cli::Cli as clap::Parser>::try_parse_from(&argv) {
            panic!("{name}: ExecStart {argv:?}: {e}");
        }
        let verify = run(Command::new("systemd-analyze")
            .arg("verify")
            .arg(&unit)
            .env("MANPATH", dir.path().join("man")));
        assert!(verify.status.success(), "{name}: {verify:?}");
        assert_eq!(String::from_utf8_lossy(&verify.stderr), "", "{name}");

        let security = run(Command::new("systemd-analyze")
            .args(["security", "--offline=yes", "--no-pager"])
            .arg(&unit));
        let text = String::from_utf8_lossy(&security.stdout);
        let level: f64 = text
            .lines()
            .find_map(|l| l.split_once(&format!("exposure level for {name}: ")))
            .and_then(|(_, rest)| rest.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| panic!("{name}: no exposure level in\n{text}"));
        assert!(
            level <= most_exposed,
            "{name}: exposure {level} > {most_exposed}\n{text}"
        );
    }
}

const CLEAN_SPEC: &str = r#"
[hosts.app1]
networks = ["lan"]

[networks.lan]
cidrs = ["10.0.0.0/24"]

[services.api]
hosts = ["app1"]
bindings.http = { port = 8080, bind = "127.0.0.1", exposure = "localhost" }
"#;

/// Two services on one port of one host: `duplicate-binding`, an error.
const CONFLICTING_SPEC: &str = r#"
[hosts.app1]
networks = ["lan"]

[networks.lan]
cidrs = ["10.0.0.0/24"]

[services.api]
hosts = ["app1"]
bindings.http = { port = 8080, bind = "127.0.0.1", exposure = "localhost" }

[services.admin]
hosts = ["app1"]
bindings.http = { port = 8080, bind = "127.0.0.1", exposure = "localhost" }
"#;

/// `git` in `dir`, with no user or system configuration of the machine.
fn git(dir: &Path, args: &[&str]) -> std::process::Output {
    run(Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.org")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.org"))
}

#[test]
fn pre_commit_hook_fails_a_commit_of_a_bad_spec_and_passes_a_good_one() {
    let root = tempfile::tempdir().unwrap();
    // the hook repository: this repository's .pre-commit-hooks.yaml, committed
    let hooks = root.path().join("hooks");
    std::fs::create_dir(&hooks).unwrap();
    std::fs::copy(
        repo().join(".pre-commit-hooks.yaml"),
        hooks.join(".pre-commit-hooks.yaml"),
    )
    .unwrap();
    assert!(git(&hooks, &["init", "-q"]).status.success());
    assert!(git(&hooks, &["add", "."]).status.success());
    assert!(
        git(&hooks, &["commit", "-q", "-m", "hooks"])
            .status
            .success()
    );
    let rev = String::from_utf8(git(&hooks, &["rev-parse", "HEAD"]).stdout).unwrap();

    let project = root.path().join("project");
    std::fs::create_dir(&project).unwrap();
    assert!(git(&project, &["init", "-q"]).status.success());
    std::fs::write(
        project.join(".pre-commit-config.yaml"),
        format!(
            "repos:\n  - repo: {}\n    rev: {}\n    hooks:\n      - id: portolan-lint\n",
            hooks.display(),
            rev.trim()
        ),
    )
    .unwrap();
    // the hook runs the portolan on PATH: the one under test
    let path = format!(
        "{}:{}",
        portolan().parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let pre_commit_home = root.path().join("pre-commit-home");
    let commit = |message: &str| {
        let out = run(Command::new("git")
            .current_dir(&project)
            .args(["commit", "-q", "-m", message])
            .env("PATH", &path)
            .env("PRE_COMMIT_HOME", &pre_commit_home)
            .env("PORTOLAN_CONFIG", "")
            .env_remove("PORTOLAN_SPEC")
            .env("NO_COLOR", "1")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.org")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.org"));
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let install = run(Command::new("pre-commit")
        .current_dir(&project)
        .arg("install")
        .env("PRE_COMMIT_HOME", &pre_commit_home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null"));
    assert!(install.status.success(), "{install:?}");

    // a good spec (in a subdirectory: the hook matches ports.toml anywhere)
    std::fs::create_dir(project.join("infra")).unwrap();
    std::fs::write(project.join("infra/ports.toml"), CLEAN_SPEC).unwrap();
    git(&project, &["add", "."]);
    let (ok, log) = commit("good spec");
    assert!(ok, "{log}");
    assert!(
        log.contains("portolan lint") && log.contains("Passed"),
        "{log}"
    );

    // a spec with an error finding: the commit is refused, the finding shown
    std::fs::write(project.join("infra/ports.toml"), CONFLICTING_SPEC).unwrap();
    git(&project, &["add", "."]);
    let (ok, log) = commit("conflict");
    assert!(!ok, "a spec with errors was committed:\n{log}");
    assert!(
        log.contains("duplicate-binding") && log.contains("Failed"),
        "{log}"
    );
    assert!(log.contains("infra/ports.toml"), "{log}");

    // a spec that does not parse: refused, with file:line:col
    std::fs::write(
        project.join("infra/ports.toml"),
        "[services.api]\nhosts = [\"app1\"\n",
    )
    .unwrap();
    git(&project, &["add", "."]);
    let (ok, log) = commit("broken");
    assert!(!ok, "a malformed spec was committed:\n{log}");
    assert!(log.contains("infra/ports.toml:2:"), "{log}");

    // other TOML files are not specs: not linted
    std::fs::write(project.join("infra/ports.toml"), CLEAN_SPEC).unwrap();
    std::fs::write(project.join("Cargo.toml"), "[package\n").unwrap();
    git(&project, &["add", "."]);
    let (ok, log) = commit("unrelated toml");
    assert!(ok, "{log}");
    let last = String::from_utf8(git(&project, &["log", "--format=%s"]).stdout).unwrap();
    assert_eq!(last, "unrelated toml\ngood spec\n");
}

/// The CI recipe's YAML, as JSON (`PyYAML`: the suite already needs it).
fn ci_recipe() -> serde_json::Value {
    let out = run(Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)",
        ])
        .stdin(std::fs::File::open(repo().join("contrib/ci/github-actions.yml")).unwrap())
        .stderr(Stdio::piped()));
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A step's `if:` in this recipe: `steps.lint.outputs.code` compared (`==`, `!=`) with
/// quoted literals, alternatives joined by `||`.
fn condition_holds(
    cond: Option<&str>,
    outputs: &std::collections::BTreeMap<String, String>,
) -> bool {
    let Some(cond) = cond else { return true };
    let code = outputs.get("code").map_or("", String::as_str);
    cond.split(" || ").any(|alt| {
        let (lhs, rhs, equal) = if let Some((l, r)) = alt.split_once(" == ") {
            (l, r, true)
        } else {
            let (l, r) = alt
                .split_once(" != ")
                .unwrap_or_else(|| panic!("unexpected condition {cond:?}"));
            (l, r, false)
        };
        assert_eq!(lhs.trim(), "steps.lint.outputs.code", "{cond}");
        (code == rhs.trim().trim_matches('\'')) == equal
    })
}

#[test]
fn ci_recipe_uploads_sarif_and_fails_the_job_on_findings() {
    let recipe = ci_recipe();
    assert_eq!(recipe["permissions"]["security-events"], "write");
    let steps = recipe["jobs"]["lint"]["steps"].as_array().unwrap().clone();
    let upload = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("github/codeql-action/upload-sarif@"))
        })
        .expect("an upload-sarif step");
    let sarif_file = upload["with"]["sarif_file"].as_str().unwrap();
    let spec_var = recipe["env"]["SPEC"].as_str().unwrap();
    let path = format!(
        "{}:{}",
        portolan().parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );

    // run every `run:` step but the install, as the runner would (bash -e, GITHUB_OUTPUT),
    // on a spec with findings, a clean one and a broken one
    for (spec, code, uploads) in [
        (CONFLICTING_SPEC, "1", true),
        (CLEAN_SPEC, "0", true),
        ("[hosts.app1\n", "2", false),
    ] {
        let c = Case::new().file(spec_var, spec);
        let output_file = c.path().join("github-output");
        std::fs::write(&output_file, "").unwrap();
        let mut outputs = std::collections::BTreeMap::new();
        let mut failed = false;
        let mut uploaded = false;
        for step in &steps {
            if !condition_holds(step["if"].as_str(), &outputs) {
                continue;
            }
            if step == upload {
                uploaded = true;
            }
            let Some(script) = step["run"].as_str() else {
                continue;
            };
            if script.contains("cargo install") {
                continue;
            }
            let status = run(Command::new("bash")
                .args([
                    "--noprofile",
                    "--norc",
                    "-e",
                    "-o",
                    "pipefail",
                    "-c",
                    script,
                ])
                .current_dir(c.path())
                .env("PATH", &path)
                .env("SPEC", spec_var)
                .env("GITHUB_OUTPUT", &output_file)
                .env("PORTOLAN_CONFIG", "")
                .env_remove("PORTOLAN_SPEC")
                .env("NO_COLOR", "1"));
            for line in std::fs::read_to_string(&output_file).unwrap().lines() {
                if let Some((k, v)) = line.split_once('=') {
                    outputs.insert(k.to_string(), v.to_string());
                }
            }
            if !status.status.success() {
                failed = true;
                break;
            }
        }
        assert_eq!(
            uploaded, uploads,
            "upload-sarif runs exactly when lint wrote SARIF"
        );
        assert_eq!(outputs.get("code").map(String::as_str), Some(code));
        assert_eq!(
            failed,
            code != "0",
            "the job fails exactly on findings or errors"
        );
        if uploads {
            let sarif: serde_json::Value =
                serde_json::from_slice(&std::fs::read(c.path().join(sarif_file)).unwrap())
                    .expect("the uploaded file is JSON");
            assert_eq!(sarif["version"], "2.1.0");
            let results = sarif["runs"][0]["results"].as_array().unwrap();
            assert_eq!(results.is_empty(), code == "0", "{sarif}");
        }
    }
}
