----------------------------- MODULE Durability -----------------------------
(***************************************************************************)
(* The durability gate of the matching-engine pipeline (DESIGN.md,         *)
(* "Data flow" and "The journal"; prose in docs/verification.md).          *)
(*                                                                         *)
(*   gateway --seq 1,2,3..--> inbound ring --+--> J: append, group fsync   *)
(*                                           +--> M: match --> outbound    *)
(*   outbound ring --> O: release an event only when its command's         *)
(*                        sequence <= J's durable sequence                 *)
(*                                                                         *)
(* A crash (power loss, kernel panic, kill -9) loses every volatile thing: *)
(* rings, M's state, the gateway's counter, the in-flight fsync, and the   *)
(* part of the journal that no fsync has covered yet (any suffix of it:    *)
(* the OS may or may not have written some of those pages).  Recovery      *)
(* opens the journal (a torn record fails its CRC and is cut off), fsyncs  *)
(* what it found, loads the newest snapshot, replays the journal after the *)
(* snapshot through the engine, and then accepts traffic again with the    *)
(* gateway's counter continuing after the recovered journal.  Clients      *)
(* that got no answer resubmit: that is a new command (a new id) which may *)
(* get a sequence number that an unanswered, lost command had before.     *)
(*                                                                         *)
(* Only the durability setting `fsync` is modelled.  OutputGate = "written"*)
(* is the bug that DurabilityBroken.tla shows TLC finding.                 *)
(***************************************************************************)
EXTENDS Naturals, Sequences

CONSTANTS
    MaxCmds,     \* client commands over the whole run, resubmissions included
    MaxCrashes,  \* crashes in one behaviour
    OutputGate   \* what O compares an event's sequence with:
                 \*   "durable" = the design, "written" = the bug

ASSUME /\ MaxCmds \in Nat \ {0}
       /\ MaxCrashes \in Nat
       /\ OutputGate \in {"durable", "written"}

VARIABLES
    phase,     \* "up" (serving), "down" (crashed), "replaying" (recovering)
    crashes,   \* crashes so far
    nextCmd,   \* id of the next client command (ids are never reused)
    gwSeq,     \* last sequence number the gateway assigned
    inbound,   \* inbound ring: Seq of [seq, cmd] published since the last start
    jCur,      \* inbound entries J has consumed
    mCur,      \* inbound entries M has consumed
    journal,   \* the journal file, Seq of [seq, cmd]; Len(journal) = written
    synced,    \* the disk: journal[1..synced] is on stable storage for sure
    durable,   \* J's published durable sequence, which O reads
    fsyncTo,   \* 0, or the written sequence when the fsync in flight began
    engine,    \* abstract engine state (see "The engine" below)
    applied,   \* sequence of the last command reflected in `engine`
    outbound,  \* outbound ring: Seq of events not yet released
    released,  \* events clients have seen (history: a crash cannot unsee them)
    snap       \* newest snapshot on disk: [seq, state]

vars == << phase, crashes, nextCmd, gwSeq, inbound, jCur, mCur, journal,
           synced, durable, fsyncTo, engine, applied, outbound, released, snap >>

(***************************************************************************)
(* The engine.  M is deterministic: no clock, no randomness, no hash-order *)
(* iteration that reaches state or output; the ingest timestamp travels   *)
(* inside the command.  So the state after applying commands c1..ck to a  *)
(* fresh engine is a function of <<c1, ..., ck>> alone, and two engines    *)
(* that applied the same command sequence are byte-for-byte equal.  We     *)
(* therefore represent a state by the sequence of commands it has applied: *)
(* equal sequences imply equal real states, and every claim this spec      *)
(* makes about engine states is an equality, so checking it on sequences  *)
(* is sound.  A snapshot is a serialized state; we assume load(save(s)) =  *)
(* s, which the engine's own round-trip tests check.  An event is         *)
(* likewise a function of (state before, command); since the gate looks   *)
(* only at the command's sequence, one event per command is enough, and   *)
(* an event is named by its command: [seq |-> s, cmd |-> c].               *)
(***************************************************************************)
Fresh == << >>
Apply(state, cmd) == Append(state, cmd)

RECURSIVE Replay(_, _)
Replay(state, cmds) ==
    IF cmds = << >> THEN state ELSE Replay(Apply(state, Head(cmds)), Tail(cmds))

written == Len(journal)

JournalCmds(k) == [i \in 1..k |-> journal[i].cmd]

\* What a fresh engine holds after replaying the first k journal records.
FullReplay(k) == Replay(Fresh, JournalCmds(k))

Range(s) == {s[i] : i \in DOMAIN s}

\* The command that holds sequence number i right now: in the journal, or
\* still only in the inbound ring (M may run ahead of J).  0 = none.
CmdWithSeq(i) ==
    IF i <= written THEN journal[i].cmd
    ELSE LET m == {e \in Range(inbound) : e.seq = i}
         IN  IF m = {} THEN 0 ELSE (CHOOSE e \in m : TRUE).cmd

Gate == IF OutputGate = "durable" THEN durable ELSE written

Cmd   == 1..MaxCmds
Entry == [seq : 1..MaxCmds, cmd : Cmd]   \* a sequenced command, or its event

-----------------------------------------------------------------------------
Init ==
    /\ phase    = "up"
    /\ crashes  = 0
    /\ nextCmd  = 1
    /\ gwSeq    = 0
    /\ inbound  = << >>
    /\ jCur     = 0
    /\ mCur     = 0
    /\ journal  = << >>
    /\ synced   = 0
    /\ durable  = 0
    /\ fsyncTo  = 0
    /\ engine   = Fresh
    /\ applied  = 0
    /\ outbound = << >>
    /\ released = {}
    /\ snap     = [seq |-> 0, state |-> Fresh]

\* Gateway: assign the next sequence number and publish to the inbound ring.
\* (A bounded ring only blocks the gateway: fewer behaviours, same safety.)
Submit ==
    /\ phase = "up"
    /\ nextCmd <= MaxCmds
    /\ gwSeq'   = gwSeq + 1
    /\ inbound' = Append(inbound, [seq |-> gwSeq + 1, cmd |-> nextCmd])
    /\ nextCmd' = nextCmd + 1
    /\ UNCHANGED << phase, crashes, jCur, mCur, journal, synced, durable,
                    fsyncTo, engine, applied, outbound, released, snap >>

\* J: append the next command, in ring (= sequence) order.
JournalWrite ==
    /\ phase = "up"
    /\ jCur < Len(inbound)
    /\ journal' = Append(journal, inbound[jCur + 1])
    /\ jCur'    = jCur + 1
    /\ UNCHANGED << phase, crashes, nextCmd, gwSeq, inbound, mCur, synced,
                    durable, fsyncTo, engine, applied, outbound, released,
                    snap >>

\* J: group commit.  The fsync covers what was written when it began; J may
\* keep appending while it runs (a superset of a J that waits for it).
FsyncBegin ==
    /\ phase = "up"
    /\ fsyncTo = 0
    /\ written > durable
    /\ fsyncTo' = written
    /\ UNCHANGED << phase, crashes, nextCmd, gwSeq, inbound, jCur, mCur,
                    journal, synced, durable, engine, applied, outbound,
                    released, snap >>

\* When fsync returns, the disk holds what it covered, and J publishes that
\* (not its current written sequence, which may have moved on meanwhile).
FsyncEnd ==
    /\ phase = "up"
    /\ fsyncTo # 0
    /\ synced'  = fsyncTo
    /\ durable' = fsyncTo
    /\ fsyncTo' = 0
    /\ UNCHANGED << phase, crashes, nextCmd, gwSeq, inbound, jCur, mCur,
                    journal, engine, applied, outbound, released, snap >>

\* M: apply the next command, in parallel with J, and publish its event.
Match ==
    /\ phase = "up"
    /\ mCur < Len(inbound)
    /\ LET c == inbound[mCur + 1] IN
           /\ engine'   = Apply(engine, c.cmd)
           /\ applied'  = c.seq
           /\ outbound' = Append(outbound, c)
    /\ mCur' = mCur + 1
    /\ UNCHANGED << phase, crashes, nextCmd, gwSeq, inbound, jCur, journal,
                    synced, durable, fsyncTo, released, snap >>

\* O: release the oldest event once the gate covers its command.
Release ==
    /\ phase = "up"
    /\ outbound # << >>
    /\ Head(outbound).seq <= Gate
    /\ released' = released \cup {Head(outbound)}
    /\ outbound' = Tail(outbound)
    /\ UNCHANGED << phase, crashes, nextCmd, gwSeq, inbound, jCur, mCur,
                    journal, synced, durable, fsyncTo, engine, applied, snap >>

\* Write a snapshot of M's state, atomically (temp file + rename), but only
\* at a sequence that is already durable.
TakeSnapshot ==
    /\ phase = "up"
    /\ snap.seq < applied
    /\ applied <= durable
    /\ snap' = [seq |-> applied, state |-> engine]
    /\ UNCHANGED << phase, crashes, nextCmd, gwSeq, inbound, jCur, mCur,
                    journal, synced, durable, fsyncTo, engine, applied,
                    outbound, released >>

\* Lose everything volatile.  Of the journal's unsynced tail any prefix may
\* survive, down to none of it (the case the design names).
Crash ==
    /\ phase # "down"
    /\ crashes < MaxCrashes
    /\ \E k \in synced..written : journal' = SubSeq(journal, 1, k)
    /\ phase'    = "down"
    /\ crashes'  = crashes + 1
    /\ gwSeq'    = 0
    /\ inbound'  = << >>
    /\ jCur'     = 0
    /\ mCur'     = 0
    /\ fsyncTo'  = 0
    /\ engine'   = Fresh
    /\ applied'  = 0
    /\ outbound' = << >>
    /\ UNCHANGED << nextCmd, synced, durable, released, snap >>

\* Recovery, step 1: open the journal, fsync it (so all of it is durable
\* from now on), and load the newest snapshot into a fresh engine.
Recover ==
    /\ phase = "down"
    /\ phase'   = "replaying"
    /\ synced'  = written
    /\ durable' = written
    /\ engine'  = snap.state
    /\ applied' = snap.seq
    /\ UNCHANGED << crashes, nextCmd, gwSeq, inbound, jCur, mCur, journal,
                    fsyncTo, outbound, released, snap >>

\* Recovery, step 2: replay the journal after the snapshot, one record at a
\* time.  Replay produces no client output.
ReplayStep ==
    /\ phase = "replaying"
    /\ applied < durable
    /\ engine'  = Apply(engine, journal[applied + 1].cmd)
    /\ applied' = applied + 1
    /\ UNCHANGED << phase, crashes, nextCmd, gwSeq, inbound, jCur, mCur,
                    journal, synced, durable, fsyncTo, outbound, released,
                    snap >>

\* Recovery, step 3: accept traffic; the gateway continues after the journal.
FinishRecovery ==
    /\ phase = "replaying"
    /\ applied = durable
    /\ phase' = "up"
    /\ gwSeq' = durable
    /\ UNCHANGED << crashes, nextCmd, inbound, jCur, mCur, journal, synced,
                    durable, fsyncTo, engine, applied, outbound, released,
                    snap >>

Quiescent ==
    /\ phase = "up"
    /\ jCur = Len(inbound)
    /\ mCur = Len(inbound)
    /\ fsyncTo = 0
    /\ durable = written
    /\ outbound = << >>

\* All commands sent and everything drained: stop (so that TLC's deadlock
\* check reports any *other* state where the pipeline is stuck).
Done ==
    /\ nextCmd > MaxCmds
    /\ Quiescent
    /\ UNCHANGED vars

Next ==
    \/ Submit \/ JournalWrite \/ FsyncBegin \/ FsyncEnd \/ Match \/ Release
    \/ TakeSnapshot \/ Crash \/ Recover \/ ReplayStep \/ FinishRecovery
    \/ Done

\* The pipeline's own stages are never starved; clients, snapshots and
\* crashes need not happen at all.
Fairness ==
    /\ WF_vars(JournalWrite) /\ WF_vars(FsyncBegin) /\ WF_vars(FsyncEnd)
    /\ WF_vars(Match) /\ WF_vars(Release)
    /\ WF_vars(Recover) /\ WF_vars(ReplayStep) /\ WF_vars(FinishRecovery)

Spec == Init /\ [][Next]_vars /\ Fairness

-----------------------------------------------------------------------------
(***************************************************************************)
(* Invariants                                                              *)
(***************************************************************************)
TypeOK ==
    /\ phase \in {"up", "down", "replaying"}
    /\ crashes \in 0..MaxCrashes
    /\ nextCmd \in 1..(MaxCmds + 1)
    /\ gwSeq \in 0..MaxCmds
    /\ inbound \in Seq(Entry)
    /\ jCur \in 0..Len(inbound)
    /\ mCur \in 0..Len(inbound)
    /\ journal \in Seq(Entry)
    /\ synced \in 0..written
    /\ durable \in 0..written
    /\ fsyncTo \in 0..written
    /\ fsyncTo # 0 => fsyncTo > durable
    /\ engine \in Seq(Cmd)
    /\ applied \in 0..MaxCmds
    /\ outbound \in Seq(Entry)
    /\ released \subseteq Entry
    /\ snap \in [seq : 0..MaxCmds, state : Seq(Cmd)]

\* J never publishes more than the disk holds.
DurableIsSynced ==
    durable <= synced

\* (a) Output gating: no client has seen an event whose command is not
\*     durable.
OutputGated ==
    \A e \in released : e.seq <= durable

\* (b) After recovery the engine equals a fresh replay of the durable journal:
\*     at every replay step (in particular the last, applied = durable, after
\*     which traffic is accepted), snapshot + replayed suffix = replay of the
\*     whole journal prefix from a fresh engine.
RecoveredStateIsReplay ==
    phase = "replaying" => engine = FullReplay(applied)

\* The same while serving: M's state is a replay of commands 1..applied, in
\* sequence order, agreeing with what J writes (J and M never disagree).
EngineIsReplay ==
    phase = "up" =>
        engine = Replay(Fresh, [i \in 1..applied |-> CmdWithSeq(i)])

\* The snapshot on disk is a replay of a durable journal prefix.
SnapshotIsDurableReplay ==
    /\ snap.seq <= durable
    /\ snap.state = FullReplay(snap.seq)

\* (c) The journal holds sequences 1, 2, 3, ... with no gap and no
\*     repeat, across crashes too (the gateway resumes at the right number).
JournalGapFree ==
    \A i \in 1..written : journal[i].seq = i

\* (d) Nothing a client saw is lost: each released event's command is in
\*     the journal file under its sequence number (with (a): in its durable
\*     part, so it survives the crash: this is checked in every state,
\*     including those right after a crash), and whenever the engine serves
\*     traffic its state includes that command.
NothingSeenIsLost ==
    \A e \in released :
        /\ e.seq <= written
        /\ journal[e.seq] = e
        /\ phase = "up" => /\ e.seq <= applied
                           /\ engine[e.seq] = e.cmd  \* engine = applied cmds

(***************************************************************************)
(* Properties                                                              *)
(***************************************************************************)
\* The durable sequence never goes backwards, not even across a crash.
DurableMonotone == [][durable' >= durable]_vars

\* Liveness sanity: the gate never wedges the pipeline.  Eventually the
\* engine is up, everything written is durable and every event it made
\* has been released (or was wiped from the ring by a crash).
EventuallyDrained == <>[]Quiescent
=============================================================================
