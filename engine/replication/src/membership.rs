//! The cluster file: who the nodes are, where they listen, and the timers.
//!
//! ```toml
//! election_timeout_ms = 500   # a follower that hears no leader for this long stands
//! heartbeat_ms = 50           # how often a leader tells followers it is alive
//!
//! [[node]]
//! id = 1
//! raft = "127.0.0.1:7101"     # replication: the other nodes connect here
//! client = "127.0.0.1:7001"   # order entry, served only while this node leads
//! ```
//!
//! Membership is static: every node reads the same file, and a change of
//! membership is a change of file with the cluster stopped. (Raft's joint
//! consensus for live membership changes is in the library, not used yet.)

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Raft's clock: the library counts time in ticks of this length.
pub const TICK: Duration = Duration::from_millis(10);

/// One node of the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    /// Raft's node id: not zero, unique in the file.
    pub id: u64,
    /// Where this node listens for the other nodes' Raft messages.
    pub raft: SocketAddr,
    /// Where this node serves clients while it is the leader.
    pub client: SocketAddr,
}

/// The whole cluster, as every node reads it from the same file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub nodes: Vec<Member>,
    /// A follower that has heard nothing from a leader for this long (times
    /// a random factor in [1, 2), so that candidates rarely tie) stands for
    /// election. Failover takes about this long plus recovery.
    pub election_timeout: Duration,
    /// How often a leader sends heartbeats (and so how soon a follower
    /// learns the commit index when nothing else is sent).
    pub heartbeat: Duration,
}

/// What is wrong with a cluster file.
#[derive(Debug, thiserror::Error)]
pub enum MembershipError {
    #[error("cannot read the cluster file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the cluster file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("the cluster file names no node: add [[node]] tables with id, raft and client")]
    Empty,
    #[error("node id {0} is not allowed: ids are whole numbers from 1")]
    ZeroId(u64),
    #[error("node id {0} appears twice in the cluster file")]
    DuplicateId(u64),
    #[error(
        "address {0} appears twice in the cluster file: every raft and client address must differ"
    )]
    DuplicateAddress(SocketAddr),
    #[error(
        "election_timeout_ms {election} must be at least 3 heartbeats ({heartbeat} ms each) \
         and a multiple of {tick} ms, heartbeat_ms a multiple of {tick} ms"
    )]
    Timers {
        election: u64,
        heartbeat: u64,
        tick: u64,
    },
    #[error("node {0} is not in the cluster file (its ids: {1})")]
    NotAMember(u64, String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default = "default_election_ms")]
    election_timeout_ms: u64,
    #[serde(default = "default_heartbeat_ms")]
    heartbeat_ms: u64,
    #[serde(default)]
    node: Vec<NodeEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeEntry {
    id: u64,
    raft: SocketAddr,
    client: SocketAddr,
}

/// The defaults: failover measured at well under 2 s with them
/// (docs/replication.md, "Measurements").
fn default_election_ms() -> u64 {
    500
}

fn default_heartbeat_ms() -> u64 {
    50
}

impl Membership {
    /// Reads and checks a cluster file.
    pub fn load(path: &Path) -> Result<Membership, MembershipError> {
        let text = std::fs::read_to_string(path).map_err(|source| MembershipError::Read {
            path: path.to_owned(),
            source,
        })?;
        Membership::parse(&text).map_err(|e| match e {
            MembershipError::Parse { message, .. } => MembershipError::Parse {
                path: path.to_owned(),
                message,
            },
            other => other,
        })
    }

    /// Parses and checks the text of a cluster file.
    pub fn parse(text: &str) -> Result<Membership, MembershipError> {
        let file: File = toml::from_str(text).map_err(|e| MembershipError::Parse {
            path: PathBuf::new(),
            message: e.to_string(),
        })?;
        let tick = TICK.as_millis() as u64;
        let timers_ok = file.heartbeat_ms >= tick
            && file.heartbeat_ms.is_multiple_of(tick)
            && file.election_timeout_ms.is_multiple_of(tick)
            && file.election_timeout_ms >= 3 * file.heartbeat_ms;
        if !timers_ok {
            return Err(MembershipError::Timers {
                election: file.election_timeout_ms,
                heartbeat: file.heartbeat_ms,
                tick,
            });
        }
        if file.node.is_empty() {
            return Err(MembershipError::Empty);
        }
        let mut ids = HashSet::new();
        let mut addrs = HashSet::new();
        let mut nodes = Vec::with_capacity(file.node.len());
        for n in file.node {
            if n.id == 0 {
                return Err(MembershipError::ZeroId(n.id));
            }
            if !ids.insert(n.id) {
                return Err(MembershipError::DuplicateId(n.id));
            }
            for addr in [n.raft, n.client] {
                if !addrs.insert(addr) {
                    return Err(MembershipError::DuplicateAddress(addr));
                }
            }
            nodes.push(Member {
                id: n.id,
                raft: n.raft,
                client: n.client,
            });
        }
        nodes.sort_by_key(|n| n.id);
        Ok(Membership {
            nodes,
            election_timeout: Duration::from_millis(file.election_timeout_ms),
            heartbeat: Duration::from_millis(file.heartbeat_ms),
        })
    }

    /// The node with this id, or an error naming the ids there are.
    pub fn member(&self, id: u64) -> Result<&Member, MembershipError> {
        self.nodes.iter().find(|n| n.id == id).ok_or_else(|| {
            let ids: Vec<String> = self.nodes.iter().map(|n| n.id.to_string()).collect();
            MembershipError::NotAMember(id, ids.join(", "))
        })
    }

    /// Every node's id.
    pub fn ids(&self) -> Vec<u64> {
        self.nodes.iter().map(|n| n.id).collect()
    }

    /// Raft's election timeout in ticks.
    pub(crate) fn election_ticks(&self) -> usize {
        (self.election_timeout.as_millis() / TICK.as_millis()) as usize
    }

    /// Raft's heartbeat interval in ticks.
    pub(crate) fn heartbeat_ticks(&self) -> usize {
        (self.heartbeat.as_millis() / TICK.as_millis()) as usize
    }

    /// The text of a cluster file for these nodes, with the default timers.
    pub fn to_toml(&self) -> String {
        let mut out = format!(
            "election_timeout_ms = {}\nheartbeat_ms = {}\n",
            self.election_timeout.as_millis(),
            self.heartbeat.as_millis()
        );
        for n in &self.nodes {
            out.push_str(&format!(
                "\n[[node]]\nid = {}\nraft = \"{}\"\nclient = \"{}\"\n",
                n.id, n.raft, n.client
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const THREE: &str = r#"
        [[node]]
        id = 1
        raft = "127.0.0.1:7101"
        client = "127.0.0.1:7001"
        [[node]]
        id = 2
        raft = "127.0.0.1:7102"
        client = "127.0.0.1:7002"
        [[node]]
        id = 3
        raft = "127.0.0.1:7103"
        client = "127.0.0.1:7003"
    "#;

    #[test]
    fn parses_three_nodes_with_default_timers() {
        let m = Membership::parse(THREE).expect("valid");
        assert_eq!(m.ids(), vec![1, 2, 3]);
        assert_eq!(m.election_timeout, Duration::from_millis(500));
        assert_eq!(m.election_ticks(), 50);
        assert_eq!(m.heartbeat_ticks(), 5);
        assert_eq!(Membership::parse(&m.to_toml()).expect("round trip"), m);
    }

    #[test]
    fn the_example_file_parses() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../gateway/cluster.example.toml"
        );
        let m = Membership::load(Path::new(path)).expect("the example is valid");
        assert_eq!(m.ids(), vec![1, 2, 3]);
        assert_eq!(m.election_timeout, Duration::from_millis(500));
    }

    #[test]
    fn refuses_what_cannot_work() {
        let cases = [
            ("", "names no node"),
            (
                &THREE.replace("id = 3", "id = 2") as &str,
                "node id 2 appears twice",
            ),
            (
                &THREE.replace("7103", "7102"),
                "address 127.0.0.1:7102 appears twice",
            ),
            (&THREE.replace("id = 3", "id = 0"), "not allowed"),
            (&format!("election_timeout_ms = 100\n{THREE}"), "at least 3"),
            (&format!("heartbeat_ms = 15\n{THREE}"), "multiple of"),
            (&format!("bogus = 1\n{THREE}"), "unknown field"),
        ];
        for (text, expected) in cases {
            let err = Membership::parse(text).expect_err(expected).to_string();
            assert!(err.contains(expected), "{err:?} should say {expected:?}");
        }
        let m = Membership::parse(THREE).expect("valid");
        let err = m.member(9).expect_err("9 is not a member").to_string();
        assert!(err.contains("1, 2, 3"), "{err}");
    }
}
