package com.renlian.sdk;

/** Distance and score between two descriptors ({@link FaceSdk#compare}). */
public final class Comparison {
    /** Scores at and above this mean the same person (the API's scale). */
    public static final double SAME_PERSON_SCORE = 50.0;

    private final double distance;
    private final double score;

    Comparison(double[] values) {
        if (values.length != 2) {
            throw new IllegalStateException("native compare returned " + values.length + " values");
        }
        this.distance = values[0];
        this.score = values[1];
    }

    /** Euclidean distance between the descriptors. */
    public double getDistance() {
        return distance;
    }

    /** 0-100, the API's scale. */
    public double getScore() {
        return score;
    }

    public boolean isSamePerson() {
        return score >= SAME_PERSON_SCORE;
    }
}
