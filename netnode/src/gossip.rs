//! Module announcements: what a node publishes on the gossipsub topic
//! [`TOPIC`] when it has a new module, and how a received one is read.

use serde::{Deserialize, Serialize};

use crate::store::ModuleId;

/// The gossipsub topic modules are announced on.
pub const TOPIC: &str = "kiln/modules/1";

/// The largest gossip message accepted (announcements are a few dozen bytes).
pub const MAX_ANNOUNCE_BYTES: usize = 4096;

/// The largest gossipsub frame read from a peer (an RPC: messages, control
/// and subscriptions). Not [`MAX_ANNOUNCE_BYTES`]: gossipsub (0.50) checks
/// this limit against everything its reader has buffered, which can be
/// several frames (it reads up to 8 KiB at once), so a limit near one
/// announcement's size closed the stream whenever a burst of announcements
/// arrived faster than they were decoded, and every later announcement of
/// that peer was lost. One announcement is still held to
/// [`MAX_ANNOUNCE_BYTES`], as the topic's own limit.
pub const MAX_FRAME_BYTES: usize = 64 << 10;

/// What a node announces when it has a new module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announce {
    /// The module's id.
    pub id: String,
    /// Its size in bytes.
    pub size: u64,
}

impl Announce {
    /// Reads an announcement as gossip carries it (JSON), returning the id
    /// and size it announces; `None` if it is not one, its id is not a
    /// module id, or the size is over `max_module_bytes`.
    pub fn decode(data: &[u8], max_module_bytes: usize) -> Option<(ModuleId, u64)> {
        let announce = serde_json::from_slice::<Announce>(data).ok()?;
        let id = announce.id.parse::<ModuleId>().ok()?;
        (announce.size <= max_module_bytes as u64).then_some((id, announce.size))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_are_checked() -> serde_json::Result<()> {
        let id = ModuleId::of(b"m");
        let good = serde_json::to_vec(&Announce {
            id: id.to_string(),
            size: 100,
        })?;
        assert_eq!(Announce::decode(&good, 100), Some((id, 100)));
        assert_eq!(Announce::decode(&good, 99), None, "over the cap");
        assert_eq!(Announce::decode(br#"{"id":"ab","size":1}"#, 100), None);
        assert_eq!(Announce::decode(b"not json", 100), None);
        Ok(())
    }
}
