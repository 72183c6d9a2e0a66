//! The Raft log on disk against a model of it in memory: random appends
//! (conflicting tails included), commits, compactions and installs, with
//! segments small enough that they roll and are deleted often, reopened
//! at random points. After every reopen the log must be what the model
//! says, whether or not the deletions of covered segments reached the disk
//! before the "crash" (the deleted files are put back to check).

use std::collections::BTreeMap;
use std::path::Path;

use journal::Durability;
use proptest::prelude::*;
use raft::prelude::{ConfState, Entry, HardState, Snapshot};
use raft::{GetEntriesContext, Storage as _};
use replication::LogStore;

/// What the log must hold.
#[derive(Debug, Clone, Default)]
struct Model {
    snap_index: u64,
    snap_term: u64,
    snap_seq: u64,
    entries: Vec<(u64, u64, Vec<u8>)>,
    hard: (u64, u64, u64),
    voters: Vec<u64>,
}

impl Model {
    fn last(&self) -> u64 {
        self.entries.last().map_or(self.snap_index, |e| e.0)
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// Entries from a point after the commit (a new leader's, replacing
    /// any tail) or at the end; `count` of them, in `term`.
    Append { back: u8, count: u8, term_up: bool },
    /// Commit up to a fraction of what is uncommitted.
    Commit { part: u8 },
    /// Compact to a fraction of what is committed beyond the snapshot.
    Compact { part: u8 },
    /// A leader's snapshot at or beyond the commit.
    Install { ahead: u8 },
    /// Close and open again.
    Reopen,
    /// Put back the segments deleted so far (a crash before the unlinks
    /// reached the disk), then reopen.
    Resurrect,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..4, 1u8..6, any::<bool>()).prop_map(|(back, count, term_up)| Op::Append {
            back,
            count,
            term_up
        }),
        3 => prop_oneof![Just(4u8), 0u8..4].prop_map(|part| Op::Commit { part }),
        2 => prop_oneof![Just(4u8), 0u8..4].prop_map(|part| Op::Compact { part }),
        1 => (0u8..4).prop_map(|ahead| Op::Install { ahead }),
        2 => Just(Op::Reopen),
        1 => Just(Op::Resurrect),
    ]
}

const SEGMENT: u64 = 256;

fn open(dir: &Path) -> LogStore {
    open_with(dir, Durability::Os)
}

fn open_with(dir: &Path, durability: Durability) -> LogStore {
    LogStore::open_with_segments_of(dir, &[1, 2, 3], durability, SEGMENT).expect("open")
}

fn segment_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .filter(|n| n.starts_with("raft-"))
        .map(|n| {
            let bytes = std::fs::read(dir.join(&n)).expect("read");
            (n, bytes)
        })
        .collect()
}

fn check(log: &LogStore, m: &Model) -> Result<(), TestCaseError> {
    prop_assert_eq!(log.first_index().expect("read"), m.snap_index + 1);
    prop_assert_eq!(log.last_index().expect("read"), m.last());
    prop_assert_eq!(log.snapshot_point(), (m.snap_index, m.snap_seq));
    if m.snap_index > 0 {
        prop_assert_eq!(log.term(m.snap_index).expect("read"), m.snap_term);
    }
    let got: Vec<(u64, u64, Vec<u8>)> = log
        .entries(
            m.snap_index + 1,
            m.last() + 1,
            None,
            GetEntriesContext::empty(false),
        )
        .expect("read")
        .into_iter()
        .map(|e| (e.index, e.term, e.data.to_vec()))
        .collect();
    prop_assert_eq!(&got, &m.entries);
    let hs = log.hard_state();
    prop_assert_eq!((hs.term, hs.vote, hs.commit), m.hard);
    let state = log.initial_state().expect("read");
    prop_assert_eq!(&state.conf_state.voters, &m.voters);
    Ok(())
}

fn snapshot(index: u64, term: u64, voters: &[u64]) -> Snapshot {
    let mut s = Snapshot::default();
    s.mut_metadata().index = index;
    s.mut_metadata().term = term;
    s.mut_metadata()
        .set_conf_state(ConfState::from((voters.to_vec(), vec![])));
    s.data = format!("state at {index}").into_bytes().into();
    s
}

fn run(ops: Vec<Op>, durability: Durability) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let mut log = open_with(dir, durability);
    let mut m = Model {
        voters: vec![1, 2, 3],
        ..Model::default()
    };
    let mut term = 1;
    let mut stamp = 0u32;
    // Every segment file ever seen, as last seen: to put back.
    let mut seen: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for op in ops {
        match op {
            Op::Append {
                back,
                count,
                term_up,
            } => {
                let floor = m.hard.2.max(m.snap_index);
                let first = (m.last() + 1).saturating_sub(back as u64).max(floor + 1);
                if term_up {
                    term += 1;
                }
                let new: Vec<Entry> = (0..count as u64)
                    .map(|i| {
                        stamp += 1;
                        Entry {
                            index: first + i,
                            term,
                            data: stamp.to_le_bytes().to_vec().into(),
                            ..Default::default()
                        }
                    })
                    .collect();
                log.append(&new).map_err(TestCaseError::fail)?;
                m.entries.retain(|e| e.0 < first);
                m.entries
                    .extend(new.iter().map(|e| (e.index, e.term, e.data.to_vec())));
                m.hard.0 = m.hard.0.max(term);
                log.set_hard_state(&HardState {
                    term: m.hard.0,
                    vote: 2,
                    commit: m.hard.2,
                    ..Default::default()
                });
                m.hard.1 = 2;
            }
            Op::Commit { part } => {
                let uncommitted = m.last().saturating_sub(m.hard.2);
                let to = m.hard.2 + uncommitted * part as u64 / 4;
                log.set_commit(to);
                m.hard.2 = to;
            }
            Op::Compact { part } => {
                let upto = m.hard.2.min(m.last());
                let span = upto.saturating_sub(m.snap_index);
                let index = m.snap_index + span * part as u64 / 4;
                if index > m.snap_index {
                    let t = m.entries.iter().find(|e| e.0 == index).expect("held").1;
                    seen.extend(segment_files(dir));
                    log.compact(snapshot(index, t, &m.voters), index * 10)
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    m.entries.retain(|e| e.0 > index);
                    (m.snap_index, m.snap_term, m.snap_seq) = (index, t, index * 10);
                }
            }
            Op::Install { ahead } => {
                let index = m.hard.2.max(m.snap_index) + ahead as u64;
                if index > m.snap_index {
                    term += 1;
                    seen.extend(segment_files(dir));
                    log.install(snapshot(index, term, &m.voters), index * 10)
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    m.entries.clear();
                    (m.snap_index, m.snap_term, m.snap_seq) = (index, term, index * 10);
                    m.hard.0 = m.hard.0.max(term);
                    m.hard.2 = m.hard.2.max(index);
                }
            }
            Op::Reopen => {
                log.persist().expect("persist");
                drop(log);
                log = open_with(dir, durability);
                check(&log, &m)?;
            }
            Op::Resurrect => {
                log.persist().expect("persist");
                drop(log);
                let now = segment_files(dir);
                for (name, bytes) in &seen {
                    if !now.contains_key(name) {
                        std::fs::write(dir.join(name), bytes).expect("put back");
                    }
                }
                log = open_with(dir, durability);
                check(&log, &m)?;
            }
        }
        log.persist().expect("persist");
        check(&log, &m)?;
    }
    drop(log);
    let log = open_with(dir, durability);
    check(&log, &m)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_log_on_disk_is_the_model_after_every_reopen(
        ops in prop::collection::vec(op(), 1..80),
        fsync in any::<bool>(),
    ) {
        run(ops, if fsync { Durability::Fsync } else { Durability::Os })?;
    }
}

/// With `fsync` the segments a snapshot covers go at the compaction; with
/// `os` at the next roll, whose synced header names the snapshot.
#[test]
fn covered_segments_are_deleted_and_the_rest_kept() {
    for durability in [Durability::Fsync, Durability::Os] {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut log = open_with(dir.path(), durability);
        let entry = |i: u64| Entry {
            index: i,
            term: 1,
            data: vec![i as u8; 20].into(),
            ..Default::default()
        };
        for i in 1..=100u64 {
            log.append(&[entry(i)]).expect("append");
            log.persist().expect("persist");
        }
        let before = log.segment_count();
        assert!(before > 5, "small segments roll: {before}");
        log.set_commit(100);
        let deleted = log
            .compact(snapshot(60, 1, &[1, 2, 3]), 600)
            .expect("compact");
        let mut last = 100;
        if durability == Durability::Fsync {
            assert!(deleted > 0, "at the compaction");
        } else {
            assert_eq!(deleted, 0, "not before the snapshot record is on disk");
            let rolled = log.segment_count();
            while log.segment_count() >= rolled {
                last += 1;
                log.append(&[entry(last)]).expect("append");
                log.persist().expect("persist");
            }
        }
        let after = log.segment_count();
        assert!(after < before, "{durability:?}: {before} -> {after}");
        assert_eq!(segment_files(dir.path()).len(), after);
        drop(log);
        let log = open_with(dir.path(), durability);
        assert_eq!(log.first_index().expect("first"), 61);
        assert_eq!(log.last_index().expect("last"), last);
        let snap = log.snapshot(0, 2).expect("snapshot");
        assert_eq!(snap.data.as_ref(), b"state at 60");
    }
}

#[test]
fn a_log_of_the_single_file_layout_is_read_as_segment_zero() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let mut log = open(dir.path());
        let e = Entry {
            index: 1,
            term: 1,
            data: b"x".to_vec().into(),
            ..Default::default()
        };
        log.append(&[e]).expect("append");
        log.persist().expect("persist");
    }
    let files = segment_files(dir.path());
    let (name, _) = files.iter().next().expect("one segment");
    std::fs::rename(dir.path().join(name), dir.path().join("raft.log")).expect("to the old name");
    let log = open(dir.path());
    assert_eq!(log.last_index().expect("read"), 1);
    assert!(!dir.path().join("raft.log").exists());
    drop(log);
    // Both layouts at once is refused, with what to do.
    std::fs::write(dir.path().join("raft.log"), b"").expect("old file");
    let err = LogStore::open(dir.path(), &[1], Durability::Os).expect_err("both");
    assert!(
        err.to_string().contains("catch up from the leader"),
        "{err}"
    );
}

/// A new leader's entries replace a tail, end inside it, and are then
/// compacted: the replaced entries after them must not come back.
#[test]
fn a_replaced_tail_stays_replaced_after_compaction() {
    let ops = vec![
        Op::Append {
            back: 0,
            count: 5,
            term_up: false,
        },
        Op::Append {
            back: 0,
            count: 5,
            term_up: false,
        },
        Op::Append {
            back: 3,
            count: 1,
            term_up: true,
        },
        Op::Commit { part: 4 },
        Op::Compact { part: 4 },
        Op::Reopen,
    ];
    for durability in [Durability::Os, Durability::Fsync] {
        run(ops.clone(), durability).expect("the model");
    }
}

/// A crash tears the header of a segment being started: the segment is
/// started again from the state at open, so once the older segments are
/// deleted it still says who the voters are and where the log starts.
#[test]
fn a_torn_segment_header_is_written_again_at_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let entry = |i: u64| Entry {
        index: i,
        term: 1,
        data: vec![i as u8; 20].into(),
        ..Default::default()
    };
    let mut log = open(dir.path());
    let mut i = 0;
    while log.segment_count() == 1 {
        i += 1;
        log.append(&[entry(i)]).expect("append");
        log.persist().expect("persist");
    }
    drop(log);
    let files = segment_files(dir.path());
    let (newest, header) = files.iter().next_back().expect("two segments");
    assert!(header.len() > 5);
    std::fs::write(dir.path().join(newest), &header[..5]).expect("tear");
    let other_voters = |dir: &Path| {
        // `fsync`: the compaction below deletes at once.
        LogStore::open_with_segments_of(dir, &[9], Durability::Fsync, SEGMENT).expect("open")
    };
    let mut log = other_voters(dir.path());
    assert_eq!(log.last_index().expect("last"), i);
    let last = i + 3;
    for j in i + 1..=last {
        log.append(&[entry(j)]).expect("append");
    }
    log.set_commit(last);
    log.persist().expect("persist");
    let segments = log.segment_count();
    log.compact(snapshot(last, 1, &[1, 2, 3]), 7)
        .expect("compact");
    assert!(log.segment_count() < segments, "the older ones go");
    drop(log);
    let log = other_voters(dir.path());
    let state = log.initial_state().expect("state");
    assert_eq!(
        state.conf_state.voters,
        vec![1, 2, 3],
        "kept its own voters"
    );
    assert_eq!(state.hard_state.commit, last);
    assert_eq!(log.snapshot_point(), (last, 7));
    assert_eq!(log.last_index().expect("last"), last);
}
