---------------------------- MODULE Replication ----------------------------
(***************************************************************************)
(* Output gating on a Raft-replicated command log (engine/replication;     *)
(* prose in docs/verification.md, "Model checking replicated output        *)
(* gating").                                                               *)
(*                                                                         *)
(*   leader: gateway --seq--> J --batch = one Raft entry--> followers      *)
(*           M runs the command at once; O releases its report only when   *)
(*           the entry is COMMITTED                                        *)
(*                                                                         *)
(* Three nodes.  The leader sequences commands, and each batch is one      *)
(* Raft log entry.  The leader runs commands as it sequences them (M runs  *)
(* ahead of the gate, as on one node), but O releases the report of a      *)
(* command only once its entry is committed: stored by a majority, by      *)
(* Raft's commit rule (a leader counts copies only of an entry of its own  *)
(* term; earlier entries commit with it).                                  *)
(*                                                                         *)
(* Leaders crash, or are cut off and replaced while they still think they  *)
(* lead.  A new leader is elected by a majority whose logs are not more    *)
(* up-to-date than its own (last term, then length), and starts its term   *)
(* with an empty entry, as raft-rs does.  A node keeps its term and log    *)
(* across a crash (Raft's hard state and log are on disk), and an old      *)
(* leader loses its uncommitted tail when a newer leader's log overwrites  *)
(* it.                                                                     *)
(*                                                                         *)
(* ReleaseGate = "local" is the bug that ReplicationBroken.tla shows TLC   *)
(* finding: the single-node rule (a report leaves once its command is      *)
(* durable on this machine) kept unchanged in a cluster.                   *)
(***************************************************************************)
EXTENDS Naturals, Sequences, FiniteSets, TLC

CONSTANTS
    Nodes,        \* the cluster: 3 model values
    MaxCmds,      \* client commands over the whole run
    MaxTerm,      \* the highest term an election may reach
    MaxCrashes,   \* crashes in one behaviour
    ReleaseGate   \* what a leader's O waits for:
                  \*   "committed" = the design, "local" = the bug

ASSUME /\ Cardinality(Nodes) = 3
       /\ MaxCmds \in Nat \ {0}
       /\ MaxTerm \in Nat \ {0}
       /\ MaxCrashes \in Nat
       /\ ReleaseGate \in {"committed", "local"}

VARIABLES
    currentTerm,  \* node -> its term (durable: Raft's hard state)
    role,         \* node -> "Leader" or "Follower" (an election is one
                  \*   step, so there is no candidate role)
    log,          \* node -> its Raft log, Seq of [term, cmd] (durable);
                  \*   cmd = NoOp is the empty entry a new leader appends
    commitIndex,  \* node -> the highest log index it knows is committed
    nextCmd,      \* id of the next client command (ids are never reused)
    crashes,      \* crashes so far
    released      \* reports that have left a leader (history: a crash
                  \*   cannot take one back), see Release

vars == << currentTerm, role, log, commitIndex, nextCmd, crashes, released >>

Terms    == 1..MaxTerm
Cmd      == 1..MaxCmds
NoOp     == 0
MaxLen   == MaxCmds + MaxTerm   \* every command, and an empty entry per term
Indexes  == 1..MaxLen
Entry    == [term : Terms, cmd : Cmd \cup {NoOp}]
\* A released report: the entry (index, term, command) and the term of
\* the leader that released it.
Report   == [index : Indexes, term : Terms, cmd : Cmd, leaderTerm : Terms]

Quorums == {Q \in SUBSET Nodes : 2 * Cardinality(Q) > Cardinality(Nodes)}

Min(a, b) == IF a < b THEN a ELSE b
Max(a, b) == IF a > b THEN a ELSE b

LastTerm(l) == IF l = << >> THEN 0 ELSE l[Len(l)].term

\* Raft's election restriction: log a is at least as up-to-date as log b.
UpToDate(a, b) ==
    \/ LastTerm(a) > LastTerm(b)
    \/ LastTerm(a) = LastTerm(b) /\ Len(a) >= Len(b)

\* Node n's log holds entry e at index i.
Holds(n, i, e) == i <= Len(log[n]) /\ log[n][i] = e

\* The last index whose report leader n's O may release.
Gate(n) == IF ReleaseGate = "committed" THEN commitIndex[n] ELSE Len(log[n])

ReleasedCmds == {r.cmd : r \in released}

-----------------------------------------------------------------------------
Init ==
    /\ currentTerm = [n \in Nodes |-> 0]
    /\ role        = [n \in Nodes |-> "Follower"]
    /\ log         = [n \in Nodes |-> << >>]
    /\ commitIndex = [n \in Nodes |-> 0]
    /\ nextCmd     = 1
    /\ crashes     = 0
    /\ released    = {}

\* Node n can win term t with the votes of majority Q (n votes for itself).
\* A node votes in term t only if its term is below t, and voting moves it
\* to t, so it votes at most once per term.  It votes only for a log at
\* least as up-to-date as its own.
CanWin(n, t, Q) ==
    /\ role[n] = "Follower"
    /\ currentTerm[n] < t
    /\ n \in Q
    /\ \A q \in Q : currentTerm[q] < t /\ UpToDate(log[n], log[q])

\* Election timeout, campaign and win, as one step.  The voters adopt t
\* and follow.  Nodes outside Q (down, cut off, or just slow) are left as
\* they are, so an old leader among them may go on believing it leads.
\* t may skip terms: campaigns that won nothing.  The new leader appends
\* an empty entry of its term, as raft-rs does.
BecomeLeader(n, t, Q) ==
    /\ CanWin(n, t, Q)
    /\ currentTerm' = [m \in Nodes |-> IF m \in Q THEN t ELSE currentTerm[m]]
    /\ role' = [m \in Nodes |-> IF m = n THEN "Leader"
                                ELSE IF m \in Q THEN "Follower"
                                ELSE role[m]]
    /\ log' = [log EXCEPT ![n] = Append(@, [term |-> t, cmd |-> NoOp])]
    /\ UNCHANGED << commitIndex, nextCmd, crashes, released >>

\* A leader sequences the next client command: one log entry of its term.
\* Its engine runs the command now; only the report waits.
ClientRequest(n) ==
    /\ role[n] = "Leader"
    /\ nextCmd <= MaxCmds
    /\ log' = [log EXCEPT ![n] = Append(@, [term |-> currentTerm[n],
                                              cmd  |-> nextCmd])]
    /\ nextCmd' = nextCmd + 1
    /\ UNCHANGED << currentTerm, role, commitIndex, crashes, released >>

\* Follower log fl after accepting leader log ll's first k entries.  A real
\* message carries entries prev+1..k and is accepted only if fl matches ll
\* at index prev, hence (log matching) on all of 1..prev, so the result is
\* the same as sending 1..k, which is what is modelled.  Entries that agree
\* are kept, also those after k; from the first conflict on, fl is
\* replaced by ll's entries up to k.
NewLog(fl, ll, k) ==
    IF /\ \A i \in 1..Min(Len(fl), k) : fl[i] = ll[i]
       /\ Len(fl) >= k
    THEN fl
    ELSE SubSeq(ll, 1, k)

\* Leader l's AppendEntries (a heartbeat if k = 0) reaches node f, and f's
\* answer reaches l, in one step.  f accepts it if its term is not above
\* l's: it adopts l's term, follows, stores l's first k entries, and takes
\* l's commit index, up to k, as its own.  A lost message is a step that
\* is not taken.  (The step must change something; see Next.)
AppendEntries(l, f, k) ==
    /\ role[l] = "Leader"
    /\ k <= Len(log[l])
    /\ f # l
    /\ currentTerm[f] <= currentTerm[l]
    /\ currentTerm' = [currentTerm EXCEPT ![f] = currentTerm[l]]
    /\ role'        = [role EXCEPT ![f] = "Follower"]
    /\ log'         = [log EXCEPT ![f] = NewLog(log[f], log[l], k)]
    /\ commitIndex' = [commitIndex EXCEPT
                          ![f] = Max(@, Min(commitIndex[l], k))]
    /\ << currentTerm'[f], role'[f], log'[f], commitIndex'[f] >>
           # << currentTerm[f], role[f], log[f], commitIndex[f] >>
    /\ UNCHANGED << nextCmd, crashes, released >>

\* Raft's commit rule: leader n may take index i as committed once a
\* majority stores n's entry i, and only if that entry is of n's current
\* term (the entries before it commit with it).  The copies are counted in
\* the logs as they are now; a real leader counts answers, which may be
\* older, but an entry of the leader's term that a majority has answered
\* for is never removed (Raft's safety argument), so the counts agree.
AdvanceCommit(n, i) ==
    /\ role[n] = "Leader"
    /\ i > commitIndex[n]
    /\ i <= Len(log[n])
    /\ log[n][i].term = currentTerm[n]
    /\ \E Q \in Quorums : \A q \in Q : Holds(q, i, log[n][i])
    /\ commitIndex' = [commitIndex EXCEPT ![n] = i]
    /\ UNCHANGED << currentTerm, role, log, nextCmd, crashes, released >>

\* Leader n's O releases the report of the command at index i once the
\* gate covers it: in log order, once per command, none for an empty
\* entry.  A command whose report an earlier leader released is skipped.
Release(n, i) ==
    /\ role[n] = "Leader"
    /\ i \in 1..Gate(n)
    /\ log[n][i].cmd # NoOp
    /\ log[n][i].cmd \notin ReleasedCmds
    /\ \A j \in 1..(i - 1) : log[n][j].cmd \in ReleasedCmds \cup {NoOp}
    /\ released' = released \cup {[index      |-> i,
                                   term       |-> log[n][i].term,
                                   cmd        |-> log[n][i].cmd,
                                   leaderTerm |-> currentTerm[n]]}
    /\ UNCHANGED << currentTerm, role, log, commitIndex, nextCmd, crashes >>

\* A leader crashes and restarts, as one step (a node that is down takes no
\* steps, which needs no state).  Term and log are on disk and survive.  It
\* comes back a follower that knows no commit index: the least it can come
\* back with.  (raft-rs also persists a commit index; a node that keeps
\* what it knew is a leader that lost the lead without crashing, which
\* BecomeLeader and AppendEntries already produce.  A follower's crash
\* only makes it forget, which can only hold reports back: not modelled.)
Crash(n) ==
    /\ crashes < MaxCrashes
    /\ role[n] = "Leader"
    /\ role'        = [role EXCEPT ![n] = "Follower"]
    /\ commitIndex' = [commitIndex EXCEPT ![n] = 0]
    /\ crashes'     = crashes + 1
    /\ UNCHANGED << currentTerm, log, nextCmd, released >>

\* Leader l has finished its work: every command is sequenced, every node
\* holds l's log, all of it is committed and every node knows it, and
\* every command in it has been reported.
Drained(l) ==
    /\ nextCmd > MaxCmds
    /\ \A n \in Nodes : log[n] = log[l] /\ commitIndex[n] = Len(log[l])
    /\ \A i \in 1..Len(log[l]) : log[l][i].cmd \in ReleasedCmds \cup {NoOp}

\* The intended end, once the bounds are used up: no election can succeed
\* any more, and a leader of the highest term, if one is up, has drained.
\* A leader of an older term may be stuck: it is cut off, and only a new
\* term would move it.  TLC's deadlock check reports any *other* state in
\* which nothing can change.
Done ==
    /\ ~\E n \in Nodes, t \in Terms, Q \in Quorums : CanWin(n, t, Q)
    /\ \A l \in Nodes :
           (role[l] = "Leader" /\ \A n \in Nodes : currentTerm[n] <= currentTerm[l])
               => Drained(l)
    /\ UNCHANGED vars

\* Every step except Done changes the state (AppendEntries checks that it
\* does; the other actions always do), so a state in which only steps that
\* change nothing are possible counts as stuck.
Next ==
    \/ \E n \in Nodes : ClientRequest(n)
    \/ \E l, f \in Nodes, k \in 0..MaxLen : AppendEntries(l, f, k)
    \/ \E n \in Nodes, i \in Indexes : AdvanceCommit(n, i)
    \/ \E n \in Nodes, i \in Indexes : Release(n, i)
    \/ \E n \in Nodes, t \in Terms, Q \in Quorums : BecomeLeader(n, t, Q)
    \/ \E n \in Nodes : Crash(n)
    \/ Done

Spec == Init /\ [][Next]_vars

\* The nodes are interchangeable, so TLC checks one state of each set of
\* states that differ only by a renaming of the nodes (SYMMETRY in the
\* cfg).  Sound here: there are only safety checks, and each treats all
\* nodes alike.
NodeSymmetry == Permutations(Nodes)

-----------------------------------------------------------------------------
(***************************************************************************)
(* Invariants                                                              *)
(***************************************************************************)
TypeOK ==
    /\ currentTerm \in [Nodes -> 0..MaxTerm]
    /\ role \in [Nodes -> {"Leader", "Follower"}]
    /\ \A n \in Nodes : /\ log[n] \in Seq(Entry)
                        /\ Len(log[n]) <= MaxLen
                        /\ commitIndex[n] \in 0..Len(log[n])
    /\ nextCmd \in 1..(MaxCmds + 1)
    /\ crashes \in 0..MaxCrashes
    /\ released \subseteq Report

\* At most one leader per term.
ElectionSafety ==
    \A a, b \in Nodes :
        (role[a] = "Leader" /\ role[b] = "Leader" /\ currentTerm[a] = currentTerm[b])
            => a = b

\* Raft's log matching: two logs with an entry of the same term at the same
\* index agree on every entry up to it.
LogMatching ==
    \A a, b \in Nodes, i \in Indexes :
        (i <= Len(log[a]) /\ i <= Len(log[b]) /\ log[a][i].term = log[b][i].term)
            => SubSeq(log[a], 1, i) = SubSeq(log[b], 1, i)

\* Leader completeness, as any node sees it: what n knows is committed is
\* in the log of every leader of n's term or a later one (n learned its
\* commit index in a term no later than its own).  A leader of an older
\* term, cut off, may lack it; that is harmless, as it cannot commit.
LeaderCompleteness ==
    \A n, l \in Nodes :
        (role[l] = "Leader" /\ currentTerm[l] >= currentTerm[n])
            => \A i \in 1..commitIndex[n] : Holds(l, i, log[n][i])

\* The gate itself: every released report's entry is stored by a majority.
\* (ReplicationBroken.cfg leaves this out: it would trip on the first
\* early release, and what matters is the consequence below.)
ReleasedOnMajority ==
    \A r \in released :
        \E Q \in Quorums :
            \A q \in Q : Holds(q, r.index, [term |-> r.term, cmd |-> r.cmd])

\* Nothing a client saw is lost: every released command is, at the same
\* index, in the log of every leader of the releasing leader's term or a
\* later one, so every later leader has run it and keeps it.  (A leader of
\* an older term that is cut off may lack it: it cannot commit anything,
\* and a newer leader's log overwrites its own when they meet.)
NothingReleasedIsLost ==
    \A r \in released, l \in Nodes :
        (role[l] = "Leader" /\ currentTerm[l] >= r.leaderTerm)
            => Holds(l, r.index, [term |-> r.term, cmd |-> r.cmd])
=============================================================================
