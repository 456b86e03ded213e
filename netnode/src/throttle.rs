//! Per-peer throttling of execution requests: a token bucket per peer.
//!
//! Each peer may send `burst` requests at once and `per_second` a second
//! after that; a request beyond its budget is answered `Busy` at once,
//! without running anything, so one peer's flood costs the node only the
//! decoding of its requests and other peers keep their own budgets.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Instant;

/// The throttle's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThrottleConfig {
    /// Requests a peer may send at once.
    pub burst: f64,
    /// Requests a second a peer may send after its burst.
    pub per_second: f64,
}

impl Default for ThrottleConfig {
    fn default() -> ThrottleConfig {
        ThrottleConfig {
            burst: 16.0,
            per_second: 8.0,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Token buckets keyed by peer.
#[derive(Debug)]
pub struct Throttle<K> {
    config: ThrottleConfig,
    buckets: Mutex<HashMap<K, Bucket>>,
}

impl<K: Hash + Eq + Clone> Throttle<K> {
    /// The most peers tracked; past it, full buckets are forgotten.
    const MAX_PEERS: usize = 4096;

    /// A throttle with `config`.
    pub fn new(config: ThrottleConfig) -> Throttle<K> {
        Throttle {
            config,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token from `peer`'s bucket at `now`; `false` if it has none.
    pub fn allow_at(&self, peer: &K, now: Instant) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= Self::MAX_PEERS && !buckets.contains_key(peer) {
            let (burst, rate) = (self.config.burst, self.config.per_second);
            buckets.retain(|_, b| {
                let refilled = b.tokens + now.duration_since(b.updated).as_secs_f64() * rate;
                refilled < burst
            });
        }
        let bucket = buckets.entry(peer.clone()).or_insert(Bucket {
            tokens: self.config.burst,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.config.per_second).min(self.config.burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Takes one token from `peer`'s bucket now.
    pub fn allow(&self, peer: &K) -> bool {
        self.allow_at(peer, Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_flooding_peer_is_cut_off_and_others_are_not() {
        let throttle = Throttle::new(ThrottleConfig {
            burst: 3.0,
            per_second: 2.0,
        });
        let t0 = Instant::now();
        let allowed = (0..10).filter(|_| throttle.allow_at(&"flood", t0)).count();
        assert_eq!(allowed, 3);
        assert!(throttle.allow_at(&"polite", t0));
        // Half a second later the flooder has earned one more request.
        let t1 = t0 + Duration::from_millis(500);
        assert!(throttle.allow_at(&"flood", t1));
        assert!(!throttle.allow_at(&"flood", t1));
    }
}
