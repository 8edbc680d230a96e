package dev.moba.demo;

import dev.moba.engine.LayerOutput;
import dev.moba.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Query rows (layer, position, head) to check against the reference, and the engine's output for each, captured
 * as the outputs stream by. Per layer, most rows are spread over the prefill (one per equal stretch, at a seeded
 * place within it) and up to an eighth over the decode steps; heads rotate. Holds {@code headDim} floats per row.
 * Thread-safe.
 */
final class RowSample {

    /** One sampled query row. */
    record Row(int layer, int position, int head) {}

    private final List<Row> rows;
    private final float[][] outputs;

    private RowSample(List<Row> rows) {
        this.rows = List.copyOf(rows);
        this.outputs = new float[rows.size()][];
    }

    /** {@code perLayer} rows per layer of {@code spec}'s document (fewer when it is shorter). */
    static RowSample of(DemoSpec spec, int perLayer) {
        SplittableRandom random = new SplittableRandom(spec.seed() * 31 + 7);
        int decodeRows = Math.min(spec.decode(), spec.decode() == 0 ? 0 : Math.max(1, perLayer / 8));
        int prefillRows = Math.min(spec.tokens(), perLayer - decodeRows);
        List<Row> rows = new ArrayList<>();
        for (int layer = 0; layer < spec.layers(); layer++) {
            int i = 0;
            for (int r = 0; r < prefillRows; r++, i++) {
                rows.add(new Row(layer, spread(r, prefillRows, 0, spec.tokens(), random), head(i, layer, spec)));
            }
            for (int r = 0; r < decodeRows; r++, i++) {
                rows.add(new Row(layer, spread(r, decodeRows, spec.tokens(), spec.decode(), random),
                        head(i, layer, spec)));
            }
        }
        return new RowSample(rows);
    }

    List<Row> rows() {
        return rows;
    }

    /** Keeps the rows of {@code output} that are sampled. */
    synchronized void capture(LayerOutput output) {
        Tensor tensor = output.output();
        int dim = tensor.dim();
        for (int i = 0; i < rows.size(); i++) {
            Row row = rows.get(i);
            int offset = row.position() - output.position();
            if (row.layer() == output.layer() && offset >= 0 && offset < tensor.tokens()) {
                float[] values = new float[dim];
                tensor.read(((long) offset * tensor.heads() + row.head()) * dim, values, 0, dim);
                outputs[i] = values;
            }
        }
    }

    /** The engine's output of row {@code i}. */
    synchronized float[] output(int i) {
        if (outputs[i] == null) {
            throw new IllegalStateException("no output was captured for " + rows.get(i));
        }
        return outputs[i];
    }

    private static int spread(int index, int count, int from, int length, SplittableRandom random) {
        long start = from + (long) index * length / count;
        long end = from + (long) (index + 1) * length / count;
        return (int) (start + random.nextLong(Math.max(1, end - start)));
    }

    private static int head(int index, int layer, DemoSpec spec) {
        return (index * 3 + layer) % spec.layout().qHeads();
    }
}
