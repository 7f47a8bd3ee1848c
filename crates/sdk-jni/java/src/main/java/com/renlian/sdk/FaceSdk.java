package com.renlian.sdk;

import android.content.Context;

import java.io.File;
import java.util.List;

/**
 * The offline face SDK: detection, quality, descriptors, comparison and liveness on this
 * device, with no network, switched on feature by feature by a licence verified here.
 *
 * <p>Open one per app (it loads the models: seconds) and share it between threads; every
 * method is thread-safe. {@link #close()} frees the native instance; it is idempotent, it
 * waits for calls in progress, and any call after it throws
 * {@link IllegalStateException}. Failures throw {@link RenlianException} with the SDK's
 * stable error code.
 */
public final class FaceSdk implements AutoCloseable {
    static {
        System.loadLibrary("renlian_jni");
    }

    /** How to open the SDK. */
    public static final class Config {
        final String licence;
        final String[] trustedKeys;
        final File modelDir;
        File dataDir;
        String revocationList;

        /**
         * @param licence the licence file's text ({@code -----BEGIN RENLIAN LICENCE-----} ...)
         * @param trustedKeys the issuer public keys this app trusts, 64 hex digits each
         * @param modelDir the directory {@code renlian models export} wrote, unpacked on the
         *     device (e.g. from the APK's assets into {@code getFilesDir()})
         */
        public Config(String licence, List<String> trustedKeys, File modelDir) {
            if (licence == null || trustedKeys == null || modelDir == null) {
                throw new NullPointerException("licence, trustedKeys and modelDir are required");
            }
            this.licence = licence;
            this.trustedKeys = trustedKeys.toArray(new String[0]);
            this.modelDir = modelDir;
        }

        /**
         * The SDK's own directory (licence state, device key, gallery); default
         * {@code <filesDir>/renlian}. Keep it across launches: the licence's clock guard
         * and the device key live there.
         */
        public Config dataDir(File dir) {
            this.dataDir = dir;
            return this;
        }

        /** A newer signed revocation list to accept before the licence is checked. */
        public Config revocationList(String list) {
            this.revocationList = list;
            return this;
        }
    }

    private final AndroidIdentity identity;
    private final NativeHandle handle;

    /**
     * Opens the SDK for the running app: reads its package name, signing certificate and
     * ANDROID_ID from {@code context} ({@link AndroidIdentity}), verifies the licence
     * against them offline and loads the models the licence switches on.
     *
     * @throws RenlianException {@code LicenceWrongSubject} (4) when the licence is for
     *     another app or certificate (platform) or another device; {@code LicenceExpired},
     *     {@code LicenceInvalid}, {@code Model}, {@code Storage} otherwise
     */
    public FaceSdk(Context context, Config config) throws RenlianException {
        this(AndroidIdentity.read(context), config, defaultDataDir(context, config));
    }

    private FaceSdk(AndroidIdentity identity, Config config, File dataDir) throws RenlianException {
        this.identity = identity;
        this.handle = new NativeHandle("FaceSdk", nativeOpen(config.licence, config.trustedKeys, config.modelDir.getPath(),
                dataDir.getPath(), identity.getAndroidId(), identity.getPackageName(),
                identity.getCertificateSha256(), config.revocationList));
    }

    private static File defaultDataDir(Context context, Config config) {
        if (config.dataDir != null) {
            return config.dataDir;
        }
        return new File(context.getFilesDir(), "renlian");
    }

    /**
     * The activation request to send for a device licence (the first step of a device's
     * licence lifecycle, before any licence exists): the device's fingerprint from
     * ANDROID_ID and the device key, which is created in {@code dataDir} on first use.
     * Open the SDK later with the same {@code dataDir}.
     *
     * @param sdk the product, e.g. {@code "search"} or {@code "ir-liveness-search"}
     * @param label how the account tells its devices apart, or null
     */
    public static String activationRequest(Context context, File dataDir, String sdk, String label)
            throws RenlianException {
        AndroidIdentity id = AndroidIdentity.read(context);
        File dir = dataDir != null ? dataDir : new File(context.getFilesDir(), "renlian");
        return nativeActivationRequest(dir.getPath(), id.getAndroidId(), id.getPackageName(),
                id.getCertificateSha256(), sdk, label);
    }

    /** What the SDK was opened with (for support: the certificate digest to order a licence for). */
    public AndroidIdentity getIdentity() {
        return identity;
    }

    private long acquire() {
        return handle.acquire();
    }

    private void release() {
        handle.release();
    }

    /** Decodes JPEG, PNG or BMP bytes within the SDK's image limits (no licence feature needed). */
    public Image decode(byte[] encoded) throws RenlianException {
        long h = acquire();
        try {
            int[] size = new int[2];
            byte[] rgb = nativeDecode(h, encoded, size);
            return Image.wrap(size[0], size[1], rgb);
        } finally {
            release();
        }
    }

    /** Faces in the image, largest first. Needs the {@code detect} feature. */
    public List<Face> detect(Image image) throws RenlianException {
        checkImage(image);
        long h = acquire();
        try {
            return Face.listFromValues(nativeDetect(h, image.width, image.height, image.rgb));
        } finally {
            release();
        }
    }

    /** The server's quality score of {@code face}. Needs {@code quality}. */
    public Quality quality(Image image, Face face) throws RenlianException {
        checkImage(image);
        checkFace(face);
        long h = acquire();
        try {
            return new Quality(nativeQuality(h, image.width, image.height, image.rgb, face.values));
        } finally {
            release();
        }
    }

    /** The 128-value descriptor of {@code face}, the server's. Needs {@code features}. */
    public float[] descriptor(Image image, Face face) throws RenlianException {
        checkImage(image);
        checkFace(face);
        long h = acquire();
        try {
            return nativeDescriptor(h, image.width, image.height, image.rgb, face.values);
        } finally {
            release();
        }
    }

    /**
     * The largest face and its descriptor. Needs {@code detect} and {@code features};
     * {@code NoFace} (8) when there is none.
     */
    public Extraction extract(Image image) throws RenlianException {
        checkImage(image);
        long h = acquire();
        double[] v;
        try {
            v = nativeExtract(h, image.width, image.height, image.rgb);
        } finally {
            release();
        }
        float[] descriptor = new float[v.length - Face.LEN];
        for (int i = 0; i < descriptor.length; i++) {
            descriptor[i] = (float) v[Face.LEN + i];
        }
        return new Extraction(Face.fromValues(v, 0), descriptor);
    }

    /** Distance and score (0-100; 50 and above: the same person). Needs {@code features}. */
    public Comparison compare(float[] a, float[] b) throws RenlianException {
        long h = acquire();
        try {
            return new Comparison(nativeCompare(h, a, b));
        } finally {
            release();
        }
    }

    /**
     * The score (0-100) descriptor version 1's table gives a distance: right for a pair of
     * version-1 descriptors only. Descriptors made now are version 2, whose score depends on
     * both descriptors of a pair: use {@link #compare}.
     */
    public double scoreOfDistance(double distance) throws RenlianException {
        long h = acquire();
        try {
            return nativeScoreOfDistance(h, distance);
        } finally {
            release();
        }
    }

    /**
     * Static single-frame RGB liveness of {@code face}, the server's. Needs
     * {@code ir-liveness} or {@code 3d-liveness}.
     */
    public Liveness liveness(Image image, Face face) throws RenlianException {
        checkImage(image);
        checkFace(face);
        long h = acquire();
        try {
            return new Liveness(nativeLiveness(h, image.width, image.height, image.rgb, face.values));
        } finally {
            release();
        }
    }

    /**
     * Infrared liveness of {@code face} (found in {@code image}) from the IR frame taken
     * with it: 8-bit grey, {@code irWidth * irHeight} bytes, registered pixel for pixel
     * to the RGB frame (same size). Needs {@code ir-liveness}.
     */
    public SensorLiveness irLiveness(Image image, Face face, int irWidth, int irHeight, byte[] ir)
            throws RenlianException {
        checkImage(image);
        checkFace(face);
        long h = acquire();
        try {
            return new SensorLiveness(nativeIrLiveness(h, image.width, image.height, image.rgb, face.values,
                    irWidth, irHeight, ir));
        } finally {
            release();
        }
    }

    /**
     * 3D structured-light liveness of {@code face} from the depth map taken with it:
     * millimetres as unsigned 16-bit values (0 = no reading), registered to the RGB frame
     * (same size). From Android's DEPTH16 format, keep the low 13 bits
     * ({@code sample & 0x1FFF}). Needs {@code 3d-liveness}.
     */
    public SensorLiveness depthLiveness(Image image, Face face, int depthWidth, int depthHeight,
            short[] depthMm) throws RenlianException {
        checkImage(image);
        checkFace(face);
        long h = acquire();
        try {
            return new SensorLiveness(nativeDepthLiveness(h, image.width, image.height, image.rgb, face.values,
                    depthWidth, depthHeight, depthMm));
        } finally {
            release();
        }
    }

    /** The licence in force, re-checked (an expired licence throws {@code LicenceExpired}). */
    public LicenceInfo licence() throws RenlianException {
        long h = acquire();
        try {
            return new LicenceInfo(nativeLicence(h));
        } finally {
            release();
        }
    }

    /**
     * Accepts a newer signed revocation list (shipped with an app update); the licence is
     * checked against it on the next call. Returns whether it was newer than the one kept.
     */
    public boolean acceptRevocationList(String list) throws RenlianException {
        long h = acquire();
        try {
            return nativeAcceptRevocationList(h, list);
        } finally {
            release();
        }
    }

    /**
     * A tracker for one video stream (one per camera; frames in time order). Needs
     * {@code tracking}. It keeps its own reference to the SDK's native instance: close it
     * when the stream ends.
     */
    public Tracker tracker(TrackerConfig config) throws RenlianException {
        if (config == null) {
            throw new NullPointerException("config");
        }
        long h = acquire();
        try {
            return new Tracker(Tracker.nativeOpen(h, config.toValues()));
        } finally {
            release();
        }
    }

    /**
     * Opens (or creates) the local gallery in the data directory, encrypted with the
     * app's 32-byte {@code key} (keep it in the Android Keystore). A wrong key throws
     * {@code GalleryKey} (10).
     */
    public Gallery gallery(byte[] key) throws RenlianException {
        long h = acquire();
        try {
            return new Gallery(Gallery.nativeOpen(h, key));
        } finally {
            release();
        }
    }

    /** Whether {@link #close()} was called. */
    public boolean isClosed() {
        return handle.isClosed();
    }

    /** Frees the native instance once calls in progress end; later calls throw. Idempotent. */
    @Override
    public void close() {
        handle.close(new NativeHandle.Free() {
            @Override
            public void free(long h) {
                nativeClose(h);
            }
        });
    }

    private static void checkImage(Image image) {
        if (image == null) {
            throw new NullPointerException("image");
        }
    }

    private static void checkFace(Face face) {
        if (face == null) {
            throw new NullPointerException("face");
        }
    }

    private static native long nativeOpen(String licence, String[] trustedKeys, String modelDir,
            String dataDir, String androidId, String packageName, String certificateSha256,
            String revocationList) throws RenlianException;

    private static native void nativeClose(long handle);

    private static native String nativeActivationRequest(String dataDir, String androidId,
            String packageName, String certificateSha256, String sdk, String label) throws RenlianException;

    private static native byte[] nativeDecode(long handle, byte[] encoded, int[] sizeOut) throws RenlianException;

    private static native double[] nativeDetect(long handle, int width, int height, byte[] rgb)
            throws RenlianException;

    private static native int[] nativeQuality(long handle, int width, int height, byte[] rgb, double[] face)
            throws RenlianException;

    private static native float[] nativeDescriptor(long handle, int width, int height, byte[] rgb,
            double[] face) throws RenlianException;

    private static native double[] nativeExtract(long handle, int width, int height, byte[] rgb)
            throws RenlianException;

    private static native double[] nativeCompare(long handle, float[] a, float[] b) throws RenlianException;

    private static native double nativeScoreOfDistance(long handle, double distance) throws RenlianException;

    private static native double[] nativeLiveness(long handle, int width, int height, byte[] rgb,
            double[] face) throws RenlianException;

    private static native String[] nativeIrLiveness(long handle, int width, int height, byte[] rgb,
            double[] face, int irWidth, int irHeight, byte[] ir) throws RenlianException;

    private static native String[] nativeDepthLiveness(long handle, int width, int height, byte[] rgb,
            double[] face, int depthWidth, int depthHeight, short[] depthMm) throws RenlianException;

    private static native String[] nativeLicence(long handle) throws RenlianException;

    private static native boolean nativeAcceptRevocationList(long handle, String list) throws RenlianException;
}
