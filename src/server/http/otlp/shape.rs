//! The entry limits (`--max-entry-depth`, `--max-entry-values`) for OTLP records, which arrive
//! decoded by protobuf rather than as JSON text that `check_shape` could scan.
//!
//! A record is counted as the entry it becomes: the entry is depth 1, its `meta` depth 2, so an
//! attribute holding a list or a map is depth 3; every attribute value, and every value nested in
//! one, counts once.

use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::LogRecord;

use crate::model::decode::{ShapeError, ShapeLimits};

/// Checks a record's attributes and body against `limits`.
pub(super) fn check_record(record: &LogRecord, limits: ShapeLimits) -> Result<(), ShapeError> {
    let mut walk = Walk {
        max_depth: limits.max_depth.min(127),
        max_values: limits.max_values,
        values: 1,
    };
    walk.attributes(&record.attributes, 3)?;
    // A map body becomes `meta` itself; any other body is the message.
    if let Some(body) = &record.body {
        walk.value(body, 2)?;
    }
    Ok(())
}

struct Walk {
    max_depth: usize,
    max_values: usize,
    values: usize,
}

impl Walk {
    fn count(&mut self) -> Result<(), ShapeError> {
        self.values += 1;
        if self.values > self.max_values {
            return Err(ShapeError::TooManyValues(self.max_values));
        }
        Ok(())
    }

    /// Values of a map or attribute list whose values sit at `depth`.
    fn attributes(&mut self, list: &[KeyValue], depth: usize) -> Result<(), ShapeError> {
        for KeyValue { value, .. } in list {
            match value {
                Some(value) => self.value(value, depth)?,
                None => self.count()?,
            }
        }
        Ok(())
    }

    /// One value at `depth` (protobuf's own recursion limit bounds how deep this goes).
    fn value(&mut self, value: &AnyValue, depth: usize) -> Result<(), ShapeError> {
        self.count()?;
        let nested = matches!(value.value, Some(Any::ArrayValue(_) | Any::KvlistValue(_)));
        if nested && depth > self.max_depth {
            return Err(ShapeError::TooDeep(self.max_depth));
        }
        match &value.value {
            Some(Any::ArrayValue(array)) => {
                for item in &array.values {
                    self.value(item, depth + 1)?;
                }
            }
            Some(Any::KvlistValue(map)) => self.attributes(&map.values, depth + 1)?,
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};

    use super::*;

    fn string(s: &str) -> AnyValue {
        AnyValue {
            value: Some(Any::StringValue(s.to_owned())),
        }
    }

    fn attribute(key: &str, value: AnyValue) -> KeyValue {
        KeyValue {
            key: key.to_owned(),
            value: Some(value),
            ..KeyValue::default()
        }
    }

    /// A map `levels` deep: {"k": {"k": ... "leaf"}}.
    fn nested(levels: usize) -> AnyValue {
        (0..levels).fold(string("leaf"), |inner, _| AnyValue {
            value: Some(Any::KvlistValue(KeyValueList {
                values: vec![attribute("k", inner)],
            })),
        })
    }

    fn limits(max_depth: usize, max_values: usize) -> ShapeLimits {
        ShapeLimits {
            max_depth,
            max_values,
        }
    }

    #[test]
    fn depth_counts_as_the_entry_it_becomes() {
        // entry (1) > meta (2) > the attribute's map (3) > its map (4): depth 4, then the leaf.
        let record = LogRecord {
            attributes: vec![attribute("a", nested(2))],
            ..LogRecord::default()
        };
        assert_eq!(check_record(&record, limits(4, 100)), Ok(()));
        assert_eq!(
            check_record(&record, limits(3, 100)),
            Err(ShapeError::TooDeep(3))
        );
    }

    #[test]
    fn every_value_counts_once_body_included() {
        let record = LogRecord {
            attributes: vec![attribute(
                "list",
                AnyValue {
                    value: Some(Any::ArrayValue(ArrayValue {
                        values: vec![string("a"), string("b"), string("c")],
                    })),
                },
            )],
            body: Some(string("message")),
            ..LogRecord::default()
        };
        // The entry, the list, its three items, the body.
        assert_eq!(check_record(&record, limits(32, 6)), Ok(()));
        assert_eq!(
            check_record(&record, limits(32, 5)),
            Err(ShapeError::TooManyValues(5))
        );
    }
}
