------------------------- MODULE ReplicationBroken -------------------------
(***************************************************************************)
(* Replicated output gating, broken on purpose: a leader's O releases a    *)
(* report as soon as the command's entry is in the leader's own log        *)
(* (durable on that machine), the single-node rule of Durability.tla kept  *)
(* unchanged in a cluster.  Everything else is Replication.tla unchanged;  *)
(* the cfg sets ReleaseGate = "local".                                     *)
(*                                                                         *)
(* ReplicationBroken.cfg leaves out ReleasedOnMajority (it is the gate     *)
(* itself and would trip on the first early release) and checks the        *)
(* consequence instead: TLC must report NothingReleasedIsLost violated,    *)
(* i.e. a client saw a report and a leader was then elected without the    *)
(* command.  scripts/check-models.sh fails if TLC does not find that       *)
(* violation.                                                              *)
(***************************************************************************)
EXTENDS Replication

ASSUME ReleaseGate = "local"
=============================================================================
