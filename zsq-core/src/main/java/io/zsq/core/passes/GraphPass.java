package io.zsq.core.passes;

import io.zsq.core.ir.Graph;
import java.util.Set;

/** A transformation of the IR. {@link #apply} checks {@link #requires()} before it runs. */
public interface GraphPass {

    record Result(Graph graph, String report) {}

    String name();

    Set<String> requires();

    String establishes();

    Result run(Graph g);

    default Result apply(Graph g) {
        for (String p : requires()) {
            g.require(p, name());
        }
        return run(g);
    }
}
