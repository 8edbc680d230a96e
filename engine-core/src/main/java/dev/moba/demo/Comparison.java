package dev.moba.demo;

/**
 * The engine's outputs on sampled rows against exact MoBA and dense causal attention, both computed in fp64 on the
 * same (rounded) inputs; errors are absolute, over every element of every row.
 *
 * @param rows      sampled query rows
 * @param tiedRows  rows whose top-k had blocks within fp32 rounding of each other: either choice is exact MoBA,
 *                  and the one nearer the engine's output is the reference
 */
public record Comparison(int rows, double maxVsExact, double meanVsExact, double maxVsDense, double meanVsDense,
                         int tiedRows) {}
