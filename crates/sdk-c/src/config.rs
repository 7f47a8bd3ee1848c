//! `rl_config`: what opening the SDK needs, set field by field so the struct can grow
//! without breaking the ABI; and the activation request made from the same settings.

use std::ffi::c_char;
use std::path::PathBuf;

use sdk::{AppIdentity, ErrorCode, Identity, SdkConfig};
use vision::EngineConfig;

use crate::error::{boundary, boundary_void, Error, Result};
use crate::ffi;

/// How to open the SDK (opaque). Made by `rl_config_new`, filled by the `rl_config_set_*`
/// functions, used by `rl_sdk_open` and `rl_activation_request`, released by
/// `rl_config_free`. The SDK copies what it needs: free the config once it is open.
#[derive(Debug)]
pub struct rl_config {
    licence: Option<String>,
    trusted_keys: Vec<String>,
    model_dir: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    identity: Identity,
    revocation_list: Option<String>,
    pub(crate) engine: EngineConfig,
}

impl rl_config {
    fn new() -> rl_config {
        rl_config {
            licence: None,
            trusted_keys: Vec::new(),
            model_dir: None,
            data_dir: None,
            identity: Identity::LinuxDevice,
            revocation_list: None,
            engine: EngineConfig::default(),
        }
    }

    fn data_dir(&self) -> Result<PathBuf> {
        self.data_dir
            .clone()
            .ok_or_else(|| Error::invalid("no data directory: call rl_config_set_data_dir"))
    }

    /// The `sdk` configuration, once every required field is set.
    pub(crate) fn to_sdk(&self) -> Result<SdkConfig> {
        let licence = self.licence.clone().ok_or_else(|| {
            Error::invalid("no licence: call rl_config_set_licence or rl_config_set_licence_file")
        })?;
        let model_dir = self
            .model_dir
            .clone()
            .ok_or_else(|| Error::invalid("no model directory: call rl_config_set_model_dir"))?;
        let mut config = SdkConfig::new(
            licence,
            self.trusted_keys.clone(),
            model_dir,
            self.data_dir()?,
            self.identity.clone(),
        );
        config.revocation_list = self.revocation_list.clone();
        config.engine = self.engine.clone();
        Ok(config)
    }
}

/// Makes an empty configuration: no licence, no directories, no trusted key, bound to
/// this Linux machine, the server's detection defaults.
///
/// # Safety
/// `out` points to writable memory for one pointer.
#[no_mangle]
pub unsafe extern "C" fn rl_config_new(out: *mut *mut rl_config) -> i32 {
    boundary(|| {
        // SAFETY: the caller's promise about `out`.
        let out = unsafe { ffi::output(out, "out") }?;
        out.write(Box::into_raw(Box::new(rl_config::new())));
        Ok(())
    })
}

/// Releases a configuration. Null is ignored.
///
/// # Safety
/// `config` is null or came from `rl_config_new` and is not used after this call.
#[no_mangle]
pub unsafe extern "C" fn rl_config_free(config: *mut rl_config) {
    boundary_void(|| {
        if !config.is_null() {
            // SAFETY: made by Box::into_raw in rl_config_new; the caller gives it back once.
            drop(unsafe { Box::from_raw(config) });
        }
    })
}

/// Runs `f` on the configuration behind `config`.
///
/// # Safety
/// `config` is null or a live configuration no other thread is using.
unsafe fn with_config(config: *mut rl_config, f: impl FnOnce(&mut rl_config) -> Result<()>) -> i32 {
    boundary(|| {
        // SAFETY: the caller's promise.
        let config = unsafe { ffi::input_mut(config, "config") }?;
        f(config)
    })
}

/// Sets the licence file's text (`-----BEGIN RENLIAN LICENCE-----` …).
///
/// # Safety
/// `config` is a live configuration; `text` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn rl_config_set_licence(config: *mut rl_config, text: *const c_char) -> i32 {
    // SAFETY: the caller's promises.
    unsafe {
        with_config(config, |c| {
            c.licence = Some(ffi::text(text, "the licence")?.to_owned());
            Ok(())
        })
    }
}

/// Reads the licence from a file (`RL_E_STORAGE` when it cannot be read).
///
/// # Safety
/// `config` is a live configuration; `path` a NUL-terminated UTF-8 path.
#[no_mangle]
pub unsafe extern "C" fn rl_config_set_licence_file(
    config: *mut rl_config,
    path: *const c_char,
) -> i32 {
    // SAFETY: the caller's promises.
    unsafe {
        with_config(config, |c| {
            let path = ffi::text(path, "the licence path")?;
            let text = std::fs::read_to_string(path).map_err(|e| {
                Error::new(
                    ErrorCode::Storage,
                    format!("reading the licence {path}: {e}"),
                )
            })?;
            c.licence = Some(text);
            Ok(())
        })
    }
}

/// Adds an issuer public key this build trusts (64 hex digits, as `renlian license keys`
/// prints). Call once per key; ship old and new keys across a key rotation.
///
/// # Safety
/// `config` is a live configuration; `hex` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn rl_config_add_trusted_key(
    config: *mut rl_config,
    hex: *const c_char,
) -> i32 {
    // SAFETY: the caller's promises.
    unsafe {
        with_config(config, |c| {
            c.trusted_keys
                .push(ffi::text(hex, "the trusted key")?.trim().to_owned());
            Ok(())
        })
    }
}

/// Sets the model directory (the one `renlian models export --to DIR` wrote).
///
/// # Safety
/// `config` is a live configuration; `path` a NUL-terminated UTF-8 path.
#[no_mangle]
pub unsafe extern "C" fn rl_config_set_model_dir(
    config: *mut rl_config,
    path: *const c_char,
) -> i32 {
    // SAFETY: the caller's promises.
    unsafe {
        with_config(config, |c| {
            c.model_dir = Some(PathBuf::from(ffi::text(path, "the model directory")?));
            Ok(())
        })
    }
}

/// Sets the SDK's data directory (licence state, device key, local gallery). Use the same
/// directory for the activation request and for every later opening.
///
/// # Safety
/// `config` is a live configuration; `path` a NUL-terminated UTF-8 path.
#[no_mangle]
pub unsafe extern "C" fn rl_config_set_data_dir(
    config: *mut rl_config,
    path: *const c_char,
) -> i32 {
    // SAFETY: the caller's promises.
    unsafe {
        with_config(config, |c| {
            c.data_dir = Some(PathBuf::from(ffi::text(path, "the data directory")?));
            Ok(())
        })
    }
}

/// Binds to this Linux machine (machine-id, board serial or product UUID, and the device
/// key kept in the data directory): the default.
///
/// # Safety
/// `config` is a live configuration.
#[no_mangle]
pub unsafe extern "C" fn rl_config_set_linux_device(config: *mut rl_config) -> i32 {
    // SAFETY: the caller's promise.
    unsafe {
        with_config(config, |c| {
            c.identity = Identity::LinuxDevice;
            Ok(())
        })
    }
}

/// Binds to an integrator's own device id (the id given to
/// `renlian license issue --device ID`).
///
/// # Safety
/// `config` is a live configuration; `id` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn rl_config_set_device_id(config: *mut rl_config, id: *const c_char) -> i32 {
    // SAFETY: the caller's promises.
    unsafe {
        with_config(config, |c| {
            let id = ffi::text(id, "the device id")?;
            if id.trim().is_empty() {
                return Err(Error::invalid("the device id is empty"));
            }
            c.identity = Identity::DeviceId(id.to_owned());
            Ok(())
        })
    }
}

/// Binds to an app, for a platform licence: its package name and, when known, the SHA-256
/// of its signing certificate (64 hex digits, colons allowed; null when unknown).
///
/// # Safety
/// `config` is a live configuration; `package` a NUL-terminated string;
/// `certificate_sha256` null or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn rl_config_set_app(
    config: *mut rl_config,
    package: *const c_char,
    certificate_sha256: *const c_char,
) -> i32 {
    // SAFETY: the caller's promises.
    unsafe {
        with_config(config, |c| {
            c.identity = Identity::App(AppIdentity {
                package: ffi::text(package, "the package name")?.to_owned(),
                certificate_sha256: ffi::optional_text(
                    certificate_sha256,
                    "the certificate digest",
                )?
                .map(str::to_owned),
            });
            Ok(())
        })
    }
}

/// Sets a newer signed revocation list to accept when the SDK opens (null: none).
///
/// # Safety
/// `config` is a live configuration; `text` null or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn rl_config_set_revocation_list(
    config: *mut rl_config,
    text: *const c_char,
) -> i32 {
    // SAFETY: the caller's promises.
    unsafe {
        with_config(config, |c| {
            c.revocation_list = ffi::optional_text(text, "the revocation list")?.map(str::to_owned);
            Ok(())
        })
    }
}

/// Sets the smallest face side to find, in pixels (default 80; smaller is slower).
///
/// # Safety
/// `config` is a live configuration.
#[no_mangle]
pub unsafe extern "C" fn rl_config_set_min_face_size(config: *mut rl_config, pixels: u32) -> i32 {
    // SAFETY: the caller's promise.
    unsafe {
        with_config(config, |c| {
            if pixels == 0 {
                return Err(Error::invalid("the minimum face size is 0"));
            }
            c.engine.detect.min_face_size = pixels;
            Ok(())
        })
    }
}

/// Sets the most faces one detection reports, the most confident first (default 120).
///
/// # Safety
/// `config` is a live configuration.
#[no_mangle]
pub unsafe extern "C" fn rl_config_set_max_faces(config: *mut rl_config, faces: u32) -> i32 {
    // SAFETY: the caller's promise.
    unsafe {
        with_config(config, |c| {
            if faces == 0 {
                return Err(Error::invalid("the maximum number of faces is 0"));
            }
            c.engine.detect.max_faces = faces as usize;
            Ok(())
        })
    }
}

/// Writes the activation request for this installation (the text to send to get a device
/// licence) from the config's data directory and binding. `sdk` names the product
/// ("detect", "search", "ir-liveness-search", …); `label` is null or a label for the
/// device. Creates the device key in the data directory on first use. String output: see
/// `rl_last_error_message` for the `(buf, capacity)` rule; `length` (may be null) receives
/// the full length.
///
/// # Safety
/// `config` is a live configuration; `sdk` a NUL-terminated string; `label` null or a
/// NUL-terminated string; `buf` null or `capacity` writable bytes; `length` null or a
/// writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn rl_activation_request(
    config: *const rl_config,
    sdk: *const c_char,
    label: *const c_char,
    buf: *mut c_char,
    capacity: usize,
    length: *mut usize,
) -> i32 {
    boundary(|| {
        // SAFETY: the caller's promises.
        let (config, name, label) = unsafe {
            (
                ffi::input(config, "config")?,
                ffi::text(sdk, "the SDK name")?,
                ffi::optional_text(label, "the label")?,
            )
        };
        let product: sdk::Sdk = name.parse().map_err(|e| Error::invalid(format!("{e}")))?;
        let text = sdk::activation_request(
            &config.data_dir()?,
            &config.identity,
            product,
            label.map(str::to_owned),
        )?;
        // SAFETY: the caller's promises.
        unsafe { ffi::text_output(&text, buf, capacity, length) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{RL_E_INVALID_ARGUMENT, RL_OK};

    #[test]
    fn a_config_needs_licence_model_dir_and_data_dir() {
        let mut c: *mut rl_config = std::ptr::null_mut();
        // SAFETY: the config is made, used on this thread and freed once.
        unsafe {
            assert_eq!(rl_config_new(&mut c), RL_OK);
            let e = (*c).to_sdk().unwrap_err();
            assert!(e.message.contains("rl_config_set_licence"), "{}", e.message);
            assert_eq!(rl_config_set_licence(c, c"text".as_ptr()), RL_OK);
            assert_eq!(rl_config_set_model_dir(c, c"/m".as_ptr()), RL_OK);
            assert!((*c)
                .to_sdk()
                .unwrap_err()
                .message
                .contains("data directory"));
            assert_eq!(rl_config_set_data_dir(c, c"/d".as_ptr()), RL_OK);
            assert_eq!(rl_config_add_trusted_key(c, c" ab \n".as_ptr()), RL_OK);
            assert_eq!(
                rl_config_set_device_id(c, c"".as_ptr()),
                RL_E_INVALID_ARGUMENT
            );
            assert_eq!(rl_config_set_device_id(c, c"dev-A".as_ptr()), RL_OK);
            assert_eq!(rl_config_set_min_face_size(c, 40), RL_OK);
            let sdk = (*c).to_sdk().unwrap();
            assert_eq!(sdk.licence, "text");
            assert_eq!(sdk.trusted_keys, vec!["ab".to_owned()]);
            assert_eq!(sdk.identity, Identity::DeviceId("dev-A".into()));
            assert_eq!(sdk.engine.detect.min_face_size, 40);
            assert_eq!(
                rl_config_set_licence(std::ptr::null_mut(), c"x".as_ptr()),
                RL_E_INVALID_ARGUMENT
            );
            rl_config_free(c);
        }
    }
}
