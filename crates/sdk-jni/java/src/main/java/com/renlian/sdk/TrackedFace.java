package com.renlian.sdk;

/** A face of one frame with its track ({@link FrameResult#getFaces()}). */
public final class TrackedFace {
    /** track, confirmed, face (15), quality (9). */
    static final int LEN = 2 + Face.LEN + 9;

    private final long track;
    private final boolean confirmed;
    private final Face face;
    private final Quality quality;

    TrackedFace(double[] v, int at) {
        track = (long) v[at];
        confirmed = v[at + 1] != 0;
        face = Face.fromValues(v, at + 2);
        quality = BestShot.quality(v, at + 2 + Face.LEN);
    }

    public long getTrack() {
        return track;
    }

    /** Seen often enough to count; a tentative track may be a false detection. */
    public boolean isConfirmed() {
        return confirmed;
    }

    public Face getFace() {
        return face;
    }

    public Quality getQuality() {
        return quality;
    }
}
