package dev.moba.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code moba} command line: {@code moba demo}, {@code moba verify ...}, {@code moba run ...},
 * {@code moba bench ...}. {@link #run} returns the exit status instead of exiting, for tests and embedding.
 */
@Command(name = "moba", mixinStandardHelpOptions = true, version = "MoBA Engine 0.1.0",
        description = "Mixture of Block Attention engine: the demo, exactness checks, MoBA on your own tensors,"
                + " and timings.",
        subcommands = {DemoCommand.class, VerifyCommand.class, RunCommand.class, BenchCommand.class,
                CommandLine.HelpCommand.class},
        footerHeading = "%nExamples:%n",
        footer = {"  moba demo",
                "  moba verify engine-core/src/test/resources/golden",
                "  moba run --in layer.safetensors --out out.safetensors",
                "  moba bench --sweep 8192,32768,131072 --dense-runs 1 --plot sweep.png",
                "  moba demo --help        a command's options, examples and exit status"},
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {"0:done (demo and verify: within the dtype's tolerance of exact MoBA)",
                "1:demo or verify: a result is off exact MoBA by more than the tolerance",
                "2:unusable options, input or environment; the message names the problem and the fix"})
public final class MobaCli {

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line on standard output and error and returns its exit status. */
    public static int run(String... args) {
        return run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args);
    }

    /** Runs the command line writing to {@code out} and {@code err} and returns its exit status. */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        return new CommandLine(new MobaCli())
                .setOut(out)
                .setErr(err)
                .setExecutionExceptionHandler((e, cmd, parsed) -> {
                    cmd.getErr().println("moba: " + e.getMessage());
                    return 2;
                })
                .execute(args);
    }
}
