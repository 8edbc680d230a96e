package dev.moba.demo;

/**
 * Where the heat map draws what: one square panel per layer (query blocks down, key blocks across, one square cell
 * per pair), panels in a grid of {@code ceil(sqrt(layers))} columns, a margin around each for its caption.
 */
public record HeatMapGeometry(int layers, int blocks) {

    /** Pixels around each panel; the caption sits in the top one. */
    public static final int MARGIN = 28;

    /** Panels are drawn at most about this many pixels wide. */
    private static final int PANEL_TARGET = 640;

    public HeatMapGeometry {
        if (layers < 1 || blocks < 1) {
            throw new IllegalArgumentException("a heat map needs layers and blocks >= 1, got " + layers + " and "
                    + blocks);
        }
    }

    /** Side of one (query block, key block) cell, in pixels: 1 to 16. */
    public int cell() {
        return Math.clamp(PANEL_TARGET / blocks, 1, 16);
    }

    /** Side of one layer's panel, in pixels. */
    public int panel() {
        return cell() * blocks;
    }

    public int columns() {
        return (int) Math.ceil(Math.sqrt(layers));
    }

    public int rows() {
        return (layers + columns() - 1) / columns();
    }

    public int width() {
        return columns() * (panel() + 2 * MARGIN);
    }

    public int height() {
        return rows() * (panel() + 2 * MARGIN);
    }

    /** Left edge of {@code layer}'s panel. */
    public int panelX(int layer) {
        return layer % columns() * (panel() + 2 * MARGIN) + MARGIN;
    }

    /** Top edge of {@code layer}'s panel. */
    public int panelY(int layer) {
        return layer / columns() * (panel() + 2 * MARGIN) + MARGIN;
    }
}
