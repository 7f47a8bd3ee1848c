package com.renlian.sdk;

/** The largest face of an image and its 128-value descriptor ({@link FaceSdk#extract}). */
public final class Extraction {
    private final Face face;
    private final float[] descriptor;

    Extraction(Face face, float[] descriptor) {
        this.face = face;
        this.descriptor = descriptor;
    }

    public Face getFace() {
        return face;
    }

    /** A copy of the descriptor (the server's: it compares with one the API made). */
    public float[] getDescriptor() {
        return descriptor.clone();
    }
}
