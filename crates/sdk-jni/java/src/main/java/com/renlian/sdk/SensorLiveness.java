package com.renlian.sdk;

import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * The verdict of IR or depth (3D structured-light) liveness ({@link FaceSdk#irLiveness},
 * {@link FaceSdk#depthLiveness}): a score, whether every check passed, and why not.
 */
public final class SensorLiveness {
    private final int score;
    private final boolean live;
    private final List<String> reasons;

    SensorLiveness(String[] f) {
        if (f.length < 2) {
            throw new IllegalStateException("native sensor liveness returned " + f.length + " fields");
        }
        score = Integer.parseInt(f[0]);
        live = Boolean.parseBoolean(f[1]);
        reasons = Collections.unmodifiableList(Arrays.asList(Arrays.copyOfRange(f, 2, f.length)));
    }

    /** 0-100; 50 and above means live (the weakest check decides). */
    public int getScore() {
        return score;
    }

    /** Every check passed. */
    public boolean isLive() {
        return live;
    }

    /** Why the frame was refused, one sentence per failed check; empty when live. */
    public List<String> getReasons() {
        return reasons;
    }
}
