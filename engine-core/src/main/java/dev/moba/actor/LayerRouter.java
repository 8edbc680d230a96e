package dev.moba.actor;

import dev.moba.attention.ChunkChecks;
import dev.moba.attention.MobaAttention;
import dev.moba.config.AttentionMode;
import dev.moba.config.HeadLayout;
import dev.moba.config.MobaConfig;
import dev.moba.engine.BackendException;
import dev.moba.engine.InvalidChunkException;
import dev.moba.engine.LayerChunk;
import dev.moba.engine.LayerOutput;
import dev.moba.engine.MobaException;
import dev.moba.gating.GateRequest;
import dev.moba.gating.Selection;
import dev.moba.kv.SummaryTable;
import dev.moba.memory.MemoryLedger;
import dev.moba.memory.SlabArena;
import dev.moba.merge.Partials;
import dev.moba.plan.BlockTask;
import dev.moba.plan.Planner;
import dev.moba.plan.ShardSplit;
import dev.moba.spi.Backend;
import dev.moba.spi.KvSpec;
import dev.moba.spi.SealedBlock;
import dev.moba.tensor.Tensor;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * The router's side of one layer of a session: the layer's length, the mean keys of its sealed blocks, and the
 * block shards that hold its KV. For each chunk it gates the queries against the means, plans which shard attends
 * which rows, sends the work, and merges the partials that come back.
 *
 * <p>A chunk whose queries can pick blocks that the chunk itself completes needs those blocks' means first: it
 * takes two rounds (append, then gate and attend). Any other chunk, decode included, takes one round in which the
 * owning shard appends and then attends. Used only from its session actor's thread.
 */
final class LayerRouter implements AutoCloseable {

    private final String session;
    private final int layer;
    /** How errors name this layer, built once: a decode step would otherwise build it for every chunk. */
    private final String where;
    private final String whereSuffix;
    private final MobaConfig config;
    private final HeadLayout layout;
    private final Backend backend;
    private final MemoryLedger ledger;
    private final int blocksPerShard;
    private final float scale;
    private final SummaryTable summaries;
    private final SlabArena scratch = new SlabArena(1 << 16);
    private final Function<ShardSpec, ActorRef<BlockShard.Command>> spawner;
    private final List<ActorRef<BlockShard.Command>> shards = new ArrayList<>();
    private long summaryBytes;
    private int length;

    LayerRouter(String session, int layer, MobaConfig config, HeadLayout layout, Backend backend, MemoryLedger ledger,
                int blocksPerShard, Function<ShardSpec, ActorRef<BlockShard.Command>> spawner) {
        this.session = session;
        this.layer = layer;
        this.where = "layer " + layer + " of session " + session;
        this.whereSuffix = " (" + where + ")";
        this.config = config;
        this.layout = layout;
        this.backend = backend;
        this.ledger = ledger;
        this.blocksPerShard = blocksPerShard;
        this.scale = config.scaleFor(layout.headDim());
        this.spawner = spawner;
        this.summaries = new SummaryTable(layout.kvHeads(), layout.headDim());
        chargeSummaries();
    }

    int length() {
        return length;
    }

    /** The shards still running, to close. */
    List<ActorRef<BlockShard.Command>> shards() {
        return shards.stream().filter(Objects::nonNull).toList();
    }

    /** Forgets shard {@code shard}, which has stopped. */
    void lost(int shard) {
        shards.set(shard, null);
    }

    /** Throws {@link InvalidChunkException} unless {@code chunk} can follow on this layer as it stands. */
    void validate(LayerChunk chunk) {
        if (chunk.position() != LayerChunk.NEXT && chunk.position() != length) {
            throw new InvalidChunkException("chunk starts at position " + chunk.position() + " but " + where
                    + " holds " + length + " tokens: positions must follow on without gaps or repeats");
        }
        try {
            ChunkChecks.requireFits(layout, chunk.q(), chunk.k(), chunk.v(), whereSuffix);
        } catch (IllegalArgumentException e) {
            throw new InvalidChunkException(e.getMessage(), e);
        }
        Outputs.requireWritable(chunk.output(), chunk.tokens(), layout, whereSuffix);
        if ((long) length + chunk.tokens() > MobaAttention.MAX_TOKENS) {
            throw new InvalidChunkException(where + " would exceed " + MobaAttention.MAX_TOKENS + " tokens");
        }
    }

    /**
     * Starts a validated chunk; the shards' replies go to {@code replies}. The answer comes from the router once
     * every reply is in, so a caller that hears it finds the session ready for its next chunk.
     */
    Request begin(long id, LayerChunk chunk, ActorRef<BlockShard.Reply> replies) {
        return new Request(id, chunk, replies);
    }

    /** Frees the summaries and scratch memory; the shards are closed by the session. */
    @Override
    public void close() {
        summaries.close();
        scratch.close();
        ledger.charge(session, -summaryBytes);
        summaryBytes = 0;
    }

    private void chargeSummaries() {
        long held = summaries.bytesReserved();
        ledger.charge(session, held - summaryBytes);
        summaryBytes = held;
    }

    private int tokensPerShard() {
        return blocksPerShard * config.blockSize();
    }

    /** Tokens shard {@code s} holds when the layer holds {@code tokens}. */
    private int shardLength(int s, int tokens) {
        return Math.clamp((long) tokens - (long) s * tokensPerShard(), 0, tokensPerShard());
    }

    /** One chunk in flight: its rounded queries, the rounds sent, and what has come back. */
    final class Request {

        private final long id;
        private final LayerChunk chunk;
        private final ActorRef<BlockShard.Reply> replies;
        private final int first;
        private final int tokens;
        private final int blocksBefore;
        private final Tensor queries;
        private final TreeSet<Integer> appending = new TreeSet<>();
        private final List<SealedBlock> sealed = new ArrayList<>();
        private final SortedMap<Integer, Partials> results = new TreeMap<>();
        private boolean attendSent;
        private boolean rollingBack;
        private int awaiting;
        private RuntimeException failure;

        private Request(long id, LayerChunk chunk, ActorRef<BlockShard.Reply> replies) {
            this.id = id;
            this.chunk = chunk;
            this.replies = replies;
            this.first = length;
            this.tokens = chunk.tokens();
            this.blocksBefore = summaries.blocks();
            // One chunk at a time per layer: the previous chunk's scratch is no longer read.
            scratch.reset();
            this.queries = chunk.q().asStored(config.dtype(), scratch);
            if (tokens == 0) {
                return;
            }
            int blockSize = config.blockSize();
            boolean meansFirst = config.mode() == AttentionMode.MOBA
                    && first / blockSize != (first + tokens - 1) / blockSize;
            try {
                send(appends(), meansFirst ? Map.of() : attends());
                attendSent = !meansFirst;
            } catch (RuntimeException e) {
                fail(e);
            }
            if (awaiting == 0 && failure != null) {
                rollBack();
            }
        }

        /** Whether every reply is in and the chunk is finished, well or not. */
        boolean complete() {
            return awaiting == 0;
        }

        /** Takes a shard's reply; returns {@link #complete()}. */
        boolean accept(BlockShard.Reply reply) {
            if (reply.request() != id) {
                return complete();
            }
            awaiting--;
            if (rollingBack) {
                return complete();
            }
            switch (reply) {
                case BlockShard.Done done -> {
                    sealed.addAll(done.sealed());
                    if (done.result() != null) {
                        results.put(done.shard(), done.result());
                    }
                }
                case BlockShard.Failed failed -> {
                    if (failure == null) {
                        failure = failed.cause();
                    }
                }
            }
            if (awaiting == 0 && failure == null && !attendSent) {
                try {
                    publishSealed();
                    attendSent = true;
                    send(Map.of(), attends());
                } catch (RuntimeException e) {
                    fail(e);
                }
            }
            if (awaiting == 0 && failure != null) {
                rollBack();
            }
            return complete();
        }

        /**
         * Finishes a complete request: the merged output, or the failure after the chunk has been undone.
         */
        LayerOutput finish() {
            if (failure != null) {
                throw failure instanceof MobaException known ? known
                        : new BackendException("the backend failed on layer " + layer + " of session " + session
                        + ": " + failure.getMessage(), failure);
            }
            publishSealed();
            length = first + tokens;
            return new LayerOutput(layer, first, mergedOutput());
        }

        private void fail(RuntimeException e) {
            if (failure == null) {
                failure = e;
            }
        }

        /**
         * Undoes the chunk: every shard that was sent an append truncates back (and frees the blocks it opened),
         * and the summaries forget the blocks it sealed. The request completes when the shards confirm, so the
         * caller hears of the failure only once the session stands where it stood.
         */
        private void rollBack() {
            rollingBack = true;
            summaries.truncate(Math.min(blocksBefore, summaries.blocks()));
            chargeSummaries();
            for (int s : appending) {
                shards.get(s).tell(new BlockShard.Truncate(id, shardLength(s, first), replies));
                awaiting++;
            }
        }

        private void publishSealed() {
            sealed.sort(Comparator.comparingInt(SealedBlock::index));
            for (SealedBlock block : sealed) {
                summaries.add(block);
            }
            sealed.clear();
            chargeSummaries();
        }

        /** The chunk's keys and values cut at shard boundaries, by shard. */
        private Map<Integer, BlockShard.Append> appends() {
            Map<Integer, BlockShard.Append> byShard = new TreeMap<>();
            int end = first + tokens;
            for (int s = first / tokensPerShard(); s * (long) tokensPerShard() < end; s++) {
                int from = Math.max(first, s * tokensPerShard()) - first;
                int to = (int) Math.min(end, (long) (s + 1) * tokensPerShard()) - first;
                byShard.put(s, new BlockShard.Append(chunk.k().slice(from, to), chunk.v().slice(from, to)));
            }
            return byShard;
        }

        /** Gates (in MoBA mode), plans and splits the attention work by shard. */
        private Map<Integer, BlockShard.Attend> attends() {
            Selection selection = null;
            if (config.mode() == AttentionMode.MOBA) {
                int picks = GateRequest.picksFor(config, first, tokens);
                selection = picks == 0 ? Selection.none(tokens * layout.qHeads())
                        : backend.gate(List.of(new GateRequest(queries, first, summaries, picks, config.blockSize(),
                                layout))).getFirst();
            }
            List<List<BlockTask>> tasks = Planner.plan(selection, first, tokens, config.blockSize(), layout);
            Map<Integer, BlockShard.Attend> byShard = new TreeMap<>();
            ShardSplit.byShard(tasks, blocksPerShard).forEach((s, own) -> byShard.put(s,
                    new BlockShard.Attend(queries, first - s * tokensPerShard(), scale, own)));
            return byShard;
        }

        private void send(Map<Integer, BlockShard.Append> appends, Map<Integer, BlockShard.Attend> attends) {
            TreeSet<Integer> targets = new TreeSet<>(appends.keySet());
            targets.addAll(attends.keySet());
            for (int s : targets) {
                while (shards.size() <= s) {
                    int next = shards.size();
                    KvSpec kv = new KvSpec(layout.kvHeads(), layout.headDim(), config.blockSize(), config.dtype());
                    shards.add(spawner.apply(new ShardSpec(session, layer, next, next * blocksPerShard, kv,
                            layout)));
                }
                if (appends.containsKey(s)) {
                    appending.add(s);
                }
                shards.get(s).tell(new BlockShard.Run(id, appends.get(s), attends.get(s), replies));
                awaiting++;
            }
        }

        private Tensor mergedOutput() {
            if (results.isEmpty()) {
                return Outputs.zeros(chunk.output(), tokens, layout.qHeads(), layout.headDim());
            }
            Partials merged = results.get(results.firstKey());
            for (Partials other : results.tailMap(results.firstKey() + 1).values()) {
                merged.mergeFrom(other);
            }
            return Outputs.copy(merged, chunk.output(), tokens, layout.qHeads(), layout.headDim());
        }
    }
}
