//! Who this machine says it is: its host name (what `gethostname` answers, in this UTS
//! namespace), a fully qualified name from `/etc/hosts`, its systemd machine id, and — asked
//! only when no name decides — the addresses of its interfaces. Like the sockets, the OS is
//! injected: an [`IdentitySource`] is either [`SystemIdentity`] (files under a root, `/` in
//! production) or a fixed [`Identity`] (tests). [`crate::recognise`] matches it to a spec host.
//!
//! The fully qualified name comes from `/etc/hosts` only, never from DNS: a command that
//! checks "this host" must not wait on a resolver that may be down (which is why `hostname
//! -f` can hang), and a name DNS gives out is not one the machine chose.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use portolan_model::identity::MachineId;

/// Where systemd keeps the machine id, and where D-Bus kept it before (still the only one
/// on some minimal images).
pub const MACHINE_ID_FILES: [&str; 2] = ["etc/machine-id", "var/lib/dbus/machine-id"];

/// What this machine says it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// The kernel's host name (empty when unknown).
    pub hostname: String,
    /// A fully qualified name for it, when the host name is short and `/etc/hosts` gives one.
    pub fqdn: Option<String>,
    /// The machine id and the file it was read from.
    pub machine_id: Option<(MachineId, String)>,
    /// Machine id files that exist but hold no valid id (`uninitialized`, empty), one line
    /// each, for the message when nothing matches.
    pub machine_id_notes: Vec<String>,
}

impl Identity {
    /// The names to match exactly: the host name, then the fully qualified one.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.hostname.as_str())
            .filter(|n| !n.is_empty())
            .chain(self.fqdn.as_deref())
    }

    /// One line for messages: `machine id 3d12… (/etc/machine-id), host name `web-1`
    /// (fully qualified `web-1.prod.example`)`.
    pub fn describe(&self) -> String {
        let id = match &self.machine_id {
            Some((id, from)) => format!("machine id {id} ({from})"),
            None if self.machine_id_notes.is_empty() => "no machine id".to_string(),
            None => format!("no machine id ({})", self.machine_id_notes.join("; ")),
        };
        let name = if self.hostname.is_empty() {
            "no host name".to_string()
        } else {
            format!("host name `{}`", self.hostname)
        };
        match &self.fqdn {
            Some(f) => format!("{id}, {name} (fully qualified `{f}`)"),
            None => format!("{id}, {name}"),
        }
    }
}

/// Tells who this machine is.
pub trait IdentitySource {
    /// Host name, fully qualified name and machine id.
    fn identity(&self) -> Identity;

    /// This machine's non-loopback addresses; asked only when no name or id decides, since
    /// listing them may run a program.
    fn addresses(&self) -> Vec<IpAddr>;
}

/// A fixed identity (tests), with no addresses.
impl IdentitySource for Identity {
    fn identity(&self) -> Identity {
        self.clone()
    }

    fn addresses(&self) -> Vec<IpAddr> {
        Vec::new()
    }
}

/// This machine: `proc/sys/kernel/hostname`, `etc/hosts` and the machine id files under
/// `root` (`/` in production), addresses from `ip -o addr`.
#[derive(Debug, Clone)]
pub struct SystemIdentity {
    /// The file system root (`/`; a directory tree in tests).
    pub root: PathBuf,
}

impl Default for SystemIdentity {
    fn default() -> Self {
        SystemIdentity {
            root: PathBuf::from("/"),
        }
    }
}

/// Larger files than this are not what they should be (a machine id file is 33 bytes).
const MAX_READ: u64 = 1 << 20;

fn read_small(path: &Path) -> Option<String> {
    use std::io::Read as _;
    let f = std::fs::File::open(path).ok()?;
    let mut text = String::new();
    f.take(MAX_READ).read_to_string(&mut text).ok()?;
    Some(text)
}

impl IdentitySource for SystemIdentity {
    fn identity(&self) -> Identity {
        let hostname = read_small(&self.root.join("proc/sys/kernel/hostname"))
            .map(|h| h.trim().to_string())
            .unwrap_or_default();
        let fqdn = if hostname.is_empty() || hostname.contains('.') {
            None
        } else {
            read_small(&self.root.join("etc/hosts")).and_then(|t| fqdn_from_hosts(&t, &hostname))
        };
        let mut machine_id = None;
        let mut notes = Vec::new();
        for file in MACHINE_ID_FILES {
            let path = self.root.join(file);
            let Some(text) = read_small(&path) else {
                continue;
            };
            let shown = format!("/{file}");
            match MachineId::parse(text.trim()) {
                Ok(id) => {
                    machine_id = Some((id, shown));
                    break;
                }
                Err(_) if text.trim().is_empty() => notes.push(format!("{shown} is empty")),
                Err(_) => notes.push(format!(
                    "{shown} holds `{}`, not a machine id",
                    text.trim().chars().take(40).collect::<String>()
                )),
            }
        }
        Identity {
            hostname,
            fqdn,
            machine_id_notes: if machine_id.is_some() {
                Vec::new()
            } else {
                notes
            },
            machine_id,
        }
    }

    fn addresses(&self) -> Vec<IpAddr> {
        crate::draft::interfaces()
            .iter()
            .map(|a| a.addr)
            .filter(|a| !a.is_loopback())
            .collect()
    }
}

/// The fully qualified name `/etc/hosts` gives the short `hostname`: on the first line that
/// names it, the first name that starts with `hostname.` (glibc's canonical name is the
/// line's first, usually that one).
pub fn fqdn_from_hosts(hosts: &str, hostname: &str) -> Option<String> {
    for line in hosts.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut fields = line.split_whitespace();
        if fields.next().is_none_or(|a| a.parse::<IpAddr>().is_err()) {
            continue;
        }
        let names: Vec<&str> = fields.collect();
        if !names.iter().any(|n| n.eq_ignore_ascii_case(hostname)) {
            continue;
        }
        let found = names.iter().find(|n| {
            n.len() > hostname.len()
                && n.is_char_boundary(hostname.len())
                && n[..hostname.len()].eq_ignore_ascii_case(hostname)
                && n[hostname.len()..].starts_with('.')
        });
        if let Some(f) = found {
            return Some((*f).to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        dir
    }

    const ID: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn reads_the_machine_id_the_host_name_and_the_fqdn_from_etc_hosts() {
        let dir = tree(&[
            ("proc/sys/kernel/hostname", "web-1\n"),
            ("etc/machine-id", &format!("{ID}\n")),
            (
                "etc/hosts",
                "127.0.0.1 localhost\n# 10.0.0.9 web-1.old.example web-1\n10.0.0.5 web-1.prod.example web-1 # app\n",
            ),
        ]);
        let id = SystemIdentity {
            root: dir.path().into(),
        }
        .identity();
        assert_eq!(id.hostname, "web-1");
        assert_eq!(id.fqdn.as_deref(), Some("web-1.prod.example"));
        let (mid, from) = id.machine_id.clone().unwrap();
        assert_eq!((mid.as_str(), from.as_str()), (ID, "/etc/machine-id"));
        assert_eq!(
            id.describe(),
            format!(
                "machine id {ID} (/etc/machine-id), host name `web-1` (fully qualified `web-1.prod.example`)"
            )
        );
    }

    #[test]
    fn falls_back_to_the_dbus_machine_id_and_says_why() {
        let dir = tree(&[
            ("proc/sys/kernel/hostname", "web-1.prod.example\n"),
            ("etc/machine-id", "uninitialized\n"),
            ("var/lib/dbus/machine-id", &format!("{ID}\n")),
        ]);
        let src = SystemIdentity {
            root: dir.path().into(),
        };
        let id = src.identity();
        assert_eq!(id.machine_id.unwrap().1, "/var/lib/dbus/machine-id");
        // a dotted host name is already fully qualified
        assert_eq!(id.fqdn, None);

        std::fs::remove_file(dir.path().join("var/lib/dbus/machine-id")).unwrap();
        let id = src.identity();
        assert_eq!(id.machine_id, None);
        assert_eq!(
            id.describe(),
            "no machine id (/etc/machine-id holds `uninitialized`, not a machine id), host name `web-1.prod.example`"
        );
    }

    #[test]
    fn nothing_readable_is_an_empty_identity() {
        let dir = tree(&[]);
        let id = SystemIdentity {
            root: dir.path().into(),
        }
        .identity();
        assert_eq!(id, Identity::default());
        assert_eq!(id.describe(), "no machine id, no host name");
    }

    #[test]
    fn fqdn_lines_that_do_not_name_the_host_are_skipped() {
        let hosts = "garbage line\n10.0.0.1 web-10.example web-10\n::1 web-1 web-1.v6.example\n";
        assert_eq!(
            fqdn_from_hosts(hosts, "web-1").as_deref(),
            Some("web-1.v6.example")
        );
        assert_eq!(fqdn_from_hosts("10.0.0.1 web-1\n", "web-1"), None);
        assert_eq!(fqdn_from_hosts("10.0.0.1 wéb-1.x wéb\n", "wé"), None);
    }
}
