package dev.moba.demo;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * A progress report of one phase on one line: bar, tokens done, tokens per second and time left. On a terminal it
 * redraws the line in place (at most ten times a second); in a log (no terminal) it writes a line per tenth of the
 * way, so CI logs stay short. Work is counted in units ({@code unitsPerToken} per token: a token passes every layer)
 * and shown in tokens. Thread-safe.
 */
public final class ProgressLine {

    private static final int BAR = 24;
    private static final long REDRAW_NANOS = 100_000_000L;

    private final PrintWriter out;
    private final boolean terminal;
    private final String label;
    private final long totalUnits;
    private final int unitsPerToken;
    private final LongSupplier clock;
    private final long start;
    private long done;
    private long lastDraw;
    private int lastTenth;

    /**
     * @param out           where the line goes (standard error, so results on standard output stay clean)
     * @param terminal      whether {@code out} is a terminal that understands carriage returns
     * @param clock         nanosecond clock, {@link System#nanoTime} outside tests
     */
    public ProgressLine(PrintWriter out, boolean terminal, String label, long totalUnits, int unitsPerToken,
                        LongSupplier clock) {
        if (totalUnits < 1 || unitsPerToken < 1) {
            throw new IllegalArgumentException("progress needs total units and units per token >= 1");
        }
        this.out = out;
        this.terminal = terminal;
        this.label = label;
        this.totalUnits = totalUnits;
        this.unitsPerToken = unitsPerToken;
        this.clock = clock;
        this.start = clock.getAsLong();
        this.lastDraw = start;
    }

    /** Counts {@code units} more done, and redraws if it is time to. */
    public synchronized void advance(long units) {
        done = Math.min(totalUnits, done + units);
        long now = clock.getAsLong();
        int tenth = (int) (done * 10 / totalUnits);
        if (terminal && (now - lastDraw >= REDRAW_NANOS || done == totalUnits)) {
            out.print("\r" + line(now));
            out.flush();
            lastDraw = now;
        } else if (!terminal && tenth > lastTenth && done < totalUnits) {
            out.println(line(now));
            out.flush();
            lastTenth = tenth;
        }
    }

    /** Ends the phase: the final state on a line of its own. */
    public synchronized void finish() {
        out.print((terminal ? "\r" : "") + line(clock.getAsLong()) + System.lineSeparator());
        out.flush();
    }

    /** The line as it reads now, without a line end. */
    synchronized String line(long now) {
        double seconds = Math.max(1e-9, (now - start) / 1e9);
        double fraction = (double) done / totalUnits;
        int filled = (int) Math.round(fraction * BAR);
        double tokens = (double) done / unitsPerToken;
        double rate = tokens / seconds;
        String eta = done == 0 ? "?" : formatSeconds(seconds * (totalUnits - done) / done);
        return String.format(Locale.ROOT, "%-8s %3d%% [%s%s] %,d/%,d tokens, %,.0f tokens/s, ETA %s", label,
                (long) Math.floor(fraction * 100), "#".repeat(filled), ".".repeat(BAR - filled), Math.round(tokens),
                totalUnits / unitsPerToken, rate, eta);
    }

    private static String formatSeconds(double seconds) {
        long s = Math.round(seconds);
        return s < 60 ? s + " s" : s / 60 + " min " + s % 60 + " s";
    }
}
