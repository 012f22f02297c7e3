//! Noticing that whoever reads our stdout has gone (`vg logs | head -3`) while nothing is written:
//! a write would fail with a broken pipe, but on a quiet stream there may be no write for hours.

use std::time::Duration;

/// How often a quiet `vg logs` looks whether its reader is still there.
pub(super) const CHECK_EVERY: Duration = Duration::from_millis(250);

/// Whether stdout is a pipe (or socket) whose reading end is closed. Terminals and files never are.
#[cfg(unix)]
pub(super) fn stdout_closed() -> bool {
    use rustix::event::{PollFd, PollFlags, poll};
    use std::os::fd::AsFd;

    let stdout = std::io::stdout();
    let fd = stdout.as_fd();
    let mut fds = [PollFd::new(&fd, PollFlags::empty())];
    let zero = rustix::event::Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // Errors and hang-ups are reported whatever is asked for; a closed pipe's writer sees POLLERR.
    matches!(poll(&mut fds, Some(&zero)), Ok(n) if n > 0)
        && fds[0].revents().intersects(PollFlags::ERR | PollFlags::HUP)
}

#[cfg(not(unix))]
pub(super) fn stdout_closed() -> bool {
    false
}
