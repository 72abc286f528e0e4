//! `/v1/verifications` and `/v1/users/{id}/verifications`.

use hyper::header::{HeaderValue, LOCATION};
use hyper::StatusCode;
use idv_core::domain::{DocumentType, Status, VerificationFilter};
use idv_core::image_input::decode_image_field;
use idv_core::verifications::{Review, Submission, DOCUMENT_BACK, DOCUMENT_FRONT, SELFIE};
use serde::Deserialize;

use super::views::{Message, PageView, VerificationSummary, VerificationView};
use super::{authenticate, json, ApiError, Handled, Req, State};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateVerification {
    user_id: i64,
    document_type: String,
    document_front_image: String,
    #[serde(default)]
    document_back_image: Option<String>,
    selfie_image: String,
}

fn document_type(text: &str) -> Result<DocumentType, ApiError> {
    DocumentType::parse(text).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_document_type",
            "document_type must be one of passport, id_card, driving_license, residence_permit",
        )
        .with_field("document_type")
    })
}

pub async fn create(state: &State, req: &Req) -> Handled {
    let caller = authenticate(state, req).await?;
    let new: CreateVerification = req.json()?;
    if new.user_id <= 0 {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_id",
            "user_id must be a positive integer",
        )
        .with_field("user_id"));
    }
    let submission = Submission {
        user_id: new.user_id,
        document_type: document_type(&new.document_type)?,
        document_front: decode_image_field(DOCUMENT_FRONT, &new.document_front_image)?,
        document_back: new
            .document_back_image
            .as_deref()
            .map(|text| decode_image_field(DOCUMENT_BACK, text))
            .transpose()?,
        selfie: decode_image_field(SELFIE, &new.selfie_image)?,
    };
    // Run to the end even if the client goes away, so that stored images never lack their
    // record.
    let idv = state.idv.clone();
    let submitted = tokio::spawn(async move { idv.submit(&caller, submission).await });
    let verification = submitted
        .await
        .map_err(|e| ApiError::from(idv_core::Error::internal(e)))??;
    let location = format!("/v1/verifications/{}", verification.id);
    let mut response = json(StatusCode::CREATED, &VerificationView::from(verification));
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(LOCATION, value);
    }
    Ok(response)
}

pub async fn list(state: &State, req: &Req) -> Handled {
    let caller = authenticate(state, req).await?;
    let query = req.query()?;
    let filter = VerificationFilter {
        user_id: None,
        status: query.status()?,
    };
    let page = state
        .idv
        .list_verifications(&caller, filter, query.page()?)
        .await?;
    Ok(json(
        StatusCode::OK,
        &PageView::new(page, |v| VerificationSummary::from(&v)),
    ))
}

pub async fn list_for_user(state: &State, req: &Req) -> Handled {
    let caller = authenticate(state, req).await?;
    let user_id = req.id(0, "user_id")?;
    let query = req.query()?;
    let page = state
        .idv
        .list_user_verifications(&caller, user_id, query.page()?)
        .await?;
    Ok(json(
        StatusCode::OK,
        &PageView::new(page, |v| VerificationSummary::from(&v)),
    ))
}

pub async fn get(state: &State, req: &Req) -> Handled {
    let caller = authenticate(state, req).await?;
    let id = req.id(0, "verification_id")?;
    let verification = state.idv.get_verification(&caller, id).await?;
    Ok(json(StatusCode::OK, &VerificationView::from(verification)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewRequest {
    status: String,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    result: Option<serde_json::Value>,
}

pub async fn review(state: &State, req: &Req) -> Handled {
    let caller = authenticate(state, req).await?;
    let id = req.id(0, "verification_id")?;
    let review: ReviewRequest = req.json()?;
    if review.result.is_some() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "read_only",
            "scores are measured by idv and cannot be set; a review sets status and note",
        )
        .with_field("result"));
    }
    let status = match Status::parse(&review.status) {
        Some(status @ (Status::Approved | Status::Rejected)) => status,
        _ => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_status",
                "status must be approved or rejected",
            )
            .with_field("status"))
        }
    };
    let verification = state
        .idv
        .review(
            &caller,
            id,
            Review {
                status,
                note: review.note,
            },
        )
        .await?;
    Ok(json(StatusCode::OK, &VerificationView::from(verification)))
}

pub async fn delete(state: &State, req: &Req) -> Handled {
    let caller = authenticate(state, req).await?;
    let id = req.id(0, "verification_id")?;
    state.idv.delete_verification(&caller, id).await?;
    Ok(json(
        StatusCode::OK,
        &Message {
            message: "Verification request deleted successfully",
        },
    ))
}
