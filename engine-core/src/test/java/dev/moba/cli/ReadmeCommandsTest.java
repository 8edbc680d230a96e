package dev.moba.cli;

import static dev.moba.cli.CliRun.moba;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Keeps the README's commands, {@code .ci/run} and the command line in step: the "Two commands" block holds
 * exactly the main job and the test command, {@code .ci/run} runs that test command (with Maven's batch flags
 * only), and the {@code bin/moba} commands the README names run here.
 */
class ReadmeCommandsTest {

    static final String MAIN_JOB = "./mvnw -q -DskipTests package && bin/moba demo";
    static final String TESTS = "./mvnw verify";
    /** Flags that change how Maven reports, not what it runs: CI logs in batch mode without download progress. */
    static final List<String> BATCH_FLAGS = List.of("-B", "-ntp");
    static final String EXACTNESS_CHECK = "bin/moba verify engine-core/src/test/resources/golden";

    private final Path root = repositoryRoot();

    @Test
    void theTwoCommandsAreTheMainJobAndTheTests() throws IOException {
        assertThat(twoCommands()).containsExactly(MAIN_JOB, TESTS);
    }

    @Test
    void ciRunsTheReadmesTestCommand() throws IOException {
        List<String> mavenRuns = Files.readAllLines(root.resolve(".ci/run")).stream()
                .map(String::strip)
                .filter(line -> line.startsWith("./mvnw"))
                .map(ReadmeCommandsTest::withoutBatchFlags)
                .toList();
        assertThat(mavenRuns).containsExactly(twoCommands().get(1));
    }

    @Test
    void theMainJobBuildsAndRunsTheDemoThroughTheLauncher() throws IOException {
        String launched = MAIN_JOB.substring(MAIN_JOB.indexOf("bin/moba "));
        assertThat(Files.readString(root.resolve("bin/moba"))).contains("dev.moba.cli.MobaCli \"$@\"");
        String[] args = launched.substring("bin/moba ".length()).split(" ");
        CliRun help = moba(Stream.concat(Arrays.stream(args), Stream.of("--help")).toArray(String[]::new));
        assertThat(help.status()).isZero();
        assertThat(help.out()).isNotEmpty();
        assertThat(help.out().getFirst()).startsWith("Usage: moba demo");
    }

    @Test
    void theExactnessCheckPassesOnTheFolderTheReadmeNames() throws IOException {
        assertThat(Files.readString(root.resolve("README.md"))).contains("`" + EXACTNESS_CHECK + "`");
        String folder = EXACTNESS_CHECK.substring("bin/moba verify ".length());
        CliRun run = moba("verify", root.resolve(folder).toString());
        assertThat(run.status()).as(run.err()).isZero();
        assertThat(run.out().getLast()).startsWith("verify: 5 cases,").endsWith(", pass");
    }

    /** The command lines of the first code block under "## Two commands", comments and blank lines left out. */
    private List<String> twoCommands() throws IOException {
        List<String> lines = Files.readAllLines(root.resolve("README.md"));
        int section = lines.indexOf("## Two commands");
        assertThat(section).as("README.md has a '## Two commands' section").isNotNegative();
        int open = section + 1;
        while (!lines.get(open).startsWith("```")) {
            assertThat(lines.get(open)).as("no other section before the code block").doesNotStartWith("## ");
            open++;
        }
        int close = open + 1;
        while (!lines.get(close).startsWith("```")) {
            close++;
        }
        return lines.subList(open + 1, close).stream()
                .map(String::strip)
                .filter(line -> !line.isEmpty() && !line.startsWith("#"))
                .toList();
    }

    private static String withoutBatchFlags(String command) {
        return String.join(" ", Arrays.stream(command.split("\\s+")).filter(w -> !BATCH_FLAGS.contains(w)).toList());
    }

    /** The module's tests run in {@code engine-core}; the README and {@code .ci} are one folder up. */
    private static Path repositoryRoot() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.exists(dir.resolve("README.md")) && Files.exists(dir.resolve(".ci/run"))) {
                return dir;
            }
        }
        throw new IllegalStateException("no README.md with .ci/run above " + Path.of("").toAbsolutePath());
    }
}
