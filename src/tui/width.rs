//! The display width of text, as the terminal fills cells with it: one leaf that the row text, the
//! name columns and the screens all measure with, so they agree.

use ratatui::buffer::CellWidth;
use unicode_segmentation::UnicodeSegmentation;

/// The display width of sanitized text, as ratatui will fill cells with it.
pub(crate) fn width(text: &str) -> usize {
    text.graphemes(true)
        .map(|g| usize::from(g.cell_width()))
        .sum()
}
