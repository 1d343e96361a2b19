//! The human table of `portolan discover`: one row per port use, grouped by service, then
//! the routes.
//!
//! A large tree has 100,000s of uses, and this is the serial end of an otherwise parallel
//! run, so it is written for speed: each row's cells are formatted one after another into
//! one reused buffer (no allocation per row or cell), a width is a byte length when the cell
//! is ASCII, and rows are measured, then rendered, on every worker thread in batches that
//! are written in order — the output is the same whatever the thread count, and never held
//! whole in memory.

use portolan_discover::walk;
use portolan_discover::{FileReport, PortUse, Role};
use portolan_model::port::PortRange;

/// Columns: service, port, proto, role, address, via, confidence, evidence, snippet.
const COLUMNS: usize = 9;

/// The evidence column, cut from the front (its end, `file:line:col`, says the most).
const EVIDENCE: usize = 7;

/// The header row (the snippet column has none).
const HEADER: [&str; COLUMNS] = [
    "SERVICE", "PORT", "PROTO", "ROLE", "ADDRESS", "VIA", "CONF", "EVIDENCE", "",
];

/// Spaces between two columns.
const GAP: usize = 2;

/// Rows each thread renders per batch: big enough that starting threads costs nothing,
/// small enough that a batch's text stays a few MB.
const BATCH_ROWS: usize = 16 * 1024;

/// Fewer rows than this are measured and rendered on the calling thread alone.
const PARALLEL_ROWS: usize = 4 * 1024;

/// Where a row's cells go: into a buffer, to be rendered ([`Cells`]), or only into the
/// column widths ([`Widths`]) — the row is described once ([`row`]), for both.
trait Sink {
    /// Appends text to the current cell.
    fn text(&mut self, s: &str);
    /// Ends the current cell.
    fn end_cell(&mut self);
}

/// Describes the row of `u`, a use of `service`, to `sink`, cell by cell.
fn row(sink: &mut impl Sink, service: &str, u: &PortUse) {
    sink.text(service);
    sink.end_cell();
    // `8000`, or `8000->80` when a container or target port is known
    ports(sink, u.port);
    if let Some(target) = u.target {
        sink.text("->");
        ports(sink, target);
    }
    sink.end_cell();
    sink.text(u.transport.as_str());
    sink.end_cell();
    sink.text(u.role.as_str());
    sink.end_cell();
    match (u.role, &u.bind, &u.peer) {
        (Role::Connect, _, Some(peer)) => {
            sink.text("→");
            sink.text(peer);
        }
        (_, Some(bind), _) => sink.text(bind),
        (Role::Publish, None, _) => sink.text("*"),
        _ => sink.text("-"),
    }
    sink.end_cell();
    match (&u.variable, u.publisher) {
        (Some(v), _) => {
            sink.text("$");
            sink.text(v);
        }
        (None, Some(p)) => sink.text(p.as_str()),
        (None, None) => sink.text("-"),
    }
    sink.end_cell();
    sink.text(u.confidence.as_str());
    sink.end_cell();
    // as `Location` displays itself (`path:line:col`), without the formatting machinery
    sink.text(&u.at.path);
    sink.text(":");
    number(sink, u.at.line);
    sink.text(":");
    number(sink, u.at.col);
    sink.end_cell();
    sink.text(&u.snippet);
    sink.end_cell();
}

/// `n` in decimal (`core::fmt` costs more than the rest of a row).
fn number(sink: &mut impl Sink, mut n: u32) {
    let mut digits = [b'0'; 10];
    let mut at = digits.len();
    loop {
        at -= 1;
        // n % 10 < 10: the cast cannot truncate
        #[allow(clippy::cast_possible_truncation)]
        let digit = (n % 10) as u8;
        digits[at] = b'0' + digit;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // ASCII digits are UTF-8
    sink.text(std::str::from_utf8(&digits[at..]).unwrap_or_default());
}

/// A port range as it displays itself (`8000`, `8000-8010`).
fn ports(sink: &mut impl Sink, ports: PortRange) {
    number(sink, ports.lo.into());
    if ports.hi != ports.lo {
        sink.text("-");
        number(sink, ports.hi.into());
    }
}

/// One row's cells, formatted one after another into one buffer that is reused row after
/// row.
#[derive(Default)]
struct Cells {
    /// The cells' text, back to back.
    text: String,
    /// Where each cell ends in `text`.
    ends: [usize; COLUMNS],
    /// The cell being written.
    at: usize,
}

impl Sink for Cells {
    fn text(&mut self, s: &str) {
        self.text.push_str(s);
    }

    fn end_cell(&mut self) {
        if let Some(end) = self.ends.get_mut(self.at) {
            *end = self.text.len();
        }
        self.at += 1;
    }
}

impl Cells {
    /// Formats the row of `u`, a use of `service`.
    fn fill(&mut self, service: &str, u: &PortUse) {
        self.text.clear();
        self.at = 0;
        row(self, service, u);
    }

    /// The cells of the row last filled.
    fn get(&self) -> [&str; COLUMNS] {
        let mut start = 0;
        self.ends.map(|end| {
            let cell = &self.text[start..end];
            start = end;
            cell
        })
    }
}

/// The widest cell of each column so far, measured without copying any text.
#[derive(Default)]
struct Widths {
    /// Each column's width.
    max: [usize; COLUMNS],
    /// The width of the cell being measured.
    cell: usize,
    /// Its column.
    at: usize,
}

impl Sink for Widths {
    fn text(&mut self, s: &str) {
        self.cell += chars(s);
    }

    fn end_cell(&mut self) {
        if let Some(max) = self.max.get_mut(self.at) {
            *max = (*max).max(self.cell);
        }
        self.cell = 0;
        self.at += 1;
    }
}

impl Widths {
    /// Measures the row of `u`, a use of `service`.
    fn measure(&mut self, service: &str, u: &PortUse) {
        self.at = 0;
        row(self, service, u);
    }
}

/// How many characters `s` shows (its length when ASCII, the usual case).
fn chars(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

/// Appends `n` spaces.
fn pad(out: &mut String, mut n: usize) {
    const SPACES: &str = "                                                                ";
    while n > 0 {
        let k = n.min(SPACES.len());
        out.push_str(&SPACES[..k]);
        n -= k;
    }
}

/// Appends one row, each cell padded (or cut) to its column's width, the last one not
/// padded, trailing whitespace trimmed.
fn render(out: &mut String, cells: &[&str; COLUMNS], widths: &[usize; COLUMNS]) {
    let start = out.len();
    for (i, (cell, &width)) in cells.iter().zip(widths).enumerate() {
        let shown = chars(cell);
        let shown = if shown <= width {
            out.push_str(cell);
            shown
        } else {
            // only on a terminal narrower than the table
            let cut = if i == EVIDENCE {
                crate::fit::tail(cell, width)
            } else {
                crate::fit::cell(cell, width)
            };
            out.push_str(&cut);
            chars(&cut)
        };
        if i + 1 < COLUMNS {
            pad(out, width.saturating_sub(shown) + GAP);
        }
    }
    let kept = out[start..].trim_end().len();
    out.truncate(start + kept);
    out.push('\n');
}

/// Runs `work` on up to `parts.len()` nearly equal runs of `items`, each with its own part,
/// one thread each (the first on this thread).
fn split<T: Sync, P: Send>(items: &[T], parts: &mut [P], work: impl Fn(&[T], &mut P) + Sync) {
    let size = items.len().div_ceil(parts.len().max(1)).max(1);
    let mut chunks = items.chunks(size);
    let mut parts = parts.iter_mut();
    let (Some(first), Some(own)) = (chunks.next(), parts.next()) else {
        return;
    };
    let work = &work;
    std::thread::scope(|s| {
        for (chunk, part) in chunks.zip(parts) {
            s.spawn(move || work(chunk, part));
        }
        work(first, own);
    });
}

/// Writes the human table — one row per use, grouped by service, then the routes —
/// straight into `out`. `width`: the terminal's, to fit; `threads`: how many may measure
/// and render rows (0: one per core).
pub(crate) fn write_table(
    out: &mut impl std::io::Write,
    report: &FileReport,
    width: Option<usize>,
    threads: usize,
) -> std::io::Result<()> {
    let groups = walk::by_service(report);
    let rows: Vec<(&str, &PortUse)> = groups
        .iter()
        .flat_map(|(service, uses)| uses.iter().map(move |u| (service.as_str(), *u)))
        .collect();
    let threads = if rows.len() < PARALLEL_ROWS {
        1
    } else if threads == 0 {
        std::thread::available_parallelism().map_or(1, usize::from)
    } else {
        threads
    };
    let mut widths = HEADER.map(str::len);
    let mut measured: Vec<Widths> = (0..threads).map(|_| Widths::default()).collect();
    split(&rows, &mut measured, |rows, widths| {
        for (service, u) in rows {
            widths.measure(service, u);
        }
    });
    for m in &measured {
        for (w, x) in widths.iter_mut().zip(m.max) {
            *w = (*w).max(x);
        }
    }
    // on a terminal: the snippet gives way first, then names and addresses, the evidence
    // last; ports, roles and confidence never
    if let Some(w) = width {
        crate::fit::shrink(&mut widths, w, GAP, &[8, 5, 0, 4, 7]);
    }
    if !rows.is_empty() {
        let mut header = String::new();
        render(&mut header, &HEADER, &widths);
        out.write_all(header.as_bytes())?;
        let mut texts = vec![String::new(); threads];
        for batch in rows.chunks(BATCH_ROWS * threads) {
            texts.iter_mut().for_each(String::clear);
            split(batch, &mut texts, |rows, text| {
                let mut cells = Cells::default();
                for (service, u) in rows {
                    cells.fill(service, u);
                    render(text, &cells.get(), &widths);
                }
            });
            for t in &texts {
                out.write_all(t.as_bytes())?;
            }
        }
    }
    write_routes(out, report, width)
}

/// The `ROUTES` section (few lines: formatted plainly).
fn write_routes(
    out: &mut impl std::io::Write,
    report: &FileReport,
    width: Option<usize>,
) -> std::io::Result<()> {
    if report.routes.is_empty() {
        return Ok(());
    }
    writeln!(out, "\nROUTES")?;
    for r in &report.routes {
        let listen = if r.listen.is_empty() {
            "?".to_string()
        } else {
            r.listen
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(",")
        };
        let names = if r.server_names.is_empty() {
            String::new()
        } else {
            format!(" {}", r.server_names.join(","))
        };
        let path = r.path.as_deref().unwrap_or("");
        let to = match r.port {
            Some(p) => format!("{}:{p}", r.upstream),
            None => r.upstream.clone(),
        };
        let kind = match r.kind {
            portolan_discover::ProxyKind::Http => "http",
            portolan_discover::ProxyKind::Uwsgi => "uwsgi",
            portolan_discover::ProxyKind::Fastcgi => "fastcgi",
            portolan_discover::ProxyKind::Grpc => "grpc",
        };
        let line = format!(":{listen}{names} {path} -> {to} ({kind})  {}", r.at);
        writeln!(
            out,
            "{}",
            crate::fit::cell(&line, width.unwrap_or(usize::MAX))
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use portolan_discover::{Location, SourceKind};

    /// `n` uses over a few services and files, some with non-ASCII text and every kind of
    /// address and via cell.
    fn report(n: usize) -> FileReport {
        let mut uses: Vec<PortUse> = (0..n)
            .map(|i| {
                let port = u16::try_from(1000 + i % 50_000).unwrap_or(1000);
                let line = u32::try_from(1 + i % 90).unwrap_or(1);
                let role = [Role::Listen, Role::Publish, Role::Expose, Role::Connect][i % 4];
                let mut u = PortUse::new(
                    Location::new(format!("svc{}/f{}.py", i % 7, i / 3), line, 3),
                    SourceKind::Python,
                    role,
                    PortRange::single(port),
                );
                if i % 5 == 0 {
                    u.target = Some(PortRange::single(80));
                }
                if i % 9 == 4 {
                    u.port = PortRange::new(port, 65535).unwrap_or(u.port);
                    u.target = Some(PortRange::new(1, 9).unwrap_or(u.port));
                    u.at.col = u32::MAX;
                }
                if i % 3 == 0 {
                    u.bind = Some("127.0.0.1".into());
                }
                if role == Role::Connect {
                    u.peer = Some(if i % 8 == 3 {
                        "dätabase".into()
                    } else {
                        "db".into()
                    });
                }
                if i % 6 == 1 {
                    u.variable = Some("WEB_PORT".into());
                }
                u.snippet = if i % 11 == 0 {
                    format!(
                        "app.run(port={port})  # naïve ünïcode {}",
                        "x".repeat(i % 13)
                    )
                } else {
                    format!("listen {port}")
                };
                u
            })
            .collect();
        uses.sort_by(|a, b| a.at.cmp(&b.at));
        FileReport {
            uses,
            ..FileReport::default()
        }
    }

    fn table(r: &FileReport, width: Option<usize>, threads: usize) -> String {
        let mut out = Vec::new();
        write_table(&mut out, r, width, threads).expect("write to a Vec");
        String::from_utf8(out).expect("UTF-8")
    }

    /// The table as it was written before rows were rendered in parallel into reused
    /// buffers (cells built as Strings, widths counted in chars): the reference the fast
    /// writer must match byte for byte.
    fn reference(r: &FileReport, width: Option<usize>) -> String {
        let groups = walk::by_service(r);
        let cells = |service: &str, u: &PortUse| -> Vec<String> {
            let ports = match u.target {
                Some(t) => format!("{}->{t}", u.port),
                None => u.port.to_string(),
            };
            let via = match (&u.variable, u.publisher) {
                (Some(v), _) => format!("${v}"),
                (None, Some(p)) => p.as_str().to_string(),
                (None, None) => "-".into(),
            };
            let bind = match (u.role, &u.bind, &u.peer) {
                (Role::Connect, _, Some(peer)) => format!("→{peer}"),
                (_, Some(b), _) => b.clone(),
                (Role::Publish, None, _) => "*".into(),
                _ => "-".into(),
            };
            vec![
                service.to_string(),
                ports,
                u.transport.as_str().into(),
                u.role.as_str().into(),
                bind,
                via,
                u.confidence.as_str().into(),
                u.at.to_string(),
                u.snippet.clone(),
            ]
        };
        let mut widths = HEADER.map(str::len);
        for (s, uses) in &groups {
            for u in uses {
                for (w, c) in widths.iter_mut().zip(cells(s, u)) {
                    *w = (*w).max(c.chars().count());
                }
            }
        }
        if let Some(w) = width {
            crate::fit::shrink(&mut widths, w, 2, &[8, 5, 0, 4, 7]);
        }
        let row = |cells: Vec<String>| {
            let mut line = String::new();
            for (i, c) in cells.iter().enumerate() {
                let c = if i == 7 {
                    crate::fit::tail(c, widths[i])
                } else {
                    crate::fit::cell(c, widths[i])
                };
                line.push_str(&c);
                if i + 1 < cells.len() {
                    let pad = widths[i].saturating_sub(c.chars().count()) + 2;
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            line.trim_end().to_string() + "\n"
        };
        let mut t = String::new();
        if !groups.is_empty() {
            t += &row(HEADER.iter().map(ToString::to_string).collect());
            for (s, uses) in &groups {
                for u in uses {
                    t += &row(cells(s, u));
                }
            }
        }
        t
    }

    #[test]
    fn fast_table_matches_the_plain_one_byte_for_byte() {
        // small (one thread), and large enough for several threads and batches
        for n in [0, 1, 37, PARALLEL_ROWS + 1, BATCH_ROWS * 3 + 17] {
            let r = report(n);
            let want = reference(&r, None);
            for threads in [0, 1, 2, 3] {
                assert!(table(&r, None, threads) == want, "n={n} threads={threads}");
            }
            for width in [40, 80, 120] {
                let want = reference(&r, Some(width));
                assert!(table(&r, Some(width), 2) == want, "n={n} width={width}");
            }
        }
    }

    #[test]
    fn non_ascii_cells_are_measured_in_chars() {
        let t = table(&report(12), None, 1);
        assert!(t.contains("→dätabase") && t.contains("ünïcode"), "{t}");
        // the snippet column starts at the same char column on every row
        let columns: std::collections::BTreeSet<usize> = t
            .lines()
            .skip(1)
            .filter_map(|l| {
                let at = l.rfind("app.run").or_else(|| l.rfind("listen "))?;
                Some(l[..at].chars().count())
            })
            .collect();
        assert_eq!(columns.len(), 1, "{t}");
    }
}
