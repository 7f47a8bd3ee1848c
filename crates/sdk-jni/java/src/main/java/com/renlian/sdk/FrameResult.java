package com.renlian.sdk;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** What one frame gave a {@link Tracker}. */
public final class FrameResult {
    private final List<TrackedFace> faces;
    private final List<EndedTrack> ended;

    FrameResult(Object[] r) {
        double[] f = (double[]) r[0];
        if (f.length % TrackedFace.LEN != 0) {
            throw new IllegalStateException("native tracker returned " + f.length + " face values");
        }
        List<TrackedFace> list = new ArrayList<TrackedFace>(f.length / TrackedFace.LEN);
        for (int i = 0; i < f.length; i += TrackedFace.LEN) {
            list.add(new TrackedFace(f, i));
        }
        faces = Collections.unmodifiableList(list);
        ended = EndedTrack.listFrom(r[1], r[2]);
    }

    /** Every face of the frame, largest first, with its track. */
    public List<TrackedFace> getFaces() {
        return faces;
    }

    /** Confirmed tracks that ended at this frame. */
    public List<EndedTrack> getEnded() {
        return ended;
    }
}
