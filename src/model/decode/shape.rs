//! A bound on what parsing one JSON entry may cost, checked before parsing it.
//!
//! Parsed JSON costs far more than its text: `[],` is 3 bytes that become an 80-byte `Value`, and a
//! 4 MB body of them over 100 MB. So the server looks at an entry's raw bytes first, in one pass
//! that allocates nothing, and refuses one that nests too deep or holds too many values, before any
//! `Value` is built. The scan is lenient about invalid JSON (that is the parser's to report); it only
//! counts.

/// The most an entry may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShapeLimits {
    /// Deepest nesting of objects and arrays (the entry itself is depth 1); at most 127, below
    /// the JSON parser's own limit of 128.
    pub max_depth: usize,
    /// Most JSON values in the entry, counting every nested one (the entry itself included).
    pub max_values: usize,
}

impl Default for ShapeLimits {
    fn default() -> Self {
        ShapeLimits {
            max_depth: 32,
            max_values: 10_000,
        }
    }
}

/// Why an entry was refused unparsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShapeError {
    /// Objects and arrays nested deeper than the limit.
    #[error(
        "entry nests objects or arrays deeper than {0} levels, the server's limit (max entry depth); flatten it"
    )]
    TooDeep(usize),
    /// More JSON values than the limit.
    #[error(
        "entry holds more than {0} JSON values, the server's limit (max entry values); send fewer fields or split it"
    )]
    TooManyValues(usize),
}

/// Checks `json` against `limits` without parsing it.
pub fn check_shape(json: &[u8], limits: ShapeLimits) -> Result<(), ShapeError> {
    // Whether each open container is an array, as bits: deeper than 128 is refused before this
    // could overflow (the limit is checked first).
    let mut arrays: u128 = 0;
    let mut depth = 0usize;
    let mut values = 0usize;
    let mut expect_value = true;
    let mut in_string = false;
    let mut escaped = false;
    let max_depth = limits.max_depth.min(127);
    let mut count = |expect: &mut bool| {
        if *expect {
            *expect = false;
            values += 1;
            if values > limits.max_values {
                return Err(ShapeError::TooManyValues(limits.max_values));
            }
        }
        Ok(())
    };
    for &b in json {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => {
                // A key is not a value: it is read where no value is expected.
                count(&mut expect_value)?;
                in_string = true;
            }
            b'{' | b'[' => {
                count(&mut expect_value)?;
                depth += 1;
                if depth > max_depth {
                    return Err(ShapeError::TooDeep(max_depth));
                }
                let array = b == b'[';
                arrays = (arrays << 1) | u128::from(array);
                expect_value = array;
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                arrays >>= 1;
                expect_value = false;
            }
            b':' => expect_value = true,
            b',' => expect_value = arrays & 1 == 1 && depth > 0,
            b' ' | b'\t' | b'\n' | b'\r' => {}
            // The first byte of a number, `true`, `false` or `null`; the rest expect nothing.
            _ => count(&mut expect_value)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(json: &str) -> usize {
        // The smallest limit that lets it through.
        (1..10_000)
            .find(|&max| {
                check_shape(
                    json.as_bytes(),
                    ShapeLimits {
                        max_depth: 100,
                        max_values: max,
                    },
                )
                .is_ok()
            })
            .unwrap()
    }

    #[test]
    fn counts_every_value_but_not_keys() {
        assert_eq!(values(r#"{"msg":"a","n":1}"#), 3);
        assert_eq!(
            values(r#"{"a":[1, 2.5e3, true, null, "x,y:z", {"k":[]}]}"#),
            9
        );
        assert_eq!(values("[[],[],[]]"), 4);
        assert_eq!(values(r#"{"s":"quote \" and \\ and ] } , :"}"#), 2);
        assert_eq!(values("[]"), 1);
    }

    #[test]
    fn refuses_deep_nesting_and_many_values_naming_the_limit() {
        let limits = ShapeLimits {
            max_depth: 3,
            max_values: 5,
        };
        assert_eq!(check_shape(b"[[[1]]]", limits), Ok(()));
        let deep = check_shape(b"[[[[1]]]]", limits).unwrap_err();
        assert_eq!(deep, ShapeError::TooDeep(3));
        assert!(deep.to_string().contains("deeper than 3 levels"), "{deep}");
        let many = check_shape(br#"{"a":1,"b":2,"c":3,"d":4,"e":5}"#, limits).unwrap_err();
        assert_eq!(many, ShapeError::TooManyValues(5));
        assert!(
            many.to_string().contains("more than 5 JSON values"),
            "{many}"
        );
    }

    #[test]
    fn a_depth_limit_above_the_parsers_own_is_cut_to_it() {
        let limits = ShapeLimits {
            max_depth: 1000,
            max_values: usize::MAX,
        };
        let json = "[".repeat(200);
        assert_eq!(
            check_shape(json.as_bytes(), limits),
            Err(ShapeError::TooDeep(127))
        );
    }
}
