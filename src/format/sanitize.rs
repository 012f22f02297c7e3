//! Neutralising hostile log content before it reaches a terminal.
//!
//! A log message is written by whoever can make the app log: a user agent, a query string, an error
//! from a dependency. Passed raw to a terminal, `ESC ] 0 ; title BEL` retitles the window, `ESC [ 2 J`
//! clears it, `ESC [ 8 m` hides text, `\r` or a newline forges a fake line, and U+202E reverses what
//! follows. Rather than parse and strip sequences (which fails open on anything unterminated or unknown),
//! every control character itself is replaced by a visible escape: with the introducer gone, the rest of
//! any sequence is inert printable text, whatever family it belongs to and whether or not it ends.

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::model::decode::printable_ascii;

/// Whether `c` must not reach a terminal as itself.
pub fn is_unsafe(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}' | '\u{a}'..='\u{1f}' | '\u{7f}'   // C0 except tab, and DEL
        | '\u{80}'..='\u{9f}'                                  // C1, including the 8-bit CSI/OSC/DCS
        | '\u{200e}' | '\u{200f}' | '\u{61c}'                  // bidi marks
        | '\u{202a}'..='\u{202e}'                              // bidi embeddings and overrides
        | '\u{2066}'..='\u{2069}'                              // bidi isolates
        | '\u{2028}' | '\u{2029}'                              // line and paragraph separators
        | '\u{200b}' | '\u{2060}'..='\u{2064}' | '\u{feff}'  // invisible: zero-width space, word joiner, BOM
        | '\u{e0000}'..='\u{e007f}'                            // tags: invisible ASCII (hidden text, prompt injection)
    )
}

/// Byte offset of the first unsafe character. Scans bytes rather than chars: every unsafe character is
/// either an ASCII control or starts with one of five lead bytes (0xC2 for C1, 0xD8 for U+061C, 0xE2
/// for the bidi, separator and zero-width characters, 0xEF for U+FEFF, 0xF3 for the tag block), so
/// clean text, the common case, costs one byte compare each.
fn find_unsafe(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        // Eight bytes at a time while they are all printable ASCII: most text is.
        if let Some(word) = bytes.get(i..i + 8) {
            let word = u64::from_le_bytes(word.try_into().expect("eight bytes"));
            if printable_ascii(word) {
                i += 8;
                continue;
            }
        }
        match bytes[i] {
            b'\t' => {}
            0x00..=0x1f | 0x7f => return Some(i),
            0xc2 | 0xd8 | 0xe2 | 0xef | 0xf3 => {
                let c = text[i..].chars().next().expect("a lead byte starts a char");
                if is_unsafe(c) {
                    return Some(i);
                }
                i += c.len_utf8();
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Returns `text` with every unsafe character replaced by a visible escape (`\n`, `\r`, `\e`, `\x07`,
/// `\u{202e}`). Borrows when there is nothing to replace, which is the common case.
pub fn sanitize(text: &str) -> Cow<'_, str> {
    match find_unsafe(text) {
        None => Cow::Borrowed(text),
        Some(_) => {
            let mut out = String::with_capacity(text.len() + 8);
            push_sanitized(&mut out, text);
            Cow::Owned(out)
        }
    }
}

/// Appends `text` to `out`, escaping unsafe characters.
pub fn push_sanitized(out: &mut String, text: &str) {
    let mut rest = text;
    while let Some(at) = find_unsafe(rest) {
        out.push_str(&rest[..at]);
        let c = rest[at..]
            .chars()
            .next()
            .expect("find returned a char boundary");
        push_escape(out, c);
        rest = &rest[at + c.len_utf8()..];
    }
    out.push_str(rest);
}

fn push_escape(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\u{1b}' => out.push_str("\\e"),
        c if (c as u32) < 0x80 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every family of terminal control, terminated and not. After sanitizing, no output may contain a
    /// character a terminal would act on.
    const HOSTILE: &[(&str, &str)] = &[
        ("csi colour", "\u{1b}[31mred\u{1b}[0m"),
        ("csi clear screen", "\u{1b}[2J\u{1b}[H"),
        ("csi cursor up", "ok\u{1b}[1A\u{1b}[2Kforged"),
        ("csi hidden text", "\u{1b}[8msecret"),
        ("csi unterminated", "\u{1b}[38;5;"),
        ("osc title bel", "\u{1b}]0;pwned\u{7}"),
        ("osc title st", "\u{1b}]2;pwned\u{1b}\\"),
        ("osc 52 clipboard", "\u{1b}]52;c;Y3VybCBldmlsLnNo\u{7}"),
        (
            "osc 8 hyperlink",
            "\u{1b}]8;;http://evil\u{1b}\\click\u{1b}]8;;\u{1b}\\",
        ),
        ("osc unterminated", "\u{1b}]0;never ends"),
        ("dcs", "\u{1b}Pq#0;2;0;0;0\u{1b}\\"),
        ("dcs unterminated", "\u{1b}P+q544e"),
        ("apc and pm", "\u{1b}_apc\u{1b}\\\u{1b}^pm\u{1b}\\"),
        ("esc single", "\u{1b}c\u{1b}7\u{1b}8\u{1b}(0"),
        ("c1 csi", "\u{9b}31m"),
        ("c1 osc", "\u{9d}0;title\u{9c}"),
        ("c1 dcs", "\u{90}data\u{9c}"),
        ("bel backspace", "ding\u{7}\u{8}\u{8}"),
        ("carriage return", "innocent\rEVIL"),
        ("newline", "line one\n2026-01-01T00:00:00Z [error] forged"),
        ("del", "a\u{7f}b"),
        ("nul", "a\u{0}b"),
        ("bidi override", "file\u{202e}txt.exe"),
        ("bidi isolates", "\u{2066}\u{2067}\u{2068}x\u{2069}"),
        ("bidi marks", "\u{200e}\u{200f}\u{61c}"),
        ("line separator", "a\u{2028}b\u{2029}c"),
        ("invisible", "pass\u{200b}word\u{2060}\u{feff}"),
        // "ignore this" spelled in tag characters: invisible on screen, read by whatever copies it.
        (
            "unicode tags",
            "ok\u{e0001}\u{e0069}\u{e0067}\u{e006e}\u{e006f}\u{e0072}\u{e0065}\u{e007f}",
        ),
    ];

    #[test]
    fn no_control_survives_any_family() {
        for (name, input) in HOSTILE {
            let out = sanitize(input);
            assert!(!out.chars().any(is_unsafe), "{name}: {out:?}");
            assert!(
                !out.contains('\u{1b}') && !out.contains('\n') && !out.contains('\r'),
                "{name}"
            );
        }
    }

    #[test]
    fn escapes_are_visible_and_lose_nothing() {
        assert_eq!(sanitize("\u{1b}[31mred\u{1b}[0m"), "\\e[31mred\\e[0m");
        assert_eq!(sanitize("\u{1b}]0;pwned\u{7}"), "\\e]0;pwned\\x07");
        assert_eq!(sanitize("a\nb\r"), "a\\nb\\r");
        assert_eq!(sanitize("\u{9b}2J"), "\\u{9b}2J");
        assert_eq!(sanitize("x\u{202e}y"), "x\\u{202e}y");
        assert_eq!(sanitize("a\u{e0041}b"), "a\\u{e0041}b");
    }

    #[test]
    fn the_byte_scan_agrees_with_the_char_rule() {
        // Every char in the ranges around the unsafe ones, alone and embedded in text.
        for c in (0u32..0x3000)
            .chain(0xfe00..0x10000)
            .chain(0xdff00..0xe0200)
            .chain(0xf0000..0xf0080)
            .filter_map(char::from_u32)
        {
            let text = format!("ab{c}cd");
            assert_eq!(
                find_unsafe(&text),
                is_unsafe(c).then_some(2),
                "U+{:04X}",
                c as u32
            );
        }
    }

    #[test]
    fn the_word_scan_finds_a_char_at_every_offset() {
        // Around each boundary of the eight-byte steps, every byte class the word test separates.
        for c in [
            '\u{0}', '\u{1f}', '\u{7f}', '\u{1b}', '\u{9b}', '\u{202e}', '\t', 'é', '~', ' ',
        ] {
            for at in 0..20 {
                let text = format!("{}{c}{}", "x".repeat(at), "y".repeat(20 - at));
                assert_eq!(
                    find_unsafe(&text),
                    is_unsafe(c).then_some(at),
                    "{c:?} at {at}"
                );
            }
        }
        for byte in 0u8..=0x7f {
            let word = u64::from_le_bytes([b'a', b'b', b'c', byte, b'd', b'e', b'f', b'g']);
            assert_eq!(
                printable_ascii(word),
                (0x20..=0x7e).contains(&byte),
                "{byte:#x}"
            );
        }
    }

    #[test]
    fn clean_text_is_borrowed_and_tabs_and_unicode_pass() {
        for clean in ["plain", "tab\there", "日本語 🚀 café", ""] {
            assert!(matches!(sanitize(clean), Cow::Borrowed(_)), "{clean}");
        }
    }
}
