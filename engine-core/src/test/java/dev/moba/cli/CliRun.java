package dev.moba.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;

/** Exit status and captured output of one in-process run of the command line. */
record CliRun(int status, List<String> out, String err) {

    /** Runs {@code moba args...} in this JVM. */
    static CliRun moba(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = MobaCli.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new CliRun(status, out.toString().lines().toList(), err.toString());
    }
}
