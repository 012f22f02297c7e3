//! `vg tui`: a full-screen live log viewer.
//!
//! The shape is one loop over three inputs: terminal events, the source's bounded channel, and a frame
//! clock. Each event changes `app::App` (the only mutable state) and marks it dirty; the clock draws
//! at most one frame per tick, so a flood of entries becomes one frame, not thousands. Terminal events
//! are polled first and the source is drained in capped batches, so a key is never stuck behind a
//! flood. Rendering (`ui`) is a pure function of the state and lays out only the visible rows; the
//! scrollback (`buffer`) keeps its filtered index up to date as entries arrive.
//!
//! Entries come from the same sources as `vg logs` ([`crate::client`]): a server (with reconnects,
//! resume and gap reports), a followed file, or stdin (keys are then read from the terminal itself).

mod app;
#[doc(hidden)]
pub mod bench;
mod buffer;
mod clipboard;
mod keymap;
mod layout;
mod terminal;
mod text;
mod ui;
mod width;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::Utc;
use crossterm::event::EventStream;
use futures_util::StreamExt;
use tokio::sync::mpsc::Receiver;
use tokio::sync::mpsc::error::TryRecvError;

use crate::cli::{TuiArgs, UsageError};
use crate::client::{self, SourceEvent, SourceKind};
use app::{App, Effect, Start};

/// One frame every 33 ms: about 30 frames a second, plenty for text, cheap for the CPU.
const FRAME: Duration = Duration::from_millis(33);

/// Entries taken from the source before looking at the keyboard and the clock again.
const DRAIN_ENTRIES: usize = 50_000;

/// Runs the viewer with these flags until the user quits. Bad flag values are [`UsageError`]s; a
/// missing terminal is an error that says so in one line. Returns the exit code: 0 for a quit, 128 + n
/// for signal n.
///
/// To open the viewer on a server started in-process (as `vg demo` does), parse
/// `["vg", "tui", "--url", URL]` into [`TuiArgs`] and call this: everything else stays at the
/// command line's defaults.
pub async fn run(args: TuiArgs) -> anyhow::Result<ExitCode> {
    let start = Start::from_args(&args, Utc::now())?;
    let config = start.source.clone();
    if config.kind == SourceKind::Stdin && std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        return Err(UsageError::new(
            "--file - reads logs from standard input, but it is the terminal: pipe logs in, e.g. `myapp 2>&1 | vg tui --file -`",
        )
        .into());
    }
    if let Some(reason) = terminal::unavailable() {
        anyhow::bail!(reason);
    }
    let sources = start.sources.clone();
    let target = match &config.kind {
        SourceKind::Server { url, .. } => {
            client::stream_url(url).map_or(url.clone(), |u| u.to_string())
        }
        SourceKind::File(path) => path.display().to_string(),
        SourceKind::Stdin => "stdin".into(),
    };
    let mut tui = terminal::Tui::enter().context("cannot take over the terminal")?;
    let size = tui.terminal.size()?;
    let app = App::new(
        start,
        &target,
        (size.width, size.height),
        Instant::now(),
        Utc::now(),
    );
    let events = client::spawn_all(sources);
    let code = event_loop(&mut tui, app, events).await;
    drop(tui);
    code
}

async fn event_loop(
    tui: &mut terminal::Tui,
    mut app: App,
    mut source: Receiver<SourceEvent>,
) -> anyhow::Result<ExitCode> {
    let mut keys = EventStream::new();
    let mut frames = tokio::time::interval(FRAME);
    frames.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut signals = terminal::Signals::new()?;
    let in_tmux = std::env::var_os("TMUX").is_some();
    let mut source_open = true;
    loop {
        // Biased, in this order: keys first, then the frame, then the source, so neither input nor
        // drawing can starve behind a flood.
        let effect = tokio::select! {
            biased;
            event = keys.next() => match event {
                Some(Ok(event)) => app.handle_event(&event),
                Some(Err(e)) => return Err(e).context("cannot read the terminal"),
                None => Effect::Quit,
            },
            code = signals.recv() => return Ok(code),
            _ = frames.tick() => {
                app.tick(Instant::now(), Utc::now());
                app.settle();
                if app.dirty {
                    tui.terminal.draw(|frame| ui::render(&app, frame))?;
                    app.dirty = false;
                }
                Effect::None
            },
            event = source.recv(), if source_open => {
                match event {
                    Some(event) => source_open = drain(&mut app, event, &mut source),
                    None => source_open = false,
                }
                if !source_open {
                    app.source_closed();
                }
                Effect::None
            },
        };
        match effect {
            Effect::None => {}
            Effect::Quit => return Ok(ExitCode::SUCCESS),
            Effect::Copy(text) => tui.send(&clipboard::osc52(&text, in_tmux))?,
        }
    }
}

/// Takes `first` and whatever else is already waiting, up to [`DRAIN_ENTRIES`]. Returns whether the
/// source is still open.
fn drain(app: &mut App, first: SourceEvent, source: &mut Receiver<SourceEvent>) -> bool {
    let now = Instant::now();
    let size = |event: &SourceEvent| match event {
        SourceEvent::Entries(entries) => entries.len(),
        SourceEvent::Json(entries) => entries.len(),
        _ => 1,
    };
    let mut taken = size(&first);
    app.on_source(first, now);
    while taken < DRAIN_ENTRIES {
        match source.try_recv() {
            Ok(event) => {
                taken += size(&event);
                app.on_source(event, now);
            }
            Err(TryRecvError::Empty) => break,
            Err(TryRecvError::Disconnected) => return false,
        }
    }
    true
}
