//! What an entry costs in memory, for the bounds that are stated in bytes (history, live buffer).
//!
//! Counted from the parsed form, not the JSON it came from: `[]` is 2 bytes of JSON but a whole
//! `Value` (80 bytes with `preserve_order`) in its parent's vector, and a short key is a `String`
//! header, its heap block and a slot in the map's index. Every heap block is charged its capacity
//! plus [`BLOCK_OVERHEAD`], what allocators spend per block on headers and size-class rounding.
//! `tests/serve_memory.rs` holds a `vg serve` full of array-heavy entries to its history limit.

use std::mem::size_of;

use serde_json::Value;

/// Bytes charged per heap block besides its contents: allocator bookkeeping and rounding up to a
/// size class (mimalloc and glibc both round small blocks to 16 bytes and keep metadata).
pub(crate) const BLOCK_OVERHEAD: usize = 16;

/// A heap block of `bytes`, with its overhead; an empty one is no block.
pub(crate) fn block(bytes: usize) -> usize {
    if bytes == 0 {
        0
    } else {
        bytes + BLOCK_OVERHEAD
    }
}

/// The heap a `Value` owns (its own header is counted by whoever holds it).
pub(crate) fn value_heap(value: &Value) -> usize {
    match value {
        Value::String(s) => block(s.capacity()),
        Value::Array(items) => {
            block(items.capacity() * size_of::<Value>())
                + items.iter().map(value_heap).sum::<usize>()
        }
        Value::Object(map) => {
            // An index map: a vector of (hash, key, value) grown by doubling, and a hash table of
            // indices (a word and a control byte per slot, at most 7/8 full).
            let slots = map.len().next_power_of_two();
            let entries =
                block(slots * (size_of::<usize>() + size_of::<String>() + size_of::<Value>()));
            let index = block(slots * 8 / 7 * (size_of::<usize>() + 1));
            let children: usize = map
                .iter()
                .map(|(k, v)| block(k.capacity()) + value_heap(v))
                .sum();
            if map.is_empty() {
                0
            } else {
                entries + index + children
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => 0,
    }
}
