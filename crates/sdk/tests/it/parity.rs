//! The SDK runs the server's code: the same faces, descriptors, quality and liveness on
//! the same photos, from the exported model directory.

use sdk::{DescriptorVersion, Sdk};

use crate::support::*;

const PHOTOS: [&str; 3] = ["obama.jpg", "biden.jpg", "obama2.jpg"];

#[test]
fn descriptors_equal_the_servers() {
    let (_dir, sdk, _clock) = open_device(Sdk::Search);
    for name in PHOTOS {
        let bytes = photo(name);
        let img = sdk.decode(&bytes).unwrap();
        let (face, d) = sdk.extract(&img).unwrap();
        let server = server_engine().embed(&img).unwrap();
        let (sface, v1) = &server[0];
        assert_eq!(&face, sface, "{name}");
        // The SDK describes new faces with the latest version, as the server does for
        // new groups; version 1 on request, as the server keeps for older groups.
        let both = server_engine()
            .describe_versions(&img, std::slice::from_ref(sface))
            .unwrap()
            .remove(0);
        assert_eq!(&both.v1, v1, "{name}");
        assert_eq!(d, both.v2, "{name}: descriptors differ");
        assert_eq!(
            sdk.descriptor_as(&img, &face, DescriptorVersion::V1)
                .unwrap(),
            both.v1,
            "{name}: version 1"
        );
    }
}

#[test]
fn scores_are_on_the_apis_scale() {
    let (_dir, sdk, _clock) = open_device(Sdk::Search);
    let describe = |name: &str| {
        let img = sdk.decode(&photo(name)).unwrap();
        sdk.extract(&img).unwrap().1
    };
    let (a, a2, b) = (
        describe("obama.jpg"),
        describe("obama2.jpg"),
        describe("biden.jpg"),
    );
    let same = sdk.compare(&a.0, &a2.0).unwrap();
    let other = sdk.compare(&a.0, &b.0).unwrap();
    // obama.jpg and obama2.jpg score 45.3 on the server's calibrated scale (a hard pair:
    // years apart, another pose); what matters here is that the scale is the server's.
    assert!(
        same.score > other.score + 20.0,
        "same {} other {}",
        same.score,
        other.score
    );
    assert!(
        other.score < 50.0,
        "different people scored {}",
        other.score
    );
    // The server's comparison of two version-2 descriptors (CompareFace's; the api
    // crate's descriptor_versions test holds CompareFace to it).
    assert_eq!(
        same,
        server_engine()
            .compare_as(&a, &a2, DescriptorVersion::LATEST)
            .unwrap(),
        "the server's comparison"
    );
    // score_of_distance is version 1's table: right for version-1 pairs only.
    let img = sdk.decode(&photo("obama.jpg")).unwrap();
    let face = sdk.detect(&img).unwrap().remove(0);
    let a1 = sdk
        .descriptor_as(&img, &face, DescriptorVersion::V1)
        .unwrap();
    let img = sdk.decode(&photo("obama2.jpg")).unwrap();
    let face = sdk.detect(&img).unwrap().remove(0);
    let b1 = sdk
        .descriptor_as(&img, &face, DescriptorVersion::V1)
        .unwrap();
    let v1 = sdk.compare_as(&a1.0, &b1.0, DescriptorVersion::V1).unwrap();
    assert_eq!(v1, server_engine().compare(&a1, &b1).unwrap());
    assert_eq!(sdk.score_of_distance(v1.distance), v1.score);
    // A descriptor of the wrong length is refused, not compared.
    let err = sdk.compare(&a.0[..100], &b.0).unwrap_err();
    assert_eq!(err.code(), sdk::ErrorCode::InvalidArgument);
}

#[test]
fn quality_and_liveness_equal_the_servers() {
    let (_dir, sdk, _clock) = open_device(Sdk::Detect);
    let (_dir2, live, _clock2) = open_device(Sdk::IrLiveness);
    let mesh = vision::MeshNets::load(server_store()).unwrap();
    let nets = vision::LivenessNets::load(server_store()).unwrap();
    for name in PHOTOS {
        let img = sdk.decode(&photo(name)).unwrap();
        let face = sdk.detect(&img).unwrap().remove(0);
        let q = sdk.quality(&img, &face).unwrap();
        let server_q =
            vision::quality::assess(&img, face.rect, &mesh.run(&img, &face).unwrap().shape90());
        assert_eq!(q, server_q, "{name}");
        assert!(q.score > 0, "{name}: quality {q:?}");
        let l = live.liveness(&img, &face).unwrap();
        assert_eq!(l, nets.assess(&img, face.rect).unwrap(), "{name}");
    }
}

#[test]
fn undecodable_input_and_photos_without_faces_are_clear_errors() {
    let (_dir, sdk, _clock) = open_device(Sdk::Search);
    let err = sdk.decode(b"not an image").unwrap_err();
    assert_eq!(err.code(), sdk::ErrorCode::Image);
    let blank = image::RgbImage::from_pixel(200, 200, image::Rgb([128, 128, 128]));
    assert_eq!(
        sdk.extract(&blank).unwrap_err().code(),
        sdk::ErrorCode::NoFace
    );
}
