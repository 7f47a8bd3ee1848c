package com.renlian.sdk;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * One detected face: its box (inclusive edges, may reach outside the image), the
 * detector's confidence and dlib's 5 landmarks. Pass it back to the calls that work on a
 * face ({@link FaceSdk#quality}, {@link FaceSdk#descriptor}, {@link FaceSdk#liveness}).
 * Immutable.
 */
public final class Face {
    /** left, top, right, bottom, confidence, then x, y of the 5 landmarks. */
    static final int LEN = 15;

    final double[] values;

    private Face(double[] values) {
        this.values = values;
    }

    static Face fromValues(double[] all, int offset) {
        return new Face(Arrays.copyOfRange(all, offset, offset + LEN));
    }

    static List<Face> listFromValues(double[] all) {
        if (all.length % LEN != 0) {
            throw new IllegalStateException("native detect returned " + all.length + " values");
        }
        List<Face> faces = new ArrayList<Face>(all.length / LEN);
        for (int i = 0; i < all.length; i += LEN) {
            faces.add(fromValues(all, i));
        }
        return Collections.unmodifiableList(faces);
    }

    public int getLeft() {
        return (int) values[0];
    }

    public int getTop() {
        return (int) values[1];
    }

    /** The rightmost column (inclusive). */
    public int getRight() {
        return (int) values[2];
    }

    /** The bottom row (inclusive). */
    public int getBottom() {
        return (int) values[3];
    }

    public int getWidth() {
        return getRight() - getLeft() + 1;
    }

    public int getHeight() {
        return getBottom() - getTop() + 1;
    }

    /** The detector's score (above 0 for every reported face). */
    public float getConfidence() {
        return (float) values[4];
    }

    /**
     * The 5 landmarks as x0, y0, ... x4, y4: outer and inner corner of the right eye, then
     * of the left eye, then the base of the nose.
     */
    public int[] getLandmarks() {
        int[] out = new int[10];
        for (int i = 0; i < 10; i++) {
            out[i] = (int) values[5 + i];
        }
        return out;
    }

    /** The values in the native layout (for tests and logs). */
    public double[] toValues() {
        return values.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Face && Arrays.equals(values, ((Face) o).values);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(values);
    }

    @Override
    public String toString() {
        return "Face[" + getLeft() + "," + getTop() + " - " + getRight() + "," + getBottom()
                + " confidence " + getConfidence() + "]";
    }
}
