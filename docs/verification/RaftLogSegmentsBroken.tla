------------------------ MODULE RaftLogSegmentsBroken ------------------------
(***************************************************************************)
(* The Raft log's segments, broken on purpose: covered segments are        *)
(* unlinked without first waiting for the newest segment, which holds the  *)
(* record of the snapshot that covers them.  Everything else is            *)
(* RaftLogSegments.tla unchanged; the cfg sets SyncBeforeDelete = FALSE.   *)
(*                                                                         *)
(* TLC must report NothingOnDiskIsLost violated: a power loss leaves       *)
(* neither the deleted entries nor the snapshot record that replaced them. *)
(* scripts/check-models.sh fails if TLC does not find that violation.      *)
(***************************************************************************)
EXTENDS RaftLogSegments

ASSUME SyncBeforeDelete = FALSE
=============================================================================
