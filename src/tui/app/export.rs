//! `e`: the entries the view shows (its filters, its search when only matches show) written to a
//! new NDJSON file, so what was found on screen can go to `jq`, a ticket or a colleague.
//!
//! The buffer is bounded (`--buffer`), so the file is too; it is written on the spot with one
//! buffered writer (100,000 entries take well under a second). Gap rows are not entries and are left
//! out. The file is new each time (named by the time, never overwriting), in the directory `vg tui`
//! was started in.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::App;

impl App {
    /// Writes the view's entries to a new file in `dir` and says where, or why it could not.
    pub(crate) fn export_to(&mut self, dir: &Path) {
        match self.write_export(dir) {
            Ok((path, 0)) => {
                let _ = std::fs::remove_file(&path);
                self.notify("nothing to export: the view shows no entries");
            }
            Ok((path, n)) => {
                let shown = std::path::absolute(&path).unwrap_or(path);
                let entries = if n == 1 { "entry" } else { "entries" };
                self.notify(format!(
                    "exported {} {entries} to {}",
                    crate::format::thousands(n),
                    crate::format::sanitize(&shown.to_string_lossy())
                ));
            }
            Err(e) => self.notify(format!("could not export: {e}")),
        }
    }

    fn write_export(&self, dir: &Path) -> std::io::Result<(PathBuf, u64)> {
        let name = format!("vg-export-{}.ndjson", self.wall.format("%Y%m%d-%H%M%S%.3f"));
        let path = dir.join(name);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        let mut out = std::io::BufWriter::new(file);
        let mut written = 0;
        for pos in 0..self.view_len() {
            let Some(row) = self.buffer.shown_id(pos).and_then(|id| self.buffer.get(id)) else {
                continue;
            };
            if let Some(entry) = row.entry() {
                out.write_all(entry.view(&self.names).to_entry().to_json().as_bytes())?;
                out.write_all(b"\n")?;
                written += 1;
            }
        }
        out.flush()?;
        Ok((path, written))
    }
}
