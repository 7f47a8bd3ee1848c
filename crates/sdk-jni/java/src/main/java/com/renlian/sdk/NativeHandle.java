package com.renlian.sdk;

import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A native instance owned by one Java object: calls hold the read lock for their whole
 * native call, {@link #close} takes the write lock, so the instance is never freed under
 * a running call and is freed exactly once.
 */
final class NativeHandle {
    interface Free {
        void free(long handle);
    }

    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final String what;
    private long handle;

    NativeHandle(String what, long handle) {
        this.what = what;
        this.handle = handle;
    }

    /** The handle, with the read lock held: pair with {@link #release()} in a finally. */
    long acquire() {
        lock.readLock().lock();
        if (handle == 0) {
            lock.readLock().unlock();
            throw new IllegalStateException(what + " is closed");
        }
        return handle;
    }

    void release() {
        lock.readLock().unlock();
    }

    boolean isClosed() {
        lock.readLock().lock();
        try {
            return handle == 0;
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Frees the instance once calls in progress end; later calls throw. Idempotent. */
    void close(Free free) {
        lock.writeLock().lock();
        try {
            if (handle != 0) {
                long h = handle;
                handle = 0;
                free.free(h);
            }
        } finally {
            lock.writeLock().unlock();
        }
    }
}
