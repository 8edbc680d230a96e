package dev.moba.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code moba} command line: {@code moba verify ...}. */
@Command(name = "moba", mixinStandardHelpOptions = true, version = "MoBA Engine 0.1.0",
        description = "Mixture of Block Attention engine.",
        subcommands = {VerifyCommand.class, CommandLine.HelpCommand.class})
public final class MobaCli {

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns its exit status. */
    public static int run(String... args) {
        return new CommandLine(new MobaCli())
                .setExecutionExceptionHandler((e, cmd, parsed) -> {
                    cmd.getErr().println("moba: " + e.getMessage());
                    return 2;
                })
                .execute(args);
    }
}
