package io.zsq.core.passes;

import io.zsq.core.ir.Property;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * Runs passes in order and enforces what they declare: a pass whose required properties do not hold,
 * or whose forbidden ones already do, is refused with a message naming it, the property and the pass
 * that establishes it. Records every pass run, with its report.
 */
public final class PassRunner {

    /** One pass run, as the provenance lists it. */
    public record Record(String name, Set<Property> requires, Property establishes, Object report) {}

    private final List<Record> records = new ArrayList<>();

    public ModelState run(Pass<?> pass, ModelState state, Stats stats) {
        check(pass, state.properties());
        Pass.Result<?> r = pass.run(state, stats);
        ModelState next = r.state().properties().contains(pass.establishes()) ? r.state()
                : r.state().withGraph(r.state().graph().with(pass.establishes()));
        records.add(new Record(pass.name(), pass.requires(), pass.establishes(), r.report()));
        return next;
    }

    /** Runs each pass in turn with no statistics. */
    public ModelState runAll(List<? extends Pass<?>> passes, ModelState state) {
        for (Pass<?> p : passes) {
            state = run(p, state, Stats.NONE);
        }
        return state;
    }

    /** Refuses {@code pass} on a model with these properties unless its declarations hold. */
    public static void check(Pass<?> pass, Set<Property> have) {
        for (Property p : pass.requires()) {
            if (!have.contains(p)) {
                throw new IllegalStateException("pass " + pass.name() + " needs a model with " + p + ", which does not hold yet"
                        + " (established so far: " + (have.isEmpty() ? "nothing" : have) + "); run the pass that establishes " + p + " first");
            }
        }
        for (Property p : pass.forbids()) {
            if (have.contains(p)) {
                throw new IllegalStateException("pass " + pass.name() + " cannot run on a model that is already " + p);
            }
        }
    }

    public List<Record> records() {
        return List.copyOf(records);
    }

    /** The properties a list of passes establishes on top of {@code have}, checking the order without running anything. */
    public static Set<Property> plan(List<? extends Pass<?>> passes, Set<Property> have) {
        Set<Property> s = have.isEmpty() ? EnumSet.noneOf(Property.class) : EnumSet.copyOf(have);
        for (Pass<?> p : passes) {
            check(p, s);
            s.add(p.establishes());
        }
        return s;
    }
}
