package io.zsq.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import io.zsq.core.io.Locations;
import io.zsq.spark.fs.MiniHdfs;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The jar for spark-submit ({@code target/zsq-VERSION.jar}, maven-shade in this module's pom), as a cluster gets it:
 * what it must hold (zsq, ND4J with its linux-x86_64 natives and backend service, ONNX Runtime's linux-x64 natives,
 * the Main-Class), what it must leave to the cluster (Spark, Scala, Hadoop, Arrow, Netty, Jackson, logging), and a
 * real {@code quantize} run through Spark's own {@code SparkSubmit} with nothing but Spark's dependency tree on the
 * JVM class path, so every zsq, ND4J and ONNX Runtime class and native comes out of the jar through Spark's class
 * loader, as on a cluster's driver. Run by failsafe in {@code verify}, after {@code package} has built the jar.
 */
class ShadedJarIT {
    static final Path JAR = Path.of(System.getProperty("zsq.shadedJar", "target/zsq.shadedJar-not-set.jar"));
    static final long MAX_BYTES = 200_000_000L;
    static final String ND4J_NATIVES = "org/nd4j/linalg/cpu/nativecpu/bindings/linux-x86_64/";
    static final String ORT_NATIVES = "ai/onnxruntime/native/";
    static final String BACKEND_SERVICE = "META-INF/services/org.nd4j.linalg.factory.Nd4jBackend";
    /** Packages of the libraries the cluster's Spark brings (its own dependency tree), which must not be in the jar. */
    static final List<String> CLUSTER_PACKAGES = List.of("org/apache/spark/", "scala/", "org/apache/hadoop/",
            "org/apache/arrow/", "io/netty/", "com/fasterxml/jackson/", "org/slf4j/", "org/apache/logging/log4j/",
            "com/google/gson/", "com/google/flatbuffers/", "org/apache/commons/codec/", "org/apache/commons/io/");
    static final Path RESNET = Path.of("../src/models/fmnist-resnet.onnx");
    static final Path FASHION = Path.of("/usr/share/datasets/fashion-mnist");

    static Set<String> entries;
    static Manifest manifest;
    static Map<String, Set<String>> services = new HashMap<>();

    @BeforeAll
    static void open() throws IOException {
        assertTrue(Files.isRegularFile(JAR), JAR + " is missing: ShadedJarIT runs in verify, after package has shaded the jar");
        try (JarFile jar = new JarFile(JAR.toFile())) {
            entries = jar.stream().map(JarEntry::getName).collect(Collectors.toCollection(TreeSet::new));
            manifest = jar.getManifest();
            for (String e : entries) {
                if (e.startsWith("META-INF/services/") && !e.endsWith("/")) {
                    try (InputStream in = jar.getInputStream(jar.getEntry(e))) {
                        services.put(e, providers(new String(in.readAllBytes(), StandardCharsets.UTF_8)));
                    }
                }
            }
        }
    }

    /** The provider class names of a services file: its lines without comments and blanks. */
    static Set<String> providers(String file) {
        return file.lines().map(l -> l.replaceFirst("#.*", "").trim()).filter(l -> !l.isEmpty())
                .collect(Collectors.toCollection(TreeSet::new));
    }

    @Test
    void holdsNd4jNativesForLinuxX86_64AndItsBackendService() {
        for (String lib : List.of("libnd4jcpu.so", "libjnind4jcpu.so")) {
            assertTrue(entries.contains(ND4J_NATIVES + lib), "ND4J's native library " + ND4J_NATIVES + lib + " is not in " + JAR);
        }
        assertTrue(services.containsKey(BACKEND_SERVICE), BACKEND_SERVICE + " is not in " + JAR + ": ND4J would find no backend");
        assertTrue(services.get(BACKEND_SERVICE).contains("org.nd4j.linalg.cpu.nativecpu.CpuBackend"),
                BACKEND_SERVICE + " does not name org.nd4j.linalg.cpu.nativecpu.CpuBackend: " + services.get(BACKEND_SERVICE));
    }

    /** ServicesResourceTransformer: a services file two dependencies both carry lists the providers of both. */
    @Test
    void mergesEveryDependencysServiceFiles() throws IOException {
        int merged = 0;
        for (Map.Entry<String, Set<String>> s : services.entrySet()) {
            Set<String> expected = new TreeSet<>();
            int files = 0;
            for (Enumeration<URL> u = ShadedJarIT.class.getClassLoader().getResources(s.getKey()); u.hasMoreElements(); files++) {
                try (InputStream in = u.nextElement().openStream()) {
                    expected.addAll(providers(new String(in.readAllBytes(), StandardCharsets.UTF_8)));
                }
            }
            merged += files > 1 ? 1 : 0;
            assertEquals(expected, s.getValue(), s.getKey() + " in " + JAR + " does not list every provider its " + files
                    + " dependency files list (ServicesResourceTransformer missing?)");
        }
        assertTrue(merged > 0, "no services file of " + JAR + " comes from more than one dependency: this test checks nothing");
    }

    @Test
    void holdsOnnxRuntimeForLinuxX64Only() {
        for (String lib : List.of("libonnxruntime.so", "libonnxruntime4j_jni.so")) {
            assertTrue(entries.contains(ORT_NATIVES + "linux-x64/" + lib), "ONNX Runtime's " + ORT_NATIVES + "linux-x64/" + lib + " is not in " + JAR);
        }
        List<String> others = entries.stream().filter(e -> e.startsWith(ORT_NATIVES) && e.length() > ORT_NATIVES.length()
                && !e.startsWith(ORT_NATIVES + "linux-x64/")).toList();
        assertTrue(others.isEmpty(), "ONNX Runtime natives for other platforms are in " + JAR + ": " + first(others));
    }

    /** Every native library in the jar is for linux-x86_64 (each library names its platform in its folder). */
    @Test
    void holdsNoNativeLibraryForAnotherPlatform() {
        List<String> natives = entries.stream().filter(e -> e.matches(".*\\.(so(\\.[0-9]+)*|dll|dylib|jnilib|a)")).toList();
        assertTrue(natives.size() >= 10, "only " + natives.size() + " native libraries in " + JAR + ": " + natives);
        List<String> foreign = natives.stream().filter(e -> !e.matches(".*/linux-(x86_64|x64|x86-64)/[^/]+")).toList();
        assertTrue(foreign.isEmpty(), foreign.size() + " native libraries in " + JAR + " are not for linux-x86_64: " + first(foreign));
    }

    @Test
    void runsMainWithMultiReleaseManifest() {
        assertTrue(entries.contains("io/zsq/spark/Main.class"), "io/zsq/spark/Main.class is not in " + JAR);
        assertNotNull(manifest, JAR + " has no manifest");
        Attributes a = manifest.getMainAttributes();
        assertEquals("io.zsq.spark.Main", a.getValue(Attributes.Name.MAIN_CLASS), "Main-Class of " + JAR);
        assertEquals("true", a.getValue(Attributes.Name.MULTI_RELEASE), "Multi-Release of " + JAR);
    }

    @Test
    void leavesSparkScalaHadoopArrowNettyJacksonAndLoggingToTheCluster() {
        for (String p : CLUSTER_PACKAGES) {
            List<String> found = entries.stream().filter(e -> e.endsWith(".class"))
                    .map(e -> e.replaceFirst("^META-INF/versions/[0-9]+/", "")).filter(e -> e.startsWith(p)).toList();
            assertTrue(found.isEmpty(), found.size() + " classes under " + p + " are in " + JAR + " (the cluster's Spark brings them): "
                    + first(found));
        }
    }

    @Test
    void carriesNoSignatureFiles() {
        List<String> signatures = entries.stream().filter(e -> e.matches("META-INF/[^/]+\\.(SF|DSA|RSA|EC)")).toList();
        assertTrue(signatures.isEmpty(), "signature files of the original jars are in " + JAR + " (the JVM would refuse it): " + signatures);
    }

    @Test
    void isUnder200MB() throws IOException {
        long bytes = Files.size(JAR);
        assertTrue(bytes < MAX_BYTES, JAR + " is " + bytes + " bytes, over " + MAX_BYTES);
    }

    /**
     * {@code SparkSubmit --class io.zsq.spark.Main zsq.jar quantize ...} on {@code local[1]}: the JVM class path holds
     * only Spark's dependency tree (the pom's two lists), so the importer, ND4J (its backend by ServiceLoader, its natives
     * unpacked by JavaCPP from the jar), the Spark tasks and the ONNX Runtime check all run from the jar, and the model and
     * every output are on a real HDFS (MiniDFSCluster), reached through the jar's filesystem provider. ~25 s.
     */
    @Test
    void quantizesThroughSparkSubmitWithOnlySparkOnTheClassPath(@TempDir Path tmp) throws IOException, InterruptedException {
        List<String> cluster = new ArrayList<>();
        for (String f : System.getProperty("zsq.clusterClasspath", "").split(",")) {
            assertTrue(Files.isRegularFile(Path.of(f)), "cluster class path list " + f + " is missing (the pom's dependency:build-classpath)");
            cluster.addAll(Arrays.asList(Files.readString(Path.of(f)).trim().split(File.pathSeparator)));
        }
        assertTrue(cluster.stream().anyMatch(p -> p.contains("spark-core_")), "no spark-core in the cluster class path: " + cluster);
        List<String> ours = cluster.stream().filter(p -> Path.of(p).getFileName().toString()
                .matches("(zsq|spark-jobs|synth-data|nd4j|deeplearning4j|javacpp|openblas|onnxruntime|picocli).*")).toList();
        assertTrue(ours.isEmpty(), "the stand-in cluster class path holds what the jar must bring: " + ours);

        // the model read from and every output written to a real HDFS, through the jar's Hadoop filesystem provider and the
        // cluster's own Hadoop client (the stand-in class path's)
        MiniDFSCluster hdfs = MiniHdfs.start("shaded-jar");
        try {
            Path model = Locations.of(hdfs.getURI() + "/models/fmnist-resnet.onnx");
            Files.createDirectories(model.getParent());
            Files.copy(RESNET, model);
            Path out = Locations.of(hdfs.getURI() + "/out"), cache = tmp.resolve("javacpp"), log = JAR.resolveSibling("shaded-jar-it.log");
            List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx2g"));
            cmd.addAll(Arrays.asList(System.getProperty("zsq.sparkJvmOptions", "").trim().split("\\s+")));
            cmd.addAll(List.of("-Dorg.bytedeco.javacpp.cachedir=" + cache, "-cp", String.join(File.pathSeparator, cluster),
                    "org.apache.spark.deploy.SparkSubmit", "--master", "local[1]", "--conf", "spark.ui.enabled=false",
                    "--class", "io.zsq.spark.Main", JAR.toString(),
                    "quantize", "--model", model.toString(), "--out", out.toString(), "--count", "32", "--steps", "5", "--no-gaussian",
                    "--eval", FASHION.toString(), "--eval-limit", "200", "--mean", "0.2860", "--std", "0.3530"));
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
            pb.environment().put("OMP_NUM_THREADS", "1");
            pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
            long t0 = System.nanoTime();
            Process p = pb.start();
            boolean done = p.waitFor(180, TimeUnit.SECONDS);
            if (!done) {
                p.destroyForcibly().waitFor();
            }
            System.out.printf("spark-submit quantize from %s: %.1f s%n", JAR.getFileName(), (System.nanoTime() - t0) / 1e9);
            String output = Files.readString(log);
            List<String> ownLines = output.lines().filter(l -> !l.contains(" INFO ")).toList();
            String tail = String.join("\n", ownLines.subList(Math.max(0, ownLines.size() - 60), ownLines.size()));
            assertTrue(done, "spark-submit quantize did not finish in 180 s; output (" + log + "):\n" + tail);
            assertEquals(0, p.exitValue(), "spark-submit quantize failed; output without Spark's INFO lines (" + log + "):\n" + tail);
            for (String form : List.of("qoperator", "qdq")) {
                assertTrue(output.contains("zsq: " + form + " export in ONNX Runtime: argmax agreement"),
                        "no ONNX Runtime check of the " + form + " export in the output (" + log + "):\n" + tail);
            }
            for (String f : List.of("model.zsq", "model.qop.onnx", "model.qdq.onnx", "report.json")) {
                assertTrue(Files.isRegularFile(out.resolve(f)), "spark-submit quantize wrote no " + f + " (" + log + ")");
            }
            // JavaCPP unpacks a native into cachedir/<the jar's file name>/<its path in the jar>: the backend came from our jar
            Path nd4j = cache.resolve(JAR.getFileName().toString()).resolve(ND4J_NATIVES + "libnd4jcpu.so");
            try (Stream<Path> s = Files.exists(cache) ? Files.walk(cache) : Stream.empty()) {
                List<Path> unpacked = s.filter(f -> f.getFileName().toString().startsWith("libnd4jcpu")).toList();
                assertTrue(Files.isRegularFile(nd4j), "ND4J's backend was not loaded from " + JAR + ": no " + nd4j + "; libnd4jcpu unpacked at "
                        + unpacked);
            }
        } finally {
            MiniHdfs.stop(hdfs);
        }
    }

    static String first(List<String> l) {
        return l.size() <= 10 ? l.toString() : l.subList(0, 10) + " and " + (l.size() - 10) + " more";
    }
}
