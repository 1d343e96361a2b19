//! Procfile: one `type: command` per line; the port flags of each command (through
//! [`cmdline`](crate::cmdline)) with the process type as the service. Heroku (and
//! `heroku local`, foreman, honcho) set `PORT`, 5000 by default: `$PORT` without a written
//! default is read as 5000 with [`Confidence::Low`]; `${PORT:-8000}` gives 8000, medium.

use std::collections::BTreeMap;

use crate::cmdline;
use crate::evidence::{Confidence, Context, FileReport, PortUse, SourceKind};
use crate::text::LineIndex;

/// Reads one file.
pub fn parse(path: &str, text: &str, ctx: &Context) -> FileReport {
    let _ = ctx;
    let ix = LineIndex::new(path, text);
    let vars = BTreeMap::from([("PORT".to_string(), "5000".to_string())]);
    let mut report = FileReport::default();
    let mut pos = 0;
    for raw in text.split_inclusive('\n') {
        let start = pos;
        pos += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        if line.trim_start().starts_with('#') {
            continue;
        }
        let Some(colon) = line.find(':') else {
            continue;
        };
        let (name, cmd) = (&line[..colon], &line[colon + 1..]);
        let name = name.trim();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            continue;
        }
        let cmd_at = start + colon + 1;
        let found = cmdline::scan_with(
            &ix,
            SourceKind::Procfile,
            cmd,
            cmd_at,
            &vars,
            Confidence::Low,
        );
        report.uses.extend(found.into_iter().map(|u| PortUse {
            service: Some(name.to_string()),
            ..u
        }));
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::Role;

    #[test]
    fn process_types_and_port_defaults() {
        let text = "# comment: gunicorn -b :1\nweb: gunicorn -b 0.0.0.0:$PORT app:app\nadmin: python manage.py runserver 0.0.0.0:8082\napi: uvicorn a:b --port ${PORT:-8000}\nworker: celery -A proj worker\n";
        let r = parse("Procfile", text, &Context::default());
        let u = &r.uses;
        assert_eq!(u.len(), 3);
        assert_eq!(u[0].service.as_deref(), Some("web"));
        assert_eq!((u[0].port.lo, u[0].confidence), (5000, Confidence::Low));
        assert_eq!(u[0].variable.as_deref(), Some("PORT"));
        assert_eq!(u[0].at.to_string(), "Procfile:2:26");
        assert_eq!(u[1].service.as_deref(), Some("admin"));
        assert_eq!((u[1].port.lo, u[1].confidence), (8082, Confidence::High));
        assert_eq!(u[1].at.to_string(), "Procfile:3:43");
        assert_eq!(u[1].role, Role::Listen);
        assert_eq!((u[2].port.lo, u[2].confidence), (8000, Confidence::Medium));
    }
}
