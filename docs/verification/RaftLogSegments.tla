--------------------------- MODULE RaftLogSegments ---------------------------
(***************************************************************************)
(* Deleting covered segments of a node's Raft log (engine/replication,     *)
(* log_segments.rs; prose in docs/verification.md, "Model checking the     *)
(* Raft log's segments").                                                  *)
(*                                                                         *)
(*   segment 1       segment 2            segment 3 (newest, written)      *)
(*   e1 e2 e3  -->   [s 2] e4 e5 [s 4] -->  [s 4] e6 ...                    *)
(*                                                                         *)
(* The log is a list of files.  Entries and snapshot records [s n] ("the   *)
(* log now starts after entry n"; the snapshot file it names was fsynced   *)
(* before the record was written) are appended to the newest segment.  A  *)
(* full segment is closed and a new one started with a header: the         *)
(* current snapshot record, synced.  Compaction moves the snapshot and     *)
(* appends its record; the oldest segments whose entries a snapshot record *)
(* on disk in the newest segment covers are unlinked.                      *)
(*                                                                         *)
(* The disk: what is written sits in the page cache, and reaches the disk  *)
(* in order within a file (replay stops at the first torn record, so a     *)
(* file on disk is a prefix of what was written) whenever the kernel       *)
(* writes back, or at an fsync.  An unlink is on disk at once (the worst   *)
(* case).  After a power loss only what reached the disk is there, and     *)
(* replay takes the last snapshot record on disk as the start and the      *)
(* entries after it.                                                       *)
(*                                                                         *)
(* The invariants say what a crash at any moment must leave: a log that    *)
(* opens (its entries follow the snapshot with no gap) and that has every  *)
(* entry that was ever on disk, as an entry or inside the snapshot.  Raft  *)
(* promised those entries to the leader (with durability fsync it waits    *)
(* for them), so losing one is losing a vote it counted.                   *)
(*                                                                         *)
(* RecordOnDiskFirst = FALSE is the bug RaftLogSegmentsBroken.tla shows   *)
(* TLC finding: unlinking covered segments before the record of the        *)
(* snapshot that covers them is on disk.                                   *)
(***************************************************************************)
EXTENDS Naturals, Sequences, FiniteSets

CONSTANTS
    MaxIndex,         \* entries appended over the whole run
    MaxRolls,         \* segments started over the whole run
    RecordOnDiskFirst \* TRUE = the design, FALSE = the bug

ASSUME /\ MaxIndex \in Nat \ {0}
       /\ MaxRolls \in Nat
       /\ RecordOnDiskFirst \in BOOLEAN

VARIABLES
    segs,        \* Seq of [recs: Seq(Rec), synced: Nat], oldest first;
                 \*   recs as written, synced = how many are on disk
    last,        \* the last entry appended
    commit,      \* entries up to here are committed (may be compacted)
    snap,        \* where the log starts now (in memory)
    rolls,       \* segments started so far
    everOnDisk   \* every entry that has been on disk (history)

vars == << segs, last, commit, snap, rolls, everOnDisk >>

Rec == [k : {"e", "s"}, i : 0..MaxIndex]
Entry(n) == [k |-> "e", i |-> n]
SnapRec(n) == [k |-> "s", i |-> n]

Max(S) == CHOOSE m \in S : \A x \in S : x <= m

\* The highest entry index a segment holds (0: none).
MaxEntry(seg) ==
    LET is == {seg.recs[j].i : j \in {j \in DOMAIN seg.recs : seg.recs[j].k = "e"}}
    IN IF is = {} THEN 0 ELSE Max(is)

\* What a power loss now leaves: each file's prefix on disk, in order.
RECURSIVE Concat(_)
Concat(s) == IF s = << >> THEN << >> ELSE Head(s) \o Concat(Tail(s))
OnDisk == Concat([j \in 1..Len(segs) |-> SubSeq(segs[j].recs, 1, segs[j].synced)])

\* Replay of what is on disk: the last snapshot record is the start ...
RecoveredSnap ==
    LET ss == {j \in DOMAIN OnDisk : OnDisk[j].k = "s"}
    IN IF ss = {} THEN 0 ELSE OnDisk[Max(ss)].i
\* ... and the entries after it are the log.
Recovered ==
    {OnDisk[j].i : j \in {j \in DOMAIN OnDisk : OnDisk[j].k = "e" /\ OnDisk[j].i > RecoveredSnap}}

Newest == Len(segs)

Init ==
    /\ segs = << [recs |-> << >>, synced |-> 0] >>
    /\ last = 0
    /\ commit = 0
    /\ snap = 0
    /\ rolls = 0
    /\ everOnDisk = {}

\* Raft appends the next entry (no conflicting tails here: replaying those
\* is tested against a model in engine/replication/tests).
AppendEntry ==
    /\ last < MaxIndex
    /\ last' = last + 1
    /\ segs' = [segs EXCEPT ![Newest].recs = Append(@, Entry(last + 1))]
    /\ UNCHANGED << commit, snap, rolls, everOnDisk >>

\* The kernel writes back one more record of a file (or an fsync does).
Writeback(j) ==
    /\ segs[j].synced < Len(segs[j].recs)
    /\ segs' = [segs EXCEPT ![j].synced = @ + 1]
    /\ everOnDisk' = everOnDisk \cup
            (IF segs[j].recs[segs[j].synced + 1].k = "e"
             THEN {segs[j].recs[segs[j].synced + 1].i} ELSE {})
    /\ UNCHANGED << last, commit, snap, rolls >>

Commit ==
    /\ commit < last
    /\ commit' = commit + 1
    /\ UNCHANGED << segs, last, snap, rolls, everOnDisk >>

\* The engine has a snapshot at n, committed: the log starts after it.
Compact(n) ==
    /\ snap < n /\ n <= commit
    /\ snap' = n
    /\ segs' = [segs EXCEPT ![Newest].recs = Append(@, SnapRec(n))]
    /\ UNCHANGED << last, commit, rolls, everOnDisk >>

\* The newest segment, all of it on disk (fdatasync).
SyncedNewest(s) == [s EXCEPT ![Len(s)].synced = Len(s[Len(s)].recs)]

NewlyOnDisk(s) ==
    {s[Len(s)].recs[j].i : j \in {j \in DOMAIN s[Len(s)].recs :
                                    s[Len(s)].recs[j].k = "e"}}

\* The newest segment is full: it is synced (so no later file reaches the
\* disk ahead of it, which would leave a gap), and a new one starts with
\* the snapshot record, synced with the directory.
Roll ==
    /\ rolls < MaxRolls
    /\ rolls' = rolls + 1
    /\ segs' = Append(SyncedNewest(segs), [recs |-> << SnapRec(snap) >>, synced |-> 1])
    /\ everOnDisk' = everOnDisk \cup NewlyOnDisk(segs)
    /\ UNCHANGED << last, commit, snap >>

\* The last snapshot record on disk in the newest segment (0: none): the
\* code knows it is there after a synced write (durability fsync) or a
\* roll (the header), and deletes only what it covers.
NewestSnapOnDisk ==
    LET n  == segs[Len(segs)]
        p  == SubSeq(n.recs, 1, n.synced)
        ss == {j \in DOMAIN p : p[j].k = "s"}
    IN IF ss = {} THEN 0 ELSE p[Max(ss)].i

\* The oldest segment, covered, is unlinked.  The design: covered by the
\* snapshot record on disk in the newest segment.  The bug: by the
\* snapshot in memory, whose record may still be in the page cache.
DeleteOldest ==
    /\ Len(segs) > 1
    /\ MaxEntry(segs[1]) <= (IF RecordOnDiskFirst THEN NewestSnapOnDisk ELSE snap)
    /\ segs' = Tail(segs)
    /\ UNCHANGED << last, commit, snap, rolls, everOnDisk >>

\* Everything appended, committed, compacted, written back and deleted
\* that can be: stop (TLC's deadlock check reports any other state in
\* which nothing can happen).
Done ==
    /\ last = MaxIndex /\ commit = last /\ snap = commit /\ rolls = MaxRolls
    /\ \A j \in 1..Len(segs) : segs[j].synced = Len(segs[j].recs)
    /\ ~(Len(segs) > 1 /\ MaxEntry(segs[1]) <= snap)
    /\ UNCHANGED vars

Next ==
    \/ AppendEntry
    \/ \E j \in 1..Len(segs) : Writeback(j)
    \/ Commit
    \/ \E n \in 1..MaxIndex : Compact(n)
    \/ Roll
    \/ DeleteOldest
    \/ Done

Spec == Init /\ [][Next]_vars

-----------------------------------------------------------------------------

TypeOK ==
    /\ \A j \in 1..Len(segs) :
          /\ segs[j].recs \in Seq(Rec)
          /\ segs[j].synced \in 0..Len(segs[j].recs)
    /\ last \in 0..MaxIndex
    /\ commit \in 0..last
    /\ snap \in 0..commit
    /\ everOnDisk \subseteq 1..MaxIndex

\* A crash now leaves a log that opens: the entries follow the snapshot.
OpensAfterACrash ==
    Recovered = RecoveredSnap + 1 .. RecoveredSnap + Cardinality(Recovered)

\* A crash now loses no entry that was ever on disk: it is in the log, or
\* the snapshot replay starts from holds it.
NothingOnDiskIsLost ==
    \A n \in everOnDisk : n <= RecoveredSnap \/ n \in Recovered

\* Replay never starts past what the node itself had compacted.
StartIsCompacted == RecoveredSnap <= snap
=============================================================================
