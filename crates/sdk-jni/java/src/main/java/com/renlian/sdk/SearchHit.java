package com.renlian.sdk;

/** A face found by {@link Gallery#search}. */
public final class SearchHit {
    private final String personId;
    private final long faceId;
    private final float distance;
    private final double score;

    SearchHit(String personId, long faceId, float distance, double score) {
        this.personId = personId;
        this.faceId = faceId;
        this.distance = distance;
        this.score = score;
    }

    public String getPersonId() {
        return personId;
    }

    public long getFaceId() {
        return faceId;
    }

    /** Euclidean distance between the descriptors. */
    public float getDistance() {
        return distance;
    }

    /** The API's score for that distance (0-100; 50 and above: the same person). */
    public double getScore() {
        return score;
    }
}
