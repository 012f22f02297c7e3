//! Which close code a broken incoming message earns (RFC 6455, section 7.4.1).
//!
//! The socket library reports a bad frame as an error on read and stops reading. The peer still gets
//! a close frame saying what was wrong, rather than a socket that just goes away: 1009 for a message
//! over the size limit, 1007 for a text message that is not UTF-8, 1002 for any other breach of the
//! protocol (an unmasked frame, a continuation with nothing to continue, reserved bits...). Transport
//! errors (a reset, a closed socket) get nothing: there is no one left to tell.
//!
//! axum wraps the library's error without exposing its type, so the error is recognised by the
//! library's own wording; tests with a real client hold each code to what a peer receives.

pub(super) const CLOSE_NORMAL: u16 = 1000;
pub(super) const CLOSE_PROTOCOL: u16 = 1002;
pub(super) const CLOSE_INVALID_DATA: u16 = 1007;
pub(super) const CLOSE_POLICY: u16 = 1008;
pub(super) const CLOSE_TOO_BIG: u16 = 1009;
/// Try again later: the server is at a limit (viewers, their memory).
pub(crate) const CLOSE_TRY_AGAIN: u16 = 1013;

/// A close reason may hold at most 123 bytes (a control frame's 125, less the code).
const MAX_REASON: usize = 123;

/// The close code and reason for an error read from the socket; `None` when the peer cannot be told.
pub(super) fn for_read_error(error: &str, max_message_bytes: usize) -> Option<(u16, String)> {
    if error.contains("limit exceeded") {
        return Some((
            CLOSE_TOO_BIG,
            format!("message larger than {max_message_bytes} bytes"),
        ));
    }
    if error.starts_with("UTF-8 encoding error") {
        return Some((
            CLOSE_INVALID_DATA,
            "text message is not valid UTF-8".to_owned(),
        ));
    }
    let detail = error.strip_prefix("WebSocket protocol error: ")?;
    Some((CLOSE_PROTOCOL, reason(&format!("protocol error: {detail}"))))
}

/// `text` cut at a character boundary to fit a close frame.
fn reason(text: &str) -> String {
    let mut end = text.len().min(MAX_REASON);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_fit_a_close_frame() {
        let long = format!("WebSocket protocol error: {}", "é".repeat(200));
        let (code, reason) = for_read_error(&long, 1).unwrap();
        assert_eq!(code, CLOSE_PROTOCOL);
        assert!(reason.len() <= MAX_REASON && reason.starts_with("protocol error: "));
        assert_eq!(
            for_read_error("IO error: connection reset by peer", 1),
            None
        );
        assert_eq!(for_read_error("Connection closed normally", 1), None);
    }
}
