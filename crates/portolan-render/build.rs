//! Collects the generators: every file in `src/targets/` is one module defining
//! `GENERATORS`, so adding a target is adding one file there (plus its tests). Writes
//! `$OUT_DIR/targets.rs` with a module declaration per file and the list of their
//! `GENERATORS`, in file-name order.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    // read at run time, not `env!`: a build-script binary copied with a warm target dir
    // from another clone kept that clone's path and compiled its targets instead of these
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&manifest).join("src/targets");
    // relative to the package root, so that copied target dir reruns this script too
    println!("cargo::rerun-if-changed=src/targets");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("src/targets is readable")
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let stem = name.strip_suffix(".rs")?.to_string();
            let ident = stem
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            (ident && stem != "mod").then_some(stem)
        })
        .collect();
    names.sort();
    let mut out = String::new();
    for n in &names {
        let path = dir.join(format!("{n}.rs"));
        let _ = writeln!(
            out,
            "#[path = {:?}]\npub mod {n};",
            path.display().to_string()
        );
    }
    out.push_str("\n/// Each target file's generators, in file-name order.\n");
    out.push_str("pub(crate) const BY_FILE: &[&[&dyn crate::Generator]] = &[\n");
    for n in &names {
        let _ = writeln!(out, "    {n}::GENERATORS,");
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR is set")).join("targets.rs");
    std::fs::write(dest, out).expect("OUT_DIR is writable");
}
