//! Temporary keys (`renlian key create --expires`): an expiry and a session token, used
//! through the official Python SDK exactly as Tencent Cloud's STS credentials are
//! (`tests/sdk/temporary.py`), over TC3 and signature v1, on SQLite and PostgreSQL.

use crate::common;

use std::path::PathBuf;

use api::KeyError;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn temporary_keys_work_with_their_token_until_they_expire() {
    let python = crate::sdk::sdk_python();
    let photo = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(photo.path(), common::small_photo("obama.jpg")).unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/temporary.py");
    on_both!(db => {
        let s = common::start(db, common::config()).await;
        let now_us = chrono::Utc::now().timestamp_micros();
        let temp = s.keys.create_temporary(s.account, now_us + 600_000_000).await.unwrap();
        // Long enough for the SDK's imports and the calls before it; the script checks
        // it is still valid when it first uses it.
        let short_end = chrono::Utc::now().timestamp() + 8;
        let short = s.keys.create_temporary(s.account, short_end * 1_000_000).await.unwrap();
        let creds = |k: &api::NewKey| {
            format!("{}:{}:{}", k.secret_id, k.secret_key, k.token.clone().unwrap())
        };
        let billed = crate::sdk::billed_calls(
            tokio::process::Command::new(&python)
                .arg(&script)
                .env("RENLIAN_ENDPOINT", s.addr.to_string())
                .env("RENLIAN_TEMP", creds(&temp))
                .env("RENLIAN_SHORT", creds(&short))
                .env("RENLIAN_SHORT_END", short_end.to_string())
                .env("RENLIAN_PERMANENT", format!("{}:{}", s.secret_id, s.secret_key))
                .env("RENLIAN_PHOTO", photo.path()),
            "the temporary-key SDK script",
        )
        .await;
        assert_eq!(billed["DetectFace"], 1);
        assert_eq!(s.metered("DetectFace").await, 1);

        // Listed with their expiry; never rotated into a permanent key; an expiry in the
        // past is refused when the key is made.
        let listed = s.keys.list(Some(s.account)).await.unwrap();
        let expiry = |id: &str| listed.iter().find(|k| k.secret_id == id).unwrap().expires_us;
        assert_eq!(expiry(&temp.secret_id), temp.expires_us);
        assert_eq!(expiry(&s.secret_id), None);
        assert!(matches!(
            s.keys.rotate(&temp.secret_id).await,
            Err(KeyError::RotateTemporary)
        ));
        assert!(matches!(
            s.keys.create_temporary(s.account, now_us).await,
            Err(KeyError::ExpiryPassed(_))
        ));
        s.stop().await;
    });
}
