//! A real container engine for tests: Debian's `dockerd` (docker.io) or rootful Podman's API
//! service, each in a network namespace of its own — its bridges, iptables rules and
//! published ports touch nothing else on the machine, and two engines never clash — with
//! vfs storage and its data root, exec root, pidfile and socket in a temp dir. The image is
//! built here from busybox-static (`tar -C rootfs -c . | docker import -`), never pulled.
//! Dropping an [`Engine`] removes its containers, stops the daemon (and whatever it
//! started), unmounts what is left under its directory and deletes the namespace; a run
//! killed before that is cleaned up by the next one. Needs root, iproute2, util-linux
//! (`nsenter`), docker.io / podman and busybox-static: without them the test fails with
//! that hint.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::netns::sh;

static NEXT: AtomicU32 = AtomicU32::new(0);

/// The image every test container runs: busybox-static and nothing else.
pub const IMAGE: &str = "localhost/ptl-busybox:1";

/// Which engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// dockerd, with the userland proxy (`docker-proxy`) or without it.
    Docker {
        /// `--userland-proxy`.
        userland_proxy: bool,
    },
    /// `podman system service` (rootful).
    Podman,
}

/// A running engine (torn down on drop).
pub struct Engine {
    /// Which.
    pub kind: Kind,
    /// Network namespace name (the engine's "host").
    pub ns: String,
    /// The API socket.
    pub sock: PathBuf,
    dir: tempfile::TempDir,
    daemon: Option<Child>,
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(')')
            .and_then(|(_, r)| r.split_whitespace().next())
            .is_some_and(|st| st != "Z")
    })
}

fn kill(pid: u32, sig: &str) {
    let _ = Command::new("kill").args([sig, &pid.to_string()]).output();
}

/// Processes whose command line mentions `needle` (what a daemon under a temp dir started).
fn pids_mentioning(needle: &str) -> Vec<u32> {
    let me = std::process::id();
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| *p != me)
        .filter(|p| {
            std::fs::read(format!("/proc/{p}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(needle))
        })
        .collect()
}

/// Namespaces of earlier runs whose test process is gone: their processes are killed and
/// the namespace deleted.
fn clean_stale() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or_default();
        let Some(pid) = name
            .strip_prefix("pte")
            .and_then(|r| r.split('x').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if alive(pid) {
            continue;
        }
        if let Ok(p) = Command::new("ip").args(["netns", "pids", name]).output() {
            for pid in String::from_utf8_lossy(&p.stdout).split_whitespace() {
                if let Ok(pid) = pid.parse() {
                    kill(pid, "-KILL");
                }
            }
        }
        let _ = Command::new("ip").args(["netns", "del", name]).output();
    }
}

fn tool(name: &str, package: &str) -> PathBuf {
    for dir in ["/usr/local/bin", "/usr/bin", "/usr/sbin", "/bin", "/sbin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p;
        }
    }
    panic!("`{name}` is missing: apt-get install -y {package} (.ci/run installs it)");
}

impl Engine {
    /// Starts an engine in a fresh network namespace and imports the busybox image.
    pub fn start(kind: Kind) -> Engine {
        clean_stale();
        let k = NEXT.fetch_add(1, Ordering::Relaxed);
        let ns = format!("pte{}x{k}", std::process::id());
        let dir = tempfile::Builder::new()
            .prefix("pte")
            .tempdir_in("/tmp")
            .expect("temp dir");
        sh(&format!("ip netns add {ns} && ip -n {ns} link set lo up"));
        let d = dir.path().to_path_buf();
        let log = std::fs::File::create(d.join("daemon.log")).expect("log");
        let nsenter = tool("nsenter", "util-linux");
        let mut cmd = Command::new(&nsenter);
        cmd.arg(format!("--net=/var/run/netns/{ns}"));
        let sock = match kind {
            Kind::Docker { userland_proxy } => {
                let s = d.join("docker.sock");
                cmd.arg(tool("dockerd", "docker.io"))
                    .args(["--storage-driver", "vfs", "--log-level", "warn"])
                    .arg("--data-root")
                    .arg(d.join("data"))
                    .arg("--exec-root")
                    .arg(d.join("exec"))
                    .arg("--pidfile")
                    .arg(d.join("docker.pid"))
                    .arg("-H")
                    .arg(format!("unix://{}", s.display()))
                    .arg(format!("--userland-proxy={userland_proxy}"));
                s
            }
            Kind::Podman => {
                let s = d.join("podman.sock");
                cmd.arg(tool("podman", "podman"))
                    .args(podman_globals(&d))
                    .args(["system", "service", "--time", "0"])
                    .arg(format!("unix://{}", s.display()));
                s
            }
        };
        let daemon = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start the engine");
        let e = Engine {
            kind,
            ns,
            sock,
            dir,
            daemon: Some(daemon),
        };
        e.wait_ready();
        e.import_image();
        e
    }

    /// `unix:///tmp/pte…/docker.sock`.
    pub fn host(&self) -> String {
        format!("unix://{}", self.sock.display())
    }

    fn wait_ready(&self) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(90) {
            if self.sock.exists() && self.cli(&["version"]).status.success() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("the engine did not start in 90 s; its log:\n{}", self.log());
    }

    /// The daemon's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("daemon.log")).unwrap_or_default()
    }

    fn import_image(&self) {
        let root = self.dir.path().join("rootfs");
        std::fs::create_dir_all(root.join("bin")).expect("rootfs");
        std::fs::create_dir_all(root.join("www")).expect("rootfs");
        std::fs::copy(tool("busybox", "busybox-static"), root.join("bin/busybox"))
            .expect("copy busybox");
        for applet in ["sh", "httpd", "nc", "sleep", "cat"] {
            std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).expect("link");
        }
        std::fs::write(root.join("www/index.html"), "portolan\n").expect("index");
        let mut tar = Command::new("tar")
            .arg("-C")
            .arg(&root)
            .args(["-c", "."])
            .stdout(Stdio::piped())
            .spawn()
            .expect("tar");
        let out = self
            .cli_cmd(&["import", "-", IMAGE])
            .stdin(tar.stdout.take().expect("tar stdout"))
            .output()
            .expect("import");
        assert!(tar.wait().expect("tar").success(), "tar failed");
        assert!(
            out.status.success(),
            "import failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn cli_cmd(&self, args: &[&str]) -> Command {
        let mut c = match self.kind {
            Kind::Docker { .. } => {
                let mut c = Command::new(tool("docker", "docker.io"));
                c.env("DOCKER_HOST", self.host());
                c
            }
            Kind::Podman => {
                let mut c = Command::new(tool("podman", "podman"));
                c.arg("--url").arg(self.host());
                c
            }
        };
        c.args(args);
        c
    }

    /// Runs the engine's CLI (`docker` / `podman --url`) against this engine.
    pub fn cli(&self, args: &[&str]) -> Output {
        self.cli_cmd(args).output().expect("run the engine CLI")
    }

    /// `run -d` with `args` before the image and `cmd` after it; returns the container id.
    #[track_caller]
    pub fn run(&self, args: &[&str], cmd: &[&str]) -> String {
        let mut all = vec!["run", "-d"];
        if self.kind == Kind::Podman {
            // podman asks for the highest limits by default; stay under this machine's
            all.extend([
                "--ulimit",
                "nofile=1024:1024",
                "--ulimit",
                "nproc=1024:1024",
            ]);
        }
        all.extend(args);
        all.push(IMAGE);
        all.extend(cmd);
        let out = self.cli(&all);
        assert!(
            out.status.success(),
            "{all:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// `inspect` of every container, as JSON.
    pub fn inspect_all(&self) -> Vec<serde_json::Value> {
        let ids = self.cli(&["ps", "-q", "--no-trunc"]);
        let ids: Vec<String> = String::from_utf8_lossy(&ids.stdout)
            .split_whitespace()
            .map(str::to_string)
            .collect();
        if ids.is_empty() {
            return Vec::new();
        }
        let mut args = vec!["inspect"];
        args.extend(ids.iter().map(String::as_str));
        let out = self.cli(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("inspect JSON")
    }

    /// Waits until something listens on `port` (TCP) inside container `name`.
    #[track_caller]
    pub fn wait_listening(&self, name: &str, port: u16) {
        let hex = format!(":{port:04X} ");
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            let out = self.cli(&["exec", name, "cat", "/proc/net/tcp", "/proc/net/tcp6"]);
            if String::from_utf8_lossy(&out.stdout)
                .lines()
                .any(|l| l.contains(&hex) && l.split_whitespace().nth(3) == Some("0A"))
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("nothing listens on {port} inside `{name}` after 20 s");
    }
}

/// Podman's global flags: all state under `d`, vfs, no systemd.
fn podman_globals(d: &Path) -> Vec<String> {
    [
        ("--root", d.join("root")),
        ("--runroot", d.join("run")),
        ("--tmpdir", d.join("tmp")),
    ]
    .into_iter()
    .flat_map(|(f, p)| [f.to_string(), p.display().to_string()])
    .chain(
        [
            "--storage-driver",
            "vfs",
            "--cgroup-manager",
            "cgroupfs",
            "--events-backend",
            "file",
        ]
        .map(str::to_string),
    )
    .collect()
}

impl Drop for Engine {
    fn drop(&mut self) {
        // containers first, so shims and conmons exit with them
        let ids = self.cli(&["ps", "-aq"]);
        let ids: Vec<String> = String::from_utf8_lossy(&ids.stdout)
            .split_whitespace()
            .map(str::to_string)
            .collect();
        if !ids.is_empty() {
            let mut args = vec!["rm", "-f"];
            args.extend(ids.iter().map(String::as_str));
            let _ = self.cli(&args);
        }
        if let Some(mut d) = self.daemon.take() {
            kill(d.id(), "-TERM");
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(20) {
                if d.try_wait().ok().flatten().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = d.kill();
            let _ = d.wait();
        }
        // whatever the daemon started and left (containerd, shims, conmon)
        let dir = self.dir.path().display().to_string();
        for pid in pids_mentioning(&dir) {
            kill(pid, "-KILL");
        }
        if let Ok(p) = Command::new("ip")
            .args(["netns", "pids", &self.ns])
            .output()
        {
            for pid in String::from_utf8_lossy(&p.stdout).split_whitespace() {
                if let Ok(pid) = pid.parse() {
                    kill(pid, "-KILL");
                }
            }
        }
        // mounts left under the directory (netns bind mounts, shm), deepest first
        let mut mounts: Vec<String> = std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_whitespace().nth(4).map(str::to_string))
            .filter(|m| m.starts_with(&dir))
            .collect();
        mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in mounts {
            let _ = Command::new("umount").args(["-l", &m]).output();
        }
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).output();
    }
}
