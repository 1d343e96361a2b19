//! How an event's listener documents are stored: compactly, and read back whole.
//!
//! Issue 18's fleet benchmark found the history growing by 107 MB/day on PostgreSQL, over
//! the 100 MB goal, because a `changed` event stored the whole previous document next to
//! the new one — a restart repeated the command line to change a pid. Now:
//!
//! - `listener` is the document without the key fields (`transport`, `addr`, `port`) it
//!   repeats from the row's columns — dropped only when equal to them, so an agent's
//!   spelling (`TCP`) survives;
//! - `previous` of a `changed` event is a patch that turns the new document into the old
//!   one: a JSON array of `[path, old value]` (set) and `[path]` (the field was absent)
//!   operations, `path` an array of object keys and array indexes. A restart stores
//!   `[[["owners",0,"pid"],1234]]`.
//!
//! Rows written before (whole documents) still read: a stored document that has the key
//! fields keeps them, and a `previous` that is an object is the old document itself.
//! Readers get whole documents either way, so the API's events are unchanged.

use serde_json::Value;

use super::ListenerKey;

/// `listener` as stored: without the key fields it repeats.
pub(super) fn listener_text(key: &ListenerKey, listener: &Value) -> String {
    let Some(doc) = listener.as_object() else {
        return listener.to_string();
    };
    let mut doc = doc.clone();
    if doc.get("transport").and_then(Value::as_str) == Some(key.transport.as_str()) {
        doc.remove("transport");
    }
    if doc.get("addr").and_then(Value::as_str) == Some(key.addr.as_str()) {
        doc.remove("addr");
    }
    if doc.get("port").and_then(Value::as_u64) == Some(u64::from(key.port)) {
        doc.remove("port");
    }
    Value::Object(doc).to_string()
}

/// A stored listener document, whole again: the key fields it lacks come from `key`.
pub(super) fn listener_of(key: &ListenerKey, stored: Value) -> Value {
    let Value::Object(mut doc) = stored else {
        return stored;
    };
    doc.entry("transport")
        .or_insert_with(|| Value::from(key.transport.clone()));
    doc.entry("addr")
        .or_insert_with(|| Value::from(key.addr.clone()));
    doc.entry("port").or_insert_with(|| Value::from(key.port));
    Value::Object(doc)
}

/// `previous` as stored: the patch from `listener` (the new document) back to `previous`.
pub(super) fn previous_text(listener: &Value, previous: &Value) -> String {
    let mut ops = Vec::new();
    patch(listener, previous, &mut Vec::new(), &mut ops);
    Value::Array(ops).to_string()
}

/// The previous document of an event whose new one is `listener`: `stored` is a patch
/// (see the module docs) or, in rows written before patches, the whole document.
pub(super) fn previous_of(listener: &Value, stored: Value) -> Value {
    let Value::Array(ops) = stored else {
        return stored;
    };
    let mut out = listener.clone();
    for op in &ops {
        // a malformed operation (a hand-edited row) is skipped, never a panic
        let Some([path, rest @ ..]) = op.as_array().map(Vec::as_slice) else {
            continue;
        };
        let Some(path) = path.as_array() else {
            continue;
        };
        apply(&mut out, path, rest.first());
    }
    out
}

/// Appends to `ops` the operations that turn `new` into `old` below `path`.
fn patch(new: &Value, old: &Value, path: &mut Vec<Value>, ops: &mut Vec<Value>) {
    if new == old {
        return;
    }
    let set = |path: &[Value], value: &Value| {
        Value::Array(vec![Value::Array(path.to_vec()), value.clone()])
    };
    match (new, old) {
        (Value::Object(n), Value::Object(o)) => {
            for (k, ov) in o {
                path.push(Value::from(k.clone()));
                match n.get(k) {
                    Some(nv) => patch(nv, ov, path, ops),
                    None => ops.push(set(path, ov)),
                }
                path.pop();
            }
            for k in n.keys().filter(|k| !o.contains_key(*k)) {
                path.push(Value::from(k.clone()));
                ops.push(Value::Array(vec![Value::Array(path.clone())]));
                path.pop();
            }
        }
        (Value::Array(n), Value::Array(o)) if n.len() == o.len() => {
            for (i, (nv, ov)) in n.iter().zip(o).enumerate() {
                path.push(Value::from(i));
                patch(nv, ov, path, ops);
                path.pop();
            }
        }
        _ => ops.push(set(path, old)),
    }
}

/// Sets (`value` given) or removes the field at `path` in `doc`.
fn apply(doc: &mut Value, path: &[Value], value: Option<&Value>) {
    let Some((last, parents)) = path.split_last() else {
        if let Some(v) = value {
            *doc = v.clone();
        }
        return;
    };
    let mut at = doc;
    for step in parents {
        let next = match (at, step) {
            (Value::Object(m), Value::String(k)) => m.get_mut(k),
            (Value::Array(a), Value::Number(i)) => i
                .as_u64()
                .and_then(|i| usize::try_from(i).ok())
                .and_then(|i| a.get_mut(i)),
            _ => None,
        };
        let Some(next) = next else {
            return;
        };
        at = next;
    }
    match (at, last, value) {
        (Value::Object(m), Value::String(k), Some(v)) => {
            m.insert(k.clone(), v.clone());
        }
        (Value::Object(m), Value::String(k), None) => {
            m.remove(k);
        }
        (Value::Array(a), Value::Number(i), Some(v)) => {
            if let Some(slot) = i
                .as_u64()
                .and_then(|i| usize::try_from(i).ok())
                .and_then(|i| a.get_mut(i))
            {
                *slot = v.clone();
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn key() -> ListenerKey {
        ListenerKey {
            transport: "tcp".into(),
            addr: "0.0.0.0".into(),
            port: 8080,
        }
    }

    fn roundtrip(new: &Value, old: &Value) -> (String, Value) {
        let text = previous_text(new, old);
        let back = previous_of(new, serde_json::from_str(&text).expect("json"));
        (text, back)
    }

    #[test]
    fn a_restart_stores_only_the_pid() {
        let old = json!({"transport": "tcp", "addr": "0.0.0.0", "port": 8080,
            "owners": [{"pid": 1234, "name": "web", "cmdline": "/usr/bin/web --long --flags"}]});
        let mut new = old.clone();
        new["owners"][0]["pid"] = json!(5678);
        let (text, back) = roundtrip(&new, &old);
        assert_eq!(text, r#"[[["owners",0,"pid"],1234]]"#);
        assert_eq!(back, old);
    }

    #[test]
    fn added_removed_and_reshaped_fields_round_trip() {
        let old = json!({"port": 1, "uid": 0, "owners": [{"pid": 1}], "x": {"a": 1}});
        let new = json!({"port": 1, "inode": 9, "owners": [{"pid": 1}, {"pid": 2}], "x": 3});
        assert_eq!(roundtrip(&new, &old).1, old);
        assert_eq!(roundtrip(&old, &new).1, new);
        assert_eq!(roundtrip(&json!(null), &old).1, old);
    }

    #[test]
    fn key_fields_are_dropped_only_when_the_columns_hold_them() {
        let doc = json!({"transport": "tcp", "addr": "0.0.0.0", "port": 8080, "uid": 0});
        let text = listener_text(&key(), &doc);
        assert_eq!(text, r#"{"uid":0}"#);
        assert_eq!(
            listener_of(&key(), serde_json::from_str(&text).expect("json")),
            doc
        );
        let upper = json!({"transport": "TCP", "addr": "0.0.0.0", "port": 8080});
        let text = listener_text(&key(), &upper);
        assert_eq!(text, r#"{"transport":"TCP"}"#);
        assert_eq!(
            listener_of(&key(), serde_json::from_str(&text).expect("json")),
            upper
        );
    }

    #[test]
    fn rows_written_before_patches_read_as_they_were() {
        let old = json!({"transport": "tcp", "addr": "0.0.0.0", "port": 8080, "uid": 1});
        let new = json!({"transport": "tcp", "addr": "0.0.0.0", "port": 8080, "uid": 2});
        assert_eq!(listener_of(&key(), new.clone()), new);
        assert_eq!(previous_of(&new, old.clone()), old);
    }

    #[test]
    fn malformed_patches_are_skipped() {
        let new = json!({"owners": [{"pid": 1}]});
        let bad = json!([
            [],
            [["owners", 7, "pid"], 2],
            [[3], 1],
            "x",
            [["owners", 0, "pid"], 9]
        ]);
        assert_eq!(previous_of(&new, bad), json!({"owners": [{"pid": 9}]}));
    }
}
