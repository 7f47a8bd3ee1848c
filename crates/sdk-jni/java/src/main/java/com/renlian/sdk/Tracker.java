package com.renlian.sdk;

import java.util.List;

/**
 * One video stream's face tracker with best shots ({@link FaceSdk#tracker}): feed it the
 * frames in time order; each face gets a track id, and each confirmed track keeps the
 * crop of its best face. Thread-safe; {@link #close()} is idempotent and any call after
 * it throws {@link IllegalStateException}.
 */
public final class Tracker implements AutoCloseable {
    static {
        System.loadLibrary("renlian_jni");
    }

    private final NativeHandle handle;

    Tracker(long handle) {
        this.handle = new NativeHandle("Tracker", handle);
    }

    /** Detects, scores and tracks the faces of a frame taken at {@code atMs}. Needs {@code tracking}. */
    public FrameResult feed(Image frame, long atMs) throws RenlianException {
        if (frame == null) {
            throw new NullPointerException("frame");
        }
        long h = handle.acquire();
        try {
            return new FrameResult(nativeFeed(h, frame.width, frame.height, frame.rgb, atMs));
        } finally {
            handle.release();
        }
    }

    /** The best shot so far of a live track, or null if the id is not live. */
    public BestShot bestShot(long track) throws RenlianException {
        long h = handle.acquire();
        try {
            Object[] r = nativeBestShot(h, track);
            return r == null ? null : new BestShot((double[]) r[0], 0, (byte[]) r[1]);
        } finally {
            handle.release();
        }
    }

    /** Ends every live track (end of stream); confirmed ones come back with their best shots. */
    public List<EndedTrack> finish() throws RenlianException {
        long h = handle.acquire();
        try {
            Object[] r = nativeFinish(h);
            return EndedTrack.listFrom(r[0], r[1]);
        } finally {
            handle.release();
        }
    }

    public boolean isClosed() {
        return handle.isClosed();
    }

    @Override
    public void close() {
        handle.close(new NativeHandle.Free() {
            @Override
            public void free(long h) {
                nativeClose(h);
            }
        });
    }

    static native double[] nativeDefaults();

    static native long nativeOpen(long sdkHandle, double[] config) throws RenlianException;

    private static native void nativeClose(long handle);

    private static native Object[] nativeFeed(long handle, int width, int height, byte[] rgb, long atMs)
            throws RenlianException;

    private static native Object[] nativeBestShot(long handle, long track) throws RenlianException;

    private static native Object[] nativeFinish(long handle) throws RenlianException;
}
