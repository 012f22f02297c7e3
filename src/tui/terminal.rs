//! Owning the terminal: checking there is one, taking it over, and always giving it back.
//!
//! The terminal is restored on every way out: a normal quit or an error (the guard's `Drop`), a panic
//! in any thread or task (a panic hook that restores, prints the panic, then ends the process, since a
//! viewer whose source or loop has died must not linger), and SIGTERM, SIGHUP, SIGINT and SIGQUIT (the
//! loop turns them into a clean exit). Restoring twice is harmless.

use std::io::{self, IsTerminal, Stdout, Write};
use std::process::ExitCode;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use crossterm::terminal::{EnterAlternateScreen, LeaveAlternateScreen};
use crossterm::{cursor, execute, terminal};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

/// Whether the terminal is currently taken over.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Says why a full-screen viewer cannot run here, in one line, or `None` when it can.
pub(crate) fn unavailable() -> Option<&'static str> {
    if !io::stdout().is_terminal() {
        return Some(
            "cannot start the viewer: standard output is not a terminal (use `vg logs` to write entries to a pipe or file)",
        );
    }
    // Keys come from stdin, or from /dev/tty when stdin carries the logs.
    let keys = io::stdin().is_terminal()
        || std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .is_ok();
    (!keys).then_some(
        "cannot start the viewer: there is no terminal to read keys from (standard input is not one, and /dev/tty cannot be opened)",
    )
}

/// The terminal, taken over: raw mode, alternate screen, mouse and bracketed paste on.
pub(crate) struct Tui {
    pub(crate) terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl Tui {
    pub(crate) fn enter() -> io::Result<Tui> {
        install_panic_hook();
        ACTIVE.store(true, Ordering::SeqCst);
        let taken = terminal::enable_raw_mode().and_then(|()| {
            execute!(
                io::stdout(),
                EnterAlternateScreen,
                EnableMouseCapture,
                EnableBracketedPaste,
                cursor::Hide
            )?;
            Terminal::new(CrosstermBackend::new(io::stdout()))
        });
        taken
            .map(|terminal| Tui { terminal })
            .inspect_err(|_| restore())
    }

    /// Writes raw bytes for the terminal itself (not the screen), such as a clipboard request.
    pub(crate) fn send(&mut self, bytes: &str) -> io::Result<()> {
        let out = self.terminal.backend_mut();
        out.write_all(bytes.as_bytes())?;
        out.flush()
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        restore();
    }
}

/// Gives the terminal back, if it was taken. Errors are ignored: on the way out there is nobody to
/// tell, and a closed terminal (SIGHUP) cannot be restored anyway.
pub(crate) fn restore() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let _ = terminal::disable_raw_mode();
    let _ = execute!(
        io::stdout(),
        DisableBracketedPaste,
        DisableMouseCapture,
        LeaveAlternateScreen,
        cursor::Show
    );
}

fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let was_active = ACTIVE.load(Ordering::SeqCst);
            restore();
            previous(info);
            if was_active {
                // A panic in the source task or a render must not leave a frozen screen behind.
                std::process::exit(101);
            }
        }));
    });
}

/// The signals that end the viewer cleanly, and the exit code each one gets (128 + its number).
pub(crate) struct Signals {
    #[cfg(unix)]
    streams: Vec<(tokio::signal::unix::Signal, u8)>,
}

impl Signals {
    pub(crate) fn new() -> io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let kinds = [
                (SignalKind::terminate(), 15),
                (SignalKind::hangup(), 1),
                (SignalKind::interrupt(), 2),
                (SignalKind::quit(), 3),
            ];
            let streams = kinds
                .into_iter()
                .map(|(kind, n)| Ok((signal(kind)?, n)))
                .collect::<io::Result<_>>()?;
            Ok(Signals { streams })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    /// Waits for one of the signals; returns the exit code for it.
    pub(crate) async fn recv(&mut self) -> ExitCode {
        #[cfg(unix)]
        {
            let waits = self.streams.iter_mut().map(|(stream, n)| {
                let n = *n;
                Box::pin(async move {
                    stream.recv().await;
                    n
                })
            });
            let (n, _, _) = futures_util::future::select_all(waits).await;
            ExitCode::from(128 + n)
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            ExitCode::from(130)
        }
    }
}
