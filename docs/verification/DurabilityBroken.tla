-------------------------- MODULE DurabilityBroken --------------------------
(***************************************************************************)
(* The durability gate, broken on purpose: O releases an event as soon as  *)
(* its command is *written* to the journal, before the fsync that makes it *)
(* durable.  Everything else is Durability.tla unchanged; the cfg sets     *)
(* OutputGate = "written".  This is also what durability `os` does under a *)
(* power loss or kernel crash.                                             *)
(*                                                                         *)
(* DurabilityBroken.cfg leaves out OutputGated (it is the gate itself and  *)
(* would trip on the first early release) and checks the consequence       *)
(* instead: TLC must report NothingSeenIsLost violated, i.e. a client saw  *)
(* an event and a crash then erased its command.  scripts/check-models.sh  *)
(* fails if TLC does not find that violation.                              *)
(***************************************************************************)
EXTENDS Durability

ASSUME OutputGate = "written"
=============================================================================
