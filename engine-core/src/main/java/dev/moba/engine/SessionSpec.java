package dev.moba.engine;

import dev.moba.config.AttentionMode;
import dev.moba.config.HeadLayout;
import dev.moba.config.MobaConfig;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * The shape of a session, fixed when it opens: its layers, their head geometry and, per layer, the attention
 * configuration (block size, top-k, scale, storage dtype, mode).
 */
public record SessionSpec(HeadLayout layout, List<MobaConfig> layers) {

    public SessionSpec {
        Objects.requireNonNull(layout, "layout");
        if (layers == null || layers.isEmpty()) {
            throw new IllegalArgumentException("a session needs at least one layer");
        }
        layers = List.copyOf(layers);
    }

    /** {@code layers} layers that all use {@code config}. */
    public static SessionSpec of(int layers, HeadLayout layout, MobaConfig config) {
        if (layers < 1) {
            throw new IllegalArgumentException("a session needs at least one layer, got " + layers);
        }
        return new SessionSpec(layout, Collections.nCopies(layers, Objects.requireNonNull(config)));
    }

    /**
     * This spec with the last {@code count} layers in {@link AttentionMode#FULL} mode: the layer-wise hybrid that
     * keeps the top layers dense.
     */
    public SessionSpec withLastLayersFull(int count) {
        if (count < 0 || count > layers.size()) {
            throw new IllegalArgumentException("cannot make " + count + " of " + layers.size() + " layers full");
        }
        List<MobaConfig> modes = new ArrayList<>(layers);
        for (int l = layers.size() - count; l < layers.size(); l++) {
            modes.set(l, modes.get(l).withMode(AttentionMode.FULL));
        }
        return new SessionSpec(layout, modes);
    }

    public int layerCount() {
        return layers.size();
    }

    public MobaConfig layer(int layer) {
        return layers.get(layer);
    }
}
