package com.renlian.sdk;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * The SDK's local gallery ({@link FaceSdk#gallery}): persons and their face descriptors,
 * encrypted at rest in the data directory with the app's 32-byte key, and 1:N search
 * with the API's scores. Enrolling, searching and importing need {@code search};
 * listing, removing and exporting need only an open SDK. One open gallery per data
 * directory at a time. Thread-safe; {@link #close()} is idempotent and any call after it
 * throws {@link IllegalStateException}.
 */
public final class Gallery implements AutoCloseable {
    static {
        System.loadLibrary("renlian_jni");
    }

    private final NativeHandle handle;

    Gallery(long handle) {
        this.handle = new NativeHandle("Gallery", handle);
    }

    /** Adds a face (a descriptor from {@link FaceSdk#descriptor}) to a person, created on its first face; returns the face id. */
    public long add(String personId, float[] descriptor, String name, String tag) throws RenlianException {
        long h = handle.acquire();
        try {
            return nativeAdd(h, personId, descriptor, name, tag);
        } finally {
            handle.release();
        }
    }

    /** The {@code topK} faces nearest to {@code descriptor}, nearest first. */
    public List<SearchHit> search(float[] descriptor, int topK) throws RenlianException {
        long h = handle.acquire();
        Object[] r;
        try {
            r = nativeSearch(h, descriptor, topK);
        } finally {
            handle.release();
        }
        String[] persons = (String[]) r[0];
        long[] ids = (long[]) r[1];
        double[] scores = (double[]) r[2];
        List<SearchHit> hits = new ArrayList<SearchHit>(persons.length);
        for (int i = 0; i < persons.length; i++) {
            hits.add(new SearchHit(persons[i], ids[i], (float) scores[2 * i], scores[2 * i + 1]));
        }
        return Collections.unmodifiableList(hits);
    }

    /** Removes one face (its person goes with its last face). */
    public void removeFace(long faceId) throws RenlianException {
        long h = handle.acquire();
        try {
            nativeRemoveFace(h, faceId);
        } finally {
            handle.release();
        }
    }

    /** Removes a person and its faces; returns how many faces went. */
    public int removePerson(String personId) throws RenlianException {
        long h = handle.acquire();
        try {
            return nativeRemovePerson(h, personId);
        } finally {
            handle.release();
        }
    }

    /** Every person id, in order. */
    public List<String> list() throws RenlianException {
        long h = handle.acquire();
        try {
            return Collections.unmodifiableList(Arrays.asList(nativeList(h)));
        } finally {
            handle.release();
        }
    }

    /** The face ids of a person, or null if the gallery has no such person. */
    public long[] faces(String personId) throws RenlianException {
        long h = handle.acquire();
        try {
            Object[] r = nativePerson(h, personId);
            return r == null ? null : (long[]) r[0];
        } finally {
            handle.release();
        }
    }

    /** Persons and faces held: {@code {persons, faces}}. */
    public long[] size() throws RenlianException {
        long h = handle.acquire();
        try {
            long[] s = nativeStats(h);
            return new long[] {s[0], s[1]};
        } finally {
            handle.release();
        }
    }

    /** Every face sealed under {@code exportKey} (32 bytes), to move the gallery elsewhere. */
    public byte[] export(byte[] exportKey) throws RenlianException {
        long h = handle.acquire();
        try {
            return nativeExport(h, exportKey);
        } finally {
            handle.release();
        }
    }

    /**
     * Reads an export sealed under {@code exportKey}, merged in or replacing the gallery;
     * all or nothing. Returns {@code {faces in the export, faces added, faces after}}.
     */
    public long[] importFaces(byte[] data, byte[] exportKey, boolean replace) throws RenlianException {
        long h = handle.acquire();
        try {
            return nativeImport(h, data, exportKey, replace);
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

    static native long nativeOpen(long sdkHandle, byte[] key) throws RenlianException;

    private static native void nativeClose(long handle);

    private static native long nativeAdd(long handle, String personId, float[] descriptor, String name, String tag)
            throws RenlianException;

    private static native Object[] nativeSearch(long handle, float[] descriptor, int topK) throws RenlianException;

    private static native void nativeRemoveFace(long handle, long faceId) throws RenlianException;

    private static native int nativeRemovePerson(long handle, String personId) throws RenlianException;

    private static native String[] nativeList(long handle) throws RenlianException;

    private static native Object[] nativePerson(long handle, String personId) throws RenlianException;

    private static native long[] nativeStats(long handle) throws RenlianException;

    private static native byte[] nativeExport(long handle, byte[] exportKey) throws RenlianException;

    private static native long[] nativeImport(long handle, byte[] data, byte[] exportKey, boolean replace)
            throws RenlianException;
}
