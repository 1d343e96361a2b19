//! A throwaway PostgreSQL 15 server for tests (see the crate docs).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// Where Debian's PostgreSQL 15 binaries live.
const BIN: &str = "/usr/lib/postgresql/15/bin";

/// A running PostgreSQL server; [`PgServer::start`]'s is stopped (and its files removed)
/// when dropped, [`PgServer::shared`]'s when the test binary exits.
#[derive(Debug)]
pub struct PgServer {
    data: PathBuf,
    log: PathBuf,
    as_postgres: bool,
    /// The loopback TCP port it listens on.
    pub port: u16,
    // dropped after the server stopped (fields drop after `Drop::drop`): removes the files
    dir: Option<tempfile::TempDir>,
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    l.local_addr().expect("local addr").port()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn ids_of(user: &str) -> (u32, u32) {
    let get = |flag: &str| -> u32 {
        let o = Command::new("id")
            .args([flag, user])
            .output()
            .unwrap_or_else(|e| panic!("id {flag} {user}: {e}"));
        assert!(
            o.status.success(),
            "no `{user}` user: is the postgresql package installed?"
        );
        String::from_utf8_lossy(&o.stdout)
            .trim()
            .parse()
            .expect("numeric id")
    };
    (get("-u"), get("-g"))
}

impl PgServer {
    /// A command running `program` of PostgreSQL's binaries (as `postgres` when root).
    fn command(&self, program: &str) -> Command {
        let path = format!("{BIN}/{program}");
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", &path]);
            c
        } else {
            Command::new(path)
        }
    }

    fn run(&self, what: &str, cmd: &mut Command) {
        let out = cmd.output().unwrap_or_else(|e| {
            panic!("cannot run {what} ({BIN}): {e}; install the `postgresql` package")
        });
        if !out.status.success() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            panic!(
                "{what} failed: {}\n{}\n{}\nserver log:\n{log}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    fn socket_dir(&self) -> &Path {
        self.data.parent().expect("the data directory has a parent")
    }

    /// Starts a server of its own (fsync off: test data is throwaway).
    pub fn start() -> PgServer {
        assert!(
            Path::new(BIN).join("initdb").exists(),
            "PostgreSQL 15 is not installed ({BIN}/initdb missing): apt-get install postgresql"
        );
        let dir = tempfile::Builder::new()
            .prefix("portolan-pg-")
            .tempdir()
            .expect("temp dir");
        let as_postgres = is_root();
        if as_postgres {
            let (uid, gid) = ids_of("postgres");
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).expect("chown temp dir");
        }
        let server = PgServer {
            data: dir.path().join("data"),
            log: dir.path().join("server.log"),
            as_postgres,
            port: free_port(),
            dir: Some(dir),
        };
        server.run(
            "initdb",
            server.command("initdb").args([
                "-D",
                &server.data.to_string_lossy(),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ]),
        );
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
            server.port,
            server.socket_dir().display()
        );
        server.run(
            "pg_ctl start",
            server.command("pg_ctl").args([
                "-D",
                &server.data.to_string_lossy(),
                "-l",
                &server.log.to_string_lossy(),
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ]),
        );
        server
    }

    /// The server every test of this binary shares, started on first use. It outlives the
    /// tests: a watchdog process stops it and removes its files once this process has
    /// exited (however it exits).
    pub fn shared() -> &'static PgServer {
        static SHARED: OnceLock<PgServer> = OnceLock::new();
        SHARED.get_or_init(|| {
            let mut server = PgServer::start();
            let dir = server.dir.take().expect("a fresh server owns its directory");
            let stop = server.command("pg_ctl");
            let stop = format!(
                "{} -D {} -m immediate -w stop",
                command_line(&stop),
                server.data.display()
            );
            // polls for this process's end, then stops the server and removes its files
            let script = format!(
                "while kill -0 {pid} 2>/dev/null; do sleep 0.2; done; {stop} >/dev/null 2>&1; rm -rf {dir}",
                pid = std::process::id(),
                dir = dir.path().display(),
            );
            // never waited for: it outlives this process by design (init reaps it)
            #[allow(clippy::zombie_processes)]
            Command::new("sh")
                .args(["-c", &script])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn the PostgreSQL watchdog");
            // the watchdog removes the directory
            let _ = dir.keep();
            server
        })
    }

    /// A fresh, empty database `name` on this server; its URL.
    pub fn database(&self, name: &str) -> String {
        assert!(
            name.len() <= 63 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
            "database name `{name}`: at most 63 letters, digits and `_`"
        );
        self.run(
            &format!("createdb {name}"),
            self.command("createdb").args([
                "-h",
                &self.socket_dir().to_string_lossy(),
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                name,
            ]),
        );
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Runs `sql` as the superuser on database `db` (with `psql`); its output.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let out = self
            .command("psql")
            .args([
                "-h",
                &self.socket_dir().to_string_lossy(),
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                db,
                "-XAtq",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ])
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// `cmd` as one shell line (its arguments are paths and flags without quotes or spaces).
fn command_line(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

impl Drop for PgServer {
    fn drop(&mut self) {
        if self.dir.is_none() {
            return;
        }
        let _ = self
            .command("pg_ctl")
            .args([
                "-D",
                &self.data.to_string_lossy(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ])
            .output();
    }
}
