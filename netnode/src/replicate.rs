//! Replicated execution: the same job on several nodes, results compared.
//!
//! Replicas are chosen by rendezvous hashing: every connected peer is ranked
//! by SHA-256(module id ‖ peer id) and the first K are asked. The choice is
//! stable for a module (the same peers keep its compiled code warm) and
//! spreads different modules over different peers, with no coordination.
//!
//! Each replica's [`JobResult`] is compared whole (values or trap, fuel used,
//! output hash). The majority is the result more than half of the answers
//! share; a replica that answered something else is named as disagreeing.
//! Without a strict majority nobody is named: two against two proves nothing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use libp2p::PeerId;
use libp2p::futures::future::join_all;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::browser::{browser_job, normalize};
use crate::command::RequestError;
use crate::exec::{Job, JobResult};
use crate::shared::Shared;
use crate::store::ModuleId;
use crate::wire::{WireRequest, WireResponse};

/// Ranks `peers` for `module` and returns the first `k`.
pub fn choose_replicas(peers: &[PeerId], module: &ModuleId, k: usize) -> Vec<PeerId> {
    let mut ranked: Vec<([u8; 32], PeerId)> = peers
        .iter()
        .map(|p| {
            let mut h = Sha256::new();
            h.update(module.as_bytes());
            h.update(p.to_bytes());
            (h.finalize().into(), *p)
        })
        .collect();
    ranked.sort();
    ranked.dedup_by(|a, b| a.1 == b.1);
    ranked.into_iter().take(k).map(|(_, p)| p).collect()
}

/// One replica's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaReport {
    /// The replica's peer id.
    pub peer: String,
    /// Whether this is the node that was asked (run locally).
    pub local: bool,
    /// Whether it is a browser peer (`browser.rs`).
    #[serde(default)]
    pub browser: bool,
    /// Its result, if it gave one.
    pub result: Option<JobResult>,
    /// Why it gave none (timeout, busy, connection lost, ...).
    pub error: Option<String>,
    /// From sending the job to receiving the answer.
    pub latency_ms: u64,
    /// Whether its result is the majority's; `None` without a result or a
    /// majority.
    pub agrees: Option<bool>,
}

/// The outcome of a replicated job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecReport {
    /// The job.
    pub module: String,
    /// The export called.
    pub export: String,
    /// Replicas asked for.
    pub replicas_requested: usize,
    /// Every replica, the local run first.
    pub replicas: Vec<ReplicaReport>,
    /// The result a strict majority of the answers share.
    pub majority: Option<JobResult>,
    /// Peers whose result differs from the majority.
    pub disagreeing: Vec<String>,
    /// Peers that gave no result.
    pub unanswered: Vec<String>,
    /// Connected peers not asked because they answered wrongly too often
    /// before (`scores.rs`).
    #[serde(default)]
    pub excluded: Vec<String>,
}

/// Marks agreement in `replicas` and fills in the summary fields.
pub fn judge(replicas: &mut [ReplicaReport]) -> (Option<JobResult>, Vec<String>, Vec<String>) {
    let answers: Vec<&JobResult> = replicas.iter().filter_map(|r| r.result.as_ref()).collect();
    let majority = answers
        .iter()
        .find(|a| answers.iter().filter(|b| *b == *a).count() * 2 > answers.len())
        .map(|a| (*a).clone());
    let mut disagreeing = Vec::new();
    let mut unanswered = Vec::new();
    for r in replicas.iter_mut() {
        r.agrees = match (&r.result, &majority) {
            (Some(result), Some(m)) => Some(result == m),
            _ => None,
        };
        if r.agrees == Some(false) {
            disagreeing.push(r.peer.clone());
        }
        if r.result.is_none() {
            unanswered.push(r.peer.clone());
        }
    }
    (majority, disagreeing, unanswered)
}

/// Runs `job` locally (if `local`) and on `k` chosen peers, each bounded by
/// `timeout`, and compares the results.
pub async fn replicated_exec(
    shared: &Arc<Shared>,
    job: Job,
    k: usize,
    local: bool,
    timeout: Duration,
) -> ExecReport {
    let (peers, excluded): (Vec<PeerId>, Vec<PeerId>) = shared
        .status()
        .await
        .peers
        .into_iter()
        .partition(|p| !shared.scores.excluded(&p.to_string()));
    let chosen = match job.module.parse::<ModuleId>() {
        Ok(id) => choose_replicas(&peers, &id, k),
        Err(_) => Vec::new(),
    };
    let remote = chosen.iter().map(|&peer| {
        let shared = Arc::clone(shared);
        let job = job.clone();
        let browser = shared.is_browser(&peer);
        async move {
            let start = Instant::now();
            let request = match browser {
                false => Ok(WireRequest::Exec(job)),
                true => browser_request(&shared, &job).await,
            };
            let answer = match request {
                Ok(request) => tokio::time::timeout(timeout, shared.request(peer, request)).await,
                Err(e) => Ok(Ok(WireResponse::Error(format!("not sent: {e}")))),
            };
            let latency_ms = start.elapsed().as_millis() as u64;
            let (result, error) = match answer {
                Ok(Ok(WireResponse::Result(mut r))) => {
                    if browser {
                        normalize(&mut r);
                    }
                    (Some(r), None)
                }
                Ok(Ok(WireResponse::Error(e))) => (None, Some(e)),
                Ok(Ok(other)) => (None, Some(format!("answered {}", other.kind()))),
                Ok(Err(e)) => (None, Some(e.to_string())),
                Err(_) => (None, Some(RequestError::TimedOut.to_string())),
            };
            ReplicaReport {
                peer: peer.to_string(),
                local: false,
                browser,
                result,
                error,
                latency_ms,
                agrees: None,
            }
        }
    });
    let local_run = async {
        if !local {
            return None;
        }
        let start = Instant::now();
        let result = shared.run_local(&job).await;
        Some(ReplicaReport {
            peer: shared.peer_id.to_string(),
            local: true,
            browser: false,
            result: Some(result),
            error: None,
            latency_ms: start.elapsed().as_millis() as u64,
            agrees: None,
        })
    };
    let (local_report, remote_reports) = tokio::join!(local_run, join_all(remote));
    let mut replicas: Vec<ReplicaReport> = local_report.into_iter().collect();
    replicas.extend(remote_reports);
    let (majority, disagreeing, unanswered) = judge(&mut replicas);
    let remote_liars: Vec<String> = replicas
        .iter()
        .filter(|r| !r.local && r.agrees == Some(false))
        .map(|r| r.peer.clone())
        .collect();
    if let Err(e) = shared.scores.record_wrong(&remote_liars)
        && shared.config.verbose
    {
        eprintln!("{}: cannot save peer scores: {e}", shared.config.name);
    }
    ExecReport {
        module: job.module,
        export: job.export,
        replicas_requested: k,
        replicas,
        majority,
        disagreeing,
        unanswered,
        excluded: excluded.iter().map(ToString::to_string).collect(),
    }
}

/// The request that asks a browser peer to run `job`.
async fn browser_request(shared: &Arc<Shared>, job: &Job) -> Result<WireRequest, String> {
    let id: ModuleId = job.module.parse().map_err(|_| "bad module id")?;
    let bytes = shared
        .module_bytes(id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("unknown module {id}"))?;
    let executor = shared.executor.clone();
    let job = job.clone();
    // Instrumenting a large module takes a while: off the async threads.
    tokio::task::spawn_blocking(move || browser_job(&executor, &job, &bytes))
        .await
        .map_err(|e| e.to_string())?
        .map(WireRequest::Run)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::Outcome;

    fn result(v: &str) -> Option<JobResult> {
        Some(JobResult {
            outcome: Outcome::Values(vec![v.into()]),
            fuel_used: 10,
            output_sha256: String::new(),
            output_len: 0,
        })
    }

    fn replica(peer: &str, r: Option<JobResult>) -> ReplicaReport {
        ReplicaReport {
            peer: peer.into(),
            local: false,
            browser: false,
            result: r,
            error: None,
            latency_ms: 0,
            agrees: None,
        }
    }

    #[test]
    fn the_odd_one_out_is_named() {
        let mut rs = vec![
            replica("a", result("1")),
            replica("b", result("2")),
            replica("c", result("1")),
            replica("d", None),
        ];
        let (majority, disagreeing, unanswered) = judge(&mut rs);
        assert_eq!(majority, result("1"));
        assert_eq!(disagreeing, ["b"]);
        assert_eq!(unanswered, ["d"]);
        assert_eq!(rs[1].agrees, Some(false));
        assert_eq!(rs[3].agrees, None);
    }

    #[test]
    fn a_tie_names_nobody() {
        let mut rs = vec![replica("a", result("1")), replica("b", result("2"))];
        let (majority, disagreeing, _) = judge(&mut rs);
        assert_eq!(majority, None);
        assert!(disagreeing.is_empty());
    }

    #[test]
    fn replica_choice_is_stable_and_bounded() {
        let peers: Vec<PeerId> = (0..6).map(|_| PeerId::random()).collect();
        let id = ModuleId::of(b"m");
        let a = choose_replicas(&peers, &id, 3);
        let mut reversed = peers.clone();
        reversed.reverse();
        assert_eq!(a, choose_replicas(&reversed, &id, 3));
        assert_eq!(a.len(), 3);
        assert_eq!(choose_replicas(&peers, &id, 10).len(), 6);
    }
}
