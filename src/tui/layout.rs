//! Where each part of the screen goes. One place, used by rendering and by the state (which needs the
//! log view's height to scroll by pages and keep the selection on screen), so the two always agree.

use ratatui::layout::{Margin, Rect};

/// The screen's parts, top to bottom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Areas {
    /// Level toggles and the rate sparkline.
    pub(crate) header: Rect,
    /// The firing alert's banner, while one is firing.
    pub(crate) banner: Rect,
    pub(crate) log: Rect,
    /// The search line, when there is a search.
    pub(crate) search: Rect,
    pub(crate) status: Rect,
}

/// Splits the terminal. Small terminals give up the header first, then the second header line, so a
/// 40x10 terminal still shows seven log rows.
pub(crate) fn areas(area: Rect, search_line: bool, banner: bool) -> Areas {
    let h = area.height;
    let header = match h {
        0..4 => 0,
        4..8 => 1,
        _ => 2,
    };
    let status = u16::from(h >= 2);
    let search = u16::from(search_line && h >= 3);
    // A firing alert takes a row only where the log keeps a few.
    let banner = u16::from(banner && h >= 8);
    let log = h - header - banner - status - search;
    let row = |y: u16, height: u16| Rect::new(area.x, area.y + y, area.width, height);
    Areas {
        header: row(0, header),
        banner: row(header, banner),
        log: row(header + banner, log),
        search: row(header + banner + log, search),
        status: row(header + banner + log + search, status),
    }
}

/// Where overlays (detail, help, picker) go: everything above the status bar, which stays visible.
pub(crate) fn overlay(area: Rect) -> Rect {
    let status = u16::from(area.height >= 2);
    Rect::new(area.x, area.y, area.width, area.height - status)
}

/// The text area inside the detail overlay's border.
pub(crate) fn detail_text(area: Rect) -> Rect {
    overlay(area).inner(Margin::new(1, 1))
}

/// A box of at most `width` x `height` centred in `area`.
pub(crate) fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    )
}

/// Lines of the help overlay: each section's title and keys, a blank line between sections.
pub(crate) fn help_line_count() -> usize {
    let sections = crate::tui::keymap::help_sections();
    let titles_and_keys: usize = sections.iter().map(|(_, keys)| keys.len() + 1).sum();
    titles_and_keys + sections.len().saturating_sub(1)
}

/// The help overlay's box in `area`: as tall as its text and its border, when the screen allows.
pub(crate) fn help_popup(area: Rect) -> Rect {
    let height = u16::try_from(help_line_count() + 2).unwrap_or(u16::MAX);
    centered(area, 72, height)
}

/// How far the help text scrolls in `area`: the last page full. The keys and the drawing both use
/// it, so no key press scrolls into nothing.
pub(crate) fn help_max_scroll(area: Rect) -> usize {
    let shown = usize::from(help_popup(area).height.saturating_sub(2));
    help_line_count().saturating_sub(shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_tile_the_screen_at_every_height() {
        for h in 0..60 {
            for (search, banner) in [(false, false), (true, false), (false, true), (true, true)] {
                let a = areas(Rect::new(0, 0, 40, h), search, banner);
                let total = a.header.height
                    + a.banner.height
                    + a.log.height
                    + a.search.height
                    + a.status.height;
                assert_eq!(total, h, "height {h}");
                assert_eq!(a.status.bottom(), if h >= 2 { h } else { a.status.y });
                assert_eq!(a.banner.bottom(), a.log.y);
            }
        }
        let small = areas(Rect::new(0, 0, 40, 10), false, false);
        assert_eq!((small.header.height, small.log.height), (2, 7));
        let alerted = areas(Rect::new(0, 0, 40, 10), false, true);
        assert_eq!((alerted.banner.height, alerted.log.height), (1, 6));
    }
}
