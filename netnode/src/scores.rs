//! What a node remembers of its peers' honesty: for each peer, how many
//! replicated jobs it answered against a strict majority. A peer that reached
//! the threshold (`NodeConfig::exclude_after`) is no longer chosen as a
//! replica; it is still connected and may still fetch and announce.
//!
//! The counts are kept in `<data dir>/peer-scores.json` (`{"peer id":
//! count}`), rewritten through a temporary file and a rename after every
//! change, so they survive restarts and a crash leaves the old file or the
//! new one. A missing or unreadable file starts empty: forgetting a liar is
//! the safe failure, refusing to start is not.
//!
//! Only disagreement against a strict majority counts (`replicate::judge`),
//! and a peer's count never decreases: answering right most of the time is
//! what a careful liar would do.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The per-peer counts of wrong answers, persisted.
#[derive(Debug)]
pub struct PeerScores {
    /// `<data dir>/peer-scores.json`.
    path: PathBuf,
    /// Wrong answers by peer id (its text form).
    counts: Mutex<BTreeMap<String, u32>>,
    /// Wrong answers at which a peer stops being chosen.
    exclude_after: u32,
}

impl PeerScores {
    /// The scores kept in `data_dir`, or none if there are none (or the file
    /// cannot be read).
    pub fn open(data_dir: &Path, exclude_after: u32) -> PeerScores {
        let path = data_dir.join("peer-scores.json");
        let counts = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        PeerScores {
            path,
            counts: Mutex::new(counts),
            exclude_after,
        }
    }

    /// Counts one wrong answer of each of `peers` and saves the counts.
    ///
    /// # Errors
    ///
    /// If the file cannot be written; the counts are kept in memory anyway.
    pub fn record_wrong(&self, peers: &[String]) -> io::Result<()> {
        if peers.is_empty() {
            return Ok(());
        }
        let snapshot = {
            let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
            for p in peers {
                let c = counts.entry(p.clone()).or_insert(0);
                *c = c.saturating_add(1);
            }
            counts.clone()
        };
        let json = serde_json::to_vec_pretty(&snapshot).map_err(io::Error::other)?;
        let tmp = self.path.with_extension("json.tmp");
        std::fs::write(&tmp, json)?;
        std::fs::rename(&tmp, &self.path)
    }

    /// Wrong answers recorded of `peer`.
    pub fn wrong(&self, peer: &str) -> u32 {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts.get(peer).copied().unwrap_or(0)
    }

    /// Whether `peer` is no longer chosen as a replica.
    pub fn excluded(&self, peer: &str) -> bool {
        self.wrong(peer) >= self.exclude_after
    }

    /// Every peer with a count, and the count.
    pub fn all(&self) -> BTreeMap<String, u32> {
        self.counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_persist_and_exclude_past_the_threshold() -> io::Result<()> {
        let dir = std::env::temp_dir().join(format!("kiln-scores-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let scores = PeerScores::open(&dir, 2);
        assert!(!scores.excluded("liar"));
        scores.record_wrong(&["liar".into(), "other".into()])?;
        assert!(!scores.excluded("liar"));
        scores.record_wrong(&["liar".into()])?;
        assert!(scores.excluded("liar"));
        assert!(!scores.excluded("other"));
        // Read back as a restarted node would.
        let again = PeerScores::open(&dir, 2);
        assert_eq!(again.wrong("liar"), 2);
        assert_eq!(again.wrong("other"), 1);
        assert!(again.excluded("liar"));
        // A damaged file starts empty rather than failing.
        std::fs::write(dir.join("peer-scores.json"), b"{not json")?;
        assert_eq!(PeerScores::open(&dir, 2).all().len(), 0);
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }
}
