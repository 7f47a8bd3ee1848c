//! The native methods of `com.renlian.sdk.Tracker`: one video stream's tracker with
//! best shots ([`sdk::Tracker`]). Its handle is a boxed tracker, owned by the Java object
//! like the SDK's; the tracker holds its own reference to the SDK instance.

use jni::objects::{JByteArray, JClass, JDoubleArray, JObject, JObjectArray};
use jni::sys::{jdoubleArray, jint, jlong, jobjectArray};
use jni::JNIEnv;
use sdk::{BestShot, EndReason, EndedTrack, FaceSdk, TrackedFace, Tracker, TrackerConfig};

use crate::boundary::{guard, Failure};
use crate::convert::{self, FACE_LEN, QUALITY_LEN};

/// The tracker's settings as doubles: IoU threshold, confirm hits, confirm window (ms),
/// max age (ms), max prediction (ms).
pub const CONFIG_LEN: usize = 5;

/// A face of one frame: track id, confirmed (0 or 1), the face, its quality.
pub const TRACKED_LEN: usize = 2 + FACE_LEN + QUALITY_LEN;

/// A best shot: track id, timestamp (ms), the face, its quality, the face in the crop,
/// the crop's width and height (its pixels travel as a separate `byte[]`).
pub const SHOT_LEN: usize = 2 + FACE_LEN + QUALITY_LEN + FACE_LEN + 2;

/// An ended track: reason (0 lost, 1 unconfirmed, 2 finished), first and last timestamp
/// (ms), hits, then its best shot.
pub const ENDED_LEN: usize = 4 + SHOT_LEN;

fn config_values(c: &TrackerConfig) -> [f64; CONFIG_LEN] {
    [
        f64::from(c.iou_threshold),
        f64::from(c.confirm_hits),
        c.confirm_window_ms as f64,
        c.max_age_ms as f64,
        c.max_predict_ms as f64,
    ]
}

fn config_from_values(v: &[f64]) -> Result<TrackerConfig, Failure> {
    if v.len() != CONFIG_LEN {
        return Err(Failure::argument(format!(
            "a tracker configuration is {CONFIG_LEN} values, got {}",
            v.len()
        )));
    }
    let whole = |x: f64, what: &str| -> Result<u64, Failure> {
        if x.is_finite() && x >= 0.0 && x.fract() == 0.0 && x < 9.0e15 {
            Ok(x as u64)
        } else {
            Err(Failure::argument(format!(
                "{what} must be a whole number of at least 0, got {x}"
            )))
        }
    };
    Ok(TrackerConfig {
        iou_threshold: v[0] as f32,
        confirm_hits: u32::try_from(whole(v[1], "confirm hits")?)
            .map_err(|_| Failure::argument("confirm hits is too large"))?,
        confirm_window_ms: whole(v[2], "confirm window")?,
        max_age_ms: whole(v[3], "max age")?,
        max_predict_ms: whole(v[4], "max prediction")?,
    })
}

fn quality_doubles(q: &sdk::Quality) -> [f64; QUALITY_LEN] {
    convert::quality_values(q).map(f64::from)
}

fn tracked_values(t: &TrackedFace, out: &mut Vec<f64>) -> Result<(), Failure> {
    out.extend([t.track as f64, if t.confirmed { 1.0 } else { 0.0 }]);
    out.extend(convert::face_values(&t.face)?);
    out.extend(quality_doubles(&t.quality));
    Ok(())
}

fn shot_values(b: &BestShot, out: &mut Vec<f64>) -> Result<(), Failure> {
    out.extend([b.track as f64, b.at_ms as f64]);
    out.extend(convert::face_values(&b.face)?);
    out.extend(quality_doubles(&b.quality));
    out.extend(convert::face_values(&b.face_in_crop)?);
    out.extend([f64::from(b.crop.width()), f64::from(b.crop.height())]);
    Ok(())
}

fn reason_value(r: EndReason) -> f64 {
    match r {
        EndReason::Lost => 0.0,
        EndReason::Unconfirmed => 1.0,
        EndReason::Finished => 2.0,
    }
}

fn tracker_of<'a>(handle: jlong) -> Result<&'a Tracker, Failure> {
    if handle == 0 {
        return Err(Failure::argument("the tracker is closed"));
    }
    // SAFETY: as for the SDK's handle (methods.rs): a non-zero handle is a leaked Box the
    // Java Tracker passes only under its read lock, and frees only under its write lock.
    Ok(unsafe { &*(handle as *const Tracker) })
}

/// `Object[] { double[] ended, byte[][] crops }`.
fn ended_result<'local>(
    env: &mut JNIEnv<'local>,
    ended: &[EndedTrack],
) -> Result<JObjectArray<'local>, Failure> {
    let mut values = Vec::with_capacity(ended.len() * ENDED_LEN);
    let crops = env.new_object_array(len(ended.len())?, "[B", JObject::null())?;
    for (i, e) in (0..).zip(ended) {
        values.extend([
            reason_value(e.reason),
            e.first_ms as f64,
            e.last_ms as f64,
            f64::from(e.hits),
        ]);
        shot_values(&e.best, &mut values)?;
        let crop = env.byte_array_from_slice(e.best.crop.as_raw())?;
        env.set_object_array_element(&crops, i, &crop)?;
        env.delete_local_ref(crop)?;
    }
    let values = doubles(env, &values)?;
    let out = env.new_object_array(2, "java/lang/Object", JObject::null())?;
    env.set_object_array_element(&out, 0, &values)?;
    env.set_object_array_element(&out, 1, &crops)?;
    Ok(out)
}

fn len(n: usize) -> Result<i32, Failure> {
    i32::try_from(n).map_err(|_| Failure::argument("result too large"))
}

fn doubles<'local>(
    env: &mut JNIEnv<'local>,
    values: &[f64],
) -> Result<JDoubleArray<'local>, Failure> {
    let array = env.new_double_array(len(values.len())?)?;
    env.set_double_array_region(&array, 0, values)?;
    Ok(array)
}

#[no_mangle]
pub extern "system" fn Java_com_renlian_sdk_Tracker_nativeDefaults<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
) -> jdoubleArray {
    guard(&mut env, std::ptr::null_mut(), |env| {
        Ok(doubles(env, &config_values(&TrackerConfig::default()))?.into_raw())
    })
}

#[no_mangle]
pub extern "system" fn Java_com_renlian_sdk_Tracker_nativeOpen<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    sdk_handle: jlong,
    config: JDoubleArray<'local>,
) -> jlong {
    guard(&mut env, 0, |env| {
        if sdk_handle == 0 {
            return Err(Failure::argument("the SDK is closed"));
        }
        // SAFETY: FaceSdk.tracker() passes its handle under its read lock (methods.rs).
        let sdk = unsafe { &*(sdk_handle as *const FaceSdk) };
        let config = config_from_values(&convert::doubles(env, &config, "tracker configuration")?)?;
        let tracker = sdk.tracker(config)?;
        Ok(Box::into_raw(Box::new(tracker)) as jlong)
    })
}

#[no_mangle]
pub extern "system" fn Java_com_renlian_sdk_Tracker_nativeClose<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) {
    guard(&mut env, (), |_| {
        if handle != 0 {
            // SAFETY: from nativeOpen's Box::into_raw; called once, under the write lock.
            drop(unsafe { Box::from_raw(handle as *mut Tracker) });
        }
        Ok(())
    })
}

/// `Object[] { double[] faces, double[] ended, byte[][] crops }`.
#[no_mangle]
pub extern "system" fn Java_com_renlian_sdk_Tracker_nativeFeed<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    width: jint,
    height: jint,
    rgb: JByteArray<'local>,
    at_ms: jlong,
) -> jobjectArray {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let tracker = tracker_of(handle)?;
        let img = convert::image(env, width, height, &rgb)?;
        let at_ms = u64::try_from(at_ms)
            .map_err(|_| Failure::argument(format!("timestamp {at_ms} ms is negative")))?;
        let frame = tracker.feed(&img, at_ms)?;
        let mut faces = Vec::with_capacity(frame.faces.len() * TRACKED_LEN);
        for t in &frame.faces {
            tracked_values(t, &mut faces)?;
        }
        let ended = ended_result(env, &frame.ended)?;
        let faces = doubles(env, &faces)?;
        let out = env.new_object_array(3, "java/lang/Object", JObject::null())?;
        env.set_object_array_element(&out, 0, &faces)?;
        for i in 0..2 {
            let item = env.get_object_array_element(&ended, i)?;
            env.set_object_array_element(&out, i + 1, &item)?;
        }
        Ok(out.into_raw())
    })
}

/// `Object[] { double[] shot, byte[] crop }`, or null when the track is not live.
#[no_mangle]
pub extern "system" fn Java_com_renlian_sdk_Tracker_nativeBestShot<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    track: jlong,
) -> jobjectArray {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let tracker = tracker_of(handle)?;
        let Some(shot) = u64::try_from(track).ok().and_then(|t| tracker.best_shot(t)) else {
            return Ok(std::ptr::null_mut());
        };
        let mut values = Vec::with_capacity(SHOT_LEN);
        shot_values(&shot, &mut values)?;
        let values = doubles(env, &values)?;
        let crop = env.byte_array_from_slice(shot.crop.as_raw())?;
        let out = env.new_object_array(2, "java/lang/Object", JObject::null())?;
        env.set_object_array_element(&out, 0, &values)?;
        env.set_object_array_element(&out, 1, &crop)?;
        Ok(out.into_raw())
    })
}

/// `Object[] { double[] ended, byte[][] crops }`.
#[no_mangle]
pub extern "system" fn Java_com_renlian_sdk_Tracker_nativeFinish<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jobjectArray {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let ended = tracker_of(handle)?.finish();
        Ok(ended_result(env, &ended)?.into_raw())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_configuration_survives_the_round_trip() {
        let c = TrackerConfig::default();
        assert_eq!(config_from_values(&config_values(&c)).unwrap(), c);
    }

    #[test]
    fn a_fractional_or_negative_setting_is_refused() {
        let mut v = config_values(&TrackerConfig::default());
        v[1] = 2.5;
        assert!(config_from_values(&v).is_err());
        v[1] = 3.0;
        v[3] = -1.0;
        assert!(config_from_values(&v).is_err());
        assert!(config_from_values(&v[..4]).is_err());
    }
}
