package com.renlian.sdk;

import android.content.ContentResolver;
import android.content.Context;
import android.content.pm.PackageInfo;
import android.content.pm.PackageManager;
import android.content.pm.Signature;
import android.content.pm.SigningInfo;
import android.provider.Settings;

import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * The Android flow on the host JVM: the SDK opened from a stub {@link Context} whose
 * package manager reports the package and certificate the Rust test signed a platform
 * licence for; detect, extract, compare, quality and liveness on the photos, each
 * equal to what the Rust SDK computed (the expected file); another package or another
 * certificate refused with LicenceWrongSubject.
 *
 * <p>Usage: {@code java -Djava.library.path=DIR com.renlian.sdk.FlowTest flow.properties}.
 * Exits 1 on the first failed check, printing it.
 */
public final class FlowTest {
    private static int passed;

    public static void main(String[] args) throws Exception {
        Properties p = new Properties();
        InputStream in = new FileInputStream(args[0]);
        try {
            p.load(in);
        } finally {
            in.close();
        }
        try {
            run(p);
        } catch (Throwable t) {
            System.out.println("FAILED: " + t);
            t.printStackTrace(System.out);
            System.out.println(passed + " passed, 1 failed");
            System.exit(1);
        }
        System.out.println(passed + " passed, 0 failed");
    }

    @SuppressWarnings("deprecation")
    private static void run(Properties p) throws Exception {
        String pkg = p.getProperty("package");
        byte[] cert = Files.readAllBytes(new File(p.getProperty("certificate")).toPath());
        String certSha = p.getProperty("certificateSha256");
        String androidId = p.getProperty("androidId");
        List<String> keys = Arrays.asList(p.getProperty("trustedKey"));
        File models = new File(p.getProperty("modelDir"));
        File work = new File(p.getProperty("workDir"));
        File photos = new File(p.getProperty("photoDir"));
        String liveLicence = read(p.getProperty("licenceLive"));
        String qualityLicence = read(p.getProperty("licenceQuality"));
        Expected expected = new Expected(new File(p.getProperty("expected")));

        TestContext app = new TestContext(pkg, pkg, cert, androidId, new File(work, "files"));

        // The identity, on both paths of the package manager.
        AndroidIdentity modern = AndroidIdentity.read(app, 34);
        AndroidIdentity old = AndroidIdentity.read(app, 27);
        check(pkg.equals(modern.getPackageName()), "package " + modern.getPackageName());
        check(certSha.equals(modern.getCertificateSha256()),
                "certificate digest " + modern.getCertificateSha256() + " != " + certSha);
        check(certSha.equals(old.getCertificateSha256()), "GET_SIGNATURES digest " + old.getCertificateSha256());
        check(androidId.equals(modern.getAndroidId()), "ANDROID_ID " + modern.getAndroidId());
        check(app.flagsSeen.contains(PackageManager.GET_SIGNING_CERTIFICATES)
                && app.flagsSeen.contains(PackageManager.GET_SIGNATURES), "flags asked " + app.flagsSeen);

        FaceSdk live = new FaceSdk(app, new FaceSdk.Config(liveLicence, keys, models).dataDir(new File(work, "live")));
        LicenceInfo info = live.licence();
        check("platform".equals(info.getKind()), "kind " + info.getKind());
        check("ir-liveness-search".equals(info.getSdk()), "sdk " + info.getSdk());
        check(info.getFeatures().equals(Arrays.asList("detect", "ir-liveness", "features", "search")),
                "features " + info.getFeatures());
        check(info.getExpires() != null && info.getDaysLeft() != null, "a platform licence expires");
        check(live.getIdentity().getCertificateSha256().equals(certSha), "identity kept");

        FaceSdk quality = new FaceSdk(app,
                new FaceSdk.Config(qualityLicence, keys, models).dataDir(new File(work, "quality")));

        Map<String, float[]> descriptors = new HashMap<String, float[]>();
        for (String name : p.getProperty("photos").split(",")) {
            Image img = live.decode(Files.readAllBytes(new File(photos, name).toPath()));
            List<Face> faces = live.detect(img);
            check(faces.size() == expected.count(name), name + ": " + faces.size() + " faces");
            Face face = faces.get(0);
            checkEqual(name + " face", face.toValues(), expected.doubles("face", name));

            // The same pixels given as Bitmap ARGB ints find the same faces.
            Image argb = Image.fromArgb(img.getWidth(), img.getHeight(), img.toArgb());
            check(live.detect(argb).equals(faces), name + ": ARGB image detects the same faces");

            Extraction ex = live.extract(img);
            check(ex.getFace().equals(face), name + ": extract's face is detect's first");
            checkEqual(name + " descriptor", ex.getDescriptor(), expected.floats("descriptor", name));
            checkEqual(name + " descriptor of the face", live.descriptor(img, face), ex.getDescriptor());
            descriptors.put(name, ex.getDescriptor());

            checkEqual(name + " liveness", live.liveness(img, face).toValues(), expected.doubles("liveness", name));
            checkEqual(name + " quality", toDoubles(quality.quality(img, face).toValues()),
                    expected.doubles("quality", name));

            // Each licence refuses what it does not grant, naming the code.
            expectCode(RenlianException.FEATURE_NOT_LICENSED, "FeatureNotLicensed", () -> live.quality(img, face));
            expectCode(RenlianException.FEATURE_NOT_LICENSED, "FeatureNotLicensed", () -> quality.descriptor(img, face));
            expectCode(RenlianException.FEATURE_NOT_LICENSED, "FeatureNotLicensed", () -> quality.liveness(img, face));
        }
        for (String[] pair : expected.pairs()) {
            Comparison c = live.compare(descriptors.get(pair[0]), descriptors.get(pair[1]));
            checkEqual("compare " + pair[0] + " " + pair[1], new double[] {c.getDistance(), c.getScore()},
                    expected.doubles("compare", pair[0] + " " + pair[1]));
            // scoreOfDistance is descriptor version 1's table; compare scores version 2,
            // whose score depends on both descriptors of the pair, not on their distance.
            double v1 = live.scoreOfDistance(c.getDistance());
            check(v1 >= 0 && v1 <= 100, "score of distance");
        }
        // The local gallery: enrol two people, search with the third photo, export,
        // remove, import; every hit equal to the Rust gallery's.
        byte[] key = new byte[32];
        Arrays.fill(key, (byte) 7);
        byte[] exportKey = new byte[32];
        Arrays.fill(exportKey, (byte) 9);
        Gallery gallery = live.gallery(key);
        Map<String, Long> faceIds = new HashMap<String, Long>();
        faceIds.put("obama", gallery.add("obama", descriptors.get("obama.jpg"), "Barack", null));
        faceIds.put("biden", gallery.add("biden", descriptors.get("biden.jpg"), null, "staff"));
        List<SearchHit> hits = gallery.search(descriptors.get("obama2.jpg"), 2);
        String[] want = expected.get("search", "obama2.jpg");
        check(hits.size() * 4 == want.length, hits.size() + " hits");
        for (int i = 0; i < hits.size(); i++) {
            SearchHit hit = hits.get(i);
            // Face ids are random per gallery: each hit's is the one add() returned.
            check(hit.getPersonId().equals(want[4 * i]) && hit.getFaceId() == faceIds.get(hit.getPersonId())
                    && hit.getDistance() == Float.parseFloat(want[4 * i + 2])
                    && hit.getScore() == Double.parseDouble(want[4 * i + 3]),
                    "hit " + i + ": " + hit.getPersonId() + " " + hit.getFaceId() + " " + hit.getDistance() + " "
                            + hit.getScore() + ", want " + Arrays.toString(want));
        }
        check(hits.get(0).getPersonId().equals("obama"), "obama found first");
        check(Arrays.equals(gallery.faces("obama"), new long[] {faceIds.get("obama")}), "obama's faces");
        check(gallery.list().equals(Arrays.asList("biden", "obama")), "persons " + gallery.list());
        byte[] exported = gallery.export(exportKey);
        check(gallery.removePerson("biden") == 1, "biden removed");
        check(gallery.list().equals(Arrays.asList("obama")) && gallery.faces("biden") == null, "biden gone");
        long[] imported = gallery.importFaces(exported, exportKey, false);
        check(imported[0] == 2 && imported[1] == 1 && imported[2] == 2, "imported " + Arrays.toString(imported));
        check(gallery.size()[0] == 2 && gallery.size()[1] == 2, "size " + Arrays.toString(gallery.size()));
        gallery.close();
        gallery.close();
        expectCode(RenlianException.GALLERY_KEY, "GalleryKey", () -> live.gallery(exportKey));
        expectCode(RenlianException.INVALID_ARGUMENT, "InvalidArgument", () -> live.gallery(new byte[5]));
        Gallery unlicensed = quality.gallery(key);
        expectCode(RenlianException.FEATURE_NOT_LICENSED, "FeatureNotLicensed",
                () -> unlicensed.add("obama", descriptors.get("obama.jpg"), null, null));
        unlicensed.close();

        expectCode(RenlianException.INVALID_ARGUMENT, "InvalidArgument",
                () -> live.compare(new float[100], descriptors.values().iterator().next()));
        expectCode(RenlianException.IMAGE, "Image", () -> live.decode("not an image".getBytes(StandardCharsets.UTF_8)));
        Image blank = Image.fromRgb(64, 64, new byte[64 * 64 * 3]);
        expectCode(RenlianException.NO_FACE, "NoFace", () -> live.extract(blank));

        // IR and depth liveness on the first photo, from the frames the Rust test wrote.
        String first = expected.firstPhoto();
        Image rgb = live.decode(Files.readAllBytes(new File(photos, first).toPath()));
        Face rgbFace = live.detect(rgb).get(0);
        int w = rgb.getWidth();
        int h = rgb.getHeight();
        byte[] ir = Files.readAllBytes(new File(p.getProperty("irFrame")).toPath());
        checkVerdict("IR liveness", live.irLiveness(rgb, rgbFace, w, h, ir), expected, "ir", first);
        expectCode(RenlianException.INVALID_ARGUMENT, "InvalidArgument",
                () -> live.irLiveness(rgb, rgbFace, w - 1, h, Arrays.copyOf(ir, (w - 1) * h)));
        byte[] depthBytes = Files.readAllBytes(new File(p.getProperty("depthMap")).toPath());
        short[] depthMm = new short[depthBytes.length / 2];
        ByteBuffer.wrap(depthBytes).order(ByteOrder.LITTLE_ENDIAN).asShortBuffer().get(depthMm);
        FaceSdk depth = new FaceSdk(app, new FaceSdk.Config(read(p.getProperty("licenceDepth")), keys, models)
                .dataDir(new File(work, "depth")));
        SensorLiveness flat = depth.depthLiveness(rgb, rgbFace, w, h, depthMm);
        check(!flat.isLive() && !flat.getReasons().isEmpty(), "a flat depth map is refused: " + flat.getReasons());
        checkVerdict("depth liveness", flat, expected, "depth", first);
        expectCode(RenlianException.FEATURE_NOT_LICENSED, "FeatureNotLicensed",
                () -> live.depthLiveness(rgb, rgbFace, w, h, depthMm));
        expectCode(RenlianException.FEATURE_NOT_LICENSED, "FeatureNotLicensed",
                () -> depth.irLiveness(rgb, rgbFace, w, h, ir));
        depth.close();

        // Tracking (the detect SDK has it): one photo as 3 frames 200 ms apart, then the
        // end of the stream; every value equal to the Rust tracker's.
        Image frame = quality.decode(Files.readAllBytes(new File(photos, expected.firstPhoto()).toPath()));
        Tracker tracker = quality.tracker(new TrackerConfig());
        long track = -1;
        for (int i = 0; i < 3; i++) {
            FrameResult r = tracker.feed(frame, 200L * i);
            List<Double> got = new ArrayList<Double>();
            for (TrackedFace t : r.getFaces()) {
                add(got, t.getTrack(), t.isConfirmed() ? 1 : 0);
                add(got, t.getFace().toValues());
                add(got, toDoubles(t.getQuality().toValues()));
                track = t.getTrack();
            }
            check(r.getEnded().isEmpty(), "no track ends while the face stays");
            checkEqual("frame " + i, unbox(got), expected.doubles("frame", String.valueOf(i)));
        }
        BestShot shot = tracker.bestShot(track);
        checkEqual("best shot", values(shot), expected.doubles("bestshot", "stream"));
        check(tracker.bestShot(track + 1000) == null, "no best shot of an unknown track");
        List<EndedTrack> ended = tracker.finish();
        check(ended.size() == 1, ended.size() + " tracks ended");
        EndedTrack end = ended.get(0);
        check(end.getReason() == EndedTrack.Reason.FINISHED, "reason " + end.getReason());
        List<Double> endValues = new ArrayList<Double>();
        add(endValues, end.getReason().ordinal(), end.getFirstMs(), end.getLastMs(), end.getHits());
        add(endValues, values(end.getBest()));
        checkEqual("ended track", unbox(endValues), expected.doubles("ended", "stream"));
        check(sha256(end.getBest().getCrop().getRgb()).equals(expected.get("cropsha", "stream")[0]),
                "best shot crop pixels");
        tracker.close();
        tracker.close();
        try {
            tracker.feed(frame, 1000);
            throw new AssertionError("feed after close did not throw");
        } catch (IllegalStateException e) {
            passed++;
        }
        expectCode(RenlianException.FEATURE_NOT_LICENSED, "FeatureNotLicensed", () -> live.tracker(new TrackerConfig()));
        expectCode(RenlianException.INVALID_ARGUMENT, "InvalidArgument",
                () -> quality.tracker(new TrackerConfig().confirm(0, 1000)));

        // Another app, or this package signed with another certificate: refused.
        TestContext otherPackage = new TestContext("com.evil.gate", "com.evil.gate", cert, androidId,
                new File(work, "evil"));
        expectCode(RenlianException.LICENCE_WRONG_SUBJECT, "LicenceWrongSubject",
                () -> new FaceSdk(otherPackage, new FaceSdk.Config(liveLicence, keys, models)));
        byte[] otherCert = cert.clone();
        otherCert[otherCert.length - 1] ^= 1;
        TestContext otherCertificate = new TestContext(pkg, pkg, otherCert, androidId, new File(work, "resigned"));
        expectCode(RenlianException.LICENCE_WRONG_SUBJECT, "LicenceWrongSubject",
                () -> new FaceSdk(otherCertificate, new FaceSdk.Config(liveLicence, keys, models)));
        // An altered licence is not a wrong subject: it is invalid.
        String altered = liveLicence.replaceFirst("A", "B");
        expectCode(RenlianException.LICENCE_INVALID, "LicenceInvalid",
                () -> new FaceSdk(app, new FaceSdk.Config(altered, keys, models).dataDir(new File(work, "altered"))));

        // The activation request of a device licence, for the Rust side to parse.
        String request = FaceSdk.activationRequest(app, new File(work, "device"), "search", "gate 1");
        Files.write(new File(work, "activation.txt").toPath(), request.getBytes(StandardCharsets.UTF_8));
        expectCode(RenlianException.INVALID_ARGUMENT, "InvalidArgument",
                () -> FaceSdk.activationRequest(app, new File(work, "device"), "no-such-sdk", null));

        // close(): idempotent, and every call after it throws.
        Image img = live.decode(Files.readAllBytes(new File(photos, expected.firstPhoto()).toPath()));
        live.close();
        live.close();
        check(live.isClosed(), "closed");
        try {
            live.detect(img);
            throw new AssertionError("detect after close did not throw");
        } catch (IllegalStateException e) {
            passed++;
        }
        quality.close();
    }

    /** A context whose package manager answers for {@code installed} only. */
    static final class TestContext extends Context {
        final String packageName;
        final List<Integer> flagsSeen = new ArrayList<Integer>();
        private final PackageManager pm;
        private final ContentResolver resolver = new ContentResolver(this) {
        };
        private final File files;

        TestContext(String packageName, final String installed, final byte[] certificate, String androidId, File files) {
            this.packageName = packageName;
            this.files = files;
            Settings.Secure.putString(resolver, Settings.Secure.ANDROID_ID, androidId);
            pm = new PackageManager() {
                @Override
                @SuppressWarnings("deprecation")
                public PackageInfo getPackageInfo(String name, int flags) throws NameNotFoundException {
                    flagsSeen.add(flags);
                    if (!name.equals(installed)) {
                        throw new NameNotFoundException(name);
                    }
                    PackageInfo info = new PackageInfo();
                    info.packageName = name;
                    Signature[] signers = {new Signature(certificate)};
                    // Like the platform: only what the flags ask for is filled in.
                    if ((flags & GET_SIGNING_CERTIFICATES) != 0) {
                        info.signingInfo = new SigningInfo(signers);
                    }
                    if ((flags & GET_SIGNATURES) != 0) {
                        info.signatures = signers;
                    }
                    return info;
                }
            };
        }

        @Override
        public String getPackageName() {
            return packageName;
        }

        @Override
        public PackageManager getPackageManager() {
            return pm;
        }

        @Override
        public ContentResolver getContentResolver() {
            return resolver;
        }

        @Override
        public File getFilesDir() {
            return files;
        }
    }

    /** What the Rust SDK computed: lines of {@code kind key... values...}. */
    static final class Expected {
        private final Map<String, String[]> values = new HashMap<String, String[]>();
        private final List<String[]> pairs = new ArrayList<String[]>();
        private String first;

        Expected(File file) throws IOException {
            for (String line : new String(Files.readAllBytes(file.toPath()), StandardCharsets.UTF_8).split("\n")) {
                if (line.isEmpty()) {
                    continue;
                }
                String[] f = line.split(" ");
                if (f[0].equals("compare")) {
                    pairs.add(new String[] {f[1], f[2]});
                    values.put("compare " + f[1] + " " + f[2], Arrays.copyOfRange(f, 3, f.length));
                } else {
                    if (first == null) {
                        first = f[1];
                    }
                    values.put(f[0] + " " + f[1], Arrays.copyOfRange(f, 2, f.length));
                }
            }
        }

        String[] get(String kind, String key) {
            String[] v = values.get(kind + " " + key);
            if (v == null) {
                throw new AssertionError("nothing expected for " + kind + " " + key);
            }
            return v;
        }

        double[] doubles(String kind, String key) {
            String[] v = get(kind, key);
            double[] out = new double[v.length];
            for (int i = 0; i < v.length; i++) {
                out[i] = Double.parseDouble(v[i]);
            }
            return out;
        }

        float[] floats(String kind, String key) {
            String[] v = get(kind, key);
            float[] out = new float[v.length];
            for (int i = 0; i < v.length; i++) {
                out[i] = Float.parseFloat(v[i]);
            }
            return out;
        }

        int count(String name) {
            return Integer.parseInt(get("count", name)[0]);
        }

        List<String[]> pairs() {
            return pairs;
        }

        String firstPhoto() {
            return first;
        }
    }

    interface Call {
        void run() throws Exception;
    }

    private static void expectCode(int code, String name, Call call) throws Exception {
        try {
            call.run();
        } catch (RenlianException e) {
            check(e.getCode() == code && e.getName().equals(name),
                    "expected " + name + " (" + code + "), got " + e.getName() + " (" + e.getCode() + "): "
                            + e.getMessage());
            return;
        }
        throw new AssertionError("expected " + name + " (" + code + "), the call succeeded");
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
        passed++;
    }

    private static void checkEqual(String what, double[] got, double[] want) {
        check(Arrays.equals(got, want), what + ": got " + Arrays.toString(got) + ", want " + Arrays.toString(want));
    }

    private static void checkEqual(String what, float[] got, float[] want) {
        check(Arrays.equals(got, want), what + ": got " + Arrays.toString(got) + ", want " + Arrays.toString(want));
    }

    private static void checkVerdict(String what, SensorLiveness got, Expected expected, String kind, String photo) {
        String[] want = expected.get(kind, photo);
        check(got.getScore() == Integer.parseInt(want[0]) && got.isLive() == Boolean.parseBoolean(want[1]),
                what + ": score " + got.getScore() + " live " + got.isLive() + ", want " + want[0] + " " + want[1]);
        String reasons = join(got.getReasons());
        String wantReasons = String.join(" ", expected.get(kind + "reasons", photo));
        check(reasons.equals(wantReasons), what + " reasons: " + reasons + ", want " + wantReasons);
    }

    private static String join(List<String> reasons) {
        StringBuilder s = new StringBuilder();
        for (String r : reasons) {
            s.append(s.length() == 0 ? "" : " | ").append(r);
        }
        return s.toString();
    }

    private static double[] values(BestShot b) {
        List<Double> v = new ArrayList<Double>();
        add(v, b.getTrack(), b.getAtMs());
        add(v, b.getFace().toValues());
        add(v, toDoubles(b.getQuality().toValues()));
        add(v, b.getFaceInCrop().toValues());
        add(v, b.getCrop().getWidth(), b.getCrop().getHeight());
        return unbox(v);
    }

    private static void add(List<Double> out, double... values) {
        for (double v : values) {
            out.add(v);
        }
    }

    private static double[] unbox(List<Double> v) {
        double[] out = new double[v.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = v.get(i);
        }
        return out;
    }

    private static String sha256(byte[] data) throws Exception {
        StringBuilder s = new StringBuilder();
        for (byte b : java.security.MessageDigest.getInstance("SHA-256").digest(data)) {
            s.append(String.format("%02x", b & 0xff));
        }
        return s.toString();
    }

    private static double[] toDoubles(int[] v) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = v[i];
        }
        return out;
    }

    private static String read(String path) throws IOException {
        return new String(Files.readAllBytes(new File(path).toPath()), StandardCharsets.UTF_8);
    }
}
