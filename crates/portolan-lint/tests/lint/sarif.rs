//! SARIF for code scanning (issue 19): repository-relative locations, complete rule
//! descriptors, fingerprints that survive lines moving, related locations, invocations.
//! (CI also runs the Microsoft SARIF Multitool over every example's log.)

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use portolan_lint::report::sarif::{self, FINGERPRINT_KEY, SRCROOT, SarifOptions, SarifRoot};
use portolan_lint::rules::about;
use portolan_lint::{Rule, lint};
use serde_json::Value;

/// A repository in a temp dir (`.git` marks its top) with the spec two levels down.
struct Repo {
    top: PathBuf,
}

impl Repo {
    fn new(tag: &str) -> Repo {
        let top = std::env::temp_dir().join(format!("portolan-sarif-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&top);
        std::fs::create_dir_all(top.join(".git")).expect("mkdir");
        std::fs::create_dir_all(top.join("infra/net work")).expect("mkdir");
        Repo { top }
    }

    fn spec(&self) -> PathBuf {
        self.top.join("infra/net work/ports.toml")
    }

    /// Writes the spec, lints it and returns the SARIF log.
    fn sarif(&self, text: &str) -> Value {
        std::fs::write(self.spec(), text).expect("write");
        let model = portolan_model::load(&self.spec()).expect("spec loads");
        let report = lint(&model).expect("lint");
        let root = SarifRoot::discover(&self.spec());
        let options = SarifOptions {
            root: &root,
            version: "9.9.9",
            exit_code: i32::from(report.fails(portolan_lint::Severity::Error)),
        };
        sarif::to_value(&model.sources, &report, &options).expect("sarif")
    }
}

impl Drop for Repo {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.top);
    }
}

const SPEC: &str = r#"# two services on one port, a public one without TLS
[hosts.app]
environment = "production"
networks = ["public"]
firewall = "none"

[services.web]
hosts = ["app"]
bindings.http = { port = 8080, bind = "0.0.0.0", app = "http", exposure = "public" }

[services.admin]
hosts = ["app"]
bindings.http = { port = 8080, bind = "0.0.0.0", app = "http", exposure = "localhost" }
"#;

fn results(log: &Value) -> &Vec<Value> {
    log["runs"][0]["results"].as_array().expect("results")
}

/// (rule, fingerprint) of every result.
fn fingerprints(log: &Value) -> BTreeSet<(String, String)> {
    results(log)
        .iter()
        .map(|r| {
            (
                r["ruleId"].as_str().expect("rule").to_string(),
                r["partialFingerprints"][FINGERPRINT_KEY]
                    .as_str()
                    .expect("fingerprint")
                    .to_string(),
            )
        })
        .collect()
}

fn start_lines(log: &Value) -> Vec<u64> {
    results(log)
        .iter()
        .map(|r| {
            r["locations"][0]["physicalLocation"]["region"]["startLine"]
                .as_u64()
                .expect("line")
        })
        .collect()
}

#[test]
fn fingerprints_stay_equal_when_blank_lines_are_inserted_above_a_finding() {
    let repo = Repo::new("shift");
    let before = repo.sarif(SPEC);
    let shifted = SPEC.replace("[services.web]", "\n\n\n[services.web]");
    let after = repo.sarif(&format!("\n\n{shifted}"));
    assert!(results(&before).len() >= 2, "{before:#}");
    assert_eq!(fingerprints(&before), fingerprints(&after));
    // the places did move
    let (a, b) = (start_lines(&before), start_lines(&after));
    assert!(a.iter().zip(&b).all(|(x, y)| y > x), "{a:?} -> {b:?}");
    // and the fingerprint tells findings apart
    let mut all: Vec<String> = fingerprints(&before).into_iter().map(|x| x.1).collect();
    let n = all.len();
    all.dedup();
    assert_eq!(all.len(), n);
    // a finding that changes (another port) is a new finding
    let changed = repo.sarif(&SPEC.replace("8080", "8081"));
    let dup = |log: &Value| {
        fingerprints(log)
            .into_iter()
            .find(|(rule, _)| rule == "duplicate-binding")
            .expect("duplicate-binding fires")
    };
    assert_ne!(dup(&changed), dup(&before));
}

#[test]
fn locations_are_relative_to_the_repository_whatever_the_spec_path() {
    let repo = Repo::new("uri");
    let log = repo.sarif(SPEC);
    let run = &log["runs"][0];
    let base = run["originalUriBaseIds"][SRCROOT]["uri"]
        .as_str()
        .expect("base");
    let top = std::fs::canonicalize(&repo.top).expect("canon");
    assert!(
        base.starts_with("file:///") && base.ends_with('/'),
        "{base}"
    );
    assert!(
        base.ends_with(&format!("{}/", top.file_name().unwrap().to_string_lossy())),
        "{base}"
    );
    for r in results(&log) {
        let locs = r["locations"].as_array().into_iter().flatten();
        let related = r["relatedLocations"].as_array().into_iter().flatten();
        for l in locs.chain(related) {
            let a = &l["physicalLocation"]["artifactLocation"];
            assert_eq!(a["uri"], "infra/net%20work/ports.toml", "{l:#}");
            assert_eq!(a["uriBaseId"], SRCROOT);
        }
    }
    // a relative spec path and one through `..` give the same URIs
    let model = portolan_model::load(&repo.top.join("infra/net work/../net work/ports.toml"))
        .expect("loads");
    let report = lint(&model).expect("lint");
    let root = SarifRoot::at(&repo.top).expect("root");
    let options = SarifOptions {
        root: &root,
        version: "1",
        exit_code: 1,
    };
    let again = sarif::to_value(&model.sources, &report, &options).expect("sarif");
    assert_eq!(
        again["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "infra/net%20work/ports.toml"
    );
    // a root the spec is not under is refused, with both paths in the message
    let inner = SarifRoot::at(&repo.top.join("infra")).expect("inner");
    assert!(
        sarif::to_value(
            &model.sources,
            &report,
            &SarifOptions {
                root: &inner,
                ..options.clone()
            }
        )
        .is_ok()
    );
    let other = Repo::new("other");
    let outside = SarifRoot::at(&other.top).expect("other");
    let err = sarif::to_value(
        &model.sources,
        &report,
        &SarifOptions {
            root: &outside,
            ..options
        },
    )
    .expect_err("outside the root");
    let msg = err.to_string();
    assert!(
        msg.contains("outside the SARIF root") && msg.contains("ports.toml"),
        "{msg}"
    );
}

#[test]
fn rule_descriptors_are_complete() {
    let repo = Repo::new("rules");
    let log = repo.sarif(SPEC);
    let driver = &log["runs"][0]["tool"]["driver"];
    assert_eq!(driver["semanticVersion"], "9.9.9");
    let rules = driver["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), Rule::ALL.len());
    let mut names = BTreeSet::new();
    for (d, rule) in rules.iter().zip(Rule::ALL) {
        assert!(
            about::documented(*rule),
            "{rule} has no entry in rules/about.rs"
        );
        assert_eq!(d["id"], rule.id());
        let name = d["name"].as_str().expect("name");
        assert_ne!(name, rule.id());
        assert!(names.insert(name.to_string()), "name {name} used twice");
        for key in ["shortDescription", "fullDescription"] {
            let t = d[key]["text"].as_str().expect(key);
            assert!(t.len() > 20 && t.ends_with('.'), "{rule} {key}: {t}");
        }
        assert!(d["help"]["text"].as_str().expect("help").len() > 40);
        assert!(
            d["help"]["markdown"]
                .as_str()
                .expect("markdown")
                .contains(rule.id())
        );
        assert_eq!(d["helpUri"], format!("{}#{}", about::DOCS_URL, rule.id()));
        let level = d["defaultConfiguration"]["level"].as_str().expect("level");
        assert!(["error", "warning", "note"].contains(&level));
        let tags: Vec<&str> = d["properties"]["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(!tags.is_empty());
        // security rules carry a severity code scanning can rank, the others none
        let sev = d["properties"]["security-severity"].as_str();
        assert_eq!(tags.contains(&"security"), sev.is_some(), "{rule}");
        if let Some(s) = sev {
            let v: f64 = s.parse().expect("number");
            assert!((0.0..=10.0).contains(&v));
        }
    }
}

#[test]
fn results_carry_related_locations_and_the_invocation() {
    let repo = Repo::new("related");
    let log = repo.sarif(SPEC);
    let run = &log["runs"][0];
    assert_eq!(run["invocations"][0]["exitCode"], 1);
    assert_eq!(run["invocations"][0]["executionSuccessful"], true);
    let dup = results(&log)
        .iter()
        .find(|r| r["ruleId"] == "duplicate-binding")
        .expect("duplicate-binding fires");
    let related = dup["relatedLocations"].as_array().expect("related");
    assert!(!related.is_empty());
    for (i, l) in related.iter().enumerate() {
        assert_eq!(l["id"], i + 1);
        assert!(l["message"]["text"].as_str().is_some_and(|t| !t.is_empty()));
        let region = &l["physicalLocation"]["region"];
        assert!(region["startLine"].as_u64().expect("line") >= 1);
        assert!(region["snippet"]["text"].as_str().is_some());
    }
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    for r in results(&log) {
        let i = usize::try_from(r["ruleIndex"].as_u64().expect("index")).expect("index");
        assert_eq!(rules[i]["id"], r["ruleId"]);
        assert!(r["message"]["text"].as_str().expect("text").contains('.'));
    }
}

#[test]
fn the_rule_reference_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/rules.md");
    let fresh = about::reference_markdown();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &fresh).expect("write docs/rules.md");
        return;
    }
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        old == fresh,
        "docs/rules.md is stale: run `UPDATE_DOCS=1 cargo test -p portolan-lint`"
    );
    for r in Rule::ALL {
        assert!(
            old.contains(&format!("\n## {}\n", r.id())),
            "no section for {r}"
        );
    }
}

/// The fenced block of `lang` that follows `heading` in README.md.
fn readme_block(heading: &str, lang: &str) -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .expect("README.md");
    let section = &readme[readme.find(heading).expect("the section")..];
    let fence = format!("```{lang}\n");
    let start = section.find(&fence).expect("the code block") + fence.len();
    let len = section[start..].find("```").expect("closed block");
    section[start..start + len].to_string()
}

#[test]
fn readme_code_scanning_recipe_uploads_the_sarif_it_writes() {
    use saphyr::{LoadableYamlNode, Yaml};
    fn get<'a>(y: &'a Yaml<'a>, path: &[&str]) -> Option<&'a Yaml<'a>> {
        path.iter().try_fold(y, |y, k| y.as_mapping_get(k))
    }
    let text = readme_block("## In CI: a pre-commit hook and code scanning", "yaml");
    let docs = Yaml::load_from_str(&text).expect("the recipe is valid YAML");
    let workflow = docs.first().expect("one document");
    assert_eq!(
        get(workflow, &["permissions", "security-events"]).and_then(Yaml::as_str),
        Some("write"),
        "uploading needs security-events: write"
    );
    let jobs = get(workflow, &["jobs"])
        .and_then(Yaml::as_mapping)
        .expect("jobs");
    let (_, job) = jobs.iter().next().expect("a job");
    let steps = get(job, &["steps"]).and_then(Yaml::as_vec).expect("steps");
    let runs: Vec<&str> = steps
        .iter()
        .filter_map(|s| get(s, &["run"]).and_then(Yaml::as_str))
        .collect();
    let upload = steps
        .iter()
        .find(|s| {
            get(s, &["uses"])
                .and_then(Yaml::as_str)
                .is_some_and(|u| u.starts_with("github/codeql-action/upload-sarif@"))
        })
        .expect("an upload-sarif step");
    let file = get(upload, &["with", "sarif_file"])
        .and_then(Yaml::as_str)
        .expect("sarif_file");
    let lint = runs
        .iter()
        .find(|r| r.contains(" lint "))
        .expect("a lint step");
    assert!(lint.contains("--format sarif"), "{lint}");
    assert!(
        lint.ends_with(&format!("> {file}")),
        "the lint step writes {file}: {lint}"
    );
    // findings must not stop the job before the upload
    assert!(lint.contains("--fail-on never"), "{lint}");
    let hook = readme_block("## In CI: a pre-commit hook and code scanning", "sh");
    assert!(
        hook.starts_with("#!/bin/sh\n") && hook.contains("portolan lint"),
        "{hook}"
    );
}
