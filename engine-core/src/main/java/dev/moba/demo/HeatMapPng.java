package dev.moba.demo;

import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import javax.imageio.ImageIO;

/**
 * Draws a {@link SelectionMap} as a PNG: per layer, cell (query block, key block) is white where the key block is
 * in the query block's future, light grey where it could be read but no query selected it, and from pale yellow to
 * dark red by the share of the query block's rows that selected it (the diagonal, always read, is dark red). Needs
 * no display ({@code java.awt.headless}); costs a few bytes per pixel of {@link HeatMapGeometry}.
 */
public final class HeatMapPng {

    /** Future blocks (never selectable) and the margins. */
    public static final int BACKGROUND = 0xFFFFFF;
    /** Earlier blocks no query of the block selected. */
    public static final int NOT_SELECTED = 0xE4E4E4;

    private static final int FAINT = 0xFFE8A0;
    private static final int FULL = 0x8B0000;

    private HeatMapPng() {}

    /** Writes {@code map} to {@code file} (its folder must exist). */
    public static void write(SelectionMap map, Path file) {
        var geometry = new HeatMapGeometry(map.layers(), map.blocks());
        BufferedImage image = new BufferedImage(geometry.width(), geometry.height(), BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setColor(new Color(BACKGROUND));
            g.fillRect(0, 0, geometry.width(), geometry.height());
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
            int cell = geometry.cell();
            for (int layer = 0; layer < map.layers(); layer++) {
                int x0 = geometry.panelX(layer);
                int y0 = geometry.panelY(layer);
                for (int qb = 0; qb < map.blocks(); qb++) {
                    for (int kb = 0; kb <= qb; kb++) {
                        g.setColor(new Color(colorOf(map.share(layer, qb, kb))));
                        g.fillRect(x0 + kb * cell, y0 + qb * cell, cell, cell);
                    }
                }
                g.setColor(Color.DARK_GRAY);
                g.drawRect(x0 - 1, y0 - 1, geometry.panel() + 1, geometry.panel() + 1);
                g.drawString("layer " + layer + ": query block (down) x key block (across)", x0,
                        y0 - HeatMapGeometry.MARGIN / 3);
            }
        } finally {
            g.dispose();
        }
        try {
            if (!ImageIO.write(image, "png", file.toFile())) {
                throw new IllegalStateException("no PNG writer in this Java runtime");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the heat map " + file + ": " + e.getMessage(), e);
        }
    }

    /** The colour of a cell whose key block was selected by {@code share} of its query block's rows. */
    public static int colorOf(double share) {
        if (share <= 0) {
            return NOT_SELECTED;
        }
        // A square root lifts rare selections out of the faint end.
        double f = Math.sqrt(Math.min(1, share));
        int r = mix(FAINT >> 16, FULL >> 16, f);
        int gr = mix(FAINT >> 8 & 0xFF, FULL >> 8 & 0xFF, f);
        int b = mix(FAINT & 0xFF, FULL & 0xFF, f);
        return r << 16 | gr << 8 | b;
    }

    private static int mix(int from, int to, double f) {
        return (int) Math.round(from + (to - from) * f);
    }
}
