------------------------ MODULE RaftLogSegmentsBroken ------------------------
(***************************************************************************)
(* The Raft log's segments, broken on purpose: covered segments are        *)
(* unlinked as soon as the snapshot in memory covers them, while its       *)
(* record may still be in the page cache.  Everything else is              *)
(* RaftLogSegments.tla unchanged; the cfg sets RecordOnDiskFirst = FALSE.  *)
(*                                                                         *)
(* TLC must report NothingOnDiskIsLost violated: a power loss leaves       *)
(* neither the deleted entries nor the snapshot record that replaced them. *)
(* scripts/check-models.sh fails if TLC does not find that violation.      *)
(***************************************************************************)
EXTENDS RaftLogSegments

ASSUME RecordOnDiskFirst = FALSE
=============================================================================
