//! (Ported from portolan-store's tests.) A throwaway PostgreSQL 15 server for the tests: `initdb` + `pg_ctl start` in a temp
//! directory on a free loopback port, as the `postgres` user when running as root
//! (PostgreSQL refuses to run as root), stopped when the guard drops. Failing to start it
//! fails the test: it is never skipped.

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = "/usr/lib/postgresql/15/bin";

pub struct PgServer {
    data: PathBuf,
    log: PathBuf,
    as_postgres: bool,
    pub port: u16,
    // dropped after the server stopped (fields drop after `Drop::drop`): removes the files
    dir: tempfile::TempDir,
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
        let data = dir.path().join("data");
        let log = dir.path().join("server.log");
        let port = free_port();
        let server = PgServer {
            data,
            log,
            as_postgres,
            port,
            dir,
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
        let socket_dir = server.dir.path().to_string_lossy().into_owned();
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k {socket_dir} -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
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

    /// A URL for a database of its own on this server.
    pub async fn database(&self, name: &str) -> String {
        use sqlx::Connection;
        let admin = format!("postgres://postgres@127.0.0.1:{}/postgres", self.port);
        let mut c = sqlx::PgConnection::connect(&admin)
            .await
            .expect("connect to the test server");
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut c)
            .await
            .expect("create database");
        c.close().await.ok();
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
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
