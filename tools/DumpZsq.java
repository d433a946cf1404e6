import java.lang.reflect.Array;
import java.lang.reflect.RecordComponent;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * Prints what a .zsq integer model computes with, one line per layer field and per tensor quantization,
 * so that two models can be compared with diff: weights, biases, multipliers, shifts, zero points, clamps,
 * and every tensor's scale (as the exact float), zero point and integer range. Reads format 2 (quantization
 * in text metadata, "tensor.NAME" = "scale zp qmin qmax") and format 3 (the typed section) by reflection,
 * so it runs against either version of zsq-runtime:
 *
 *   java -cp zsq-runtime/target/classes tools/DumpZsq.java out/model.zsq > now.txt
 */
public class DumpZsq {
    public static void main(String[] args) throws Exception {
        Class<?> c = Class.forName("io.zsq.runtime.IntModel");
        Object m = c.getMethod("load", Path.class).invoke(null, Path.of(args[0]));
        System.out.println("input " + c.getMethod("inputName").invoke(m) + " " + show(c.getMethod("inputShape").invoke(m)));
        System.out.println("output " + c.getMethod("outputName").invoke(m) + " " + show(c.getMethod("outputShape").invoke(m)));
        int i = 0;
        for (Object l : (java.util.List<?>) c.getMethod("layers").invoke(m)) {
            for (RecordComponent rc : l.getClass().getRecordComponents()) {
                System.out.println("layer " + i + " " + l.getClass().getSimpleName() + " " + rc.getName() + " " + show(rc.getAccessor().invoke(l)));
            }
            i++;
        }
        Map<String, String> q = new TreeMap<>();
        try {
            for (Map.Entry<?, ?> e : ((Map<?, ?>) c.getMethod("quantization").invoke(m)).entrySet()) {
                Object t = e.getValue();
                int bits = (int) t.getClass().getMethod("scaleBits").invoke(t);
                q.put((String) e.getKey(), Float.intBitsToFloat(bits) + " " + t.getClass().getMethod("zeroPoint").invoke(t) + " "
                        + t.getClass().getMethod("qmin").invoke(t) + " " + t.getClass().getMethod("qmax").invoke(t));
            }
        } catch (NoSuchMethodException v2) {
            for (Map.Entry<?, ?> e : ((Map<?, ?>) c.getMethod("metadata").invoke(m)).entrySet()) {
                String k = (String) e.getKey();
                if (k.startsWith("tensor.")) {
                    String[] f = ((String) e.getValue()).split(" ");
                    q.put(k.substring(7), Float.parseFloat(f[0]) + " " + f[1] + " " + f[2] + " " + f[3]);
                }
            }
        }
        q.forEach((k, v) -> System.out.println("tensor " + k + " " + v));
    }

    static String show(Object v) {
        if (v == null || !v.getClass().isArray()) {
            return String.valueOf(v);
        }
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < Array.getLength(v); i++) {
            sb.append(i > 0 ? "," : "").append(Array.get(v, i));
        }
        return sb.append(']').toString();
    }
}
