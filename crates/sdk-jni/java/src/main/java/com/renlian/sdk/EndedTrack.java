package com.renlian.sdk;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** A confirmed track that ended, with its best shot. */
public final class EndedTrack {
    /** Why a track ended. */
    public enum Reason {
        /** Not matched for longer than the configured max age. */
        LOST,
        /** Tentative and not confirmed in time. */
        UNCONFIRMED,
        /** {@link Tracker#finish()} (end of stream). */
        FINISHED
    }

    /** reason, first ms, last ms, hits, then the best shot. */
    static final int LEN = 4 + BestShot.LEN;

    private final Reason reason;
    private final long firstMs;
    private final long lastMs;
    private final int hits;
    private final BestShot best;

    private EndedTrack(double[] v, int at, byte[] crop) {
        reason = Reason.values()[(int) v[at]];
        firstMs = (long) v[at + 1];
        lastMs = (long) v[at + 2];
        hits = (int) v[at + 3];
        best = new BestShot(v, at + 4, crop);
    }

    /** Unpacks {@code Object[] { double[] ended, byte[][] crops }} from the native side. */
    static List<EndedTrack> listFrom(Object values, Object crops) {
        double[] v = (double[]) values;
        byte[][] c = (byte[][]) crops;
        if (v.length != c.length * LEN) {
            throw new IllegalStateException("native tracker returned " + v.length + " values for " + c.length + " tracks");
        }
        List<EndedTrack> out = new ArrayList<EndedTrack>(c.length);
        for (int i = 0; i < c.length; i++) {
            out.add(new EndedTrack(v, i * LEN, c[i]));
        }
        return Collections.unmodifiableList(out);
    }

    public long getTrack() {
        return best.getTrack();
    }

    public Reason getReason() {
        return reason;
    }

    public long getFirstMs() {
        return firstMs;
    }

    public long getLastMs() {
        return lastMs;
    }

    /** Frames the track was matched in. */
    public int getHits() {
        return hits;
    }

    public BestShot getBest() {
        return best;
    }
}
