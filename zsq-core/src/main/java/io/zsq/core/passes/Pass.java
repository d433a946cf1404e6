package io.zsq.core.passes;

import io.zsq.core.ir.Property;
import java.util.List;
import java.util.Set;

/**
 * One transformation of a model on its way to an integer model (NNCF's algorithm passes, AIMET's
 * fold -> scale -> absorb order, made explicit). A pass states the properties it needs, the one it
 * establishes and those that must not hold yet; {@link PassRunner} refuses a wrong order. A pass that
 * needs data declares its {@linkplain #statistics statistics}: the pipeline pools every pass's
 * requests, runs the model over the calibration data once, and hands each pass what it asked for. The
 * report is structured data (a record), serialized into the provenance as it is.
 *
 * @param <R> the report type
 */
public interface Pass<R> {

    /** The new state and what the pass did. */
    record Result<R>(ModelState state, R report) {}

    /** Kebab-case name, as in the provenance ({@code fold-batchnorm}). */
    String name();

    Set<Property> requires();

    Property establishes();

    /** Properties that must not hold when the pass runs (e.g. a weight transform after quantizers are placed); by default its own. */
    default Set<Property> forbids() {
        return Set.of(establishes());
    }

    /** What this pass needs observed on the calibration data (observed on {@code state}'s graph); none by default. */
    default List<StatRequest<?>> statistics(ModelState state) {
        return List.of();
    }

    /** Runs on a state the runner has checked; {@code stats} answers the requests of {@link #statistics}. */
    Result<R> run(ModelState state, Stats stats);
}
