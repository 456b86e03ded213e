//! What a peer's module announcements may cost a node. Each announcement of
//! a module the node lacks means a fetch from the announcer, so a peer that
//! floods announcements (of ids it does not have, or of anything) could
//! otherwise keep the node fetching without end. Three bounds:
//! - a token bucket per peer ([`ANNOUNCE_BURST`], [`ANNOUNCES_PER_SECOND`]):
//!   announcements beyond it are ignored at once, costing only their
//!   decoding, and never forwarded;
//! - at most [`MAX_FETCHES`] announcement fetches at once, from all peers;
//!   past it, announcements are ignored (a module missed this way is caught
//!   up later: `Shared::sync_from` when a peer subscribes, or its next
//!   announcement);
//! - a peer whose announcements were rejected [`DISCONNECT_AFTER`] times (not
//!   a module id, a module it could not deliver, bytes that were not the
//!   module) is disconnected, and its count starts again.

use std::collections::HashMap;
use std::sync::Mutex;

use libp2p::PeerId;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::throttle::{Throttle, ThrottleConfig};

/// Announcements a peer may send at once.
pub const ANNOUNCE_BURST: f64 = 32.0;
/// Announcements a second a peer may send after its burst.
pub const ANNOUNCES_PER_SECOND: f64 = 16.0;
/// Announcement fetches running at once, from all peers.
pub const MAX_FETCHES: usize = 64;
/// Rejected announcements after which a peer is disconnected.
pub const DISCONNECT_AFTER: u32 = 8;
/// Peers whose rejections are counted at once; past it the counts restart.
const MAX_TRACKED: usize = 4096;

/// The bounds on announcements (see the module's doc).
#[derive(Debug)]
pub struct AnnounceGuard {
    throttle: Throttle<PeerId>,
    rejected: Mutex<HashMap<PeerId, u32>>,
    fetches: Semaphore,
}

impl Default for AnnounceGuard {
    fn default() -> AnnounceGuard {
        AnnounceGuard {
            throttle: Throttle::new(ThrottleConfig {
                burst: ANNOUNCE_BURST,
                per_second: ANNOUNCES_PER_SECOND,
            }),
            rejected: Mutex::new(HashMap::new()),
            fetches: Semaphore::new(MAX_FETCHES),
        }
    }
}

impl AnnounceGuard {
    /// Whether `peer`'s next announcement is within its budget.
    pub fn admit(&self, peer: &PeerId) -> bool {
        self.throttle.allow(peer)
    }

    /// A slot for one announcement fetch, if fewer than [`MAX_FETCHES`] run.
    pub fn fetch_slot(&self) -> Option<SemaphorePermit<'_>> {
        self.fetches.try_acquire().ok()
    }

    /// Counts a rejected announcement of `peer`; `true` when the peer has
    /// reached [`DISCONNECT_AFTER`] and should be disconnected now.
    pub fn rejected(&self, peer: PeerId) -> bool {
        let mut counts = self.rejected.lock().unwrap_or_else(|e| e.into_inner());
        if counts.len() >= MAX_TRACKED && !counts.contains_key(&peer) {
            counts.clear();
        }
        let count = counts.entry(peer).or_insert(0);
        *count += 1;
        if *count >= DISCONNECT_AFTER {
            counts.remove(&peer);
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floods_are_cut_and_repeat_offenders_named() {
        let guard = AnnounceGuard::default();
        let flooder = PeerId::random();
        let honest = PeerId::random();
        let admitted = (0..1000).filter(|_| guard.admit(&flooder)).count();
        assert!(
            admitted >= ANNOUNCE_BURST as usize && admitted < 100,
            "{admitted}"
        );
        assert!(guard.admit(&honest), "each peer has its own budget");
        let slots: Vec<_> = (0..MAX_FETCHES + 5)
            .filter_map(|_| guard.fetch_slot())
            .collect();
        assert_eq!(slots.len(), MAX_FETCHES);
        drop(slots);
        assert!(guard.fetch_slot().is_some());
        let verdicts: Vec<bool> = (0..DISCONNECT_AFTER)
            .map(|_| guard.rejected(flooder))
            .collect();
        assert_eq!(verdicts.iter().filter(|v| **v).count(), 1);
        assert!(verdicts[DISCONNECT_AFTER as usize - 1]);
        assert!(!guard.rejected(honest));
    }
}
