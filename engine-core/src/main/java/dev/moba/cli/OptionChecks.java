package dev.moba.cli;

/** Checks of option values shared by the commands; each failure names the option, the value and the fix. */
final class OptionChecks {

    private OptionChecks() {}

    /**
     * @param flag  the option, for example {@code "--block"}
     * @param fix   what to give instead, for example {@code "e.g. --block 512"}
     * @throws IllegalArgumentException when {@code value < least}, which the command line answers with exit status 2
     */
    static void requireAtLeast(String flag, long value, long least, String fix) {
        if (value < least) {
            throw new IllegalArgumentException(flag + " must be >= " + least + ", got " + value + "; " + fix);
        }
    }
}
