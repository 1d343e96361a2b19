//! Text damaged on the way: mojibake (UTF-8 read as Windows-1252, Latin-1 or Mac Roman and
//! written back as UTF-8, e.g. `â€”` for `—`, `Ã©` for `é`, `‚Üí` for `→`, `üìã` for `📋`
//! with the lead byte lost) and HTML entities (`&amp;`, `&#8212;`, `&nbsp;`).
//!
//! Repair never changes ASCII, so line breaks (and hence line numbers) are preserved.

/// Mac Roman bytes 0x80–0xFF.
const MAC_ROMAN: [char; 128] = [
    'Ä', 'Å', 'Ç', 'É', 'Ñ', 'Ö', 'Ü', 'á', 'à', 'â', 'ä', 'ã', 'å', 'ç', 'é', 'è', 'ê', 'ë', 'í',
    'ì', 'î', 'ï', 'ñ', 'ó', 'ò', 'ô', 'ö', 'õ', 'ú', 'ù', 'û', 'ü', '†', '°', '¢', '£', '§', '•',
    '¶', 'ß', '®', '©', '™', '´', '¨', '≠', 'Æ', 'Ø', '∞', '±', '≤', '≥', '¥', 'µ', '∂', '∑', '∏',
    'π', '∫', 'ª', 'º', 'Ω', 'æ', 'ø', '¿', '¡', '¬', '√', 'ƒ', '≈', '∆', '«', '»', '…', '\u{a0}',
    'À', 'Ã', 'Õ', 'Œ', 'œ', '–', '—', '“', '”', '‘', '’', '÷', '◊', 'ÿ', 'Ÿ', '⁄', '€', '‹', '›',
    'ﬁ', 'ﬂ', '‡', '·', '‚', '„', '‰', 'Â', 'Ê', 'Á', 'Ë', 'È', 'Í', 'Î', 'Ï', 'Ì', 'Ó', 'Ô',
    '\u{f8ff}', 'Ò', 'Ú', 'Û', 'Ù', 'ı', 'ˆ', '˜', '¯', '˘', '˙', '˚', '¸', '˝', '˛', 'ˇ',
];

/// Windows-1252 bytes 0x80–0x9F (`None`: undefined, read as the C1 control of that value).
const CP1252_HIGH: [Option<char>; 32] = [
    Some('€'),
    None,
    Some('‚'),
    Some('ƒ'),
    Some('„'),
    Some('…'),
    Some('†'),
    Some('‡'),
    Some('ˆ'),
    Some('‰'),
    Some('Š'),
    Some('‹'),
    Some('Œ'),
    None,
    Some('Ž'),
    None,
    None,
    Some('‘'),
    Some('’'),
    Some('“'),
    Some('”'),
    Some('•'),
    Some('–'),
    Some('—'),
    Some('˜'),
    Some('™'),
    Some('š'),
    Some('›'),
    Some('œ'),
    None,
    Some('ž'),
    Some('Ÿ'),
];

/// The byte `c` was decoded from under Windows-1252 (Latin-1 for 0xA0–0xFF and for the
/// bytes 1252 leaves undefined).
fn cp1252_byte(c: char) -> Option<u8> {
    let u = u32::from(c);
    if (0x80..=0xFF).contains(&u) {
        // Latin-1 range: 0xA0–0xFF are the same in 1252; 0x80–0x9F as C1 controls are
        // what a Latin-1 reader produces for the bytes 1252 leaves undefined.
        return u8::try_from(u).ok();
    }
    CP1252_HIGH
        .iter()
        .position(|&m| m == Some(c))
        .and_then(|i| u8::try_from(0x80 + i).ok())
}

fn mac_roman_byte(c: char) -> Option<u8> {
    MAC_ROMAN
        .iter()
        .position(|&m| m == c)
        .and_then(|i| u8::try_from(0x80 + i).ok())
}

/// Re-decodes one run of non-ASCII chars, if it reads as UTF-8 once mapped back to bytes.
fn repair_run(run: &str) -> Option<String> {
    for to_byte in [cp1252_byte as fn(char) -> Option<u8>, mac_roman_byte] {
        let Some(bytes) = run.chars().map(to_byte).collect::<Option<Vec<u8>>>() else {
            continue;
        };
        if let Ok(s) = std::str::from_utf8(&bytes) {
            if s != run {
                return Some(s.to_string());
            }
        }
        // An emoji whose lead byte 0xF0 was lost (Mac Roman's 0xF0 is the Apple logo,
        // which many tools drop): `üìã` = 9F 93 8B → F0 9F 93 8B.
        if bytes.first() == Some(&0x9F) {
            let mut with_lead = vec![0xF0];
            with_lead.extend_from_slice(&bytes);
            if let Ok(s) = std::str::from_utf8(&with_lead) {
                return Some(s.to_string());
            }
        }
    }
    None
}

/// `text` with mojibake runs re-decoded. Text that is already fine is returned unchanged
/// (a lone `é` is not a valid UTF-8 sequence in any of the encodings, so it is kept).
pub fn mojibake(text: &str) -> String {
    if text.is_ascii() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if !run.is_empty() {
            match repair_run(run) {
                Some(fixed) => out.push_str(&fixed),
                None => out.push_str(run),
            }
            run.clear();
        }
    };
    for c in text.chars() {
        if c.is_ascii() {
            flush(&mut run, &mut out);
            out.push(c);
        } else {
            run.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// `text` with HTML character references decoded (`&amp;` `&lt;` `&gt;` `&quot;` `&#39;`
/// `&apos;` `&nbsp;` `&ndash;` `&mdash;` `&rarr;`, decimal and hex references). Unknown
/// ones are kept.
pub fn entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let end = tail.char_indices().take(12).find(|&(_, c)| c == ';');
        let decoded = end.and_then(|(j, _)| decode_entity(&tail[1..j]).map(|c| (c, j)));
        if let Some((c, j)) = decoded {
            out.push(c);
            rest = &tail[j + 1..];
        } else {
            out.push('&');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

fn decode_entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let n = if let Some(hex) = num.strip_prefix(['x', 'X']) {
            u32::from_str_radix(hex, 16).ok()?
        } else {
            num.parse().ok()?
        };
        return char::from_u32(n).filter(|c| !c.is_control() || c.is_whitespace());
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" | "#39" => '\'',
        "nbsp" => ' ',
        "ndash" => '–',
        "mdash" => '—',
        "rarr" => '→',
        "larr" => '←',
        "hellip" => '…',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repairs_the_common_mojibake() {
        assert_eq!(mojibake("a â€” b"), "a — b");
        assert_eq!(mojibake("Caf\u{c3}\u{a9}"), "Café");
        assert_eq!(mojibake("HTTP ‚Üí HTTPS"), "HTTP → HTTPS");
        assert_eq!(mojibake("## üìã Overview"), "## 📋 Overview");
        assert_eq!(mojibake("‚ö†Ô∏è WARNING"), "⚠\u{fe0f} WARNING");
        assert_eq!(mojibake("‚â•10 Mbps"), "≥10 Mbps");
    }

    #[test]
    fn keeps_good_text() {
        for s in ["café", "Größe", "→ ≥ —", "✅ done", "日本語", "plain"] {
            assert_eq!(mojibake(s), s);
        }
    }

    #[test]
    fn decodes_entities() {
        assert_eq!(
            entities("a &amp; b &lt;x&gt; &#8212; &#x2192; &bogus; &"),
            "a & b <x> — → &bogus; &"
        );
    }
}
