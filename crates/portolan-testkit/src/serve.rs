//! A `portolan serve` child process for tests that drive the registry over HTTP.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A `portolan serve` child on a free loopback port; killed when dropped.
#[derive(Debug)]
pub struct Serve {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Serve {
    /// Starts `bin serve --db DB` in `dir` (no rate limit) and waits for its URL line.
    pub fn start(bin: &Path, dir: &Path, db: &str) -> Serve {
        Self::start_with(bin, dir, db, &[])
    }

    /// [`Serve::start`] with extra environment variables (`("PORTOLAN_NOW", …)`).
    pub fn start_with(bin: &Path, dir: &Path, db: &str, env: &[(&str, &str)]) -> Serve {
        let mut child = Command::new(bin)
            .current_dir(dir)
            .args([
                "serve",
                "--db",
                db,
                "--listen",
                "127.0.0.1:0",
                "--rate-limit",
                "0",
                "-q",
            ])
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {} serve: {e}", bin.display()));
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the URL line");
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .to_string();
        Serve { child, url }
    }

    /// Kills the server with SIGKILL (no shutdown at all) and reaps it.
    pub fn kill9(&mut self) {
        // std's kill() is SIGKILL on Unix
        self.child.kill().expect("kill -9");
        let _ = self.child.wait();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
