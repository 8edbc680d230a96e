/**
 * The actors of the streaming engine: a {@link dev.moba.actor.SessionActor} per document routes chunks (gating,
 * planning, merging) to {@link dev.moba.actor.BlockShard}s that own ranges of KV blocks and run them on the
 * backend. Only queries, plans and partials travel in messages; KV stays with its shard.
 */
package dev.moba.actor;
