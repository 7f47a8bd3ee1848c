package com.renlian.sdk;

/**
 * An 8-bit RGB image, rows top to bottom, 3 bytes per pixel. Made by
 * {@link FaceSdk#decode(byte[])} from JPEG, PNG or BMP bytes, or from pixels the app
 * already has ({@link #fromArgb} takes what {@code Bitmap.getPixels} returns).
 * Immutable.
 */
public final class Image {
    final int width;
    final int height;
    final byte[] rgb;

    private Image(int width, int height, byte[] rgb) {
        this.width = width;
        this.height = height;
        this.rgb = rgb;
    }

    /** Packed RGB bytes ({@code width * height * 3}); the array is copied. */
    public static Image fromRgb(int width, int height, byte[] rgb) {
        if (rgb == null) {
            throw new NullPointerException("rgb");
        }
        checkSize(width, height, rgb.length, 3);
        return new Image(width, height, rgb.clone());
    }

    /**
     * ARGB ints, one per pixel ({@code Bitmap.getPixels(pixels, 0, width, 0, 0, width,
     * height)}); alpha is ignored.
     */
    public static Image fromArgb(int width, int height, int[] argb) {
        if (argb == null) {
            throw new NullPointerException("argb");
        }
        checkSize(width, height, argb.length, 1);
        byte[] rgb = new byte[argb.length * 3];
        for (int i = 0; i < argb.length; i++) {
            int p = argb[i];
            rgb[3 * i] = (byte) (p >> 16);
            rgb[3 * i + 1] = (byte) (p >> 8);
            rgb[3 * i + 2] = (byte) p;
        }
        return new Image(width, height, rgb);
    }

    /** Wraps bytes the native library made (not copied: no one else holds them). */
    static Image wrap(int width, int height, byte[] rgb) {
        return new Image(width, height, rgb);
    }

    private static void checkSize(int width, int height, int length, int perPixel) {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("image size " + width + "x" + height + " is not positive");
        }
        if ((long) width * height * perPixel != length) {
            throw new IllegalArgumentException("a " + width + "x" + height + " image needs "
                    + ((long) width * height * perPixel) + " values, got " + length);
        }
    }

    public int getWidth() {
        return width;
    }

    public int getHeight() {
        return height;
    }

    /** A copy of the packed RGB bytes. */
    public byte[] getRgb() {
        return rgb.clone();
    }

    /** The pixels as ARGB ints (alpha 255), for {@code Bitmap.createBitmap}. */
    public int[] toArgb() {
        int[] out = new int[width * height];
        for (int i = 0; i < out.length; i++) {
            out[i] = 0xff000000 | (rgb[3 * i] & 0xff) << 16 | (rgb[3 * i + 1] & 0xff) << 8 | (rgb[3 * i + 2] & 0xff);
        }
        return out;
    }
}
