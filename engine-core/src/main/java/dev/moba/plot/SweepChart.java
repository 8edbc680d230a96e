package dev.moba.plot;

import dev.moba.bench.PrefillPoint;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;
import org.knowm.xchart.AnnotationText;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.XYStyler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The chart of a bench sweep, after the MoBA paper's computation-time figure: prefill time against context length
 * on log-log axes, one curve for MoBA and one for dense attention, each length labelled with MoBA's speedup
 * ({@code 12.3x}). Rendering draws into memory only, so no display is needed; it takes well under a
 * second, most of it loading fonts the first time.
 */
public final class SweepChart {

    /** Size of the image in pixels. */
    public static final int WIDTH = 1000;
    public static final int HEIGHT = 640;

    private static final Color MOBA = new Color(0x1f77b4);
    private static final Color DENSE = new Color(0xd62728);

    private SweepChart() {}

    /**
     * Draws {@code points}, each with dense timed, in token order, under {@code title}.
     *
     * @throws IllegalArgumentException when there is no point or a point lacks dense times
     */
    public static BufferedImage render(String title, List<PrefillPoint> points) {
        if (points.isEmpty()) throw new IllegalArgumentException("a chart needs at least one point");
        for (PrefillPoint point : points) {
            if (!point.hasDense()) {
                throw new IllegalArgumentException("the point at " + point.tokens() + " tokens has no dense time");
            }
        }
        double[] tokens = points.stream().mapToDouble(PrefillPoint::tokens).toArray();
        double[] moba = points.stream().mapToDouble(PrefillPoint::mobaMs).toArray();
        double[] dense = points.stream().mapToDouble(PrefillPoint::denseMs).toArray();

        XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title)
                .xAxisTitle("context length (tokens)").yAxisTitle("prefill time (ms)").build();
        double lift = labelLift(moba, dense);
        style(chart.getStyler());
        // Room around the points: a margin on each side, and above the highest one for its label.
        chart.getStyler().setXAxisMin(min(tokens) / 1.25).setXAxisMax(max(tokens) * 1.25)
                .setYAxisMin(Math.min(min(moba), min(dense)) / lift)
                .setYAxisMax(Math.max(max(moba), max(dense)) * lift * lift);
        series(chart, "dense attention (labels: MoBA's speedup)", tokens, dense, DENSE);
        series(chart, "MoBA", tokens, moba, MOBA);
        for (PrefillPoint point : points) {
            // Above the higher marker: a fixed factor on a log axis is a fixed distance on screen.
            chart.addAnnotation(new AnnotationText(String.format(Locale.ROOT, "%.1fx", point.speedup()),
                    point.tokens(), Math.max(point.denseMs(), point.mobaMs()) * lift, false));
        }
        return BitmapEncoder.getBufferedImage(chart);
    }

    /**
     * {@link #render} written to {@code stream} as PNG. The image types stay inside this class, so commands that
     * call it load on a Java runtime without the desktop module until they draw.
     */
    public static void writePng(String title, List<PrefillPoint> points, OutputStream stream) throws IOException {
        if (!ImageIO.write(render(title, points), "png", stream)) {
            throw new IOException("no PNG writer in this Java");
        }
    }

    private static void style(XYStyler styler) {
        styler.setChartBackgroundColor(Color.WHITE)
                .setPlotBackgroundColor(Color.WHITE)
                .setLegendPosition(Styler.LegendPosition.InsideNW)
                .setChartTitleFont(new Font(Font.SANS_SERIF, Font.BOLD, 16))
                .setLegendFont(new Font(Font.SANS_SERIF, Font.PLAIN, 14))
                .setAnnotationTextFont(new Font(Font.SANS_SERIF, Font.BOLD, 13))
                .setAnnotationTextFontColor(DENSE);
        styler.setXAxisLogarithmic(true).setYAxisLogarithmic(true)
                .setXAxisLogarithmicDecadeOnly(false).setYAxisLogarithmicDecadeOnly(false)
                .setXAxisTickLabelsFormattingFunction(SweepChart::tokensLabel)
                .setYAxisTickLabelsFormattingFunction(SweepChart::msLabel)
                .setAxisTitleFont(new Font(Font.SANS_SERIF, Font.PLAIN, 14))
                .setAxisTickLabelsFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12))
                .setPlotGridLinesColor(new Color(0xdddddd));
    }

    private static void series(XYChart chart, String name, double[] x, double[] y, Color color) {
        XYSeries series = chart.addSeries(name, x, y);
        series.setLineColor(color);
        series.setMarkerColor(color);
        series.setMarker(SeriesMarkers.CIRCLE);
        series.setLineStyle(new BasicStroke(2.5f));
    }

    /** The factor that lifts a label about 5% of the plot's height above its point. */
    private static double labelLift(double[] moba, double[] dense) {
        double range = Math.max(max(moba), max(dense)) / Math.min(min(moba), min(dense));
        return Math.pow(Math.max(range, 10), 0.05);
    }

    private static double min(double[] values) {
        return Arrays.stream(values).min().orElseThrow();
    }

    private static double max(double[] values) {
        return Arrays.stream(values).max().orElseThrow();
    }

    /** Ticks at 1, 2 and 5 times a power of ten are labelled, the rest left blank so labels never crowd. */
    private static boolean labelled(double tick) {
        double mantissa = tick / Math.pow(10, Math.floor(Math.log10(tick) + 1e-9));
        return Math.abs(mantissa - 1) < 1e-6 || Math.abs(mantissa - 2) < 1e-6 || Math.abs(mantissa - 5) < 1e-6;
    }

    private static String tokensLabel(double tokens) {
        if (!labelled(tokens)) return "";
        if (tokens >= 1e6) return String.format(Locale.ROOT, "%.0fM", tokens / 1e6);
        if (tokens >= 1e3) return String.format(Locale.ROOT, "%.0fK", tokens / 1e3);
        return String.format(Locale.ROOT, "%.0f", tokens);
    }

    private static String msLabel(double ms) {
        if (!labelled(ms)) return "";
        return ms >= 1 ? String.format(Locale.ROOT, "%,.0f", ms) : String.format(Locale.ROOT, "%.2g", ms);
    }
}
