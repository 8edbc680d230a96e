# Sourced by the scripts that run Java on the GPU machine from a carried .device/ pack (run them from the project
# root): unpacks the pack once, then sets D (where it lives), CP (the main classes and jars) and JAVA (the java
# command with the flags the engine needs). Exits with a message when there is no pack.
bash .device/run java -version > /dev/null 2>&1 || { echo "no .device pack: run ../shared/tools/device-pack first" >&2; exit 2; }
D=/tmp/device-java
CP="$D/classes/engine-core/target/classes:$D/classes/backend-cuda/target/classes:$D/lib/*"
JAVA=("$D/jre/bin/java" --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector
      --sun-misc-unsafe-memory-access=allow -Dorg.bytedeco.javacpp.cachedir=/tmp/javacpp-cache)
