//! Action dispatch: the action name of X-TC-Action to its handler, and the typed reading
//! of request fields (absent → `MissingParameter`, wrong JSON type → `InvalidParameter`).

pub mod account;
mod attributes;
mod face;
mod group;
mod landmarks;
mod liveness;
mod person;
mod search;

use gallery::AccountId;
use serde_json::{Map, Value};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// Every action of IAI 2020-03-03 and 2018-03-01 (the 2018 set is a subset), plus
/// DetectLiveFace of older releases.
pub const ACTIONS: &[&str] = &[
    "AnalyzeDenseLandmarks",
    "AnalyzeFace",
    "CompareFace",
    "CompareMaskFace",
    "CopyPerson",
    "CreateFace",
    "CreateGroup",
    "CreatePerson",
    "DeleteFace",
    "DeleteGroup",
    "DeletePerson",
    "DeletePersonFromGroup",
    "DetectFace",
    "DetectFaceAttributes",
    "DetectFaceSimilarity",
    "DetectLiveFace",
    "DetectLiveFaceAccurate",
    "GetGroupInfo",
    "GetGroupList",
    "GetPersonBaseInfo",
    "GetPersonGroupInfo",
    "GetPersonList",
    "GetPersonListNum",
    "GetUpgradeGroupFaceModelVersionJobList",
    "GetUpgradeGroupFaceModelVersionResult",
    "ModifyGroup",
    "ModifyPersonBaseInfo",
    "ModifyPersonGroupInfo",
    "RevertGroupFaceModelVersion",
    "SearchFaces",
    "SearchFacesReturnsByGroup",
    "SearchPersons",
    "SearchPersonsReturnsByGroup",
    "UpgradeGroupFaceModelVersion",
    "VerifyFace",
    "VerifyPerson",
];

/// The action's canonical name, if it is one of [`ACTIONS`].
pub fn canonical_name(action: &str) -> Option<&'static str> {
    ACTIONS.iter().copied().find(|a| *a == action)
}

/// One authenticated call: who, which version, which fields.
pub struct Call<'a> {
    pub state: &'a AppState,
    pub caller: &'a Caller,
    pub version: &'a str,
    pub params: &'a Map<String, Value>,
    /// Signature v1 carries every value as text: numbers are read from strings too.
    pub lenient: bool,
    /// The call's RequestId (also the idempotency key of its metering record).
    pub request_id: &'a str,
}

pub type Fields = Map<String, Value>;

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

    /// Records this call's metering now, as a pending enrolment, before the action writes
    /// to the gallery (CreatePerson, CreateFace): metering refuses before anything is
    /// stored, and what is stored is billed. The server's own record after the action is
    /// then an idempotent replay of the same RequestId (nothing is counted twice).
    pub async fn meter_enrolment(&self, action: &str) -> Result<(), ApiError> {
        let Some(item) = billing::Item::for_action(action) else {
            return Ok(());
        };
        self.state
            .billing
            .record_enrolment(
                self.caller.account,
                item,
                action,
                self.request_id,
                chrono::Utc::now(),
            )
            .await?;
        Ok(())
    }

    /// The test-only stop between an enrolment's metering and its write
    /// ([`crate::state::Faults`]): the call ends as a process dying there would leave it.
    pub fn injected_stop_after_metering(&self) -> Result<(), ApiError> {
        if self.state.faults.stops_after_enrolment_metering() {
            return Err(ApiError::internal(
                "injected fault: stopped between metering and the gallery write",
            ));
        }
        Ok(())
    }

    /// After the gallery write: confirms the pending metering (the test-only stop before
    /// it ends the call as a crash there would). A failed confirmation is only logged: the
    /// enrolment is recorded in the gallery, so the reconciliation confirms it later.
    pub async fn confirm_enrolment(&self) -> Result<(), ApiError> {
        if self.state.faults.stops_after_enrolment_write() {
            return Err(ApiError::internal(
                "injected fault: stopped between the gallery write and its confirmation",
            ));
        }
        if let Err(e) = self
            .state
            .billing
            .confirm_enrolment(self.request_id, chrono::Utc::now())
            .await
        {
            tracing::warn!(request_id = self.request_id, error = %e,
                "confirming an enrolment failed; the reconciliation will");
        }
        Ok(())
    }

    /// Settles what [`Call::meter_enrolment`] recorded when the write it paid for failed:
    /// the gallery is asked (and the RequestId abandoned) first, so a write whose commit
    /// was reported as failed but landed is confirmed, not voided. Retried a few times;
    /// if it still fails (the database is down) the enrolment stays pending and the
    /// reconciliation settles it later.
    pub async fn settle_failed_enrolment(&self) {
        let mut delay = std::time::Duration::from_millis(50);
        for attempt in 1..=3 {
            match crate::reconcile::settle_one(
                &self.state.billing,
                &self.state.gallery,
                self.caller.account,
                self.request_id,
                chrono::Utc::now(),
            )
            .await
            {
                Ok(billing::EnrolmentOutcome::Charged { month }) => {
                    tracing::error!(
                        request_id = self.request_id,
                        month,
                        "a failed enrolment stays billed: its month is settled"
                    );
                    return;
                }
                Ok(_) => return,
                Err(e) if attempt == 3 => {
                    tracing::error!(request_id = self.request_id, error = %e,
                        "settling a failed enrolment failed; left to the reconciliation");
                }
                Err(e) => {
                    tracing::warn!(request_id = self.request_id, error = %e, attempt,
                        "settling a failed enrolment failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 4;
                }
            }
        }
    }
}

fn type_error(name: &str, what: &str) -> ApiError {
    ApiError::new("InvalidParameter", format!("{name} must be {what}"))
}

/// Runs one action.
pub async fn dispatch(action: &'static str, call: &Call<'_>) -> Result<Fields, ApiError> {
    match action {
        "DetectFace" => face::detect_face(call).await,
        "CompareFace" => face::compare_face(call).await,
        "CreateGroup" => group::create_group(call).await,
        "DeleteGroup" => group::delete_group(call).await,
        "GetGroupList" => group::get_group_list(call).await,
        "GetGroupInfo" => group::get_group_info(call).await,
        "ModifyGroup" => group::modify_group(call).await,
        "CreatePerson" => person::create_person(call).await,
        "DeletePerson" => person::delete_person(call).await,
        "DeletePersonFromGroup" => person::delete_person_from_group(call).await,
        "GetPersonList" => person::get_person_list(call).await,
        "GetPersonListNum" => person::get_person_list_num(call).await,
        "GetPersonBaseInfo" => person::get_person_base_info(call).await,
        "CreateFace" => person::create_face(call).await,
        "DeleteFace" => person::delete_face(call).await,
        "CopyPerson" => person::copy_person(call).await,
        "GetPersonGroupInfo" => person::get_person_group_info(call).await,
        "ModifyPersonBaseInfo" => person::modify_person_base_info(call).await,
        "ModifyPersonGroupInfo" => person::modify_person_group_info(call).await,
        "SearchFaces" => search::search_faces(call).await,
        "SearchFacesReturnsByGroup" => search::search_faces_returns_by_group(call).await,
        "SearchPersons" => search::search_persons(call).await,
        "SearchPersonsReturnsByGroup" => search::search_persons_returns_by_group(call).await,
        "VerifyFace" | "VerifyPerson" => search::verify(call).await,
        "UpgradeGroupFaceModelVersion" => group::upgrade_group_face_model_version(call).await,
        "GetUpgradeGroupFaceModelVersionJobList" => group::upgrade_job_list(call).await,
        "GetUpgradeGroupFaceModelVersionResult" | "RevertGroupFaceModelVersion" => {
            group::upgrade_job(call).await
        }
        "AnalyzeFace" => landmarks::analyze_face(call).await,
        "AnalyzeDenseLandmarks" => landmarks::analyze_dense_landmarks(call).await,
        "DetectFaceAttributes" => attributes::detect_face_attributes(call).await,
        "DetectLiveFace" => liveness::detect_live_face(call).await,
        "DetectLiveFaceAccurate" => liveness::detect_live_face_accurate(call).await,
        // Its score has its own scale (same person at 70); the engine is calibrated
        // for CompareFace's (same person at 50), and no second table exists yet.
        "DetectFaceSimilarity" => Err(ApiError::unsupported(
            "DetectFaceSimilarity needs its own score calibration, which this server does not provide yet",
        )),
        "CompareMaskFace" => Err(ApiError::unsupported(
            "CompareMaskFace needs a masked-face model, which this server does not provide yet",
        )),
        other => Err(ApiError::unsupported(format!(
            "{other} is not implemented by this server yet"
        ))),
    }
}
