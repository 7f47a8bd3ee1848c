package com.renlian.sdk;

/**
 * A track's best face so far: the highest quality score, the earliest frame on ties,
 * with the frame cut around it. {@code sdk.descriptor(shot.getCrop(), shot.getFaceInCrop())}
 * describes it.
 */
public final class BestShot {
    /** track, timestamp, face (15), quality (9), face in crop (15), crop width, height. */
    static final int LEN = 2 + Face.LEN + 9 + Face.LEN + 2;

    private final long track;
    private final long atMs;
    private final Face face;
    private final Quality quality;
    private final Face faceInCrop;
    private final Image crop;

    BestShot(double[] v, int at, byte[] cropRgb) {
        track = (long) v[at];
        atMs = (long) v[at + 1];
        face = Face.fromValues(v, at + 2);
        quality = quality(v, at + 2 + Face.LEN);
        faceInCrop = Face.fromValues(v, at + 2 + Face.LEN + 9);
        int w = (int) v[at + LEN - 2];
        int h = (int) v[at + LEN - 1];
        crop = Image.wrap(w, h, cropRgb);
    }

    static Quality quality(double[] v, int at) {
        int[] q = new int[9];
        for (int i = 0; i < 9; i++) {
            q[i] = (int) v[at + i];
        }
        return new Quality(q);
    }

    public long getTrack() {
        return track;
    }

    /** The timestamp of the frame it came from. */
    public long getAtMs() {
        return atMs;
    }

    /** The face in the frame's coordinates. */
    public Face getFace() {
        return face;
    }

    public Quality getQuality() {
        return quality;
    }

    /** The face in the crop's coordinates. */
    public Face getFaceInCrop() {
        return faceInCrop;
    }

    /** The frame around the face (the box grown by 1.6, clipped to the frame). */
    public Image getCrop() {
        return crop;
    }
}
