//! Image inputs of the face actions: `Image` (base64) or `Url` (fetched by the server).
//!
//! A URL is fetched only over http/https, with redirects off, a time limit and a size
//! limit, and only from public addresses unless the configuration allows private ones:
//! the host is resolved once, every address checked, and the connection pinned to the
//! checked address so a second DNS answer cannot point it elsewhere.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use base64::Engine as _;

use crate::error::ApiError;

/// The documented limit: base64 text of at most 5 MB (and a URL's image likewise).
pub const MAX_IMAGE_BASE64: usize = 5 * 1024 * 1024;
/// The decoded size that corresponds to [`MAX_IMAGE_BASE64`] of base64.
pub const MAX_IMAGE_BYTES: usize = MAX_IMAGE_BASE64 / 4 * 3;
/// The documented resolution limits: a JPEG's longer side at most 4000 px, any other
/// format's at most 2000 px. They also bound what one request can make the server hold:
/// 16 megapixels of JPEG, 4 of PNG or BMP, instead of whatever a small compressed file
/// declares (a 151 KB PNG of zeros declares 40 megapixels).
pub const MAX_LONG_SIDE_JPEG: u32 = 4000;
pub const MAX_LONG_SIDE_OTHER: u32 = 2000;

/// How URLs are fetched.
#[derive(Debug, Clone)]
pub struct UrlPolicy {
    /// Allow loopback, private, link-local and other non-public addresses (tests, labs).
    pub allow_private: bool,
    pub timeout: Duration,
}

impl Default for UrlPolicy {
    fn default() -> Self {
        UrlPolicy {
            allow_private: false,
            timeout: Duration::from_secs(5),
        }
    }
}

/// The image bytes of a request, from `url` if given (the API's precedence), else from
/// the base64 `image`.
pub async fn image_bytes(
    image: Option<&str>,
    url: Option<&str>,
    policy: &UrlPolicy,
) -> Result<Vec<u8>, ApiError> {
    let bytes = if let Some(url) = url.filter(|u| !u.is_empty()) {
        fetch(url, policy).await?
    } else {
        match image.filter(|i| !i.is_empty()) {
            Some(b64) => decode_base64(b64)?,
            None => {
                return Err(ApiError::new(
                    "InvalidParameterValue.ImageEmpty",
                    "one of Image or Url must be given",
                ))
            }
        }
    };
    check_resolution(&bytes)?;
    Ok(bytes)
}

/// The format and the size an image's header declares, if it can be read.
pub fn header_size(bytes: &[u8]) -> Option<(::image::ImageFormat, u32, u32)> {
    let format = ::image::guess_format(bytes).ok()?;
    let reader = ::image::ImageReader::with_format(std::io::Cursor::new(bytes), format);
    let (width, height) = reader.into_dimensions().ok()?;
    Some((format, width, height))
}

/// Refuses an image whose header declares more than the documented resolution, before a
/// pixel is decoded. Bytes that are not an image we can read a header of pass here and
/// get their precise error from the decoder.
pub fn check_resolution(bytes: &[u8]) -> Result<(), ApiError> {
    let Some((format, width, height)) = header_size(bytes) else {
        return Ok(());
    };
    let (limit, kind) = if format == ::image::ImageFormat::Jpeg {
        (MAX_LONG_SIDE_JPEG, "a JPEG")
    } else {
        (MAX_LONG_SIDE_OTHER, "an image other than JPEG")
    };
    let long = width.max(height);
    if long > limit {
        return Err(ApiError::new(
            "FailedOperation.ImageResolutionExceed",
            format!(
                "the image is {width}x{height}: the longer side of {kind} may be at most {limit} px"
            ),
        ));
    }
    Ok(())
}

pub fn decode_base64(b64: &str) -> Result<Vec<u8>, ApiError> {
    if b64.len() > MAX_IMAGE_BASE64 {
        return Err(ApiError::new(
            "FailedOperation.ImageSizeExceed",
            format!(
                "the base64 image is {} bytes, at most {MAX_IMAGE_BASE64} are allowed",
                b64.len()
            ),
        ));
    }
    base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|e| {
            ApiError::new(
                "FailedOperation.ImageDecodeFailed",
                format!("Image is not valid base64: {e}"),
            )
        })
}

fn url_illegal(message: impl Into<String>) -> ApiError {
    ApiError::new("InvalidParameterValue.UrlIllegal", message)
}

fn download_error(message: impl Into<String>) -> ApiError {
    ApiError::new("FailedOperation.ImageDownloadError", message)
}

/// Whether `ip` is an address on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                // Shared address space (carrier-grade NAT), 100.64.0.0/10.
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                // Benchmarking 198.18.0.0/15 and the reserved 240.0.0.0/4.
                || (o[0] == 198 && (o[1] & 0xfe) == 18)
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                // Unique local fc00::/7 and link-local fe80::/10.
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80)
        }
    }
}

async fn fetch(url: &str, policy: &UrlPolicy) -> Result<Vec<u8>, ApiError> {
    let parsed = reqwest::Url::parse(url).map_err(|e| url_illegal(format!("Url: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(url_illegal("Url must be http or https"));
    }
    let host = parsed
        .host_str()
        .ok_or_else(|| url_illegal("Url has no host"))?
        .to_string();
    let port = parsed
        .port_or_known_default()
        .ok_or_else(|| url_illegal("Url has no port"))?;
    let lookup_host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let addrs: Vec<SocketAddr> = tokio::time::timeout(
        policy.timeout,
        tokio::net::lookup_host((lookup_host.as_str(), port)),
    )
    .await
    .map_err(|_| download_error("resolving the Url's host timed out"))?
    .map_err(|e| download_error(format!("cannot resolve {host}: {e}")))?
    .collect();
    let addr = *addrs
        .first()
        .ok_or_else(|| download_error(format!("{host} has no address")))?;
    if !policy.allow_private && addrs.iter().any(|a| !is_public(a.ip())) {
        return Err(url_illegal(
            "Url points to a loopback, private or link-local address",
        ));
    }
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(policy.timeout)
        .resolve(&lookup_host, addr)
        .build()
        .map_err(|e| download_error(format!("http client: {e}")))?;
    let mut response = client
        .get(parsed)
        .send()
        .await
        .map_err(|e| download_error(format!("fetching the Url failed: {e}")))?;
    if !response.status().is_success() {
        return Err(download_error(format!(
            "the Url answered HTTP {}",
            response.status()
        )));
    }
    let too_large = || {
        ApiError::new(
            "FailedOperation.ImageSizeExceed",
            format!("the image at Url is larger than {MAX_IMAGE_BYTES} bytes"),
        )
    };
    if response
        .content_length()
        .is_some_and(|n| n > MAX_IMAGE_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| download_error(format!("reading the Url failed: {e}")))?
    {
        if bytes.len() + chunk.len() > MAX_IMAGE_BYTES {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "1.1.1.1", "2606:4700::1111"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn urls_to_private_hosts_are_refused() {
        let policy = UrlPolicy::default();
        for url in [
            "http://127.0.0.1/x.jpg",
            "http://localhost:8080/x.jpg",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/x.jpg",
        ] {
            let e = image_bytes(None, Some(url), &policy).await.unwrap_err();
            assert_eq!(e.code, "InvalidParameterValue.UrlIllegal", "{url}");
        }
        let e = image_bytes(None, Some("file:///etc/passwd"), &policy)
            .await
            .unwrap_err();
        assert_eq!(e.code, "InvalidParameterValue.UrlIllegal");
    }

    #[test]
    fn base64_limits() {
        assert_eq!(
            decode_base64("!!!").unwrap_err().code,
            "FailedOperation.ImageDecodeFailed"
        );
        let big = "A".repeat(MAX_IMAGE_BASE64 + 4);
        assert_eq!(
            decode_base64(&big).unwrap_err().code,
            "FailedOperation.ImageSizeExceed"
        );
        assert_eq!(decode_base64("aGVsbG8=").unwrap(), b"hello");
    }
}
