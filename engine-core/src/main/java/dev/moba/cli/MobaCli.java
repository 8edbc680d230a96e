package dev.moba.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code moba} command line: {@code moba verify ...}, {@code moba bench ...}. */
@Command(name = "moba", mixinStandardHelpOptions = true, version = "MoBA Engine 0.1.0",
        description = "Mixture of Block Attention engine.",
        subcommands = {DemoCommand.class, VerifyCommand.class, RunCommand.class, BenchCommand.class,
                CommandLine.HelpCommand.class})
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
