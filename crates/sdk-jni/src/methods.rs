//! The native methods of `com.renlian.sdk.FaceSdk` (all `private static native`, named
//! `native…`). Each one is a thin call into `sdk` inside [`guard`].

use std::path::PathBuf;

use jni::objects::{
    JByteArray, JClass, JDoubleArray, JFloatArray, JIntArray, JObject, JObjectArray, JShortArray,
    JString,
};
use jni::sys::{
    jboolean, jbyteArray, jdouble, jdoubleArray, jfloatArray, jint, jintArray, jlong, jobjectArray,
    jstring, JNI_FALSE, JNI_TRUE,
};
use jni::JNIEnv;
use licensing::RevocationUpdate;
use sdk::{AppIdentity, FaceSdk, Identity, SdkConfig};

use crate::boundary::{guard, Failure};
use crate::convert::{self, FACE_LEN};

/// The SDK behind a handle from [`Java_com_renlian_sdk_FaceSdk_nativeOpen`].
fn sdk_of<'a>(handle: jlong) -> Result<&'a FaceSdk, Failure> {
    if handle == 0 {
        return Err(Failure::argument("the SDK is closed"));
    }
    // SAFETY: a non-zero handle is the pointer nativeOpen leaked from a Box, and the Java
    // object passes it only while it holds its read lock; nativeClose runs under the
    // write lock and the handle is zeroed before the lock is released, so the box lives
    // for the whole call.
    Ok(unsafe { &*(handle as *const FaceSdk) })
}

/// The app and device as the Java side read them from the `Context`.
fn android_identity(
    android_id: Option<String>,
    package: Option<String>,
    certificate_sha256: Option<String>,
) -> Identity {
    Identity::Android {
        android_id,
        // Build.getSerial() needs a privileged permission since Android 10: not read.
        serial: None,
        app: package.map(|package| AppIdentity {
            package,
            certificate_sha256,
        }),
    }
}

fn double_array<'local>(env: &mut JNIEnv<'local>, values: &[f64]) -> Result<jdoubleArray, Failure> {
    let len = i32::try_from(values.len()).map_err(|_| Failure::argument("result too large"))?;
    let array = env.new_double_array(len)?;
    env.set_double_array_region(&array, 0, values)?;
    Ok(array.into_raw())
}

fn string_array<'local>(
    env: &mut JNIEnv<'local>,
    values: &[String],
) -> Result<jobjectArray, Failure> {
    let len = i32::try_from(values.len()).map_err(|_| Failure::argument("result too large"))?;
    let array = env.new_object_array(len, "java/lang/String", JObject::null())?;
    for (i, value) in (0..len).zip(values) {
        let s = env.new_string(value)?;
        env.set_object_array_element(&array, i, &s)?;
        env.delete_local_ref(s)?;
    }
    Ok(array.into_raw())
}

#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_com_renlian_sdk_FaceSdk_nativeOpen<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    licence: JString<'local>,
    trusted_keys: JObjectArray<'local>,
    model_dir: JString<'local>,
    data_dir: JString<'local>,
    android_id: JString<'local>,
    package: JString<'local>,
    certificate_sha256: JString<'local>,
    revocation_list: JString<'local>,
) -> jlong {
    guard(&mut env, 0, |env| {
        let mut config = SdkConfig::new(
            convert::string(env, &licence, "licence")?,
            convert::strings(env, &trusted_keys, "trusted keys")?,
            PathBuf::from(convert::string(env, &model_dir, "model directory")?),
            PathBuf::from(convert::string(env, &data_dir, "data directory")?),
            android_identity(
                convert::optional_string(env, &android_id)?,
                convert::optional_string(env, &package)?,
                convert::optional_string(env, &certificate_sha256)?,
            ),
        );
        config.revocation_list = convert::optional_string(env, &revocation_list)?;
        let sdk = FaceSdk::open(config)?;
        Ok(Box::into_raw(Box::new(sdk)) as jlong)
    })
}

#[no_mangle]
pub extern "system" fn Java_com_renlian_sdk_FaceSdk_nativeClose<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) {
    guard(&mut env, (), |_| {
        if handle != 0 {
            // SAFETY: the handle came from nativeOpen's Box::into_raw; the Java object
            // calls this once, under its write lock, and zeroes its handle.
            drop(unsafe { Box::from_raw(handle as *mut FaceSdk) });
        }
        Ok(())
    })
}

#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_com_renlian_sdk_FaceSdk_nativeActivationRequest<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    data_dir: JString<'local>,
    android_id: JString<'local>,
    package: JString<'local>,
    certificate_sha256: JString<'local>,
    product: JString<'local>,
    label: JString<'local>,
) -> jstring {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let data_dir = PathBuf::from(convert::string(env, &data_dir, "data directory")?);
        let identity = android_identity(
            convert::optional_string(env, &android_id)?,
            convert::optional_string(env, &package)?,
            convert::optional_string(env, &certificate_sha256)?,
        );
        let product: sdk::Sdk = convert::string(env, &product, "sdk")?
            .parse()
            .map_err(|e| Failure::argument(format!("{e}")))?;
        let label = convert::optional_string(env, &label)?;
        let text = sdk::activation_request(&data_dir, &identity, product, label)?;
        Ok(env.new_string(text)?.into_raw())
    })
}

#[no_mangle]
pub extern "system" fn Java_com_renlian_sdk_FaceSdk_nativeDecode<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    encoded: JByteArray<'local>,
    size_out: JIntArray<'local>,
) -> jbyteArray {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let sdk = sdk_of(handle)?;
        let bytes = convert::bytes(env, &encoded, "image bytes")?;
        let img = sdk.decode(&bytes)?;
        let size = [img.width(), img.height()].map(|v| i32::try_from(v).unwrap_or(i32::MAX));
        if size_out.is_null() || env.get_array_length(&size_out)? < 2 {
            return Err(Failure::argument("the size array must hold 2 ints"));
        }
        env.set_int_array_region(&size_out, 0, &size)?;
        Ok(env.byte_array_from_slice(img.as_raw())?.into_raw())
    })
}

#[no_mangle]
pub extern "system" fn Java_com_renlian_sdk_FaceSdk_nativeDetect<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    width: jint,
    height: jint,
    rgb: JByteArray<'local>,
) -> jdoubleArray {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let sdk = sdk_of(handle)?;
        let img = convert::image(env, width, height, &rgb)?;
        let faces = sdk.detect(&img)?;
        let mut values = Vec::with_capacity(faces.len() * FACE_LEN);
        for face in &faces {
            values.extend_from_slice(&convert::face_values(face)?);
        }
        double_array(env, &values)
    })
}

#[no_mangle]
pub extern "system" fn Java_com_renlian_sdk_FaceSdk_nativeQuality<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    width: jint,
    height: jint,
    rgb: JByteArray<'local>,
    face: JDoubleArray<'local>,
) -> jintArray {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let sdk = sdk_of(handle)?;
        let img = convert::image(env, width, height, &rgb)?;
        let face = convert::face_from_values(&convert::doubles(env, &face, "face")?)?;
        let values = convert::quality_values(&sdk.quality(&img, &face)?);
        let array = env.new_int_array(values.len() as i32)?;
        env.set_int_array_region(&array, 0, &values)?;
        Ok(array.into_raw())
    })
}

#[no_mangle]
pub extern "system" fn Java_com_renlian_sdk_FaceSdk_nativeDescriptor<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    width: jint,
    height: jint,
    rgb: JByteArray<'local>,
    face: JDoubleArray<'local>,
) -> jfloatArray {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let sdk = sdk_of(handle)?;
        let img = convert::image(env, width, height, &rgb)?;
        let face = convert::face_from_values(&convert::doubles(env, &face, "face")?)?;
        let descriptor = sdk.descriptor(&img, &face)?;
        let array = env.new_float_array(descriptor.0.len() as i32)?;
        env.set_float_array_region(&array, 0, &descriptor.0)?;
        Ok(array.into_raw())
    })
}

/// The largest face and its descriptor: the face's values, then the descriptor's.
#[no_mangle]
pub extern "system" fn Java_com_renlian_sdk_FaceSdk_nativeExtract<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    width: jint,
    height: jint,
    rgb: JByteArray<'local>,
) -> jdoubleArray {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let sdk = sdk_of(handle)?;
        let img = convert::image(env, width, height, &rgb)?;
        let (face, descriptor) = sdk.extract(&img)?;
        let mut values = convert::face_values(&face)?.to_vec();
        values.extend(descriptor.0.iter().map(|v| f64::from(*v)));
        double_array(env, &values)
    })
}

#[no_mangle]
pub extern "system" fn Java_com_renlian_sdk_FaceSdk_nativeCompare<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    a: JFloatArray<'local>,
    b: JFloatArray<'local>,
) -> jdoubleArray {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let sdk = sdk_of(handle)?;
        let a = convert::floats(env, &a, "descriptor a")?;
        let b = convert::floats(env, &b, "descriptor b")?;
        let comparison = sdk.compare(&a, &b)?;
        double_array(env, &convert::comparison_values(&comparison))
    })
}

#[no_mangle]
pub extern "system" fn Java_com_renlian_sdk_FaceSdk_nativeScoreOfDistance<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    distance: jdouble,
) -> jdouble {
    guard(&mut env, 0.0, |_| {
        Ok(sdk_of(handle)?.score_of_distance(distance))
    })
}

#[no_mangle]
pub extern "system" fn Java_com_renlian_sdk_FaceSdk_nativeLiveness<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    width: jint,
    height: jint,
    rgb: JByteArray<'local>,
    face: JDoubleArray<'local>,
) -> jdoubleArray {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let sdk = sdk_of(handle)?;
        let img = convert::image(env, width, height, &rgb)?;
        let face = convert::face_from_values(&convert::doubles(env, &face, "face")?)?;
        let liveness = sdk.liveness(&img, &face)?;
        double_array(env, &convert::liveness_values(&liveness))
    })
}

#[no_mangle]
pub extern "system" fn Java_com_renlian_sdk_FaceSdk_nativeLicence<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jobjectArray {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let info = sdk_of(handle)?.licence()?;
        string_array(env, &convert::licence_fields(&info))
    })
}

#[no_mangle]
pub extern "system" fn Java_com_renlian_sdk_FaceSdk_nativeAcceptRevocationList<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    list: JString<'local>,
) -> jboolean {
    guard(&mut env, JNI_FALSE, |env| {
        let sdk = sdk_of(handle)?;
        let list = convert::string(env, &list, "revocation list")?;
        Ok(match sdk.accept_revocation_list(&list)? {
            RevocationUpdate::Updated { .. } => JNI_TRUE,
            RevocationUpdate::Unchanged { .. } => JNI_FALSE,
        })
    })
}

/// A sensor liveness verdict as strings: score (0-100), `true` / `false` (live), then
/// the reasons it was refused.
fn verdict<'local>(
    env: &mut JNIEnv<'local>,
    score: u8,
    live: bool,
    reasons: impl IntoIterator<Item = String>,
) -> Result<jobjectArray, Failure> {
    let mut fields = vec![score.to_string(), live.to_string()];
    fields.extend(reasons);
    string_array(env, &fields)
}

fn sensor_size(width: jint, height: jint, len: usize, what: &str) -> Result<(u32, u32), Failure> {
    match (u32::try_from(width), u32::try_from(height)) {
        (Ok(w), Ok(h)) if w > 0 && h > 0 && u64::from(w) * u64::from(h) == len as u64 => Ok((w, h)),
        _ => Err(Failure::argument(format!(
            "a {width}x{height} {what} does not hold {len} pixels"
        ))),
    }
}

#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_com_renlian_sdk_FaceSdk_nativeIrLiveness<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    width: jint,
    height: jint,
    rgb: JByteArray<'local>,
    face: JDoubleArray<'local>,
    ir_width: jint,
    ir_height: jint,
    ir: JByteArray<'local>,
) -> jobjectArray {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let sdk = sdk_of(handle)?;
        let img = convert::image(env, width, height, &rgb)?;
        let face = convert::face_from_values(&convert::doubles(env, &face, "face")?)?;
        let pixels = convert::bytes(env, &ir, "IR frame")?;
        let (w, h) = sensor_size(ir_width, ir_height, pixels.len(), "IR frame")?;
        let ir = image::GrayImage::from_raw(w, h, pixels)
            .ok_or_else(|| Failure::argument("IR frame size"))?;
        let v = sdk.ir_liveness(&img, &face, &ir)?;
        verdict(
            env,
            v.score,
            v.is_live,
            v.reasons.iter().map(|r| r.to_string()),
        )
    })
}

#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_com_renlian_sdk_FaceSdk_nativeDepthLiveness<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    width: jint,
    height: jint,
    rgb: JByteArray<'local>,
    face: JDoubleArray<'local>,
    depth_width: jint,
    depth_height: jint,
    depth_mm: JShortArray<'local>,
) -> jobjectArray {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let sdk = sdk_of(handle)?;
        let img = convert::image(env, width, height, &rgb)?;
        let face = convert::face_from_values(&convert::doubles(env, &face, "face")?)?;
        if depth_mm.is_null() {
            return Err(Failure::argument("depth map is null"));
        }
        let n = usize::try_from(env.get_array_length(&depth_mm)?).unwrap_or(0);
        let mut raw = vec![0i16; n];
        env.get_short_array_region(&depth_mm, 0, &mut raw)?;
        let (w, h) = sensor_size(depth_width, depth_height, n, "depth map")?;
        // Java has no unsigned short: the same 16 bits, read as millimetres 0-65535.
        let mm: Vec<u16> = raw.into_iter().map(|v| v as u16).collect();
        let depth =
            sdk::DepthMap::from_raw(w, h, mm).ok_or_else(|| Failure::argument("depth map size"))?;
        let v = sdk.depth_liveness(&img, &face, &depth)?;
        verdict(
            env,
            v.score,
            v.is_live,
            v.reasons.iter().map(|r| r.to_string()),
        )
    })
}
