//! The picker's state (which list, where the cursor is, the narrowing text) and its actions.
//!
//! Every toggle refilters at once, so the log behind the picker shows the effect while it is open.

use tui_input::{Input, InputRequest};

use super::{App, Dim, NameId};
use crate::tui::keymap::Mode;

/// The picker.
#[derive(Debug)]
pub(crate) struct Picker {
    pub(crate) dim: Dim,
    /// Index into the listed names.
    pub(crate) cursor: usize,
    /// Text that narrows the list.
    pub(crate) narrow: Input,
}

impl Default for Picker {
    fn default() -> Picker {
        Picker {
            dim: Dim::Source,
            cursor: 0,
            narrow: Input::default(),
        }
    }
}

impl App {
    /// The names the picker lists, in order.
    pub(crate) fn picker_listed(&self) -> Vec<NameId> {
        self.names
            .get(self.picker.dim)
            .listed(self.picker.narrow.value())
    }

    pub(crate) fn open_picker(&mut self) {
        self.picker = Picker::default();
        self.mode = Mode::Picker;
    }

    pub(crate) fn picker_move(&mut self, delta: isize) {
        let len = self.picker_listed().len();
        self.picker.cursor = self
            .picker
            .cursor
            .saturating_add_signed(delta)
            .min(len.saturating_sub(1));
    }

    pub(crate) fn picker_toggle(&mut self) {
        if let Some(&id) = self.picker_listed().get(self.picker.cursor) {
            self.names.get_mut(self.picker.dim).toggle(id);
            self.refilter();
        }
    }

    /// All on, or all off when all were on; of the listed names only, when narrowed.
    pub(crate) fn picker_all(&mut self) {
        let listed = self.picker_listed();
        let everything = self.picker.narrow.value().is_empty();
        self.names
            .get_mut(self.picker.dim)
            .toggle_all(&listed, everything);
        self.refilter();
    }

    pub(crate) fn picker_switch(&mut self, dim: Dim) {
        self.picker = Picker {
            dim,
            ..Picker::default()
        };
        if self.mode == Mode::PickerNarrow {
            self.mode = Mode::Picker;
        }
    }

    pub(crate) fn picker_edit(&mut self, request: InputRequest) {
        self.mode = Mode::PickerNarrow;
        self.picker.narrow.handle(request);
        self.picker.cursor = 0;
    }
}
