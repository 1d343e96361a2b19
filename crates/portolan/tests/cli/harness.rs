//! A small builder harness so tests read like specs:
//! `Case::new().file("ports.toml", SPEC).args(["lint"]).run().code(1).stdout_has("…")`.

use std::path::{Path, PathBuf};

/// Repository root (fixtures and examples live there).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repo root")
}

/// Names of the example specs (`examples/<name>/ports.toml`), sorted.
pub fn examples() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(repo().join("examples"))
        .expect("examples/")
        .filter_map(Result::ok)
        .filter(|e| e.path().join("ports.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A command run in a fresh temporary directory.
pub struct Case {
    dir: tempfile::TempDir,
    /// `$XDG_CACHE_HOME` and `$XDG_STATE_HOME` of the run (sidecar files of a spec outside
    /// git land there, never in the user's home).
    state: tempfile::TempDir,
    args: Vec<String>,
    env: Vec<(String, String)>,
    netns: Option<String>,
}

/// What a case produced.
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Case {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
            state: tempfile::tempdir().expect("tempdir"),
            args: Vec::new(),
            env: Vec::new(),
            netns: None,
        }
    }

    /// Runs the command inside network namespace `ns` (`nsenter --net`, root only).
    pub fn netns(mut self, ns: &str) -> Self {
        self.netns = Some(ns.into());
        self
    }

    /// Writes a file into the case directory.
    pub fn file(self, name: &str, text: impl AsRef<[u8]>) -> Self {
        let p = self.dir.path().join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(p, text).expect("write");
        self
    }

    /// Copies a fixture spec as `ports.toml`.
    pub fn fixture(self, name: &str) -> Self {
        let text = std::fs::read(repo().join("tests/fixtures").join(name).join("ports.toml"))
            .expect("fixture");
        self.file("ports.toml", text)
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Where the run keeps a spec's cache and pull state (`$XDG_CACHE_HOME`/`$XDG_STATE_HOME`).
    pub fn state_dir(&self) -> &Path {
        self.state.path()
    }

    /// The command of this case (for tests that run it several times by hand).
    pub fn command(&self) -> std::process::Command {
        let mut cmd = self.base();
        cmd.args(&self.args);
        cmd
    }

    /// `portolan` in the case directory (inside the case's network namespace, if any) with
    /// the case's environment, no arguments yet.
    fn base(&self) -> std::process::Command {
        let mut cmd = match &self.netns {
            Some(ns) => {
                let mut c = std::process::Command::new("nsenter");
                c.arg(format!("--net=/var/run/netns/{ns}"))
                    .arg(assert_cmd::cargo::cargo_bin("portolan"));
                c
            }
            None => std::process::Command::new(assert_cmd::cargo::cargo_bin("portolan")),
        };
        cmd.current_dir(self.dir.path())
            .env_remove("PORTOLAN_SPEC")
            // no user config, registry or database from the machine running the tests
            .env_remove("PORTOLAN_CONFIG")
            .env_remove("PORTOLAN_SERVER")
            .env_remove("PORTOLAN_TOKEN")
            .env_remove("PORTOLAN_DB")
            .env("XDG_CONFIG_HOME", self.dir.path().join(".no-config"))
            .env("NO_COLOR", "1")
            .env("XDG_CACHE_HOME", self.state.path())
            .env("XDG_STATE_HOME", self.state.path());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs `args` (instead of the case's own) in the case directory, so several commands
    /// can work on the same files in turn.
    pub fn run_with<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Outcome {
        self.run_args(args)
    }

    /// Runs `args` (instead of the case's own) in the case directory, with its environment.
    pub fn run_args<I, S>(&self, args: I) -> Outcome
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = self.base();
        cmd.args(args);
        outcome_of(&cmd.output().expect("run portolan"))
    }

    /// Runs git in the case directory (no user or system configuration); its stdout.
    #[track_caller]
    pub fn git(&self, args: &[&str]) -> String {
        let out = std::process::Command::new("git")
            .current_dir(self.dir.path())
            .args([
                "-c",
                "user.name=test",
                "-c",
                "user.email=test@example.invalid",
            ])
            .args(["-c", "core.autocrlf=false", "-c", "init.defaultBranch=main"])
            .args(args)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .output()
            .expect("git (a test needs it: install git)");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Makes the case directory a git repository with every file committed.
    pub fn committed(self) -> Self {
        self.git(&["init", "-q"]);
        self.git(&["add", "-A"]);
        self.git(&["commit", "-qm", "before"]);
        self
    }

    /// Asserts that the work tree differs from the last commit by exactly `changed` (path,
    /// new content; `None`: deleted) and the new files `added` — nothing else, not even an
    /// untracked stray file.
    #[track_caller]
    pub fn assert_changed(&self, changed: &[(&str, Option<&str>)], added: &[&str]) {
        let status = self.git(&["status", "--porcelain=v1", "-uall", "--no-renames"]);
        let mut got: Vec<String> = status.lines().map(str::to_string).collect();
        got.sort();
        let mut want: Vec<String> = changed
            .iter()
            .map(|(p, c)| format!("{} {p}", if c.is_some() { " M" } else { " D" }))
            .chain(added.iter().map(|p| format!("?? {p}")))
            .collect();
        want.sort();
        assert_eq!(got, want, "git status");
        for (p, c) in changed {
            if let Some(c) = c {
                assert_eq!(
                    &std::fs::read_to_string(self.dir.path().join(p)).expect("read"),
                    c,
                    "{p}"
                );
            }
        }
    }

    /// A file of the case directory.
    #[track_caller]
    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).expect("read")
    }

    /// The content of `name` at the last commit.
    #[track_caller]
    pub fn committed_text(&self, name: &str) -> String {
        self.git(&["show", &format!("HEAD:{name}")])
    }

    pub fn run(&self) -> Outcome {
        outcome_of(&self.command().output().expect("run portolan"))
    }
}

fn outcome_of(out: &std::process::Output) -> Outcome {
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

impl Outcome {
    #[track_caller]
    pub fn code(self, want: i32) -> Self {
        assert_eq!(
            self.code, want,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn success(self) -> Self {
        self.code(0)
    }

    #[track_caller]
    pub fn stdout_has(self, s: &str) -> Self {
        assert!(
            self.stdout.contains(s),
            "stdout lacks {s:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn stderr_has(self, s: &str) -> Self {
        assert!(
            self.stderr.contains(s),
            "stderr lacks {s:?}\n--- stderr\n{}",
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn no_panic(self) -> Self {
        assert!(!self.stderr.contains("panicked"), "panic:\n{}", self.stderr);
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.stdout))
    }
}

/// Runs a command built from [`Case::command`] (several commands in one case directory).
pub fn outcome(cmd: &mut std::process::Command) -> Outcome {
    let out = cmd.output().expect("run portolan");
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
