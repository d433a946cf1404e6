package io.zsq.synth;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.io.Serializable;
import java.util.Collections;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

/**
 * A synthesis method: {@code gaussian} (noise, the lower bound), {@code real} (real images read through
 * the same interface, the upper bound; not data-free), or {@code zeroq} (BN-statistics matching, Cai et
 * al. 2020) with optional components: {@code label}, {@code di}, {@code dsg} (see {@link Objective}).
 * Written {@code zeroq+label+di}; aliases {@code deepinversion} = {@code zeroq+di}, {@code zeroq-label}
 * = {@code zeroq+label}. {@link #parse} is the one place the text is read.
 */
public record Method(Base base, Set<Component> components) implements Serializable {

    public enum Base { ZEROQ, GAUSSIAN, REAL }

    public enum Component { LABEL, DI, DSG }

    public static final Method ZEROQ = new Method(Base.ZEROQ, Set.of());
    public static final Method GAUSSIAN = new Method(Base.GAUSSIAN, Set.of());

    public Method {
        components = components.isEmpty() ? Set.of() : Collections.unmodifiableSet(EnumSet.copyOf(components));
        if (base != Base.ZEROQ && !components.isEmpty()) {
            throw new IllegalArgumentException("--method: components " + components + " only combine with zeroq");
        }
    }

    @JsonCreator
    public static Method parse(String s) {
        String m = s.trim().toLowerCase(Locale.ROOT).replace("deepinversion", "zeroq+di").replace("zeroq-label", "zeroq+label");
        String[] parts = m.split("\\+");
        Base base;
        try {
            base = Base.valueOf(parts[0].toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown --method '" + s + "': zeroq[+label][+di][+dsg], deepinversion, gaussian or real");
        }
        EnumSet<Component> c = EnumSet.noneOf(Component.class);
        for (int i = 1; i < parts.length; i++) {
            try {
                c.add(Component.valueOf(parts[i].toUpperCase(Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unknown --method component '" + parts[i] + "' in '" + s + "' (label, di, dsg)");
            }
        }
        return new Method(base, c);
    }

    public boolean has(Component c) {
        return components.contains(c);
    }

    /** Whether images are optimized (steps are taken): not for noise or real images. */
    public boolean optimizes() {
        return base == Base.ZEROQ;
    }

    /** The canonical name, e.g. {@code zeroq+label+di+dsg}, as datasets and reports record it. */
    @JsonValue
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(base.name().toLowerCase(Locale.ROOT));
        for (Component c : Component.values()) {
            if (components.contains(c)) {
                sb.append('+').append(c.name().toLowerCase(Locale.ROOT));
            }
        }
        return sb.toString();
    }
}
