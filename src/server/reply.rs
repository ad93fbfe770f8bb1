//! How a result becomes an HTTP answer: the status of an `AppError`, and the `303`
//! redirects that make every form work without JavaScript.

use crate::error::AppError;
use axum::{
    http::{header, request::Parts, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;

/// Logs the cause of a database failure and keeps it from the client: an unreachable
/// database is a `503` worth retrying, anything else a generic `500`.
impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
                tracing::warn!(%error, "database unavailable");
                AppError::unavailable()
            }
            error => {
                tracing::error!(%error, "database error");
                AppError::internal()
            }
        }
    }
}

fn status_of(error: &AppError) -> StatusCode {
    StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// For the middleware, outside any server function.
impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = status_of(&self);
        let retry_after = self.retry_after;
        let mut response = (status, Json(self)).into_response();
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// Inside a server function: gives the response the error's status (the server-function
/// machinery would otherwise answer every error with a 500).
pub fn set_status(error: &AppError) {
    if let Some(response) = use_context::<ResponseOptions>() {
        response.set_status(status_of(error));
        if let Some(seconds) = error.retry_after {
            response.insert_header(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
    }
}

/// Where a plain (no-JavaScript) form post goes next.
pub struct FormTargets<'a> {
    pub success: &'a str,
    /// The form's page; the error's code (and field) are added to its query string.
    pub failure: &'a str,
}

/// Whether the server function being answered was posted by a plain HTML form (no
/// JavaScript): its answer is a redirect, so anything to show must travel otherwise.
pub fn plain_form_post() -> bool {
    use_context::<Parts>().filter(is_api_call).is_some_and(|parts| is_plain_form_post(&parts))
}

/// A browser posting a form without JavaScript asks for HTML; the WASM client never does.
fn is_plain_form_post(parts: &Parts) -> bool {
    parts.headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"))
}

/// Finishes a server function: with JavaScript, the JSON result and the error's status;
/// without it, a `303` to the next page, or back to the form with the error named.
/// When a page calls the function while rendering on the server, the response is the
/// page's, and is left alone.
pub fn finish<T>(result: Result<T, AppError>, targets: FormTargets<'_>) -> Result<T, AppError> {
    let Some(parts) = use_context::<Parts>().filter(is_api_call) else { return result };
    match (&result, is_plain_form_post(&parts)) {
        (Ok(_), true) => see_other(targets.success),
        (Err(error), true) => see_other(&failure_url(targets.failure, error)),
        (Err(error), false) => set_status(error),
        (Ok(_), false) => {}
    }
    result
}

/// A request to a server function's own URL, rather than a page rendering on the server.
fn is_api_call(parts: &Parts) -> bool {
    parts.method == axum::http::Method::POST && parts.uri.path().starts_with("/api/")
}

fn failure_url(form: &str, error: &AppError) -> String {
    let separator = if form.contains('?') { '&' } else { '?' };
    let mut url = format!("{form}{separator}error={}", error.code.as_str());
    if let Some(field) = &error.field {
        url.push_str("&field=");
        url.push_str(&crate::shared::encode_query_value(field));
    }
    url
}

fn see_other(location: &str) {
    if let (Some(response), Ok(value)) = (use_context::<ResponseOptions>(), HeaderValue::from_str(location)) {
        response.set_status(StatusCode::SEE_OTHER);
        response.insert_header(header::LOCATION, value);
    }
}
