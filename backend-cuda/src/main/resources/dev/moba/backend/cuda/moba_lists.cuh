// The attention work list shared by the planner and the tile kernels.
#pragma once

// The query rows of entries [first_entry, first_entry + count) read `block` of `kv_head` (causally: each row only
// the keys up to its own position); the list's tiles are numbered from first_tile. Eight ints, one aligned 32-byte
// record, the layout the host writes too.
struct TileList {
    int block, kv_head, causal, first_entry, count, first_tile, unused0, unused1;
};
