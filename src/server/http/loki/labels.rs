//! Loki's label sets in selector form, `{app="api", level="error"}`, as its protobuf pushes carry them.
//!
//! Values are Go-quoted strings (clients format them with `%q`), so the escapes Go writes are read
//! back: `\"`, `\\`, `\n`, `\t`, `\xHH`, `\uHHHH` and the rest.

use std::iter::Peekable;
use std::str::CharIndices;

/// Parses a label set into its pairs, in order.
pub(crate) fn parse(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut p = Parser {
        chars: text.char_indices().peekable(),
    };
    p.skip_space();
    p.expect('{')?;
    let mut pairs = Vec::new();
    loop {
        p.skip_space();
        if p.eat('}') {
            break;
        }
        let name = p.name()?;
        p.skip_space();
        p.expect('=')?;
        p.skip_space();
        let value = p.quoted()?;
        pairs.push((name, value));
        p.skip_space();
        if p.eat(',') {
            continue;
        }
        p.expect('}')?;
        break;
    }
    p.skip_space();
    match p.chars.next() {
        None => Ok(pairs),
        Some((at, c)) => Err(format!("unexpected '{c}' at {at} after the closing '}}'")),
    }
}

struct Parser<'a> {
    chars: Peekable<CharIndices<'a>>,
}

impl Parser<'_> {
    fn skip_space(&mut self) {
        while self.chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
    }

    fn eat(&mut self, want: char) -> bool {
        self.chars.next_if(|&(_, c)| c == want).is_some()
    }

    fn expect(&mut self, want: char) -> Result<(), String> {
        match self.chars.next() {
            Some((_, c)) if c == want => Ok(()),
            Some((at, c)) => Err(format!("expected '{want}' at {at}, found '{c}'")),
            None => Err(format!("expected '{want}', found the end")),
        }
    }

    /// A label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
    fn name(&mut self) -> Result<String, String> {
        let mut name = String::new();
        while let Some((_, c)) = self
            .chars
            .next_if(|&(_, c)| c == '_' || c.is_ascii_alphanumeric())
        {
            name.push(c);
        }
        match (name.chars().next(), self.chars.peek()) {
            (Some(first), _) if !first.is_ascii_digit() => Ok(name),
            (Some(_), _) => Err(format!("label name '{name}' starts with a digit")),
            (None, Some(&(at, c))) => Err(format!("expected a label name at {at}, found '{c}'")),
            (None, None) => Err("expected a label name, found the end".to_owned()),
        }
    }

    fn quoted(&mut self) -> Result<String, String> {
        self.expect('"')?;
        // \x escapes write bytes, which may only make sense together (UTF-8), so bytes are collected.
        let mut out = Vec::new();
        loop {
            let Some((at, c)) = self.chars.next() else {
                return Err("unterminated label value".to_owned());
            };
            match c {
                '"' => break,
                '\\' => self.escape(at, &mut out)?,
                c => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
            }
        }
        String::from_utf8(out).map_err(|_| "label value is not valid UTF-8".to_owned())
    }

    fn escape(&mut self, at: usize, out: &mut Vec<u8>) -> Result<(), String> {
        let Some((_, c)) = self.chars.next() else {
            return Err("unterminated label value".to_owned());
        };
        let simple = match c {
            'a' => Some(0x07),
            'b' => Some(0x08),
            'f' => Some(0x0c),
            'n' => Some(b'\n'),
            'r' => Some(b'\r'),
            't' => Some(b'\t'),
            'v' => Some(0x0b),
            '\\' | '"' | '\'' => Some(c as u8),
            _ => None,
        };
        if let Some(byte) = simple {
            out.push(byte);
            return Ok(());
        }
        let digits = match c {
            'x' => 2,
            'u' => 4,
            'U' => 8,
            _ => return Err(format!("unknown escape '\\{c}' at {at}")),
        };
        let mut code = 0u32;
        for _ in 0..digits {
            let digit = self
                .chars
                .next()
                .and_then(|(_, d)| d.to_digit(16))
                .ok_or_else(|| format!("bad '\\{c}' escape at {at}"))?;
            code = code * 16 + digit;
        }
        if c == 'x' {
            out.push(code as u8);
        } else {
            let ch = char::from_u32(code).ok_or_else(|| format!("bad '\\{c}' escape at {at}"))?;
            out.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn selectors_as_clients_write_them() {
        assert_eq!(
            pairs(r#"{app="api", level="error",region="ord"}"#),
            [
                ("app".into(), "api".into()),
                ("level".into(), "error".into()),
                ("region".into(), "ord".into())
            ]
        );
        assert!(pairs("{}").is_empty());
        assert_eq!(pairs(r#" { a = "" , } "#), [("a".into(), String::new())]);
    }

    #[test]
    fn go_escapes_are_read_back() {
        assert_eq!(
            pairs(r#"{q="say \"hi\"\\\n\t\u00e9\xc3\xa9"}"#)[0].1,
            "say \"hi\"\\\n\té\u{e9}"
        );
    }

    #[test]
    fn broken_selectors_say_where() {
        for (text, want) in [
            (r#"app="api""#, "expected '{' at 0, found 'a'"),
            (r#"{app="api""#, "expected '}', found the end"),
            (r#"{app=api}"#, "expected '\"' at 5, found 'a'"),
            (r#"{1app="x"}"#, "label name '1app' starts with a digit"),
            (r#"{app="x} "#, "unterminated label value"),
            (r#"{a="\q"}"#, "unknown escape '\\q' at 4"),
            (r#"{a="x"} y"#, "unexpected 'y' at 8 after the closing '}'"),
        ] {
            assert_eq!(parse(text).unwrap_err(), want, "{text}");
        }
    }
}
