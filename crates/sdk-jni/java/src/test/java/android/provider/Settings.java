package android.provider;

import android.content.ContentResolver;

import java.util.HashMap;
import java.util.Map;
import java.util.WeakHashMap;

/** Host-JVM stub of the Android class: secure settings kept per resolver in memory. */
public final class Settings {
    private Settings() {
    }

    public static final class Secure {
        public static final String ANDROID_ID = "android_id";

        private static final Map<ContentResolver, Map<String, String>> VALUES =
                new WeakHashMap<ContentResolver, Map<String, String>>();

        private Secure() {
        }

        public static synchronized String getString(ContentResolver resolver, String name) {
            Map<String, String> values = VALUES.get(resolver);
            return values == null ? null : values.get(name);
        }

        public static synchronized boolean putString(ContentResolver resolver, String name, String value) {
            Map<String, String> values = VALUES.get(resolver);
            if (values == null) {
                values = new HashMap<String, String>();
                VALUES.put(resolver, values);
            }
            values.put(name, value);
            return true;
        }
    }
}
