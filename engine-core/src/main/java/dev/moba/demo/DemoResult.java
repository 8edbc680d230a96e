package dev.moba.demo;

import java.nio.file.Path;

/**
 * What a demo run measured.
 *
 * @param backend          the backend the engine ran on
 * @param prefill          the prefill chunks, every layer
 * @param decode           the decode steps, every layer
 * @param sparsity         attended against causal query-key pairs, every query, head and layer
 * @param onTopicShare     the share of history blocks selected that are mostly about the query's own topic
 * @param comparison       sampled rows against exact MoBA and dense attention
 * @param peakOffHeapBytes the most off-heap memory (KV blocks and block means) the engine held at once
 * @param heatMap          the PNG of the blocks selected
 */
public record DemoResult(String backend, Throughput prefill, Throughput decode, Sparsity sparsity,
                         double onTopicShare, Comparison comparison, long peakOffHeapBytes, Path heatMap) {}
