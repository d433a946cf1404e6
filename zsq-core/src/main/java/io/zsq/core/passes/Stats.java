package io.zsq.core.passes;

import java.io.Serializable;
import java.util.Map;

/** The observed statistics, by request. */
public interface Stats {

    /** The merged observation of {@code request}; it must have been requested. */
    <T extends Serializable> T get(StatRequest<T> request);

    /** No statistics: for passes that need none. */
    Stats NONE = new Stats() {
        @Override
        public <T extends Serializable> T get(StatRequest<T> request) {
            throw new IllegalStateException("no statistics were observed, but a pass asks for " + request);
        }
    };

    /** Statistics held in a map from request to merged value. */
    static Stats of(Map<StatRequest<?>, ? extends Serializable> values) {
        return new Stats() {
            @Override
            @SuppressWarnings("unchecked")
            public <T extends Serializable> T get(StatRequest<T> request) {
                Object v = values.get(request);
                if (v == null && !values.containsKey(request)) {
                    throw new IllegalStateException("statistic " + request + " was not requested before the data pass");
                }
                return (T) v;
            }
        };
    }
}
