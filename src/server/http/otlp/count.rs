//! Counts the values in a protobuf OTLP body before it is decoded.
//!
//! Protobuf decodes a whole body at once, and its values cost far more decoded than sent: an empty
//! value is 2 bytes on the wire and about 32 in memory, so eight 4 MB bodies of them took a server
//! from 23 to 420 MB. Walking the wire format (only the fields that lead to values) costs nothing,
//! so a body holding more than a bound is refused before any of it is decoded.

use prost::bytes::Buf;
use prost::encoding::{WireType, decode_key, decode_varint};

/// The most attribute and body values (`KeyValue`s and `AnyValue`s, nested ones included) one body
/// may hold: a full SDK batch of 512 records with 200 attributes each fits.
pub(super) const MAX_BODY_VALUES: usize = 250_000;

/// Protobuf's own nesting limit, which the decoder would stop at anyway.
const MAX_NESTING: usize = 100;

/// The messages on the path from an `ExportLogsServiceRequest` to its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Request,
    ResourceLogs,
    Resource,
    ScopeLogs,
    Scope,
    Record,
    KeyValue,
    AnyValue,
    ArrayValue,
    KeyValueList,
}

impl Kind {
    /// What field `tag` of this message holds, for the fields that lead to values.
    fn field(self, tag: u32) -> Option<Kind> {
        use Kind::*;
        Some(match (self, tag) {
            (Request, 1) => ResourceLogs,
            (ResourceLogs, 1) => Resource,
            (ResourceLogs, 2) => ScopeLogs,
            (Resource, 1) | (Scope, 3) | (Record, 6) | (KeyValueList, 1) => KeyValue,
            (ScopeLogs, 1) => Scope,
            (ScopeLogs, 2) => Record,
            (Record, 5) | (KeyValue, 2) | (ArrayValue, 1) => AnyValue,
            (AnyValue, 5) => ArrayValue,
            (AnyValue, 6) => KeyValueList,
            _ => return None,
        })
    }
}

/// The values in `body`, counted up to `max + 1`. A malformed body stops the count where it breaks:
/// the decoder reports it.
pub(super) fn values(body: &[u8], max: usize) -> usize {
    let mut count = 0;
    let _ = walk(body, Kind::Request, 0, &mut count, max);
    count
}

/// `None` when the count passed `max` or the wire format broke.
fn walk(mut buf: &[u8], kind: Kind, depth: usize, count: &mut usize, max: usize) -> Option<()> {
    if depth > MAX_NESTING {
        return None;
    }
    while buf.has_remaining() {
        let (tag, wire) = decode_key(&mut buf).ok()?;
        let skip = match wire {
            WireType::Varint => {
                decode_varint(&mut buf).ok()?;
                0
            }
            WireType::SixtyFourBit => 8,
            WireType::ThirtyTwoBit => 4,
            WireType::LengthDelimited => {
                let len = usize::try_from(decode_varint(&mut buf).ok()?).ok()?;
                let inner = buf.get(..len)?;
                if let Some(child) = kind.field(tag) {
                    if matches!(child, Kind::KeyValue | Kind::AnyValue) {
                        *count += 1;
                        if *count > max {
                            return None;
                        }
                    }
                    walk(inner, child, depth + 1, count, max)?;
                }
                len
            }
            WireType::StartGroup | WireType::EndGroup => return None,
        };
        if buf.len() < skip {
            return None;
        }
        buf.advance(skip);
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, KeyValue, KeyValueList};
    use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use prost::Message;

    use super::*;

    fn kv(key: &str, value: Any) -> KeyValue {
        KeyValue {
            key: key.to_owned(),
            value: Some(AnyValue { value: Some(value) }),
            ..KeyValue::default()
        }
    }

    fn body(records: Vec<LogRecord>) -> Vec<u8> {
        ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: Some(Resource {
                    attributes: vec![kv("service.name", Any::StringValue("api".into()))],
                    ..Resource::default()
                }),
                scope_logs: vec![ScopeLogs {
                    log_records: records,
                    ..ScopeLogs::default()
                }],
                ..ResourceLogs::default()
            }],
        }
        .encode_to_vec()
    }

    #[test]
    fn counts_every_key_value_and_value_nested_or_not() {
        let record = LogRecord {
            time_unix_nano: 1_770_315_218_123_000_000,
            severity_number: 9,
            body: Some(AnyValue {
                value: Some(Any::StringValue("hello".into())),
            }),
            attributes: vec![
                kv("n", Any::IntValue(7)),
                kv("d", Any::DoubleValue(0.5)),
                kv(
                    "list",
                    Any::ArrayValue(ArrayValue {
                        values: vec![AnyValue { value: None }; 3],
                    }),
                ),
                kv(
                    "map",
                    Any::KvlistValue(KeyValueList {
                        values: vec![kv("inner", Any::BoolValue(true))],
                    }),
                ),
            ],
            trace_id: vec![0xab; 16],
            ..LogRecord::default()
        };
        // Resource: 2 (its key-value and value). Record: the body 1; four key-values with their
        // values 8; three list items 3; the map's key-value and value 2.
        let body = body(vec![record]);
        assert_eq!(values(&body, 1_000), 16);
        // Counting stops just past the bound.
        assert_eq!(values(&body, 10), 11);
    }

    #[test]
    fn a_malformed_body_stops_the_count_without_panicking() {
        let mut body = body(vec![LogRecord::default(); 3]);
        body.truncate(body.len() - 1);
        assert!(values(&body, 1_000) <= 2);
        assert_eq!(values(&[0xff; 16], 1_000), 0);
    }
}
