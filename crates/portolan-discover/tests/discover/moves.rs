//! `moves`: whose each reference to a port is and which side of the binding it is on.
//! The fixture is the compose stack of issue 13: `api` (in the spec) and `admin` (not in
//! the spec) both listen on 8000 inside their containers; `api` is published on the host as
//! `${API_PORT:-8000}`, `admin` as 8001.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use portolan_discover::moves::Verdict::{
    OtherOwner, OtherSide, Rewrite, Unowned, Unparsed, Unsure,
};
use portolan_discover::moves::{self, Side, Target, Verdict};
use portolan_discover::walk::WalkOptions;
use portolan_model::spec::Transport;

pub(crate) const STACK: &[(&str, &str)] = &[
    (
        "docker-compose.yml",
        "services:\n  api:\n    build: ./api\n    command: gunicorn api.wsgi --bind 0.0.0.0:8000\n    ports:\n      - \"127.0.0.1:${API_PORT:-8000}:8000\"\n  admin:\n    build: ./admin\n    ports:\n      - \"8001:8000\"\n  nginx:\n    image: nginx\n    volumes: [\"./nginx:/etc/nginx/conf.d:ro\"]\n    ports: [\"443:443\"]\n",
    ),
    (".env", "API_PORT=8000\n"),
    (
        "api/Dockerfile",
        "FROM python:3\nARG PORT=8000\nEXPOSE ${PORT}\nCMD [\"gunicorn\", \"api.wsgi\", \"--bind\", \"0.0.0.0:8000\"]\n",
    ),
    (
        "admin/Procfile",
        "web: gunicorn admin.wsgi --bind 0.0.0.0:8000\n",
    ),
    ("admin/Dockerfile", "FROM python:3\nEXPOSE 8000\n"),
    (
        "nginx/default.conf",
        "upstream api_backend { server api:8000; }\nupstream admin_backend { server admin:8000; }\nserver {\n  listen 443 ssl;\n  location /api/ { proxy_pass http://api_backend; }\n  location /admin/ { proxy_pass http://admin:8000; }\n}\n",
    ),
    ("docs/notes.md", "The API used to be on 8000.\n"),
];

pub(crate) fn write_tree(dir: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
}

fn target(container: bool) -> Target {
    Target {
        service: "api".into(),
        binding: "http".into(),
        transport: Transport::Tcp,
        port: 8000,
        target: Some(8000),
        published: true,
        container,
        hosts: vec!["app1".into()],
        others: vec!["nginx".into()],
        evidence: Vec::new(),
        exclude: Vec::new(),
    }
}

/// `file:line:col → verdict` for every reference.
fn verdicts(dir: &Path, t: &Target) -> (moves::Plan, BTreeMap<String, Verdict>) {
    let plan = moves::references(&[dir.to_path_buf()], t, &WalkOptions::default());
    let root = format!("{}/", dir.display());
    let map = plan
        .references
        .iter()
        .map(|r| (r.at.to_string().replace(&root, ""), r.verdict))
        .collect();
    (plan, map)
}

fn expect(map: &BTreeMap<String, Verdict>, want: &[(&str, Verdict)]) {
    let want: BTreeMap<String, Verdict> =
        want.iter().map(|(k, v)| ((*k).to_string(), *v)).collect();
    assert_eq!(map, &want);
}

#[test]
fn a_host_port_move_is_the_host_side_of_this_service_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_tree(dir.path(), STACK);
    let (plan, map) = verdicts(dir.path(), &target(false));
    assert_eq!(plan.side, Side::Host);
    assert_eq!(plan.tied, vec!["api".to_string()]);
    expect(
        &map,
        &[
            // the variable that sets the host side, and its default
            (".env:1:10", Rewrite),
            ("docker-compose.yml:6:32", Rewrite),
            // the container side of the same binding stays
            ("docker-compose.yml:4:47", OtherSide),
            ("docker-compose.yml:6:38", OtherSide),
            ("api/Dockerfile:2:10", OtherSide),
            ("api/Dockerfile:4:49", OtherSide),
            ("nginx/default.conf:1:35", OtherSide),
            // admin's, by its compose entry, its build context, its peer name
            ("docker-compose.yml:10:15", OtherOwner),
            ("admin/Procfile:1:41", OtherOwner),
            ("admin/Dockerfile:2:8", OtherOwner),
            ("nginx/default.conf:2:39", OtherOwner),
            ("nginx/default.conf:6:46", OtherOwner),
            ("docs/notes.md:1:23", Unparsed),
        ],
    );
}

#[test]
fn a_container_port_move_is_the_container_side_and_the_apps_own_config() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_tree(dir.path(), STACK);
    let (plan, map) = verdicts(dir.path(), &target(true));
    assert_eq!(plan.side, Side::Container);
    assert_eq!(plan.from, 8000);
    expect(
        &map,
        &[
            (".env:1:10", OtherSide),
            ("docker-compose.yml:6:32", OtherSide),
            ("docker-compose.yml:4:47", Rewrite),
            ("docker-compose.yml:6:38", Rewrite),
            // `ARG PORT=8000` is what `EXPOSE ${PORT}` reads
            ("api/Dockerfile:2:10", Rewrite),
            ("api/Dockerfile:4:49", Rewrite),
            ("nginx/default.conf:1:35", Rewrite),
            ("docker-compose.yml:10:15", OtherOwner),
            ("admin/Procfile:1:41", OtherOwner),
            ("admin/Dockerfile:2:8", OtherOwner),
            ("nginx/default.conf:2:39", OtherOwner),
            ("nginx/default.conf:6:46", OtherOwner),
            ("docs/notes.md:1:23", Unparsed),
        ],
    );
}

#[test]
fn an_unpublished_binding_has_one_side_and_needs_evidence() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_tree(
        dir.path(),
        &[
            (
                "deploy/api.service",
                "[Service]\nExecStart=/usr/bin/gunicorn api.wsgi --bind 127.0.0.1:8000\n",
            ),
            ("app.py", "app.run(port=8000)\n"),
            (
                "tools/probe.sh",
                "curl -fsS http://127.0.0.1:8000/healthz\n",
            ),
            ("worker/app.py", "app.run(port=8000)\n"),
        ],
    );
    let mut t = target(false);
    t.published = false;
    t.target = None;
    t.others.push("worker".into());
    let (plan, map) = verdicts(dir.path(), &t);
    assert_eq!(plan.side, Side::Only);
    expect(
        &map,
        &[
            // the unit is named after the service
            ("deploy/api.service:2:55", Rewrite),
            // no parser reads curl's URL: a human looks
            ("tools/probe.sh:1:28", Unparsed),
            // nothing ties the root app.py to `api`…
            ("app.py:1:14", Unowned),
            // …and worker/ is another service's directory
            ("worker/app.py:1:14", OtherOwner),
        ],
    );
    // the spec's evidence ties it
    let canon: PathBuf = std::fs::canonicalize(dir.path().join("app.py")).expect("canon");
    t.evidence = vec![(canon, Some(1))];
    let (_, map) = verdicts(dir.path(), &t);
    assert_eq!(map["app.py:1:14"], Rewrite);
}

#[test]
fn ties_by_published_port_long_syntax_kubernetes_and_shared_variables() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_tree(
        dir.path(),
        &[
            // compose calls the spec's `api` `backend`: it publishes the binding's host port
            (
                "compose.yaml",
                "services:\n  backend:\n    build:\n      context: .\n      dockerfile: docker/backend.Dockerfile\n    ports:\n      - target: 8000\n        published: 8080\n  both:\n    ports: [\"${BOTH:-9000}:${BOTH:-9000}\"]\n",
            ),
            ("docker/backend.Dockerfile", "EXPOSE 8000\n"),
            (
                "k8s/api.yaml",
                "apiVersion: v1\nkind: Service\nmetadata:\n  name: api\nspec:\n  type: NodePort\n  ports:\n    - port: 80\n      targetPort: 8000\n      nodePort: 30080\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    spec:\n      containers:\n        - name: api\n          ports:\n            - containerPort: 8000\n",
            ),
            (
                "scripts/run-api.sh",
                "docker run -p 127.0.0.1:8080:8000 backend\n",
            ),
            (".env", "BOTH=9000\n"),
            (
                "proxy/site.conf",
                "server {\n  listen 80;\n  location / { proxy_pass http://127.0.0.1:8080; }\n}\n",
            ),
        ],
    );
    let mut t = target(true);
    t.port = 8080;
    t.target = None;
    t.published = false; // the spec does not say; the compose entry does
    let (plan, map) = verdicts(dir.path(), &t);
    assert!(plan.published);
    assert_eq!(
        plan.from, 8000,
        "the container port comes from the compose entry"
    );
    assert_eq!(plan.tied, vec!["api".to_string(), "backend".to_string()]);
    expect(
        &map,
        &[
            ("compose.yaml:7:17", Rewrite),
            ("docker/backend.Dockerfile:1:8", Rewrite),
            ("k8s/api.yaml:9:19", Rewrite),
            ("k8s/api.yaml:22:30", Rewrite),
            ("scripts/run-api.sh:1:30", Rewrite),
        ],
    );
    // the host side of the same tree
    t.container = false;
    let (_, map) = verdicts(dir.path(), &t);
    expect(
        &map,
        &[
            ("compose.yaml:8:20", Rewrite),
            ("scripts/run-api.sh:1:25", Rewrite),
            ("proxy/site.conf:3:44", Rewrite),
        ],
    );
    // one variable on both sides of `both`: its value is for a human; each default sits on
    // one side and moves with it
    let mut both = target(false);
    both.service = "both".into();
    both.port = 9000;
    both.target = Some(9000);
    let (_, map) = verdicts(dir.path(), &both);
    expect(
        &map,
        &[
            (".env:1:6", Unsure),
            ("compose.yaml:10:22", Rewrite),
            ("compose.yaml:10:36", OtherSide),
        ],
    );
}
