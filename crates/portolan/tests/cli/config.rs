//! Start-up that explains itself: the config file (`$XDG_CONFIG_HOME/portolan/config.toml`)
//! read by every command below flags and environment variables; `serve` and `token` say
//! which database they opened or created, and warn when no token can get in.

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::Stdio;

use crate::harness::{Case, outcome};

const SPEC: &str = r#"
[hosts.edge]
networks = []
[services.web]
hosts = ["edge"]
bindings.http = { port = 20080, bind = "127.0.0.1", exposure = "localhost" }
"#;

/// A case whose config directory is its own `cfg/` (nothing from the real home leaks in).
fn case_with_config(config: &str) -> Case {
    let c = Case::new()
        .file("ports.toml", SPEC)
        .file("cfg/portolan/config.toml", config);
    let cfg = c.path().join("cfg").display().to_string();
    c.env("XDG_CONFIG_HOME", &cfg).env("HOME", "/nonexistent")
}

#[test]
fn the_config_names_this_machines_host_and_flags_win() {
    let c = case_with_config("host = \"edge\"\n")
        .file("live.json", "[]")
        .env("PORTOLAN_LISTENERS_FIXTURE", "live.json");
    // check knows which host this is: drift runs (nothing listens: declared-not-listening)
    let out = outcome(c.command().args(["check", "--json"])).code(1);
    assert!(
        out.stdout.contains("declared-not-listening"),
        "{}",
        out.stdout
    );
    // the flag wins over the config
    outcome(c.command().args(["check", "--host", "nowhere"]))
        .code(2)
        .stderr_has("host `nowhere` is not in the spec");
    // a config host the spec lacks is named as the config's mistake
    case_with_config("host = \"gone\"\n")
        .args(["check"])
        .run()
        .code(2)
        .stderr_has("the config file says this machine is host `gone`");
}

#[test]
fn a_bad_config_is_an_error_naming_the_place() {
    case_with_config("server = \"http://x\"\nhots = \"a\"\n")
        .args(["lint"])
        .run()
        .code(2)
        .stderr_has("config.toml:2:1")
        .stderr_has("unknown field `hots`");
    case_with_config("server = [1,\n")
        .args(["lint"])
        .run()
        .code(2)
        .stderr_has("config.toml:")
        .no_panic();
    // PORTOLAN_CONFIG names the file; naming one that does not exist is an error, empty means none
    Case::new()
        .file("ports.toml", SPEC)
        .env("PORTOLAN_CONFIG", "/nonexistent/portolan.toml")
        .args(["lint"])
        .run()
        .code(2)
        .stderr_has("PORTOLAN_CONFIG names /nonexistent/portolan.toml");
    Case::new()
        .file("ports.toml", SPEC)
        .env("PORTOLAN_CONFIG", "")
        .args(["lint"])
        .run()
        .success();
}

/// Starts `portolan serve` in `c`'s directory; returns its first stdout line and what it
/// wrote to stderr before that line.
#[cfg(feature = "registry")]
fn serve_start_lines(c: &Case, extra: &[&str]) -> (String, String) {
    let mut child = c
        .command()
        .args(["serve", "--listen", "127.0.0.1:0", "-q"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("URL line");
    // SIGKILL: its stderr then ends
    child.kill().expect("kill");
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("stderr");
    let _ = child.wait();
    (line, err)
}

/// Bug: `token create` in one directory and `serve` in another made two databases, and
/// every request was refused with no hint.
#[cfg(feature = "registry")]
#[test]
fn serve_and_token_say_which_database_and_warn_without_tokens() {
    let c = Case::new().env("PORTOLAN_CONFIG", "");
    let dir = c.path().canonicalize().unwrap();
    // a fresh directory: serve creates the database and says no token can get in
    let (line, err) = serve_start_lines(&c, &[]);
    let db = dir.join("portolan.db").display().to_string();
    assert!(
        line.contains(&format!("database {db} (created now)")),
        "{line}"
    );
    assert!(err.contains("has no usable API token"), "{err}");
    assert!(err.contains("portolan token create --role admin"), "{err}");
    // token create names the same absolute file, opened this time
    let out = outcome(c.command().args(["token", "create", "--role", "admin"])).success();
    assert!(
        out.stderr.contains(&format!("in database {db} (opened)")),
        "{}",
        out.stderr
    );
    let (line, err) = serve_start_lines(&c, &[]);
    assert!(line.contains("(opened)"), "{line}");
    assert!(!err.contains("no usable API token"), "{err}");
    // token list elsewhere does not create a second, empty database
    let other = Case::new().env("PORTOLAN_CONFIG", "");
    outcome(other.command().args(["token", "list"]))
        .code(2)
        .stderr_has("no registry database at");
    assert!(!other.path().join("portolan.db").exists());
    // JSON says it too
    let other_db = format!("sqlite://{}", other.path().join("new.db").display());
    let (line, _) = serve_start_lines(&other, &["--db", &other_db, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&line).expect("JSON line");
    assert_eq!(v["created"], true);
    assert_eq!(v["tokens"], 0);
}

/// The config file names the database, the registry and the token file; the environment
/// wins over it.
#[cfg(feature = "registry")]
#[test]
fn the_config_names_the_registry_for_every_command() {
    use crate::registry::serve;
    let c = Case::new().file("ports.toml", SPEC);
    let db_path = c.path().join("team.db");
    let db = format!("sqlite://{}", db_path.display());
    let cfg_home = c_path(&c, "cfg");
    // token create with the database from the config
    let c = c
        .file("cfg/portolan/config.toml", format!("db = \"{db}\"\n"))
        .env("XDG_CONFIG_HOME", &cfg_home)
        .env("HOME", "/nonexistent");
    let out = outcome(
        c.command()
            .args(["token", "create", "--role", "admin", "--json"]),
    )
    .success();
    let token = out.json()["token"].as_str().unwrap().to_string();
    assert!(db_path.exists(), "the config's db was used");
    let server = serve(c.path(), &db);
    // push with server and token_file from the config, nothing in the environment
    let cfg = format!(
        "db = \"{db}\"\nserver = \"{}\"\ntoken_file = \"token\"\n",
        server.url
    );
    let c = c
        .file("cfg/portolan/config.toml", &cfg)
        .file("cfg/portolan/token", format!("{token}\n"));
    set_mode(&c_path(&c, "cfg/portolan/token"), 0o600);
    let out = outcome(
        c.command()
            .args(["push"])
            .env_remove("PORTOLAN_SERVER")
            .env_remove("PORTOLAN_TOKEN"),
    )
    .success();
    assert!(out.stdout.contains("pushed"), "{}", out.stdout);
    assert!(!out.stderr.contains("other users"), "{}", out.stderr);
    // the environment wins over the config
    outcome(
        c.command()
            .args(["push"])
            .env("PORTOLAN_SERVER", "http://127.0.0.1:9"),
    )
    .code(2)
    .stderr_has("127.0.0.1:9");
    // a token file others can read is used, with a warning
    set_mode(&c_path(&c, "cfg/portolan/token"), 0o644);
    let out = outcome(c.command().args(["push"])).success();
    assert!(
        out.stderr.contains("can be read by other users"),
        "{}",
        out.stderr
    );
}

fn c_path(c: &Case, rel: &str) -> String {
    c.path().join(rel).display().to_string()
}

fn set_mode(path: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}
