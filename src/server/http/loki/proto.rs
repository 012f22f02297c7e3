//! Loki's push messages (`logproto.PushRequest` and what it holds), declared for prost with the field
//! numbers of Loki's published `push.proto`; prost does all of the wire work.
//!
//! Declared here rather than taken from a crate: the one published crate of Loki's types predates
//! structured metadata (field 3 of `EntryAdapter`) and is tied to an older prost. Fields vg does not
//! read (a stream's `hash`, an entry's `parsed`) are left out and skipped on decoding.

/// `logproto.PushRequest`: what `POST /loki/api/v1/push` carries, snappy-compressed.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct PushRequest {
    #[prost(message, repeated, tag = "1")]
    pub(crate) streams: Vec<StreamAdapter>,
}

/// `logproto.StreamAdapter`: entries sharing one label set.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct StreamAdapter {
    /// The labels in selector form: `{app="api", level="error"}`.
    #[prost(string, tag = "1")]
    pub(crate) labels: String,
    #[prost(message, repeated, tag = "2")]
    pub(crate) entries: Vec<EntryAdapter>,
}

/// `logproto.EntryAdapter`: one line.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct EntryAdapter {
    #[prost(message, optional, tag = "1")]
    pub(crate) timestamp: Option<prost_types::Timestamp>,
    /// A protobuf `string`, read as bytes: Loki stores lines that are not valid UTF-8 (a binary file
    /// tailed by promtail), and one such line must not fail the whole push. The wire form of the two
    /// is the same.
    #[prost(bytes = "vec", tag = "2")]
    pub(crate) line: Vec<u8>,
    #[prost(message, repeated, tag = "3")]
    pub(crate) structured_metadata: Vec<LabelPairAdapter>,
}

/// `logproto.LabelPairAdapter`: one structured-metadata pair.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct LabelPairAdapter {
    #[prost(string, tag = "1")]
    pub(crate) name: String,
    #[prost(string, tag = "2")]
    pub(crate) value: String,
}
