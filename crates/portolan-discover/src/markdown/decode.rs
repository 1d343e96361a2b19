//! Bytes → text for the import: a UTF-8 byte-order mark is dropped, UTF-16 (little or big
//! endian, with a BOM or recognised by its zero bytes) is decoded, CRLF and lone CR line
//! ends become LF, and lines that are not text (invalid UTF-8, control bytes, binary junk)
//! are blanked and listed, so a half-damaged document still imports its readable half with
//! its line numbers intact.

/// A document as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The text, `\n` line ends; unreadable lines are empty.
    pub text: String,
    /// `utf-8`, `utf-8 (BOM)`, `utf-16le`, `utf-16be`.
    pub encoding: &'static str,
    /// Lines blanked because they are not text: (1-based line, why).
    pub unreadable: Vec<(usize, String)>,
    /// Lines that had any readable text.
    pub readable_lines: usize,
}

fn utf16(bytes: &[u8], little: bool) -> String {
    let units = bytes.chunks_exact(2).map(|c| {
        if little {
            u16::from_le_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], c[1]])
        }
    });
    char::decode_utf16(units)
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

/// Guesses UTF-16 without a BOM: ASCII text in UTF-16 has a zero in every other byte.
fn utf16_guess(bytes: &[u8]) -> Option<bool> {
    let n = bytes.len().min(4096) / 2 * 2;
    if n < 8 {
        return None;
    }
    let (mut even, mut odd) = (0usize, 0usize);
    for (i, b) in bytes[..n].iter().enumerate() {
        if *b == 0 {
            if i % 2 == 0 {
                even += 1;
            } else {
                odd += 1;
            }
        }
    }
    let half = n / 2;
    if odd * 10 >= half * 7 && even * 10 < half {
        Some(true)
    } else if even * 10 >= half * 7 && odd * 10 < half {
        Some(false)
    } else {
        None
    }
}

/// Why a line is not text, if it is not: replacement characters (bytes that were not
/// UTF-8) or control characters other than tab and form feed.
fn junk(line: &str) -> Option<String> {
    let mut bad = 0usize;
    let mut total = 0usize;
    let mut nul = false;
    for c in line.chars() {
        total += 1;
        if c == '\0' {
            nul = true;
            bad += 1;
        } else if c == char::REPLACEMENT_CHARACTER || (c.is_control() && c != '\t' && c != '\x0c') {
            bad += 1;
        }
    }
    if bad == 0 {
        return None;
    }
    if nul || bad * 10 > total || bad > 8 {
        return Some(if nul {
            "binary content (NUL bytes)".to_string()
        } else {
            format!("not text ({bad} of {total} characters unreadable)")
        });
    }
    None
}

/// Decodes `bytes`.
pub fn decode(bytes: &[u8]) -> Decoded {
    let (raw, encoding): (String, &'static str) =
        if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
            (String::from_utf8_lossy(rest).into_owned(), "utf-8 (BOM)")
        } else if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
            (utf16(rest, true), "utf-16le")
        } else if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
            (utf16(rest, false), "utf-16be")
        } else {
            match utf16_guess(bytes) {
                Some(true) => (utf16(bytes, true), "utf-16le"),
                Some(false) => (utf16(bytes, false), "utf-16be"),
                None => (String::from_utf8_lossy(bytes).into_owned(), "utf-8"),
            }
        };
    let mut text = String::with_capacity(raw.len());
    let mut unreadable = Vec::new();
    let mut readable_lines = 0usize;
    // CRLF and lone CR both end a line.
    let normalised = if raw.contains('\r') {
        raw.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        raw
    };
    for (i, line) in normalised.split('\n').enumerate() {
        if i > 0 {
            text.push('\n');
        }
        if let Some(why) = junk(line) {
            unreadable.push((i + 1, why));
        } else {
            if !line.trim().is_empty() {
                readable_lines += 1;
            }
            text.push_str(line);
        }
    }
    Decoded {
        text,
        encoding,
        unreadable,
        readable_lines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_order_marks_and_line_ends() {
        let d = decode(b"\xEF\xBB\xBF# T\r\nx\ry\n");
        assert_eq!(
            (d.text.as_str(), d.encoding),
            ("# T\nx\ny\n", "utf-8 (BOM)")
        );
        let mut le = vec![0xFF, 0xFE];
        le.extend("# Größe\n".encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(decode(&le).text, "# Größe\n");
        let mut be = vec![0xFE, 0xFF];
        be.extend("# Порт\n".encode_utf16().flat_map(u16::to_be_bytes));
        let d = decode(&be);
        assert_eq!((d.text.as_str(), d.encoding), ("# Порт\n", "utf-16be"));
        let bare: Vec<u8> = "| Port |\n| 80 |\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(decode(&bare).encoding, "utf-16le");
    }

    #[test]
    fn junk_lines_are_blanked_and_listed() {
        let d = decode(b"# ok\n\x00\x01\x02\xff\xfe\x00junk\n| a | 80 |\n");
        assert_eq!(d.text, "# ok\n\n| a | 80 |\n");
        assert_eq!(d.unreadable.len(), 1);
        assert_eq!(d.unreadable[0].0, 2);
        assert_eq!(d.readable_lines, 2);
        // One stray byte in a long line is a typo, not junk.
        let d = decode("caf\u{e9} on port 8080 and a long sentence around it".as_bytes());
        assert!(d.unreadable.is_empty());
    }
}
