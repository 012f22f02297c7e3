//! Reading lines with a bound, so one line that never ends cannot take all the memory; and waiting
//! for stdin without reading it, so a held entry can go out while a pipe is quiet.

use std::io::{BufRead, ErrorKind};
use std::time::Duration;

use crate::model::decode::MAX_LINE_BYTES;

/// The most of one line kept: the limit, a byte-order mark (3 bytes) and one byte over.
const KEPT: usize = MAX_LINE_BYTES + 4;

/// Like `read_until(b'\n', line)`, but keeps at most [`KEPT`] bytes of a line in `line`: more than
/// [`MAX_LINE_BYTES`] even after the decoder strips a byte-order mark, so it still sees the line was
/// too long and cuts and counts it. The rest of an
/// overlong line is read and dropped up to its newline, which is kept so the caller still sees where
/// the line ends. Returns the bytes consumed; 0 means the input has nothing more now.
pub(crate) fn read_line_capped(
    reader: &mut impl BufRead,
    line: &mut Vec<u8>,
) -> std::io::Result<usize> {
    read_line_capped_onto(reader, line, 0)
}

/// [`read_line_capped`] appending to `buf`, whose line being read starts at `start` (bytes before
/// it are earlier lines, which do not count against the cap): a reader that gathers lines into a
/// chunk reads straight into it instead of copying each line once more.
pub(crate) fn read_line_capped_onto(
    reader: &mut impl BufRead,
    buf: &mut Vec<u8>,
    start: usize,
) -> std::io::Result<usize> {
    let line = buf;
    let cap = KEPT + start;
    let mut consumed = 0;
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(consumed);
        }
        let end = memchr::memchr(b'\n', available);
        let body = &available[..end.unwrap_or(available.len())];
        let room = cap.saturating_sub(line.len());
        line.extend_from_slice(&body[..body.len().min(room)]);
        let used = end.map_or(available.len(), |at| {
            line.push(b'\n');
            at + 1
        });
        reader.consume(used);
        consumed += used;
        if end.is_some() {
            return Ok(consumed);
        }
    }
}

/// Waits up to `timeout` for stdin to have input (or to end); `false` when it stayed quiet.
#[cfg(unix)]
pub(crate) fn stdin_readable(timeout: Duration) -> bool {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    use std::os::fd::AsFd;

    let stdin = std::io::stdin();
    let fd = stdin.as_fd();
    let mut fds = [PollFd::new(&fd, PollFlags::IN)];
    let timeout = Timespec {
        tv_sec: timeout.as_secs().try_into().unwrap_or(i64::MAX),
        tv_nsec: timeout.subsec_nanos().into(),
    };
    // An error (stdin is not pollable) counts as readable: the read that follows tells the truth.
    !matches!(poll(&mut fds, Some(&timeout)), Ok(0))
}

/// Elsewhere stdin cannot be waited on without reading it: a held entry goes out when nothing more
/// is buffered, so continuation lines that arrive in a later read become entries of their own.
#[cfg(not(unix))]
pub(crate) fn stdin_readable(_timeout: Duration) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], capacity: usize) -> Vec<Vec<u8>> {
        let mut reader = std::io::BufReader::with_capacity(capacity, input);
        let mut out = Vec::new();
        loop {
            let mut line = Vec::new();
            if read_line_capped(&mut reader, &mut line).unwrap() == 0 {
                return out;
            }
            out.push(line);
        }
    }

    #[test]
    fn short_lines_come_whole_whatever_the_buffer() {
        for capacity in [1, 3, 64] {
            assert_eq!(
                lines(b"one\ntwo\n\nlast", capacity),
                [&b"one\n"[..], b"two\n", b"\n", b"last"]
            );
        }
    }

    #[test]
    fn an_overlong_line_behind_a_byte_order_mark_is_still_seen_as_cut() {
        let mut input = b"\xef\xbb\xbf".to_vec();
        input.extend(vec![b'x'; 2 * MAX_LINE_BYTES]);
        let line = &lines(&input, 8192)[0];
        let mut decoder = crate::model::decode::LineDecoder::default();
        let entry = decoder.decode(line, "s").unwrap();
        assert_eq!(
            entry.meta.get(crate::model::TRUNCATED_KEY),
            Some(&serde_json::Value::Bool(true))
        );
        assert_eq!(decoder.damaged, 1);
    }

    #[test]
    fn lines_read_onto_a_chunk_are_each_held_to_the_bound() {
        let mut input = b"short\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 2 * MAX_LINE_BYTES));
        input.extend_from_slice(b"\nlast\n");
        let mut reader = std::io::BufReader::with_capacity(8192, input.as_slice());
        let mut chunk = b"earlier lines\n".to_vec();
        let mut starts = Vec::new();
        loop {
            let start = chunk.len();
            if read_line_capped_onto(&mut reader, &mut chunk, start).unwrap() == 0 {
                break;
            }
            starts.push(start);
        }
        assert_eq!(starts.len(), 3);
        assert_eq!(&chunk[..starts[1]], b"earlier lines\nshort\n");
        assert_eq!(
            starts[2] - starts[1],
            KEPT + 1,
            "the bound counts from the line's start"
        );
        assert_eq!(&chunk[starts[2]..], b"last\n");
    }

    #[test]
    fn an_endless_line_is_held_to_the_bound_and_the_next_line_survives() {
        let mut input = vec![b'x'; 5 * MAX_LINE_BYTES];
        input.extend_from_slice(b"\nnext\n");
        let got = lines(&input, 8192);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].len(), KEPT + 1, "the bound and the newline");
        assert!(got[0].ends_with(b"x\n"));
        assert_eq!(got[1], b"next\n");
    }
}
