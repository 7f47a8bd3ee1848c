//! The native methods of `com.renlian.sdk.Gallery`: the SDK's encrypted local gallery
//! ([`sdk::Gallery`]). Its handle is a boxed gallery, owned by the Java object like the
//! SDK's; the gallery holds its own reference to the SDK instance.

use jni::objects::{JByteArray, JClass, JFloatArray, JLongArray, JObject, JObjectArray, JString};
use jni::sys::{jboolean, jbyteArray, jint, jlong, jlongArray, jobjectArray, JNI_FALSE};
use jni::JNIEnv;
use sdk::{FaceSdk, Gallery};

use crate::boundary::{guard, Failure};
use crate::convert;

fn gallery_of<'a>(handle: jlong) -> Result<&'a Gallery, Failure> {
    if handle == 0 {
        return Err(Failure::argument("the gallery is closed"));
    }
    // SAFETY: as for the SDK's handle (methods.rs): a leaked Box the Java Gallery passes
    // only under its read lock, and frees only under its write lock.
    Ok(unsafe { &*(handle as *const Gallery) })
}

fn key(env: &mut JNIEnv<'_>, array: &JByteArray<'_>, what: &str) -> Result<[u8; 32], Failure> {
    let bytes = convert::bytes(env, array, what)?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| Failure::argument(format!("{what} must be 32 bytes, got {}", bytes.len())))
}

fn face_id(id: jlong) -> Result<u64, Failure> {
    u64::try_from(id).map_err(|_| Failure::argument(format!("face id {id} is negative")))
}

fn long_array<'local>(
    env: &mut JNIEnv<'local>,
    values: &[i64],
) -> Result<JLongArray<'local>, Failure> {
    let len = i32::try_from(values.len()).map_err(|_| Failure::argument("result too large"))?;
    let array = env.new_long_array(len)?;
    env.set_long_array_region(&array, 0, values)?;
    Ok(array)
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `Object[]` of `String`s and `null`s (a nullable string per slot).
fn strings<'local>(
    env: &mut JNIEnv<'local>,
    values: &[Option<&str>],
) -> Result<JObjectArray<'local>, Failure> {
    let len = i32::try_from(values.len()).map_err(|_| Failure::argument("result too large"))?;
    let array = env.new_object_array(len, "java/lang/String", JObject::null())?;
    for (i, value) in (0..len).zip(values) {
        if let Some(v) = value {
            let s = env.new_string(v)?;
            env.set_object_array_element(&array, i, &s)?;
            env.delete_local_ref(s)?;
        }
    }
    Ok(array)
}

#[no_mangle]
pub extern "system" fn Java_com_renlian_sdk_Gallery_nativeOpen<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    sdk_handle: jlong,
    key_bytes: JByteArray<'local>,
) -> jlong {
    guard(&mut env, 0, |env| {
        if sdk_handle == 0 {
            return Err(Failure::argument("the SDK is closed"));
        }
        // SAFETY: FaceSdk.gallery() passes its handle under its read lock (methods.rs).
        let sdk = unsafe { &*(sdk_handle as *const FaceSdk) };
        let gallery = sdk.gallery(&key(env, &key_bytes, "gallery key")?)?;
        Ok(Box::into_raw(Box::new(gallery)) as jlong)
    })
}

#[no_mangle]
pub extern "system" fn Java_com_renlian_sdk_Gallery_nativeClose<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) {
    guard(&mut env, (), |_| {
        if handle != 0 {
            // SAFETY: from nativeOpen's Box::into_raw; called once, under the write lock.
            drop(unsafe { Box::from_raw(handle as *mut Gallery) });
        }
        Ok(())
    })
}

#[no_mangle]
pub extern "system" fn Java_com_renlian_sdk_Gallery_nativeAdd<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    person_id: JString<'local>,
    descriptor: JFloatArray<'local>,
    name: JString<'local>,
    tag: JString<'local>,
) -> jlong {
    guard(&mut env, 0, |env| {
        let gallery = gallery_of(handle)?;
        let person = convert::string(env, &person_id, "person id")?;
        let descriptor = convert::floats(env, &descriptor, "descriptor")?;
        let name = convert::optional_string(env, &name)?;
        let tag = convert::optional_string(env, &tag)?;
        let id = gallery.add(&person, &descriptor, name, tag)?;
        i64::try_from(id).map_err(|_| Failure::argument("face id beyond a Java long"))
    })
}

/// `Object[] { String[] personIds, long[] faceIds, double[] distance and score pairs }`.
#[no_mangle]
pub extern "system" fn Java_com_renlian_sdk_Gallery_nativeSearch<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    descriptor: JFloatArray<'local>,
    top_k: jint,
) -> jobjectArray {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let gallery = gallery_of(handle)?;
        let descriptor = convert::floats(env, &descriptor, "descriptor")?;
        let top_k = usize::try_from(top_k)
            .map_err(|_| Failure::argument(format!("top_k {top_k} is negative")))?;
        let hits = gallery.search(&descriptor, top_k)?;
        let persons: Vec<Option<&str>> = hits.iter().map(|h| Some(h.person_id.as_str())).collect();
        let persons = strings(env, &persons)?;
        let ids: Vec<i64> = hits
            .iter()
            .map(|h| i64::try_from(h.face_id).unwrap_or(i64::MAX))
            .collect();
        let ids = long_array(env, &ids)?;
        let scores: Vec<f64> = hits
            .iter()
            .flat_map(|h| [f64::from(h.distance), h.score])
            .collect();
        let scores_len =
            i32::try_from(scores.len()).map_err(|_| Failure::argument("result too large"))?;
        let score_array = env.new_double_array(scores_len)?;
        env.set_double_array_region(&score_array, 0, &scores)?;
        let out = env.new_object_array(3, "java/lang/Object", JObject::null())?;
        env.set_object_array_element(&out, 0, &persons)?;
        env.set_object_array_element(&out, 1, &ids)?;
        env.set_object_array_element(&out, 2, &score_array)?;
        Ok(out.into_raw())
    })
}

#[no_mangle]
pub extern "system" fn Java_com_renlian_sdk_Gallery_nativeRemoveFace<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    id: jlong,
) {
    guard(&mut env, (), |_| {
        Ok(gallery_of(handle)?.remove_face(face_id(id)?)?)
    })
}

#[no_mangle]
pub extern "system" fn Java_com_renlian_sdk_Gallery_nativeRemovePerson<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    person_id: JString<'local>,
) -> jint {
    guard(&mut env, 0, |env| {
        let gallery = gallery_of(handle)?;
        let person = convert::string(env, &person_id, "person id")?;
        let removed = gallery.remove_person(&person)?;
        Ok(i32::try_from(removed).unwrap_or(i32::MAX))
    })
}

#[no_mangle]
pub extern "system" fn Java_com_renlian_sdk_Gallery_nativeList<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jobjectArray {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let persons = gallery_of(handle)?.list();
        let slots: Vec<Option<&str>> = persons.iter().map(|p| Some(p.as_str())).collect();
        Ok(strings(env, &slots)?.into_raw())
    })
}

/// `Object[] { long[] faceIds, String[] names, String[] tags }`, or null if absent.
#[no_mangle]
pub extern "system" fn Java_com_renlian_sdk_Gallery_nativePerson<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    person_id: JString<'local>,
) -> jobjectArray {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let gallery = gallery_of(handle)?;
        let person = convert::string(env, &person_id, "person id")?;
        let Some(summary) = gallery.person(&person)? else {
            return Ok(std::ptr::null_mut());
        };
        let ids: Vec<i64> = summary
            .faces
            .iter()
            .map(|f| i64::try_from(f.face_id).unwrap_or(i64::MAX))
            .collect();
        let ids = long_array(env, &ids)?;
        let names: Vec<Option<&str>> = summary.faces.iter().map(|f| f.name.as_deref()).collect();
        let tags: Vec<Option<&str>> = summary.faces.iter().map(|f| f.tag.as_deref()).collect();
        let names = strings(env, &names)?;
        let tags = strings(env, &tags)?;
        let out = env.new_object_array(3, "java/lang/Object", JObject::null())?;
        env.set_object_array_element(&out, 0, &ids)?;
        env.set_object_array_element(&out, 1, &names)?;
        env.set_object_array_element(&out, 2, &tags)?;
        Ok(out.into_raw())
    })
}

/// Persons, faces, log records, log bytes, inverted file (0 or 1).
#[no_mangle]
pub extern "system" fn Java_com_renlian_sdk_Gallery_nativeStats<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jlongArray {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let s = gallery_of(handle)?.stats();
        long_array(
            env,
            &[
                count(s.persons),
                count(s.faces),
                i64::try_from(s.log_records).unwrap_or(i64::MAX),
                i64::try_from(s.log_bytes).unwrap_or(i64::MAX),
                i64::from(s.inverted_file),
            ],
        )
        .map(JLongArray::into_raw)
    })
}

/// Every face sealed under the export key, as bytes.
#[no_mangle]
pub extern "system" fn Java_com_renlian_sdk_Gallery_nativeExport<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    export_key: JByteArray<'local>,
) -> jbyteArray {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let gallery = gallery_of(handle)?;
        let export_key = key(env, &export_key, "export key")?;
        let mut out = Vec::new();
        gallery.export(&mut out, &export_key)?;
        Ok(env.byte_array_from_slice(&out)?.into_raw())
    })
}

/// Faces in the export, faces added, faces in the gallery afterwards.
#[no_mangle]
pub extern "system" fn Java_com_renlian_sdk_Gallery_nativeImport<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    data: JByteArray<'local>,
    export_key: JByteArray<'local>,
    replace: jboolean,
) -> jlongArray {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let gallery = gallery_of(handle)?;
        let data = convert::bytes(env, &data, "export")?;
        let export_key = key(env, &export_key, "export key")?;
        let imported = gallery.import(data.as_slice(), &export_key, replace != JNI_FALSE)?;
        long_array(
            env,
            &[
                count(imported.faces),
                count(imported.added),
                count(imported.total),
            ],
        )
        .map(JLongArray::into_raw)
    })
}
