//! Action dispatch: each [`Action`] to its handler (an exhaustive match), and the typed
//! reading of request fields (absent → `MissingParameter`, wrong JSON type →
//! `InvalidParameter`). The action modules share helpers through [`common`] only and
//! never import each other.

mod account;
mod attributes;
mod common;
mod face;
mod group;
mod landmarks;
mod licensing;
mod liveness;
mod person;
mod search;

use gallery::AccountId;
use serde_json::{Map, Value};

use crate::action::Action;
use crate::auth::Caller;
use crate::enrolment::Enrolment;
use crate::error::ApiError;
use crate::state::AppState;

/// One authenticated call: who, which version, which fields.
pub struct Call<'a> {
    pub state: &'a AppState,
    pub caller: &'a Caller,
    pub action: Action,
    pub version: &'a str,
    pub params: &'a Map<String, Value>,
    /// Signature v1 carries every value as text: numbers are read from strings too.
    pub lenient: bool,
    /// The call's RequestId (also the idempotency key of its metering record).
    pub request_id: &'a str,
    /// The pixel budget this call's images hold until it ends (`common::admit`).
    pub admitted: std::sync::Mutex<Vec<tokio::sync::OwnedSemaphorePermit>>,
}

pub type Fields = Map<String, Value>;

/// What a 0/1 switch field makes of a value other than 0 and 1 ([`Call::switch`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Switch {
    /// Refused: `InvalidParameterValue` "NAME must be 0 or 1, got V".
    ZeroOrOne,
    /// Off: "any value but 1 means no" (IAI's rule for NeedFaceAttributes and
    /// NeedQualityDetection).
    OneOrOff,
}

impl Call<'_> {
    /// The caller's tenant in the gallery: its billing account id.
    pub fn account(&self) -> Result<AccountId, ApiError> {
        Ok(AccountId::new(self.caller.account.to_string())?)
    }

    fn present(&self, name: &str) -> Option<&Value> {
        self.params.get(name).filter(|v| !v.is_null())
    }

    pub fn str_opt(&self, name: &str) -> Result<Option<&str>, ApiError> {
        match self.present(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(type_error(name, "a string")),
        }
    }

    pub fn str_req(&self, name: &str) -> Result<&str, ApiError> {
        self.str_opt(name)?.ok_or_else(|| ApiError::missing(name))
    }

    pub fn int_opt(&self, name: &str) -> Result<Option<i64>, ApiError> {
        self.present(name).map(|v| self.int_of(name, v)).transpose()
    }

    /// An integer field's value (also inside objects of a list).
    pub fn int_of(&self, name: &str, v: &Value) -> Result<i64, ApiError> {
        match v {
            Value::Number(n) => n.as_i64().ok_or_else(|| type_error(name, "an integer")),
            Value::String(s) if self.lenient => {
                s.trim().parse().map_err(|_| type_error(name, "an integer"))
            }
            _ => Err(type_error(name, "an integer")),
        }
    }

    /// A 0/1 switch: absent or 0 is off, 1 on; any other value as `others` says.
    pub fn switch(&self, name: &str, others: Switch) -> Result<bool, ApiError> {
        match self.int_opt(name)? {
            None | Some(0) => Ok(false),
            Some(1) => Ok(true),
            Some(_) if others == Switch::OneOrOff => Ok(false),
            Some(v) => Err(ApiError::invalid_value(format!(
                "{name} must be 0 or 1, got {v}"
            ))),
        }
    }

    pub fn float_opt(&self, name: &str) -> Result<Option<f64>, ApiError> {
        match self.present(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_f64()
                .map(Some)
                .ok_or_else(|| type_error(name, "a number")),
            Some(Value::String(s)) if self.lenient => s
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(Some)
                .ok_or_else(|| type_error(name, "a number")),
            Some(_) => Err(type_error(name, "a number")),
        }
    }

    pub fn str_list_opt(&self, name: &str) -> Result<Option<Vec<&str>>, ApiError> {
        match self.present(name) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .ok_or_else(|| type_error(name, "a list of strings"))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(type_error(name, "a list of strings")),
        }
    }

    pub fn objects_opt(&self, name: &str) -> Result<Option<&Vec<Value>>, ApiError> {
        match self.present(name) {
            None => Ok(None),
            Some(Value::Array(items)) if items.iter().all(Value::is_object) => Ok(Some(items)),
            Some(_) => Err(type_error(name, "a list of objects")),
        }
    }

    /// This call's enrolment (CreatePerson, CreateFace): metered as pending around its
    /// gallery write by the one protocol, [`Enrolment::run`].
    pub fn enrolment(&self) -> Enrolment<'_> {
        Enrolment {
            billing: &self.state.billing,
            gallery: &self.state.gallery,
            account: self.caller.account,
            action: self.action,
            request_id: self.request_id,
            faults: &self.state.faults,
        }
    }
}

fn type_error(name: &str, what: &str) -> ApiError {
    ApiError::new("InvalidParameter", format!("{name} must be {what}"))
}

/// Runs one action. Every action of the table is handled here: a new [`Action`] does
/// not compile until it is.
pub async fn dispatch(action: Action, call: &Call<'_>) -> Result<Fields, ApiError> {
    use Action as A;
    match action {
        A::DetectFace => face::detect_face(call).await,
        A::CompareFace => face::compare_face(call).await,
        A::CreateGroup => group::create_group(call).await,
        A::DeleteGroup => group::delete_group(call).await,
        A::GetGroupList => group::get_group_list(call).await,
        A::GetGroupInfo => group::get_group_info(call).await,
        A::ModifyGroup => group::modify_group(call).await,
        A::CreatePerson => person::create_person(call).await,
        A::DeletePerson => person::delete_person(call).await,
        A::DeletePersonFromGroup => person::delete_person_from_group(call).await,
        A::GetPersonList => person::get_person_list(call).await,
        A::GetPersonListNum => person::get_person_list_num(call).await,
        A::GetPersonBaseInfo => person::get_person_base_info(call).await,
        A::CreateFace => person::create_face(call).await,
        A::DeleteFace => person::delete_face(call).await,
        A::CopyPerson => person::copy_person(call).await,
        A::GetPersonGroupInfo => person::get_person_group_info(call).await,
        A::ModifyPersonBaseInfo => person::modify_person_base_info(call).await,
        A::ModifyPersonGroupInfo => person::modify_person_group_info(call).await,
        A::SearchFaces => search::search_faces(call).await,
        A::SearchFacesReturnsByGroup => search::search_faces_returns_by_group(call).await,
        A::SearchPersons => search::search_persons(call).await,
        A::SearchPersonsReturnsByGroup => search::search_persons_returns_by_group(call).await,
        A::VerifyFace | A::VerifyPerson => search::verify(call).await,
        A::UpgradeGroupFaceModelVersion => group::upgrade_group_face_model_version(call).await,
        A::GetUpgradeGroupFaceModelVersionJobList => group::upgrade_job_list(call).await,
        A::GetUpgradeGroupFaceModelVersionResult | A::RevertGroupFaceModelVersion => {
            group::upgrade_job(call).await
        }
        A::AnalyzeFace => landmarks::analyze_face(call).await,
        A::AnalyzeDenseLandmarks => landmarks::analyze_dense_landmarks(call).await,
        A::DetectFaceAttributes => attributes::detect_face_attributes(call).await,
        A::DetectLiveFace => liveness::detect_live_face(call).await,
        A::DetectLiveFaceAccurate => liveness::detect_live_face_accurate(call).await,
        // Its score has its own scale (same person at 70); the engine is calibrated
        // for CompareFace's (same person at 50), and no second table exists yet.
        A::DetectFaceSimilarity => Err(ApiError::unsupported(
            "DetectFaceSimilarity needs its own score calibration, which this server does not provide yet",
        )),
        A::CompareMaskFace => Err(ApiError::unsupported(
            "CompareMaskFace needs a masked-face model, which this server does not provide yet",
        )),
        // The `billing` service: the account's own billing.
        A::DescribeAccountBalance => account::describe_account_balance(call).await,
        A::DescribeResourcePacks => account::describe_resource_packs(call).await,
        A::BuyResourcePack => account::buy_resource_pack(call).await,
        A::DescribeUsage => account::describe_usage(call).await,
        A::DescribeBills => account::describe_bills(call).await,
        A::DescribeNotices => account::describe_notices(call).await,
        // The `licensing` service: the account's offline-SDK licences.
        A::CreateSdkOrder => licensing::create_sdk_order(call).await,
        A::ActivateSdkLicense => licensing::activate_sdk_license(call).await,
        A::MoveSdkLicense => licensing::move_sdk_license(call).await,
        A::CreateSdkTrial => licensing::create_sdk_trial(call).await,
        A::CreateSdkPlatformLicense => licensing::create_sdk_platform_license(call).await,
        A::RenewSdkPlatformLicense => licensing::renew_sdk_platform_license(call).await,
        A::RevokeSdkLicense => licensing::revoke_sdk_license(call).await,
        A::DescribeSdkLicenses => licensing::describe_sdk_licenses(call).await,
        A::DescribeSdkRevocationList => licensing::describe_sdk_revocation_list(call).await,
    }
}
