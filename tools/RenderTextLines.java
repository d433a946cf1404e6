import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.GraphicsEnvironment;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;

/**
 * A test set for PaddleOCR's text-direction classifier (ch_ppocr_mobile_v2.0_cls) as its users see
 * it: random text lines rendered with the installed fonts, put through the classifier's own
 * preprocessing, half of them turned 180 degrees.
 *
 * <p>Usage: {@code java tools/RenderTextLines.java OUT N SEED} writes {@code OUT/0/NNNNNN.png} and
 * {@code OUT/180/NNNNNN.png} (N images in all, alternating), each 192x48 RGB: an image folder for
 * {@code zsq quantize --eval OUT} (the folders sorted by name are labels 0 and 1, as the model's).
 *
 * <p>A line: 1 to 7 tokens (Latin words from a fixed vocabulary, capitalized or upper case at times,
 * numbers, dates, prices, short codes), in one of the installed DejaVu families (Sans, Serif, Sans Mono,
 * the condensed ones, ExtraLight; plain, bold, italic) at 18 to 44 px, dark ink (gray or tinted) on a
 * light background (gray or tinted, at times a gradient), a tight box around the text as a detector
 * crops it (a few pixels of margin, a random vertical offset), then Gaussian pixel noise. Where an
 * installed font displays Chinese, a third of the lines are 2 to 12 common Chinese characters in it
 * (with Debian's fonts-wqy-microhei: WenQuanYi Micro Hei; without a CJK font the set is Latin only,
 * without the model's training language); a line is redrawn until its font can display it
 * ({@link Font#canDisplayUpTo}).
 *
 * <p>Preprocessing, as PaddleOCR's {@code ClsPreprocess}/{@code resize_norm_img} for the classifier
 * (image shape 3x48x192): the crop is turned 180 degrees for the "180" class first, then resized
 * (bilinear) to height 48 and width {@code min(192, ceil(48 * w / h))}, and the rest of the 192 columns
 * is the padding. PaddleOCR pads after normalizing with zeros, which is the value of a mid-gray pixel
 * ({@code (x / 255 - 0.5) / 0.5 = 0} at x = 127.5), so the padding here is RGB 128 (0.0039 after
 * normalization); read with {@code --mean 0.5,0.5,0.5 --std 0.5,0.5,0.5}.
 */
public final class RenderTextLines {
    static final int H = 48, W = 192;

    static final String[] WORDS = ("the of and to in is for on that by with this from at as are be or an it not was your all "
            + "can have more will one about new page home date price total number order invoice name address phone email "
            + "street city road north south east west account payment amount balance customer service report chapter section "
            + "table figure model data system time year month day week today open close hours monday friday sale offer free "
            + "delivery shipping item quantity receipt store market bank office station hotel school hospital airport gate "
            + "platform ticket seat class first second window room floor building exit entrance parking warning notice please "
            + "thank you welcome information contact support help menu coffee tea water bread milk cheese apple orange sugar "
            + "salt rice chicken beef fish soup salad lunch dinner breakfast special large small medium hot cold fresh green "
            + "black white blue red yellow paper print copy scan file folder letter post code tax discount cash card credit "
            + "debit change due subtotal visa member points quick brown fox jumps over lazy dog lorem ipsum dolor sit amet "
            + "consectetur adipiscing elit sed eiusmod tempor incididunt labore dolore magna aliqua").split(" ");

    static final String[] FAMILIES = {"DejaVu Sans", "DejaVu Serif", "DejaVu Sans Mono", "DejaVu Sans Condensed", "DejaVu Serif Condensed",
            "DejaVu Sans Light"};

    public static void main(String[] args) throws IOException {
        System.setProperty("java.awt.headless", "true");
        if (args.length != 3) {
            System.err.println("usage: java tools/RenderTextLines.java OUT N SEED");
            System.exit(2);
        }
        Path out = Path.of(args[0]);
        int n = Integer.parseInt(args[1]);
        Random r = new Random(Long.parseLong(args[2]));
        List<String> installed = Arrays.asList(GraphicsEnvironment.getLocalGraphicsEnvironment().getAvailableFontFamilyNames());
        List<String> families = new ArrayList<>();
        for (String f : FAMILIES) {
            if (installed.contains(f)) {
                families.add(f);
            }
        }
        if (families.isEmpty()) {
            throw new IllegalStateException("none of the DejaVu fonts is installed (" + String.join(", ", FAMILIES) + "); fc-list shows what is");
        }
        String cjk = null;
        for (String f : installed) {
            if (new Font(f, Font.PLAIN, 20).canDisplayUpTo(HANZI) == -1 && !f.startsWith("Dialog") && !f.equals("Serif")
                    && !f.equals("SansSerif") && !f.equals("Monospaced")) {
                cjk = f;
                break;
            }
        }
        Files.createDirectories(out.resolve("0"));
        Files.createDirectories(out.resolve("180"));
        int[] fontsUsed = new int[families.size()];
        int chinese = 0;
        for (int i = 0; i < n; i++) {
            boolean turned = i % 2 == 1;
            BufferedImage crop;
            if (cjk != null && r.nextInt(3) == 0) {
                crop = line(r, cjk, true);
                chinese++;
            } else {
                int fi = r.nextInt(families.size());
                fontsUsed[fi]++;
                crop = line(r, families.get(fi), false);
            }
            if (turned) {
                crop = rotate180(crop);
            }
            BufferedImage img = preprocess(crop);
            ImageIO.write(img, "png", out.resolve(turned ? "180" : "0").resolve(String.format("%06d.png", i)).toFile());
        }
        StringBuilder s = new StringBuilder();
        for (int f = 0; f < families.size(); f++) {
            s.append(f == 0 ? "" : ", ").append(families.get(f)).append(' ').append(fontsUsed[f]);
        }
        System.err.printf("RenderTextLines: %d lines (%d at 0 degrees, %d at 180) in %s; fonts: %s; %s%n", n, (n + 1) / 2, n / 2, out, s,
                cjk == null ? "Latin only (no installed font displays Chinese)" : chinese + " Chinese lines in " + cjk);
    }

    /** Random text. */
    static String text(Random r) {
        int tokens = 1 + r.nextInt(7);
        StringBuilder b = new StringBuilder();
        for (int t = 0; t < tokens; t++) {
            if (t > 0) {
                b.append(r.nextInt(8) == 0 ? ": " : r.nextInt(10) == 0 ? ", " : " ");
            }
            int kind = r.nextInt(10);
            if (kind < 6) {
                String w = WORDS[r.nextInt(WORDS.length)];
                int c = r.nextInt(6);
                b.append(c == 0 ? w.toUpperCase() : c <= 2 ? Character.toUpperCase(w.charAt(0)) + w.substring(1) : w);
            } else if (kind == 6) {
                b.append(r.nextInt(100000));
            } else if (kind == 7) {
                b.append(String.format("%s%d.%02d", r.nextBoolean() ? "$" : "", r.nextInt(1000), r.nextInt(100)));
            } else if (kind == 8) {
                b.append(String.format("%02d/%02d/%04d", 1 + r.nextInt(28), 1 + r.nextInt(12), 1990 + r.nextInt(40)));
            } else {
                for (int k = 0, len = 2 + r.nextInt(5); k < len; k++) {
                    b.append(r.nextInt(3) == 0 ? (char) ('0' + r.nextInt(10)) : (char) ('A' + r.nextInt(26)));
                }
            }
        }
        return b.toString();
    }

    /** Common Chinese characters for lines in a CJK font (the 100 most frequent, as escapes: the source stays ASCII). */
    static final String HANZI = "\u7684\u4e00\u662f\u4e0d\u4e86\u4eba\u6211\u5728\u6709\u4ed6\u8fd9\u4e2d\u5927\u6765\u4e0a\u56fd\u4e2a\u5230\u8bf4\u4eec\u4e3a\u5b50\u548c\u4f60\u5730\u51fa\u9053\u4e5f\u65f6\u5e74\u5f97\u5c31\u90a3\u8981\u4e0b\u4ee5\u751f\u4f1a\u81ea\u7740\u53bb\u4e4b\u8fc7\u5bb6\u5b66\u5bf9\u53ef"
            + "\u5979\u91cc\u540e\u5c0f\u4e48\u5fc3\u591a\u5929\u800c\u80fd\u597d\u90fd\u7136\u6ca1\u65e5\u4e8e\u8d77\u8fd8\u53d1\u6210\u4e8b\u53ea\u4f5c\u5f53\u60f3\u770b\u6587\u65e0\u5f00\u624b\u5341\u7528\u4e3b\u884c\u65b9\u53c8\u5982\u524d\u6240\u672c\u89c1\u7ecf\u5934\u9762\u516c\u540c\u4e09\u5df2\u8001\u4ece\u52a8\u4e24\u957f";

    static String hanzi(Random r) {
        StringBuilder b = new StringBuilder();
        for (int k = 0, len = 2 + r.nextInt(11); k < len; k++) {
            b.append(HANZI.charAt(r.nextInt(HANZI.length())));
        }
        return b.toString();
    }

    /** One text line, cropped tightly as a text detector would. */
    static BufferedImage line(Random r, String family, boolean chinese) {
        int style = r.nextInt(5) == 0 ? Font.BOLD : r.nextInt(6) == 0 ? Font.ITALIC : Font.PLAIN;
        int size = 18 + r.nextInt(27);
        Font font = new Font(family, style, size);
        String s;
        do {
            s = chinese ? hanzi(r) : text(r);
        } while (font.canDisplayUpTo(s) != -1);
        BufferedImage probe = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB);
        Graphics2D pg = probe.createGraphics();
        FontMetrics fm = pg.getFontMetrics(font);
        int tw = fm.stringWidth(s), asc = fm.getAscent(), desc = fm.getDescent();
        pg.dispose();
        int mx = 2 + r.nextInt(Math.max(1, size / 3)), top = r.nextInt(Math.max(1, size / 5) + 1), bottom = r.nextInt(Math.max(1, size / 5) + 1);
        int w = tw + 2 * mx, h = asc + desc + top + bottom;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
        Color bg = light(r), bg2 = r.nextInt(4) == 0 ? light(r) : bg;
        g.setPaint(new java.awt.GradientPaint(0, 0, bg, w, h, bg2));
        g.fillRect(0, 0, w, h);
        g.setColor(dark(r));
        g.setFont(font);
        g.drawString(s, mx, top + asc);
        g.dispose();
        double sigma = r.nextDouble() * 14;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int p = img.getRGB(x, y);
                int q = 0;
                for (int c = 16; c >= 0; c -= 8) {
                    int v = (int) Math.round(((p >> c) & 255) + sigma * r.nextGaussian());
                    q = (q << 8) | Math.max(0, Math.min(255, v));
                }
                img.setRGB(x, y, q);
            }
        }
        return img;
    }

    static Color light(Random r) {
        int base = 185 + r.nextInt(71);
        return r.nextInt(3) == 0 ? new Color(clamp(base - r.nextInt(30)), clamp(base - r.nextInt(30)), clamp(base - r.nextInt(30)))
                : new Color(base, base, base);
    }

    static Color dark(Random r) {
        int base = r.nextInt(90);
        return r.nextInt(3) == 0 ? new Color(clamp(base + r.nextInt(60)), clamp(base + r.nextInt(40)), clamp(base + r.nextInt(60)))
                : new Color(base, base, base);
    }

    static int clamp(int v) {
        return Math.max(0, Math.min(255, v));
    }

    static BufferedImage rotate180(BufferedImage src) {
        BufferedImage d = new BufferedImage(src.getWidth(), src.getHeight(), BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < src.getHeight(); y++) {
            for (int x = 0; x < src.getWidth(); x++) {
                d.setRGB(src.getWidth() - 1 - x, src.getHeight() - 1 - y, src.getRGB(x, y));
            }
        }
        return d;
    }

    /** PaddleOCR's resize_norm_img at 3x48x192: height 48, width min(192, ceil(48 w / h)), bilinear; the rest mid-gray (0 after normalization). */
    static BufferedImage preprocess(BufferedImage crop) {
        int rw = (int) Math.min(W, Math.ceil(H * (double) crop.getWidth() / crop.getHeight()));
        BufferedImage img = new BufferedImage(W, H, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setColor(new Color(128, 128, 128));
        g.fillRect(0, 0, W, H);
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
        g.drawImage(crop, 0, 0, rw, H, null);
        g.dispose();
        return img;
    }
}
