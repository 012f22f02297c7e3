//! Meta-field columns (`v`): which `meta` keys show as columns of their own, and whether before or
//! after the message.
//!
//! A choice for the session, kept whatever else changes. The keys offered are those the buffer holds,
//! counted when the list opens (one pass over the rows, on a key press, never per frame). A column is
//! as wide as the widest value it has held, up to [`MAX_WIDTH`], so the columns line up and move only
//! when a wider value arrives.

use super::stored::{PairValue, Pairs};
use crate::tui::text::{FieldColumn, display, width};

/// The widest a field column grows; longer values are cut with `…`.
pub(crate) const MAX_WIDTH: usize = 24;

/// The chosen columns, and the list that chooses them while it is open.
#[derive(Debug, Default)]
pub(crate) struct Fields {
    /// In the order chosen.
    pub(crate) chosen: Vec<FieldColumn>,
    /// Before the message (after the origin) rather than after it.
    pub(crate) before: bool,
    /// While the list is open: every key the buffer holds, with how many rows have it, most common
    /// first.
    pub(crate) offered: Vec<(String, usize)>,
    pub(crate) cursor: usize,
}

/// How wide a value is on screen, as the row draws it (sanitized).
pub(crate) fn value_width(value: PairValue<'_>) -> usize {
    width(&display(value.text()))
}

impl Fields {
    pub(crate) fn is_chosen(&self, key: &str) -> bool {
        self.chosen.iter().any(|c| c.key == key)
    }

    /// Offers the keys counted in `keys`, most common first, then by name.
    pub(crate) fn offer(&mut self, keys: std::collections::HashMap<String, usize>) {
        let mut offered: Vec<(String, usize)> = keys.into_iter().collect();
        // Chosen keys stay listed even when no row holds them any more, so they can be taken off.
        for column in &self.chosen {
            if !offered.iter().any(|(k, _)| *k == column.key) {
                offered.push((column.key.clone(), 0));
            }
        }
        offered.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        self.offered = offered;
        self.cursor = 0;
    }

    /// Chooses the key under the cursor, or takes it off; `widest` is the width of its widest value
    /// in the buffer.
    pub(crate) fn toggle(&mut self, widest: impl FnOnce(&str) -> usize) {
        let Some((key, _)) = self.offered.get(self.cursor) else {
            return;
        };
        if let Some(at) = self.chosen.iter().position(|c| c.key == *key) {
            self.chosen.remove(at);
        } else {
            let width = widest(key).max(width(&display(key))).clamp(1, MAX_WIDTH);
            self.chosen.push(FieldColumn {
                key: key.clone(),
                width,
            });
        }
    }

    /// Widens the columns for an arriving row's values.
    pub(crate) fn widen(&mut self, meta: Pairs<'_>) {
        for column in &mut self.chosen {
            if let Some(value) = meta.get(&column.key) {
                column.width = column.width.max(value_width(value).min(MAX_WIDTH));
            }
        }
    }

    /// The columns' total width on a row, each followed by a space.
    pub(crate) fn total_width(&self) -> usize {
        self.chosen.iter().map(|c| c.width + 1).sum()
    }

    pub(crate) fn move_cursor(&mut self, delta: isize) {
        let last = self.offered.len().saturating_sub(1);
        self.cursor = self.cursor.saturating_add_signed(delta).min(last);
    }
}

impl super::App {
    /// `v`: lists the keys the buffer holds.
    pub(crate) fn open_fields(&mut self) {
        let mut keys = std::collections::HashMap::<String, usize>::new();
        for entry in self.buffer.iter().filter_map(super::Row::entry) {
            for (key, _) in entry.meta().iter() {
                match keys.get_mut(key) {
                    Some(n) => *n += 1,
                    None => {
                        keys.insert(key.to_owned(), 1);
                    }
                }
            }
        }
        self.fields.offer(keys);
        self.mode = crate::tui::keymap::Mode::Fields;
    }

    /// Space in the list: the key under the cursor becomes a column, or stops being one.
    pub(crate) fn toggle_field(&mut self) {
        let buffer = &self.buffer;
        self.fields.toggle(|key| {
            buffer
                .iter()
                .filter_map(super::Row::entry)
                .filter_map(|e| e.meta().get(key).map(value_width))
                .max()
                .unwrap_or(0)
        });
        self.view_changed();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::app::stored::tests::pairs_of;

    #[test]
    fn columns_are_offered_by_use_and_grow_to_their_widest_value_within_the_cap() {
        let mut fields = Fields::default();
        let keys = [("userId".to_owned(), 2), ("statusCode".to_owned(), 5)];
        fields.offer(keys.into_iter().collect());
        assert_eq!(fields.offered[0].0, "statusCode");
        fields.toggle(|_| 3);
        assert_eq!(fields.chosen[0].width, "statusCode".len());
        fields.move_cursor(1);
        fields.toggle(|_| 4);
        assert_eq!(fields.chosen[1].width, "userId".len());
        let long = "x".repeat(40);
        fields.widen(Pairs::new(&pairs_of(&format!(r#"{{"userId":"{long}"}}"#))));
        assert_eq!(fields.chosen[1].width, MAX_WIDTH);
        assert_eq!(fields.total_width(), 10 + 1 + MAX_WIDTH + 1);
        fields.offer(std::collections::HashMap::new());
        assert_eq!(fields.offered.len(), 2, "chosen keys stay listed");
        fields.move_cursor(5);
        fields.toggle(|_| 0);
        fields.cursor = 0;
        fields.toggle(|_| 0);
        assert!(fields.chosen.is_empty());
    }
}
