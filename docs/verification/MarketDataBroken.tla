--------------------------- MODULE MarketDataBroken ---------------------------
(***************************************************************************)
(* Market data, broken on purpose: views are read from M's live book (the *)
(* engine state after every command M has applied) instead of a book     *)
(* built from released events.  M runs ahead of J's fsync, so a           *)
(* subscriber can see a command that a crash then erases.  Everything     *)
(* else is MarketData.tla unchanged, including O's gate on `durable`; the *)
(* cfg sets MarketDataSource = "live".  This was the gateway's design     *)
(* before market data moved behind O.                                      *)
(*                                                                         *)
(* MarketDataBroken.cfg leaves out MarketDataGated (it is the gate itself *)
(* and would trip on the first early view) and checks the consequence     *)
(* instead: TLC must report MarketDataSeenIsDurable violated, i.e. a      *)
(* subscriber saw a book and a crash then erased a command in it.  The    *)
(* event invariants (OutputGated, NothingSeenIsLost) still hold: the gate *)
(* on events does not protect market data.  scripts/check-models.sh       *)
(* fails if TLC does not find that violation.                              *)
(***************************************************************************)
EXTENDS MarketData

ASSUME MarketDataSource = "live"
=============================================================================
