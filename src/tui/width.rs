//! The display width of text, as the terminal fills cells with it: one leaf that the row text, the
//! name columns and the screens all measure with, so they agree.

use ratatui::buffer::CellWidth;
use unicode_segmentation::UnicodeSegmentation;

/// The display width of sanitized text, as ratatui will fill cells with it.
pub(crate) fn width(text: &str) -> usize {
    if is_printable_ascii(text) {
        return text.len();
    }
    text.graphemes(true)
        .map(|g| usize::from(g.cell_width()))
        .sum()
}

/// Whether every byte is a printable ASCII character: then each is a grapheme one cell wide, and
/// segmenting (most of a frame's time before this shortcut) can be skipped.
pub(crate) fn is_printable_ascii(text: &str) -> bool {
    text.bytes().all(|b| (b' '..=b'~').contains(&b))
}
