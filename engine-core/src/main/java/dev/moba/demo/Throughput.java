package dev.moba.demo;

/** Tokens that passed every layer, and the wall time they took. */
public record Throughput(long tokens, double seconds) {

    public double tokensPerSecond() {
        return seconds > 0 ? tokens / seconds : 0;
    }
}
