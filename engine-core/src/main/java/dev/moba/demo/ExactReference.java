package dev.moba.demo;

import dev.moba.config.HeadLayout;
import dev.moba.tensor.DType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Exact MoBA and dense causal attention for sampled query rows, in fp64 straight from the definition
 * ({@code MOBA-SEMANTICS.md}): fp32 block means of the rounded keys, unscaled gate scores, the top {@code K - 1}
 * complete earlier blocks plus the causal prefix of the current block, softmax over the read keys.
 *
 * <p>Where the engine's fp32 gate scores and these fp64 ones may order two blocks differently (their scores lie
 * within a bound on fp32 rounding: {@code headDim * 2^-21 * |q| * max |mean|}), every top-k within that band is an
 * exact answer; the reference is the one nearest the engine's output, and the row is counted as tied.
 *
 * <p>Regenerates each layer's keys and values up to its last sampled row (two fp32 arrays of the document's KV for
 * that layer); a row costs {@code 4 * headDim} flops per earlier key, run over the common fork-join pool.
 */
final class ExactReference {

    /** Tied rows with more top-k choices than this keep the fp64 order alone. */
    private static final int MAX_CHOICES = 64;

    private final SyntheticDocument document;

    ExactReference(SyntheticDocument document) {
        this.document = document;
    }

    /** Compares every row of {@code sample} with the engine's captured output. */
    Comparison compare(RowSample sample) {
        List<RowSample.Row> rows = sample.rows();
        double[][] results = new double[rows.size()][];
        for (int layer = 0; layer < document.spec().layers(); layer++) {
            int current = layer;
            int[] ofLayer = IntStream.range(0, rows.size()).filter(i -> rows.get(i).layer() == current).toArray();
            if (ofLayer.length == 0) {
                continue;
            }
            int length = IntStream.of(ofLayer).map(i -> rows.get(i).position()).max().orElseThrow() + 1;
            var kv = new LayerKv(layer, length);
            IntStream.of(ofLayer).parallel().forEach(i -> results[i] = compareRow(kv, rows.get(i), sample.output(i)));
        }
        double maxExact = 0;
        double sumExact = 0;
        double maxDense = 0;
        double sumDense = 0;
        int tied = 0;
        for (double[] r : results) {
            maxExact = Math.max(maxExact, r[0]);
            sumExact += r[1];
            maxDense = Math.max(maxDense, r[2]);
            sumDense += r[3];
            tied += (int) r[4];
        }
        long elements = (long) rows.size() * document.spec().layout().headDim();
        return new Comparison(rows.size(), maxExact, elements == 0 ? 0 : sumExact / elements, maxDense,
                elements == 0 ? 0 : sumDense / elements, tied);
    }

    /** {max vs exact, sum vs exact, max vs dense, sum vs dense, 1 if tied}. */
    private double[] compareRow(LayerKv kv, RowSample.Row row, float[] engine) {
        DemoSpec spec = document.spec();
        HeadLayout layout = spec.layout();
        int dim = layout.headDim();
        int block = spec.blockSize();
        int t = row.position();
        int kvHead = layout.kvHeadOf(row.head());
        float[] queries = new float[layout.qHeads() * dim];
        document.fill(SyntheticDocument.Part.QUERY, row.layer(), t, 1, spec.dtype(), queries);
        double[] q = new double[dim];
        for (int d = 0; d < dim; d++) {
            q[d] = queries[row.head() * dim + d];
        }
        double scale = spec.config().scaleFor(dim);
        double[] logits = new double[t + 1];
        for (int p = 0; p <= t; p++) {
            logits[p] = scale * kv.dotKey(q, p, kvHead);
        }
        double[] dense = attend(kv, logits, List.of(new int[] {0, t + 1}), kvHead);

        int current = t / block;
        List<List<Integer>> choices = topKChoices(kv, q, kvHead, current, spec.topK() - 1);
        double[] best = null;
        double bestMax = Double.POSITIVE_INFINITY;
        for (List<Integer> choice : choices) {
            List<int[]> ranges = new ArrayList<>();
            for (int b : choice) {
                ranges.add(new int[] {b * block, (b + 1) * block});
            }
            ranges.add(new int[] {current * block, t + 1});
            double[] moba = attend(kv, logits, ranges, kvHead);
            double max = maxAbs(engine, moba);
            if (max < bestMax) {
                bestMax = max;
                best = moba;
            }
        }
        return new double[] {bestMax, sumAbs(engine, best), maxAbs(engine, dense), sumAbs(engine, dense),
                choices.size() > 1 ? 1 : 0};
    }

    /** Every top-{@code picks} set of the blocks before {@code current} that fp32 rounding could produce. */
    private static List<List<Integer>> topKChoices(LayerKv kv, double[] q, int kvHead, int current, int picks) {
        Integer[] order = new Integer[current];
        double[] scores = new double[current];
        double maxMean = 0;
        for (int b = 0; b < current; b++) {
            order[b] = b;
            scores[b] = kv.dotMean(q, b, kvHead);
            maxMean = Math.max(maxMean, kv.meanNorm(b, kvHead));
        }
        if (current <= picks) {
            return List.of(List.of(order));
        }
        Arrays.sort(order, Comparator.comparingDouble((Integer b) -> -scores[b]).thenComparingInt(b -> b));
        double tolerance = q.length * 0x1p-21 * norm(q) * maxMean;
        double worstIn = scores[order[picks - 1]];
        double bestOut = scores[order[picks]];
        List<Integer> sure = new ArrayList<>();
        List<Integer> band = new ArrayList<>();
        for (Integer b : order) {
            if (scores[b] > bestOut + tolerance) {
                sure.add(b);
            } else if (scores[b] >= worstIn - tolerance) {
                band.add(b);
            }
        }
        List<List<Integer>> choices = new ArrayList<>();
        combine(band, picks - sure.size(), 0, new ArrayList<>(sure), choices);
        return choices.size() > MAX_CHOICES ? List.of(List.of(order).subList(0, picks)) : choices;
    }

    private static void combine(List<Integer> band, int need, int from, List<Integer> chosen,
                                List<List<Integer>> out) {
        if (out.size() > MAX_CHOICES) {
            return;
        }
        if (need == 0) {
            out.add(List.copyOf(chosen));
            return;
        }
        for (int i = from; i <= band.size() - need; i++) {
            chosen.add(band.get(i));
            combine(band, need - 1, i + 1, chosen, out);
            chosen.removeLast();
        }
    }

    /** Softmax of {@code logits} over the key ranges, times the values. */
    private double[] attend(LayerKv kv, double[] logits, List<int[]> ranges, int kvHead) {
        int dim = document.spec().layout().headDim();
        double max = Double.NEGATIVE_INFINITY;
        for (int[] r : ranges) {
            for (int p = r[0]; p < r[1]; p++) {
                max = Math.max(max, logits[p]);
            }
        }
        double[] out = new double[dim];
        double sum = 0;
        for (int[] r : ranges) {
            for (int p = r[0]; p < r[1]; p++) {
                double weight = Math.exp(logits[p] - max);
                sum += weight;
                kv.addValue(out, weight, p, kvHead);
            }
        }
        for (int d = 0; d < dim; d++) {
            out[d] /= sum;
        }
        return out;
    }

    private static double maxAbs(float[] a, double[] b) {
        double max = 0;
        for (int d = 0; d < a.length; d++) {
            max = Math.max(max, Math.abs(a[d] - b[d]));
        }
        return max;
    }

    private static double sumAbs(float[] a, double[] b) {
        double sum = 0;
        for (int d = 0; d < a.length; d++) {
            sum += Math.abs(a[d] - b[d]);
        }
        return sum;
    }

    private static double norm(double[] v) {
        double sum = 0;
        for (double x : v) {
            sum += x * x;
        }
        return Math.sqrt(sum);
    }

    /** One layer's keys, values and fp32 block means for positions {@code [0, length)}, rounded to the storage. */
    private final class LayerKv {
        final int dim = document.spec().layout().headDim();
        final int kvHeads = document.spec().layout().kvHeads();
        final float[] keys;
        final float[] values;
        final float[] means;

        LayerKv(int layer, int length) {
            DemoSpec spec = document.spec();
            DType dtype = spec.dtype();
            keys = new float[length * kvHeads * dim];
            values = new float[length * kvHeads * dim];
            document.fill(SyntheticDocument.Part.KEY, layer, 0, length, dtype, keys);
            document.fill(SyntheticDocument.Part.VALUE, layer, 0, length, dtype, values);
            int complete = length / spec.blockSize();
            int width = kvHeads * dim;
            means = new float[complete * width];
            // Keys summed in order in double, then divided and rounded: the KV cache's own recipe.
            double[] sum = new double[width];
            for (int b = 0; b < complete; b++) {
                Arrays.fill(sum, 0);
                for (int p = b * spec.blockSize(); p < (b + 1) * spec.blockSize(); p++) {
                    for (int e = 0; e < width; e++) {
                        sum[e] += keys[p * width + e];
                    }
                }
                for (int e = 0; e < width; e++) {
                    means[b * width + e] = (float) (sum[e] / spec.blockSize());
                }
            }
        }

        double dotKey(double[] q, int position, int kvHead) {
            return dot(q, keys, (position * kvHeads + kvHead) * dim);
        }

        double dotMean(double[] q, int block, int kvHead) {
            return dot(q, means, (block * kvHeads + kvHead) * dim);
        }

        double meanNorm(int block, int kvHead) {
            int at = (block * kvHeads + kvHead) * dim;
            double sum = 0;
            for (int d = 0; d < dim; d++) {
                sum += (double) means[at + d] * means[at + d];
            }
            return Math.sqrt(sum);
        }

        void addValue(double[] out, double weight, int position, int kvHead) {
            int at = (position * kvHeads + kvHead) * dim;
            for (int d = 0; d < dim; d++) {
                out[d] += weight * values[at + d];
            }
        }

        private double dot(double[] q, float[] rows, int at) {
            double sum = 0;
            for (int d = 0; d < dim; d++) {
                sum += q[d] * rows[at + d];
            }
            return sum;
        }
    }
}
