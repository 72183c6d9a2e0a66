----------------------------- MODULE MarketData -----------------------------
(***************************************************************************)
(* Market data on top of the durability gate (prose in                    *)
(* docs/verification.md, "Model checking market data").                   *)
(*                                                                         *)
(* Durability.tla gates the events O releases on J's durable sequence.    *)
(* Market data is a second way for engine state to leave the process: a  *)
(* subscriber is sent a *view* of the book (top of book, depth levels),   *)
(* not an event.  This module adds that path to Durability's pipeline,    *)
(* whose actions it reuses unchanged:                                      *)
(*                                                                         *)
(*   O releases event --> gateway book (per instrument, price levels)      *)
(*                        --MarketData--> subscribers                      *)
(*                                                                         *)
(* The design (MarketDataSource = "released"): the gateway keeps its own  *)
(* book and updates it only from events O has released, so a view it     *)
(* sends is the engine state after the last *released* command.  At a    *)
(* start the gateway fills that book from the recovered engine, after     *)
(* replay and before it accepts traffic.                                   *)
(*                                                                         *)
(* The bug (MarketDataSource = "live", MarketDataBroken.tla): views are   *)
(* read from M's live book, i.e. the engine state after every command M   *)
(* has applied, which M reaches ahead of J's fsync.                        *)
(*                                                                         *)
(* The engine abstraction is Durability's: a state is the sequence of the *)
(* commands applied to a fresh engine, so "the recovered state is at or   *)
(* after a view" is "the view's command sequence is a prefix of the       *)
(* engine's".  A view of one instrument, or only its top, is a function  *)
(* of the whole state, so checking whole states covers every projection. *)
(***************************************************************************)
EXTENDS Durability

CONSTANT
    MarketDataSource  \* what a market-data view is computed from:
                      \*   "released" = the design, "live" = the bug

ASSUME MarketDataSource \in {"released", "live"}

VARIABLES
    mdBook,   \* the gateway's book: [seq, state], the engine state after
              \* command seq, built from released events (volatile)
    mdSeen    \* every view sent to subscribers, [seq, state] (history: a
              \* crash cannot unsee them)

mdVars  == << mdBook, mdSeen >>
allVars == << vars, mdBook, mdSeen >>

View   == [seq : 0..MaxCmds, state : Seq(Cmd)]
NoBook == [seq |-> 0, state |-> Fresh]

\* What a MarketData step sends.
SentView ==
    IF MarketDataSource = "released"
    THEN mdBook                                \* the gateway's own book
    ELSE [seq |-> applied, state |-> engine]   \* M's live book

IsPrefix(s, t) == Len(s) <= Len(t) /\ SubSeq(t, 1, Len(s)) = s

-----------------------------------------------------------------------------
MDInit ==
    /\ Init
    /\ mdBook = NoBook
    /\ mdSeen = {}

\* Durability's actions that do not touch market data.  (Each gets its own
\* name, so that TLC's traces name it: MDSubmit is Submit, and so on.)
MDSubmit       == Submit       /\ UNCHANGED mdVars
MDJournalWrite == JournalWrite /\ UNCHANGED mdVars
MDFsyncBegin   == FsyncBegin   /\ UNCHANGED mdVars
MDFsyncEnd     == FsyncEnd     /\ UNCHANGED mdVars
MDMatch        == Match        /\ UNCHANGED mdVars
MDTakeSnapshot == TakeSnapshot /\ UNCHANGED mdVars
MDRecover      == Recover      /\ UNCHANGED mdVars
MDReplayStep   == ReplayStep   /\ UNCHANGED mdVars
MDDone         == Done         /\ UNCHANGED mdVars

\* O releases the oldest event; the gateway applies it to its book.  (A
\* gateway that applies released events later than O releases them sends
\* an older released state, which is durable too.)
MDRelease ==
    /\ Release
    /\ mdBook' = [seq   |-> Head(outbound).seq,
                  state |-> Apply(mdBook.state, Head(outbound).cmd)]
    /\ UNCHANGED mdSeen

\* The gateway's book is volatile: a crash loses it.
MDCrash ==
    /\ Crash
    /\ mdBook' = NoBook
    /\ UNCHANGED mdSeen

\* At a start, after replay, the gateway fills its book from the recovered
\* engine (the durable journal's replay) before it accepts traffic.
MDFinishRecovery ==
    /\ FinishRecovery
    /\ mdBook' = [seq |-> applied, state |-> engine]
    /\ UNCHANGED mdSeen

\* Publish market data: any time the gateway is serving.  (A view already
\* sent changes nothing in the model, so it is not sent again.)
MarketData ==
    /\ phase = "up"
    /\ SentView \notin mdSeen
    /\ mdSeen' = mdSeen \cup {SentView}
    /\ UNCHANGED << vars, mdBook >>

MDNext ==
    \/ MDSubmit \/ MDJournalWrite \/ MDFsyncBegin \/ MDFsyncEnd \/ MDMatch
    \/ MDRelease \/ MDTakeSnapshot \/ MDCrash \/ MDRecover \/ MDReplayStep
    \/ MDFinishRecovery \/ MarketData \/ MDDone

\* Durability's fairness, on the actions as extended here.  Subscribers,
\* like clients, need not be sent anything.
MDFairness ==
    /\ WF_allVars(MDJournalWrite) /\ WF_allVars(MDFsyncBegin)
    /\ WF_allVars(MDFsyncEnd) /\ WF_allVars(MDMatch) /\ WF_allVars(MDRelease)
    /\ WF_allVars(MDRecover) /\ WF_allVars(MDReplayStep)
    /\ WF_allVars(MDFinishRecovery)

MDSpec == MDInit /\ [][MDNext]_allVars /\ MDFairness

-----------------------------------------------------------------------------
(***************************************************************************)
(* Invariants (Durability's are checked too; see the .cfg files)           *)
(***************************************************************************)
MDTypeOK ==
    /\ mdBook \in View
    /\ mdSeen \subseteq View

\* The gate on market data, in every state: every view a subscriber has
\* seen reflects durable commands only, and is exactly the replay of the
\* durable journal up to its sequence (not just tagged with a durable
\* sequence: the book is right too).
MarketDataGated ==
    \A v \in mdSeen :
        /\ v.seq <= durable
        /\ v.state = FullReplay(v.seq)

\* Recovery has rebuilt the engine: the durable journal is replayed (the
\* step before traffic resumes), or traffic is being served.
Recovered ==
    \/ phase = "up"
    \/ phase = "replaying" /\ applied = durable

\* The consequence subscribers care about: nothing they saw is lost.  After
\* a crash, the journal that recovery reads still holds the commands of
\* every view seen; and the engine that recovery rebuilds (and every state
\* it serves from) is at or after every view seen.
MarketDataSeenIsDurable ==
    \A v \in mdSeen :
        /\ phase # "up" => /\ v.seq <= written
                           /\ JournalCmds(v.seq) = v.state
        /\ Recovered    => IsPrefix(v.state, engine)

(***************************************************************************)
(* Properties                                                              *)
(***************************************************************************)
\* A subscriber never sees the book go back, not even across a crash: each
\* new view extends every view sent before it.
MarketDataNeverGoesBack ==
    [][\A v \in mdSeen, w \in mdSeen' \ mdSeen : IsPrefix(v.state, w.state)]_allVars

\* Durability's liveness, under this module's fairness.
MDEventuallyDrained == <>[]Quiescent
=============================================================================
