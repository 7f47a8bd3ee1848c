//! [`Action`]: every action this endpoint serves, in ONE table — its wire name, the
//! service it belongs to, the API versions that offer it and the billing item it is
//! metered under. Dispatch (`actions::dispatch`) matches on it exhaustively, the server
//! checks service and version from it, metering takes the item from it, and the CLI's
//! load commands find an item's action in it. Billing knows no action names: the server
//! passes the name in.

use billing::Item;

use crate::auth::Service;

/// The versions of the face API (IAI 2020-03-03 and 2018-03-01); both share one set of
/// handlers and every face action is offered on both.
pub const IAI_VERSIONS: &[&str] = &["2020-03-03", "2018-03-01"];

/// The version of the `billing` service (the account's own billing actions), as the
/// Tencent Cloud billing API names its version.
pub const BILLING_VERSIONS: &[&str] = &["2018-07-09"];

/// The version of the `licensing` service (offline-SDK licences; Renlian's own).
pub const LICENSING_VERSIONS: &[&str] = &["2026-12-01"];

/// Defines [`Action`] and its table from one row per action:
/// `Name: service, versions, billing item;`. The variant's name is its wire name.
macro_rules! action_table {
    ($($(#[$doc:meta])* $name:ident: $service:ident, $versions:expr, $item:expr;)*) => {
        /// An action of the endpoint (X-TC-Action, or signature v1's `Action`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Action {
            $($(#[$doc])* $name,)*
        }

        impl Action {
            /// Every action, in the table's order.
            pub const ALL: &'static [Action] = &[$(Action::$name,)*];

            /// The name on the wire.
            pub fn name(self) -> &'static str {
                match self {
                    $(Action::$name => stringify!($name),)*
                }
            }

            /// The service the action belongs to (the two sets are disjoint).
            pub fn service(self) -> Service {
                match self {
                    $(Action::$name => Service::$service,)*
                }
            }

            /// The API versions that offer it.
            pub fn versions(self) -> &'static [&'static str] {
                match self {
                    $(Action::$name => $versions,)*
                }
            }

            /// The billing item a call is metered under; `None` for free actions.
            pub fn item(self) -> Option<Item> {
                match self {
                    $(Action::$name => $item,)*
                }
            }
        }
    };
}

// Grouped as docs/api.md lists them; within an item, the first action is the one the
// CLI's load commands meter under (`Action::first_billed_as`).
action_table! {
    DetectFace: Face, IAI_VERSIONS, Some(Item::Detect);
    DetectFaceAttributes: Face, IAI_VERSIONS, Some(Item::Detect);
    AnalyzeFace: Face, IAI_VERSIONS, Some(Item::Landmarks);
    AnalyzeDenseLandmarks: Face, IAI_VERSIONS, Some(Item::Landmarks);
    CompareFace: Face, IAI_VERSIONS, Some(Item::Compare);
    /// Refused: no masked-face model.
    CompareMaskFace: Face, IAI_VERSIONS, Some(Item::Compare);
    /// Refused: no calibration table for its score scale.
    DetectFaceSimilarity: Face, IAI_VERSIONS, Some(Item::Compare);
    CreateGroup: Face, IAI_VERSIONS, None;
    DeleteGroup: Face, IAI_VERSIONS, None;
    GetGroupList: Face, IAI_VERSIONS, None;
    GetGroupInfo: Face, IAI_VERSIONS, None;
    ModifyGroup: Face, IAI_VERSIONS, None;
    /// An enrolment: metered as pending before its gallery write (`crate::enrolment`).
    CreatePerson: Face, IAI_VERSIONS, Some(Item::Person);
    DeletePerson: Face, IAI_VERSIONS, None;
    DeletePersonFromGroup: Face, IAI_VERSIONS, None;
    GetPersonList: Face, IAI_VERSIONS, None;
    GetPersonListNum: Face, IAI_VERSIONS, None;
    GetPersonBaseInfo: Face, IAI_VERSIONS, None;
    GetPersonGroupInfo: Face, IAI_VERSIONS, None;
    ModifyPersonBaseInfo: Face, IAI_VERSIONS, None;
    ModifyPersonGroupInfo: Face, IAI_VERSIONS, None;
    CopyPerson: Face, IAI_VERSIONS, None;
    /// An enrolment, as CreatePerson.
    CreateFace: Face, IAI_VERSIONS, Some(Item::Person);
    DeleteFace: Face, IAI_VERSIONS, None;
    SearchFaces: Face, IAI_VERSIONS, Some(Item::Search);
    SearchFacesReturnsByGroup: Face, IAI_VERSIONS, Some(Item::Search);
    SearchPersons: Face, IAI_VERSIONS, Some(Item::Search);
    SearchPersonsReturnsByGroup: Face, IAI_VERSIONS, Some(Item::Search);
    VerifyFace: Face, IAI_VERSIONS, Some(Item::Verify);
    VerifyPerson: Face, IAI_VERSIONS, Some(Item::Verify);
    UpgradeGroupFaceModelVersion: Face, IAI_VERSIONS, None;
    GetUpgradeGroupFaceModelVersionJobList: Face, IAI_VERSIONS, None;
    GetUpgradeGroupFaceModelVersionResult: Face, IAI_VERSIONS, None;
    RevertGroupFaceModelVersion: Face, IAI_VERSIONS, None;
    /// Also DetectLiveFace of older SDK releases (no typed model in the current one).
    DetectLiveFace: Face, IAI_VERSIONS, Some(Item::Liveness);
    DetectLiveFaceAccurate: Face, IAI_VERSIONS, Some(Item::Liveness);
    // The account's own billing: never metered.
    DescribeAccountBalance: Billing, BILLING_VERSIONS, None;
    DescribeResourcePacks: Billing, BILLING_VERSIONS, None;
    BuyResourcePack: Billing, BILLING_VERSIONS, None;
    DescribeUsage: Billing, BILLING_VERSIONS, None;
    DescribeBills: Billing, BILLING_VERSIONS, None;
    DescribeNotices: Billing, BILLING_VERSIONS, None;
    // Offline-SDK licences (docs/licensing.md): purchases are charged through billing,
    // never metered.
    CreateSdkOrder: Licensing, LICENSING_VERSIONS, None;
    ActivateSdkLicense: Licensing, LICENSING_VERSIONS, None;
    MoveSdkLicense: Licensing, LICENSING_VERSIONS, None;
    CreateSdkTrial: Licensing, LICENSING_VERSIONS, None;
    CreateSdkPlatformLicense: Licensing, LICENSING_VERSIONS, None;
    RenewSdkPlatformLicense: Licensing, LICENSING_VERSIONS, None;
    RevokeSdkLicense: Licensing, LICENSING_VERSIONS, None;
    DescribeSdkLicenses: Licensing, LICENSING_VERSIONS, None;
    DescribeSdkRevocationList: Licensing, LICENSING_VERSIONS, None;
}

impl Action {
    /// The action of a wire name (exact, case-sensitive, as the API is).
    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.iter().copied().find(|a| a.name() == name)
    }

    /// The first action of the table billed under `item` (DetectFace for `detect`,
    /// CreatePerson for `person`, …).
    pub fn first_billed_as(item: Item) -> Option<Action> {
        Action::ALL.iter().copied().find(|a| a.item() == Some(item))
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        for a in Action::ALL {
            assert_eq!(Action::from_name(a.name()), Some(*a));
        }
        assert_eq!(Action::from_name("detectface"), None);
        assert_eq!(Action::from_name("NoSuchAction"), None);
        let face = Action::ALL
            .iter()
            .filter(|a| a.service() == Service::Face)
            .count();
        assert_eq!(face, 36);
        assert_eq!(Action::ALL.len(), 51);
    }

    #[test]
    fn actions_map_to_items() {
        let table = [
            ("DetectFace", Item::Detect),
            ("DetectFaceAttributes", Item::Detect),
            ("AnalyzeFace", Item::Landmarks),
            ("AnalyzeDenseLandmarks", Item::Landmarks),
            ("CompareFace", Item::Compare),
            ("CompareMaskFace", Item::Compare),
            ("DetectFaceSimilarity", Item::Compare),
            ("VerifyFace", Item::Verify),
            ("VerifyPerson", Item::Verify),
            ("SearchFaces", Item::Search),
            ("SearchFacesReturnsByGroup", Item::Search),
            ("SearchPersons", Item::Search),
            ("SearchPersonsReturnsByGroup", Item::Search),
            ("CreatePerson", Item::Person),
            ("CreateFace", Item::Person),
            ("DetectLiveFace", Item::Liveness),
            ("DetectLiveFaceAccurate", Item::Liveness),
        ];
        for (name, item) in table {
            assert_eq!(Action::from_name(name).and_then(Action::item), Some(item));
        }
        let billed = Action::ALL.iter().filter(|a| a.item().is_some()).count();
        assert_eq!(billed, table.len());
        for a in Action::ALL {
            if a.service() != Service::Face {
                assert_eq!(a.item(), None, "{a}");
            }
        }
    }

    #[test]
    fn every_item_has_its_first_action() {
        let want = [
            (Item::Detect, Action::DetectFace),
            (Item::Landmarks, Action::AnalyzeFace),
            (Item::Compare, Action::CompareFace),
            (Item::Verify, Action::VerifyFace),
            (Item::Search, Action::SearchFaces),
            (Item::Person, Action::CreatePerson),
            (Item::Liveness, Action::DetectLiveFace),
        ];
        assert_eq!(want.len(), Item::ALL.len());
        for (item, action) in want {
            assert_eq!(Action::first_billed_as(item), Some(action), "{item}");
        }
    }

    #[test]
    fn versions_by_service() {
        for a in Action::ALL {
            let want = match a.service() {
                Service::Face => IAI_VERSIONS,
                Service::Billing => BILLING_VERSIONS,
                Service::Licensing => LICENSING_VERSIONS,
            };
            assert_eq!(a.versions(), want, "{a}");
        }
    }
}
