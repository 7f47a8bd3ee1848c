//! What is sold: the six offline SDKs and the features each one unlocks, as data.
//!
//! The SDK ids are the strings `billing::Sdk` uses (`detect`, `ir-liveness`,
//! `3d-liveness`, `search`, `ir-liveness-search`, `3d-liveness-search`); this crate
//! keeps its own copy so the on-device verifier depends on nothing else of Renlian's.
//!
//! Feature sets follow the price list literally: only the detection SDK lists tracking
//! with best-shot and the quality score (人脸检测（含检测配准、跟踪优选、质量分判断）);
//! every SDK has detection with alignment (`detect`); the liveness SDKs add their
//! liveness, the search SDKs add feature extraction and 1:N search.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One offline SDK product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Sdk {
    #[serde(rename = "detect")]
    Detect,
    #[serde(rename = "ir-liveness")]
    IrLiveness,
    #[serde(rename = "3d-liveness")]
    Liveness3d,
    #[serde(rename = "search")]
    Search,
    #[serde(rename = "ir-liveness-search")]
    IrLivenessSearch,
    #[serde(rename = "3d-liveness-search")]
    Liveness3dSearch,
}

/// One capability of an SDK that a licence can grant and the SDK checks before use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Feature {
    /// Face detection with alignment (检测配准).
    #[serde(rename = "detect")]
    Detect,
    /// Tracking and best-shot selection (跟踪优选).
    #[serde(rename = "tracking")]
    Tracking,
    /// Quality score (质量分判断).
    #[serde(rename = "quality")]
    Quality,
    /// Infrared liveness (红外活体).
    #[serde(rename = "ir-liveness")]
    IrLiveness,
    /// 3D structured-light liveness (3D 结构光活体).
    #[serde(rename = "3d-liveness")]
    Liveness3d,
    /// Face feature extraction (人脸特征提取).
    #[serde(rename = "features")]
    Features,
    /// 1:N search (1：N人脸比对).
    #[serde(rename = "search")]
    Search,
}

/// A string that names no SDK or feature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {name:?} (known: {known})")]
pub struct UnknownName {
    pub what: &'static str,
    pub name: String,
    pub known: String,
}

impl Sdk {
    pub const ALL: [Sdk; 6] = [
        Sdk::Detect,
        Sdk::IrLiveness,
        Sdk::Liveness3d,
        Sdk::Search,
        Sdk::IrLivenessSearch,
        Sdk::Liveness3dSearch,
    ];

    /// The id used in licences, requests, the API and `billing::Sdk`.
    pub fn as_str(self) -> &'static str {
        match self {
            Sdk::Detect => "detect",
            Sdk::IrLiveness => "ir-liveness",
            Sdk::Liveness3d => "3d-liveness",
            Sdk::Search => "search",
            Sdk::IrLivenessSearch => "ir-liveness-search",
            Sdk::Liveness3dSearch => "3d-liveness-search",
        }
    }

    /// The features a licence for this SDK grants, in [`Feature::ALL`] order.
    pub fn features(self) -> &'static [Feature] {
        use Feature::*;
        match self {
            Sdk::Detect => &[Detect, Tracking, Quality],
            Sdk::IrLiveness => &[Detect, IrLiveness],
            Sdk::Liveness3d => &[Detect, Liveness3d],
            Sdk::Search => &[Detect, Features, Search],
            Sdk::IrLivenessSearch => &[Detect, IrLiveness, Features, Search],
            Sdk::Liveness3dSearch => &[Detect, Liveness3d, Features, Search],
        }
    }

    /// Whether a licence for this SDK grants `feature`.
    pub fn has(self, feature: Feature) -> bool {
        self.features().contains(&feature)
    }
}

impl Feature {
    pub const ALL: [Feature; 7] = [
        Feature::Detect,
        Feature::Tracking,
        Feature::Quality,
        Feature::IrLiveness,
        Feature::Liveness3d,
        Feature::Features,
        Feature::Search,
    ];

    /// The id used in licences.
    pub fn as_str(self) -> &'static str {
        match self {
            Feature::Detect => "detect",
            Feature::Tracking => "tracking",
            Feature::Quality => "quality",
            Feature::IrLiveness => "ir-liveness",
            Feature::Liveness3d => "3d-liveness",
            Feature::Features => "features",
            Feature::Search => "search",
        }
    }

    /// What it is, in words.
    pub fn describe(self) -> &'static str {
        match self {
            Feature::Detect => "face detection with alignment",
            Feature::Tracking => "face tracking and best-shot selection",
            Feature::Quality => "face quality score",
            Feature::IrLiveness => "infrared liveness",
            Feature::Liveness3d => "3D structured-light liveness",
            Feature::Features => "face feature extraction",
            Feature::Search => "1:N face search",
        }
    }
}

fn known<T: Copy>(all: &[T], name: fn(T) -> &'static str) -> String {
    all.iter().map(|&x| name(x)).collect::<Vec<_>>().join(", ")
}

impl FromStr for Sdk {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Sdk::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| UnknownName {
                what: "SDK",
                name: s.to_owned(),
                known: known(&Sdk::ALL, Sdk::as_str),
            })
    }
}

impl FromStr for Feature {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Feature::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| UnknownName {
                what: "feature",
                name: s.to_owned(),
                known: known(&Feature::ALL, Feature::as_str),
            })
    }
}

impl fmt::Display for Sdk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_text_and_json() {
        for sdk in Sdk::ALL {
            assert_eq!(sdk.as_str().parse::<Sdk>(), Ok(sdk));
            assert_eq!(
                serde_json::to_string(&sdk).ok(),
                Some(format!("\"{}\"", sdk.as_str()))
            );
        }
        for f in Feature::ALL {
            assert_eq!(f.as_str().parse::<Feature>(), Ok(f));
            assert_eq!(
                serde_json::to_string(&f).ok(),
                Some(format!("\"{}\"", f.as_str()))
            );
        }
        let err = "face".parse::<Sdk>().err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("unknown SDK \"face\" (known: detect, ir-liveness, 3d-liveness, search, ir-liveness-search, 3d-liveness-search)")
        );
    }

    #[test]
    fn every_sdk_detects_and_the_sets_follow_the_price_list() {
        for sdk in Sdk::ALL {
            assert_eq!(sdk.features().first(), Some(&Feature::Detect), "{sdk}");
            let mut sorted = sdk.features().to_vec();
            sorted.sort();
            assert_eq!(sorted, sdk.features(), "{sdk}: not in Feature::ALL order");
        }
        assert!(Sdk::Detect.has(Feature::Tracking) && Sdk::Detect.has(Feature::Quality));
        assert!(!Sdk::Search.has(Feature::Quality));
        assert!(
            Sdk::IrLivenessSearch.has(Feature::IrLiveness)
                && Sdk::IrLivenessSearch.has(Feature::Search)
        );
        assert!(!Sdk::IrLivenessSearch.has(Feature::Liveness3d));
        assert!(
            Sdk::Liveness3dSearch.has(Feature::Liveness3d)
                && Sdk::Liveness3dSearch.has(Feature::Features)
        );
        assert!(!Sdk::Liveness3d.has(Feature::Search));
    }
}
