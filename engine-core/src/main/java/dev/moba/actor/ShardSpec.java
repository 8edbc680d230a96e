package dev.moba.actor;

import dev.moba.config.HeadLayout;
import dev.moba.spi.KvSpec;

/**
 * What a block shard owns: blocks {@code firstBlock ..} (up to the session's blocks per shard) of one layer of one
 * session, stored as {@code kv} describes.
 */
public record ShardSpec(String session, int layer, int shard, int firstBlock, KvSpec kv, HeadLayout layout) {}
