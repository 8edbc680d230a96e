package dev.moba.demo;

import dev.moba.engine.MobaEngine;
import dev.moba.engine.Session;
import dev.moba.engine.SessionSpec;
import dev.moba.spi.Backend;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.CompletionException;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/**
 * One demo: streams a {@link SyntheticDocument} through a session of the engine ({@link Session#flow()}, prefill
 * chunks for every layer, then one-token decode steps for every layer), captures sampled output rows, then
 * replays the gating for the selection map and sparsity ({@link SelectionReplay}), checks the sampled rows
 * against fp64 exact MoBA and dense attention ({@link ExactReference}) and draws the heat map ({@link HeatMapPng}).
 *
 * <pre>{@code
 * try (Backend backend = Backends.open(config); MobaEngine engine = MobaEngine.create(config, backend)) {
 *     DemoResult result = new DemoRun(spec, engine, backend, progressOut, false).run(Path.of("selection.png"));
 * }
 * }</pre>
 *
 * <p>Costs the engine's work on the document, plus one gating pass per layer and the reference rows (each
 * {@code 4 * headDim} flops per earlier key in fp64); the engine holds the document's KV until the run ends.
 */
public final class DemoRun {

    /** Rows per layer checked against the reference. */
    static final int SAMPLED_ROWS = 64;

    private final DemoSpec spec;
    private final MobaEngine engine;
    private final Backend backend;
    private final PrintWriter progressOut;
    private final boolean terminal;
    private final SyntheticDocument document;

    /**
     * @param backend     the engine's backend, which also replays the gating
     * @param progressOut where progress lines go
     * @param terminal    whether {@code progressOut} is a terminal (lines redrawn in place) or a log
     */
    public DemoRun(DemoSpec spec, MobaEngine engine, Backend backend, PrintWriter progressOut, boolean terminal) {
        this.spec = spec;
        this.engine = engine;
        this.backend = backend;
        this.progressOut = progressOut;
        this.terminal = terminal;
        this.document = new SyntheticDocument(spec);
    }

    /** Runs the demo and writes the heat map to {@code heatMapFile}, whose folder must exist. */
    public DemoResult run(Path heatMapFile) {
        RowSample sample = RowSample.of(spec, SAMPLED_ROWS);
        Throughput prefill;
        Throughput decode;
        long peak;
        try (Session session = engine.openSession(SessionSpec.of(spec.layers(), spec.layout(), spec.config()))) {
            prefill = stream(session, sample, 0, spec.tokens(), spec.chunk(), "prefill");
            decode = stream(session, sample, spec.tokens(), spec.length(), 1, "decode");
            peak = engine.memory().peak();
        }
        ProgressLine gating = progress("gating", spec.length());
        SelectionReplay.Result replay = new SelectionReplay(document, backend).run(gating::advance);
        gating.finish();
        Comparison comparison = new ExactReference(document).compare(sample);
        HeatMapPng.write(replay.map(), heatMapFile);
        return new DemoResult(backend.id(), prefill, decode, replay.sparsity(), replay.onTopicShare(), comparison,
                peak, heatMapFile);
    }

    private Throughput stream(Session session, RowSample sample, int from, int to, int step, String label) {
        if (from == to) {
            return new Throughput(0, 0);
        }
        ProgressLine progress = progress(label, to - from);
        long start = System.nanoTime();
        try (ChunkFeed feed = new ChunkFeed(document, from, to, step)) {
            Source.fromIterator(() -> feed).via(session.flow())
                    .runWith(Sink.foreach(out -> {
                        feed.release();
                        sample.capture(out);
                        progress.advance(out.output().tokens());
                    }), engine.system())
                    .toCompletableFuture().join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof RuntimeException cause ? cause : e;
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        progress.finish();
        return new Throughput(to - from, seconds);
    }

    private ProgressLine progress(String label, int tokens) {
        return new ProgressLine(progressOut, terminal, label, (long) tokens * spec.layers(), spec.layers(),
                System::nanoTime);
    }
}
