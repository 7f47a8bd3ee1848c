package android.content;

import android.content.pm.PackageManager;

import java.io.File;

/** Host-JVM stub of the Android class: the methods the SDK calls, with their real signatures. */
public abstract class Context {
    public abstract String getPackageName();

    public abstract PackageManager getPackageManager();

    public abstract ContentResolver getContentResolver();

    public abstract File getFilesDir();
}
