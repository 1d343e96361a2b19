//! Binding ids (issue 11: `BindingId` through reach, drift and render): what
//! `Model::binding_ids`, an expectation's targets and a target's instances hand out names
//! the binding instance it stands for, in model order.

use portolan_model::load_str;

const SPEC: &str = r#"
[hosts.app1]
[hosts.app2]

[services.db]
hosts = ["app1", "app2"]
bindings.pg = { port = 5432, app = "postgres", exposure = "internal" }
bindings.metrics = { port = 9187, app = "http", exposure = "internal" }

[services.web]
hosts = ["app1"]
bindings.http = { port = 8080, app = "http", exposure = "public" }

[[expect]]
from = "public"
to = "db.pg"
reach = false
"#;

#[test]
fn binding_ids_and_expectation_targets_name_their_instances() {
    let m = load_str("ports.toml", SPEC).expect("the spec loads");
    let ids: Vec<_> = m.binding_ids().collect();
    assert_eq!(ids.len(), m.bindings.len());
    for (k, (id, b)) in ids.iter().enumerate() {
        assert_eq!(id.index(), k);
        assert!(std::ptr::eq(m.binding(*id), *b));
    }
    let targets = m.expectations[0].targets(&m);
    let named: Vec<(String, String)> = targets
        .iter()
        .map(|id| {
            let b = m.binding(*id);
            (b.qualified_name(&m), m.host(b.host).name.clone())
        })
        .collect();
    assert_eq!(
        named,
        [
            ("db.pg".to_string(), "app1".to_string()),
            ("db.pg".to_string(), "app2".to_string())
        ]
    );
    assert!(targets.windows(2).all(|w| w[0] < w[1]), "model order");
}
