//! The JNI boundary: errors and panics become Java exceptions, never unwinding into the
//! JVM (undefined behaviour).

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use jni::objects::{JThrowable, JValue};
use jni::JNIEnv;
use sdk::{ErrorCode, SdkError};

/// The exception every native method throws: `RenlianException(int code, String name,
/// String message)`.
pub const EXCEPTION_CLASS: &str = "com/renlian/sdk/RenlianException";

/// Why a native method failed.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error(transparent)]
    Sdk(#[from] SdkError),
    /// A JNI call failed; when it was a Java exception, that exception is still pending
    /// and is what the caller sees.
    #[error("JNI: {0}")]
    Jni(#[from] jni::errors::Error),
}

impl Failure {
    /// An invalid argument, reported with [`ErrorCode::InvalidArgument`].
    pub fn argument(message: impl Into<String>) -> Failure {
        Failure::Sdk(SdkError::InvalidArgument(message.into()))
    }

    fn code_and_message(&self) -> (ErrorCode, String) {
        match self {
            Failure::Sdk(e) => (e.code(), e.to_string()),
            Failure::Jni(e) => (ErrorCode::Internal, format!("JNI: {e}")),
        }
    }
}

/// Runs a native method's body: its value on success; otherwise `fallback` (ignored by
/// the JVM) with an exception pending.
pub fn guard<'local, T>(
    env: &mut JNIEnv<'local>,
    fallback: T,
    body: impl FnOnce(&mut JNIEnv<'local>) -> Result<T, Failure>,
) -> T {
    match catch_unwind(AssertUnwindSafe(|| body(env))) {
        Ok(Ok(value)) => value,
        Ok(Err(failure)) => {
            // A Java exception raised by a JNI call is more precise than ours.
            if !pending(env) {
                let (code, message) = failure.code_and_message();
                throw(env, code, &message);
            }
            fallback
        }
        Err(panic) => {
            // Whatever was pending when the panic happened is replaced: the call failed
            // for a reason of ours.
            let _ = env.exception_clear();
            let message = format!("panic in the native library: {}", panic_message(&*panic));
            throw(env, ErrorCode::Internal, &message);
            fallback
        }
    }
}

fn pending(env: &JNIEnv<'_>) -> bool {
    // If even the check fails, assume something is pending rather than throw over it.
    env.exception_check().unwrap_or(true)
}

/// Throws `RenlianException(code, name, message)`; a plain `RuntimeException` if that
/// class cannot be made (a build that ships the library without the Java classes).
pub fn throw(env: &mut JNIEnv<'_>, code: ErrorCode, message: &str) {
    if make_and_throw(env, code, message).is_err() {
        let _ = env.exception_clear();
        let _ = env.throw_new(
            "java/lang/RuntimeException",
            format!("{} ({}): {message}", code.name(), code as i32),
        );
    }
}

fn make_and_throw(env: &mut JNIEnv<'_>, code: ErrorCode, message: &str) -> jni::errors::Result<()> {
    let name = env.new_string(code.name())?;
    let text = env.new_string(message)?;
    let exception = env.new_object(
        EXCEPTION_CLASS,
        "(ILjava/lang/String;Ljava/lang/String;)V",
        &[
            JValue::Int(code as i32),
            JValue::Object(&name),
            JValue::Object(&text),
        ],
    )?;
    env.throw(JThrowable::from(exception))
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_owned()
    }
}
