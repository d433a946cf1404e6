package io.zsq.runtime;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The runtime jar stays deployable without the quantizer's stack: nothing of ND4J, DL4J, Spark, Arrow,
 * ONNX Runtime, JavaCPP, Hadoop or Scala on its classpath (Maven resolves this module's test
 * classpath from its pom, so a dependency added there, directly or through another module, shows here).
 */
class RuntimeDependenciesTest {
    private static final Pattern HEAVY = Pattern.compile("(?i)(nd4j|deeplearning4j|spark|arrow|onnxruntime|javacpp|hadoop|scala|zsq-core)");

    @Test
    void classpathHoldsNoneOfTheQuantizerStack() {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> entries = List.of(cp.split(File.pathSeparator));
        assertTrue(entries.stream().anyMatch(e -> e.contains("junit")), "the scan must see the test classpath: " + cp);
        List<String> heavy = new ArrayList<>();
        for (String e : entries) {
            if (HEAVY.matcher(e).find()) {
                heavy.add(e);
            }
        }
        assertTrue(heavy.isEmpty(), "zsq-runtime must depend on the JDK only, found " + heavy);
        assertFalse(classExists("org.nd4j.linalg.factory.Nd4j") || classExists("org.apache.spark.SparkConf"), "ND4J or Spark loadable");
    }

    private static boolean classExists(String name) {
        try {
            Class.forName(name, false, RuntimeDependenciesTest.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException e) {
            return false;
        }
    }
}
