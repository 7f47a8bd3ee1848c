//! Decoding: accepted formats, EXIF orientation, and a typed error for every kind of
//! malformed input.

use std::io::Cursor;

use image::{ImageFormat, Rgb, RgbImage};
use vision::{decode, DecodeLimits, VisionError};

fn two_colour(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, _| {
        if x < w / 2 {
            Rgb([250, 10, 10])
        } else {
            Rgb([10, 10, 250])
        }
    })
}

fn encode(img: &RgbImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn is_reddish(p: &Rgb<u8>) -> bool {
    p.0[0] > 200 && p.0[2] < 60
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A JPEG with an EXIF APP1 segment carrying only the orientation tag.
fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut tiff = b"II*\0\x08\0\0\0".to_vec();
    tiff.extend_from_slice(&1u16.to_le_bytes()); // one IFD entry
    tiff.extend_from_slice(&0x0112u16.to_le_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_le_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_le_bytes());
    tiff.extend_from_slice(&orientation.to_le_bytes());
    tiff.extend_from_slice(&[0, 0]);
    tiff.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec(); // SOI
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

#[test]
fn jpeg_png_and_bmp_decode_to_the_same_picture() {
    let img = two_colour(32, 16);
    for format in [ImageFormat::Png, ImageFormat::Bmp] {
        let got = decode(&encode(&img, format), &DecodeLimits::default()).unwrap();
        assert_eq!(got, img, "{format:?} is lossless");
    }
    let got = decode(&encode(&img, ImageFormat::Jpeg), &DecodeLimits::default()).unwrap();
    assert_eq!(got.dimensions(), (32, 16));
    assert!(is_reddish(got.get_pixel(2, 8)) && !is_reddish(got.get_pixel(29, 8)));
}

#[test]
fn alpha_and_grey_become_rgb() {
    let rgba = image::RgbaImage::from_pixel(4, 4, image::Rgba([1, 2, 3, 0]));
    let mut png = Cursor::new(Vec::new());
    rgba.write_to(&mut png, ImageFormat::Png).unwrap();
    let got = decode(png.get_ref(), &DecodeLimits::default()).unwrap();
    assert_eq!(got.get_pixel(0, 0), &Rgb([1, 2, 3]));
    let grey = image::GrayImage::from_pixel(4, 4, image::Luma([77]));
    let mut png = Cursor::new(Vec::new());
    grey.write_to(&mut png, ImageFormat::Png).unwrap();
    assert_eq!(
        decode(png.get_ref(), &DecodeLimits::default())
            .unwrap()
            .get_pixel(3, 3),
        &Rgb([77, 77, 77])
    );
}

#[test]
fn exif_orientation_is_applied() {
    // Red on the left, 32 wide and 16 high; orientation 6 means "rotate 90° clockwise
    // to display", which puts the left column on top.
    let jpeg = encode(&two_colour(32, 16), ImageFormat::Jpeg);
    let rotated = decode(&with_exif_orientation(&jpeg, 6), &DecodeLimits::default()).unwrap();
    assert_eq!(rotated.dimensions(), (16, 32));
    assert!(is_reddish(rotated.get_pixel(8, 2)));
    assert!(!is_reddish(rotated.get_pixel(8, 29)));
    // Orientation 1 changes nothing.
    let plain = decode(&with_exif_orientation(&jpeg, 1), &DecodeLimits::default()).unwrap();
    assert_eq!(plain.dimensions(), (32, 16));
}

#[test]
fn webp_decodes_like_the_png_of_the_same_pixels() {
    let img = RgbImage::from_fn(40, 24, |x, y| Rgb([(x * 6) as u8, (y * 10) as u8, 77]));
    // The image crate writes lossless WebP (VP8L): the pixels must come back exactly.
    let webp = encode(&img, ImageFormat::WebP);
    assert_eq!(&webp[8..12], b"WEBP");
    assert_eq!(decode(&webp, &DecodeLimits::default()).unwrap(), img);
    // A hand-made 1×1 lossless WebP from another encoder.
    let tiny = b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00";
    assert_eq!(
        decode(tiny, &DecodeLimits::default()).unwrap().dimensions(),
        (1, 1)
    );
    // Limits apply before decoding, as for the other formats.
    let tight = DecodeLimits {
        max_pixels: 500,
        ..DecodeLimits::default()
    };
    assert!(matches!(
        decode(&webp, &tight),
        Err(VisionError::TooLarge { what: "pixels", .. })
    ));
}

#[test]
fn gif_and_other_formats_are_refused_by_name() {
    let gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";
    match decode(gif, &DecodeLimits::default()) {
        Err(VisionError::UnsupportedFormat(f)) => assert_eq!(f, "GIF"),
        other => panic!("GIF gave {other:?}"),
    }
    let tiff = b"II*\x00\x08\x00\x00\x00\x00\x00\x00\x00";
    assert!(matches!(
        decode(tiff, &DecodeLimits::default()),
        Err(VisionError::UnsupportedFormat(_) | VisionError::UnknownFormat)
    ));
    assert!(matches!(
        decode(b"hello, world", &DecodeLimits::default()),
        Err(VisionError::UnknownFormat)
    ));
    assert!(matches!(
        decode(b"", &DecodeLimits::default()),
        Err(VisionError::EmptyImage)
    ));
}

#[test]
fn truncated_images_are_reported_as_truncated() {
    let img = RgbImage::from_fn(64, 64, |x, y| Rgb([(x * 4) as u8, (y * 4) as u8, 128]));
    for format in [
        ImageFormat::Jpeg,
        ImageFormat::Png,
        ImageFormat::Bmp,
        ImageFormat::WebP,
    ] {
        let bytes = encode(&img, format);
        for cut in [bytes.len() / 2, bytes.len() - 3] {
            match decode(&bytes[..cut], &DecodeLimits::default()) {
                Err(VisionError::Truncated) => {}
                other => panic!(
                    "{format:?} cut at {cut}/{}: {:?}",
                    bytes.len(),
                    other.map(|i| i.dimensions())
                ),
            }
        }
    }
}

#[test]
fn corrupt_images_give_typed_errors() {
    let img = RgbImage::from_fn(64, 64, |x, y| Rgb([(x * 4) as u8, (y * 4) as u8, 128]));
    // A PNG whose image data is overwritten (CRCs no longer match).
    let mut png = encode(&img, ImageFormat::Png);
    let n = png.len();
    for b in &mut png[60..n - 20] {
        *b ^= 0x5A;
    }
    assert!(matches!(
        decode(&png, &DecodeLimits::default()),
        Err(VisionError::Corrupt(_) | VisionError::Truncated)
    ));
    // A JPEG header followed by garbage.
    let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xDB, 0x00, 0x03, 0x00];
    jpeg.extend_from_slice(&[0xFF, 0xDA, 0x12, 0x34, 0xFF, 0xD9]);
    assert!(matches!(
        decode(&jpeg, &DecodeLimits::default()),
        Err(VisionError::Corrupt(_) | VisionError::Truncated)
    ));
    // A BMP claiming an impossible header.
    let mut bmp = encode(&img, ImageFormat::Bmp);
    bmp[14..18].copy_from_slice(&7u32.to_le_bytes());
    assert!(matches!(
        decode(&bmp, &DecodeLimits::default()),
        Err(VisionError::Corrupt(_) | VisionError::UnsupportedFormat(_))
    ));
}

#[test]
fn oversized_images_are_refused_before_decoding() {
    let bytes = encode(&two_colour(64, 48), ImageFormat::Png);
    let tight = DecodeLimits {
        max_pixels: 1000,
        ..DecodeLimits::default()
    };
    assert!(matches!(
        decode(&bytes, &tight),
        Err(VisionError::TooLarge {
            what: "pixels",
            actual: 3072,
            limit: 1000
        })
    ));
    let tight = DecodeLimits {
        max_bytes: 100,
        ..DecodeLimits::default()
    };
    assert!(matches!(
        decode(&bytes, &tight),
        Err(VisionError::TooLarge { what: "bytes", .. })
    ));

    // A decompression bomb: a valid PNG header claiming 60000 × 60000 pixels.
    let mut bomb = encode(&two_colour(8, 8), ImageFormat::Png);
    bomb[16..20].copy_from_slice(&60000u32.to_be_bytes());
    bomb[20..24].copy_from_slice(&60000u32.to_be_bytes());
    let crc = crc32(&bomb[12..29]);
    bomb[29..33].copy_from_slice(&crc.to_be_bytes());
    assert!(matches!(
        decode(&bomb, &DecodeLimits::default()),
        Err(VisionError::TooLarge { .. })
    ));
}
