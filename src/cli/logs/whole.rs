//! `vg logs` on a whole file or stdin: decoded, filtered and formatted on every core, written in
//! order (see `client::format_whole`). Used when nothing needs the entries after they are
//! formatted: no `--tail` to hold, no `--until-match`/`--fail-on` to test, no `--json`, no
//! `--timeout`, no `--verbose` steps to say, and a file that is not followed. Everything else goes
//! through the viewer, one entry at a time.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use super::{Plan, closed};
use crate::cli::LogsArgs;
use crate::client::{self, FormatEntry, Kept, Next, SourceKind};
use crate::format::LineFormatter;

/// Whether this run can be formatted on every core with the same output as the viewer's.
pub(super) fn eligible(args: &LogsArgs, plan: &Plan) -> bool {
    let whole = match &plan.config.kind {
        SourceKind::File(_) => !plan.config.follow,
        SourceKind::Stdin => true,
        SourceKind::Server { .. } => false,
    };
    whole
        && plan.sources.len() == 1
        && plan.config.tail.is_none()
        && plan.until_match.is_none()
        && plan.fail_on.is_none()
        && plan.timeout.is_none()
        && !plan.verbose
        && !args.json
}

/// One formatter per worker. The origin column grows to the widest origin seen, as the viewer's
/// does; workers share the widest through an atomic, so a wider origin reaches every worker's next
/// line (lines formatted at the same moment on another core may still be padded to the old width).
fn formats(formatter: LineFormatter, workers: usize) -> Vec<FormatEntry> {
    let widest = Arc::new(AtomicUsize::new(0));
    (0..workers)
        .map(|_| {
            let (mut formatter, widest) = (formatter, Arc::clone(&widest));
            Box::new(
                move |kept: Kept<'_>, now: DateTime<Utc>, out: &mut String| {
                    let known = widest.load(Ordering::Relaxed).max(formatter.origin_width);
                    formatter.origin_width = known;
                    match kept {
                        Kept::Entry(entry) => formatter.write(out, entry, now),
                        Kept::Flat(line) => formatter.write_flat(out, line, now),
                    }
                    if formatter.origin_width > known {
                        widest.fetch_max(formatter.origin_width, Ordering::Relaxed);
                    }
                },
            ) as FormatEntry
        })
        .collect()
}

/// Reads the input to its end and writes its display lines to stdout.
pub(super) fn run(plan: &Plan, formatter: LineFormatter) -> anyhow::Result<ExitCode> {
    let formats = formats(formatter, client::worker_count());
    let mut output = match client::format_whole(&plan.config.kind, &plan.filter, formats) {
        Ok(output) => output,
        Err(reason) => {
            crate::say!("vg: {}", crate::format::sanitize(&reason));
            return Ok(ExitCode::FAILURE);
        }
    };
    let mut stdout = std::io::stdout().lock();
    let mut damaged = 0;
    let say_damaged = |damaged: u64| {
        if damaged > 0 {
            crate::say!(
                "vg: {damaged} damaged line(s) (invalid UTF-8 or over 1 MiB) were repaired or cut"
            );
        }
    };
    loop {
        match output.next(closed::CHECK_EVERY) {
            Next::Text(text, bad) => {
                damaged += bad;
                match stdout.write_all(text.as_bytes()) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                        return Ok(ExitCode::SUCCESS);
                    }
                    Err(e) => return Err(e).context("writing to stdout"),
                }
            }
            // A quiet pipe: whoever reads stdout may have gone meanwhile.
            Next::Quiet => {
                if closed::stdout_closed() {
                    return Ok(ExitCode::SUCCESS);
                }
            }
            Next::Failed(reason) => {
                say_damaged(damaged);
                let target = match &plan.config.kind {
                    SourceKind::File(path) => path.display().to_string(),
                    _ => "stdin".into(),
                };
                let said = format!("cannot read {target}: {reason}");
                crate::say!("vg: {}", crate::format::sanitize(&said));
                return Ok(ExitCode::FAILURE);
            }
            Next::End => break,
        }
    }
    match stdout.flush() {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
        Err(e) => return Err(e).context("writing to stdout"),
    }
    say_damaged(damaged);
    Ok(ExitCode::SUCCESS)
}
