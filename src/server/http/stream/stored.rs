//! A backfill chunk read from disk as stored: each entry filtered on its stored fields and its JSON
//! written from them, no `LogEntry` built (docs/storage.md, "Replay: entries sent as stored").

use super::{Connection, Gone, Window, range_gap};
use crate::server::store::{Fields, Records, Stored, past_window};
use crate::wire::GapReason;

impl Connection {
    /// Sends one chunk of history read from disk as stored: each entry is filtered on its stored
    /// fields and its JSON written from them, no `LogEntry` built (docs/storage.md, "Replay").
    /// Held and charged as [`Connection::send_chunk`] holds its entries.
    pub(super) async fn send_stored(&mut self, records: Records) -> Result<Window, Gone> {
        if !self.budget.hold_entries(records.bytes()) {
            drop(records);
            return self.over_budget().await.map(|()| Window::Ended);
        }
        let mut window = Window::Open;
        for record in records.iter() {
            let Some(fields) = record.fields() else {
                // Stored as JSON (formats 1-2): decoded, as any entry.
                match record.entry() {
                    Some(entry) if past_window(&self.filter, &entry) => {
                        window = Window::Ended;
                        break;
                    }
                    Some(entry) => self.push(&entry).await?,
                    None => self.unreadable(record.seq()).await?,
                }
                continue;
            };
            if self
                .filter
                .until()
                .is_some_and(|until| fields.timestamp > until)
            {
                window = Window::Ended;
                break;
            }
            if self.push_stored(&record, &fields).await? == Some(false) {
                self.unreadable(record.seq()).await?;
            }
        }
        drop(records);
        self.budget.release_entries();
        Ok(window)
    }

    /// [`Connection::push`] for an entry read as stored: `None` if the filter drops it,
    /// `Some(false)` if its payload turned out not to decode (its `meta`, read for a `where`
    /// filter, or the whole of it, written for the viewer).
    async fn push_stored(
        &mut self,
        record: &Stored<'_>,
        fields: &Fields<'_>,
    ) -> Result<Option<bool>, Gone> {
        match fields.passes(&self.filter) {
            None => return Ok(Some(false)),
            Some(false) => return Ok(None),
            Some(true) => {}
        }
        if !self
            .budget
            .reserve(self.batch.bytes() + fields.message.len())
        {
            return self.over_budget().await.map(|()| None);
        }
        let written = self
            .batch
            .push_written(|out| fields.write_json(out), || record.entry());
        if written && self.batch.is_full() {
            self.flush().await?;
        }
        Ok(Some(written))
    }

    /// An entry on disk whose checksum held but whose payload does not decode: the viewer is told
    /// of its seq with an `evicted` gap, as a read of decoded entries, which leaves it out, does.
    /// Only what is read is found out: an entry the filter drops on its fields alone is never
    /// decoded, so a damaged one there goes by unreported (the checksum held, so only a writer's
    /// bug could make one).
    async fn unreadable(&mut self, seq: u64) -> Result<(), Gone> {
        self.gap(range_gap(seq, seq, GapReason::Evicted)).await
    }
}
