//! Copying to the clipboard through the terminal (OSC 52), which works over SSH because the terminal
//! on the user's desk does the copying, not the machine vg runs on.
//!
//! Inside tmux the plain sequence reaches the outer terminal only with `set-clipboard on`; the same
//! sequence wrapped in tmux's passthrough reaches it with `allow-passthrough on`. Both are sent, so
//! either setting works, and a terminal that gets both just copies the same text twice.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// The bytes that ask the terminal to put `text` on the clipboard.
pub(crate) fn osc52(text: &str, in_tmux: bool) -> String {
    let plain = format!("\u{1b}]52;c;{}\u{7}", STANDARD.encode(text));
    if in_tmux {
        let wrapped = plain.replace('\u{1b}', "\u{1b}\u{1b}");
        format!("{plain}\u{1b}Ptmux;{wrapped}\u{1b}\\")
    } else {
        plain
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_carry_the_text_base64_encoded() {
        assert_eq!(osc52("hi\n", false), "\u{1b}]52;c;aGkK\u{7}");
        let tmux = osc52("hi\n", true);
        assert!(tmux.starts_with("\u{1b}]52;c;aGkK\u{7}\u{1b}Ptmux;\u{1b}\u{1b}]52;c;aGkK\u{7}"));
        assert!(tmux.ends_with("\u{1b}\\"));
        // Whatever the entry holds, nothing but base64 sits between the introducer and the terminator.
        let hostile = osc52("\u{1b}]0;x\u{7}\u{1b}[2J", false);
        assert_eq!(hostile.matches('\u{1b}').count(), 1);
        assert_eq!(hostile.matches('\u{7}').count(), 1);
    }
}
