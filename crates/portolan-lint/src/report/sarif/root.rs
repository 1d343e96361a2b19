//! Where SARIF locations are relative to: the repository top (`%SRCROOT%`), and the
//! repository-relative, percent-encoded URI of each source file under it — whatever form
//! (relative, absolute, through symlinks) the spec path was given in.

use std::path::{Component, Path, PathBuf};

/// Why SARIF cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum SarifError {
    /// A file a finding points into is not under the root.
    #[error(
        "{file} is outside the SARIF root {root}: code scanning can only place results on files of the repository (pass --sarif-root DIR)"
    )]
    OutsideRoot {
        /// The file.
        file: PathBuf,
        /// The root.
        root: PathBuf,
    },
    /// The root is not a directory that exists.
    #[error("SARIF root {path}: {source}")]
    Root {
        /// As given.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Writing failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The directory SARIF URIs are relative to.
#[derive(Clone, Debug)]
pub struct SarifRoot {
    dir: PathBuf,
}

/// `path` made absolute (against the working directory) and resolved through symlinks
/// when it exists; lexically normalised otherwise.
fn absolute(path: &Path) -> PathBuf {
    if let Ok(p) = std::fs::canonicalize(path) {
        return p;
    }
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

impl SarifRoot {
    /// `dir` as the root (`--sarif-root`); it must be an existing directory.
    pub fn at(dir: &Path) -> Result<SarifRoot, SarifError> {
        let canonical = std::fs::canonicalize(dir).map_err(|source| SarifError::Root {
            path: dir.to_path_buf(),
            source,
        })?;
        if !canonical.is_dir() {
            return Err(SarifError::Root {
                path: dir.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory"),
            });
        }
        Ok(SarifRoot { dir: canonical })
    }

    /// The repository holding `spec`, found like git does: the nearest directory at or above
    /// it with a `.git` entry; without one, the directory of the spec (or the spec itself
    /// when it is a directory).
    pub fn discover(spec: &Path) -> SarifRoot {
        let spec = absolute(spec);
        let start = if spec.is_dir() {
            spec.clone()
        } else {
            spec.parent()
                .map_or_else(|| spec.clone(), Path::to_path_buf)
        };
        let dir = start
            .ancestors()
            .find(|d| d.join(".git").exists())
            .unwrap_or(&start)
            .to_path_buf();
        SarifRoot { dir }
    }

    /// The root directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `file:///…/` of the root (with the trailing slash SARIF requires).
    pub fn uri(&self) -> String {
        let mut s = String::from("file://");
        for c in self.dir.components() {
            if let Component::Normal(part) = c {
                s.push('/');
                encode(&part.to_string_lossy(), &mut s);
            }
        }
        s.push('/');
        s
    }

    /// The URI of `file` relative to the root (`examples/app/ports.toml`).
    pub fn relative_uri(&self, file: &Path) -> Result<String, SarifError> {
        let abs = absolute(file);
        let rel = abs
            .strip_prefix(&self.dir)
            .map_err(|_| SarifError::OutsideRoot {
                file: abs.clone(),
                root: self.dir.clone(),
            })?;
        let mut s = String::new();
        for c in rel.components() {
            if let Component::Normal(part) = c {
                if !s.is_empty() {
                    s.push('/');
                }
                encode(&part.to_string_lossy(), &mut s);
            }
        }
        if s.is_empty() {
            // the root itself is not a file a result can sit in
            return Err(SarifError::OutsideRoot {
                file: abs,
                root: self.dir.clone(),
            });
        }
        Ok(s)
    }
}

/// Percent-encodes one path segment (RFC 3986 `pchar` minus `:`, so a relative reference's
/// first segment never reads as a scheme).
fn encode(segment: &str, out: &mut String) {
    use std::fmt::Write as _;
    for b in segment.bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b'@'
            );
        if keep {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_relative_encoded_and_refused_outside() {
        let root = SarifRoot {
            dir: PathBuf::from("/srv/my repo"),
        };
        assert_eq!(root.uri(), "file:///srv/my%20repo/");
        assert_eq!(
            root.relative_uri(Path::new("/srv/my repo/a b/pörts#1:x.toml"))
                .expect("inside"),
            "a%20b/p%C3%B6rts%231%3Ax.toml"
        );
        assert_eq!(
            root.relative_uri(Path::new("/srv/my repo/x/../ports.toml"))
                .expect("inside"),
            "ports.toml"
        );
        let e = root
            .relative_uri(Path::new("/srv/other/ports.toml"))
            .expect_err("outside");
        assert!(e.to_string().contains("outside the SARIF root"), "{e}");
        assert!(root.relative_uri(Path::new("/srv/my repo")).is_err());
    }

    #[test]
    fn discovery_stops_at_the_nearest_git_directory() {
        let tmp = std::env::temp_dir().join(format!("portolan-sarif-root-{}", std::process::id()));
        let deep = tmp.join("repo/sub/dir");
        std::fs::create_dir_all(&deep).expect("mkdir");
        std::fs::create_dir_all(tmp.join("repo/.git")).expect("mkdir");
        std::fs::write(deep.join("ports.toml"), "").expect("write");
        let root = SarifRoot::discover(&deep.join("ports.toml"));
        assert_eq!(
            root.dir(),
            std::fs::canonicalize(tmp.join("repo")).expect("canon")
        );
        let uri = root.relative_uri(&deep.join("ports.toml")).expect("inside");
        assert_eq!(uri, "sub/dir/ports.toml");
        // no repository: the spec's directory
        std::fs::remove_dir_all(tmp.join("repo/.git")).expect("rm");
        let root = SarifRoot::discover(&deep.join("ports.toml"));
        assert_eq!(
            root.relative_uri(&deep.join("ports.toml")).expect("inside"),
            "ports.toml"
        );
        std::fs::remove_dir_all(&tmp).expect("cleanup");
    }
}
