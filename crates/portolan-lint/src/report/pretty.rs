//! Streaming pretty JSON: serialises one value at a given nesting depth, so a report can be
//! written element by element — a constant amount of memory beyond the findings — and still
//! read exactly like `serde_json::to_string_pretty` of the whole document (two-space indent).

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::Formatter;

/// `serde_json`'s pretty format, starting `depth` levels deep.
struct Indented {
    depth: usize,
    has_value: bool,
}

fn indent<W: ?Sized + Write>(w: &mut W, depth: usize) -> io::Result<()> {
    for _ in 0..depth {
        w.write_all(b"  ")?;
    }
    Ok(())
}

impl Formatter for Indented {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            w.write_all(b"\n")?;
            indent(w, self.depth)?;
        }
        w.write_all(b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        w.write_all(if first { b"\n" } else { b",\n" })?;
        indent(w, self.depth)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            w.write_all(b"\n")?;
            indent(w, self.depth)?;
        }
        w.write_all(b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        w.write_all(if first { b"\n" } else { b",\n" })?;
        indent(w, self.depth)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// Writes `value` pretty-printed as if it sat `depth` levels deep in a larger document.
pub fn write<W: Write + ?Sized, T: Serialize + ?Sized>(
    out: &mut W,
    value: &T,
    depth: usize,
) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(
        out,
        Indented {
            depth,
            has_value: false,
        },
    );
    value.serialize(&mut ser).map_err(io_error)
}

/// Writes the elements of a JSON array that sits `depth` levels deep (the caller writes the
/// key and this closes nothing it did not open): `[`, each element, `]`.
pub fn array<W: Write + ?Sized, T: Serialize>(
    out: &mut W,
    items: impl IntoIterator<Item = T>,
    depth: usize,
) -> io::Result<()> {
    out.write_all(b"[")?;
    let mut first = true;
    for item in items {
        out.write_all(if first { b"\n" } else { b",\n" })?;
        first = false;
        indent(out, depth + 1)?;
        write(out, &item, depth + 1)?;
    }
    if !first {
        out.write_all(b"\n")?;
        indent(out, depth)?;
    }
    out.write_all(b"]")
}

/// Writes `"key": ` at `depth` (the caller writes the separator before it).
pub fn key<W: Write + ?Sized>(out: &mut W, key: &str, depth: usize) -> io::Result<()> {
    indent(out, depth)?;
    serde_json::to_writer(&mut *out, key).map_err(io_error)?;
    out.write_all(b": ")
}

/// A serializer error as an I/O error that keeps its kind, so a closed pipe (`BrokenPipe`)
/// under a streamed report is still recognised as one by the caller.
fn io_error(e: serde_json::Error) -> io::Error {
    match e.io_error_kind() {
        Some(kind) => io::Error::new(kind, e),
        None => io::Error::other(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_serde_json_pretty_at_any_depth() {
        let v =
            serde_json::json!({"a": [1, {"b": [], "c": {}}, [2, 3]], "d": "x", "e": {"f": null}});
        let whole = serde_json::to_string_pretty(&serde_json::json!({"k": [v.clone(), v.clone()]}))
            .expect("json");
        let mut out = Vec::new();
        out.extend_from_slice(b"{\n");
        key(&mut out, "k", 1).expect("write");
        array(&mut out, [&v, &v], 1).expect("write");
        out.extend_from_slice(b"\n}");
        assert_eq!(String::from_utf8(out).expect("utf8"), whole);
        let mut empty = Vec::new();
        array(&mut empty, Vec::<u8>::new(), 3).expect("write");
        assert_eq!(empty, b"[]");
    }
}
