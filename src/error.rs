//! The one error type of the API. Each kind maps to one HTTP status; the JSON body is
//! `{"code": …, "message": …, "field"?: …, "retry_after"?: …}` and never carries a
//! cause the browser should not see (database errors are logged, then sent as
//! "internal error").

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// A field broke an input rule, or the request could not be read.
    Invalid,
    /// The password given to confirm a change is not the account's (`400`, field named).
    WrongPassword,
    /// A verification or reset link that is unknown, expired, used or replaced.
    InvalidToken,
    /// A second-factor code that is wrong, reused or spent (`400` while setting up,
    /// `401` at sign-in).
    InvalidCode,
    UsernameTaken,
    InvalidCredentials,
    Unauthorized,
    /// A cross-site request to a state-changing endpoint.
    Forbidden,
    /// No such server function, or a session that is not the caller's.
    NotFound,
    MethodNotAllowed,
    PayloadTooLarge,
    Throttled,
    /// The database cannot be reached; worth retrying.
    Unavailable,
    Internal,
}

impl ErrorCode {
    const ALL: [ErrorCode; 14] = [
        ErrorCode::InvalidCode,
        ErrorCode::NotFound,
        ErrorCode::Invalid,
        ErrorCode::WrongPassword,
        ErrorCode::InvalidToken,
        ErrorCode::UsernameTaken,
        ErrorCode::InvalidCredentials,
        ErrorCode::Unauthorized,
        ErrorCode::Forbidden,
        ErrorCode::MethodNotAllowed,
        ErrorCode::PayloadTooLarge,
        ErrorCode::Throttled,
        ErrorCode::Unavailable,
        ErrorCode::Internal,
    ];

    /// The code as it appears in JSON and in a no-JavaScript redirect's query string.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Invalid => "invalid",
            ErrorCode::WrongPassword => "wrong_password",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InvalidCode => "invalid_code",
            ErrorCode::UsernameTaken => "username_taken",
            ErrorCode::InvalidCredentials => "invalid_credentials",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::Throttled => "throttled",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == code)
    }

    /// What a form shows for an error named in its URL (after a no-JavaScript post).
    /// Fixed text: a URL must not be able to put words on the page.
    pub fn form_message(self, field: Option<&str>) -> &'static str {
        match (self, field) {
            (ErrorCode::Invalid, Some("username")) => "username: 3 to 32 characters: letters, digits, '_', '.' or '-'",
            (ErrorCode::Invalid, Some("password")) => "password: 8 to 1024 characters",
            (ErrorCode::Invalid, Some("new_password")) => "new_password: 8 to 1024 characters",
            (ErrorCode::Invalid, Some("current_password")) => "current_password: that is not your password",
            (ErrorCode::Invalid, Some("email")) => "email: that is not a valid email address",
            (ErrorCode::Invalid, Some("login")) => "login: enter your username or email address",
            (ErrorCode::WrongPassword, _) => "password: that is not your password",
            (ErrorCode::InvalidToken, _) => "this link is invalid, expired or already used; ask for a new one",
            (ErrorCode::InvalidCode, _) => "code: invalid, expired or already used",
            (ErrorCode::Invalid, Some("code")) => "code: invalid, expired or already used",
            (ErrorCode::UsernameTaken, _) => "username: that name is taken",
            (ErrorCode::InvalidCredentials, _) => "invalid username or password",
            (ErrorCode::Throttled, _) => "too many attempts; try again later",
            (ErrorCode::Unavailable, _) => "the service is briefly unavailable; try again",
            (ErrorCode::Forbidden, _) => "this form must be sent from this site",
            _ => "something went wrong; try again",
        }
    }

    pub fn status(self) -> u16 {
        match self {
            ErrorCode::Invalid | ErrorCode::WrongPassword | ErrorCode::InvalidToken => 400,
            // Its status depends on where: see `AppError::invalid_code`.
            ErrorCode::InvalidCode => 400,
            ErrorCode::InvalidCredentials | ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::UsernameTaken => 409,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::Throttled => 429,
            ErrorCode::Internal => 500,
            ErrorCode::Unavailable => 503,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
    /// The form field at fault (`username` or `password`), for `Invalid` and `UsernameTaken`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Seconds to wait, for `Throttled` and `Unavailable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// A status other than the code's own (a wrong code at sign-in is a `401`, while
    /// setting up a `400`). Server side only.
    #[serde(skip)]
    pub status: Option<u16>,
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        AppError { code, message: message.into(), field: None, retry_after: None, status: None }
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AppError { field: Some(field.to_string()), ..Self::new(ErrorCode::Invalid, message) }
    }

    pub fn username_taken() -> Self {
        AppError {
            field: Some("username".to_string()),
            ..Self::new(ErrorCode::UsernameTaken, "username: that name is taken")
        }
    }

    pub fn wrong_password() -> Self {
        AppError {
            field: Some("password".to_string()),
            ..Self::new(ErrorCode::WrongPassword, "password: that is not your password")
        }
    }

    pub fn invalid_token(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidToken, message)
    }

    /// A wrong second-factor code, naming the `code` field.
    pub fn invalid_code() -> Self {
        AppError {
            field: Some("code".to_string()),
            ..Self::new(ErrorCode::InvalidCode, "code: invalid, expired or already used")
        }
    }

    pub fn invalid_credentials() -> Self {
        Self::new(ErrorCode::InvalidCredentials, "invalid username or password")
    }

    pub fn unauthorized() -> Self {
        Self::new(ErrorCode::Unauthorized, "sign in first")
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    pub fn unavailable() -> Self {
        AppError {
            retry_after: Some(5),
            ..Self::new(ErrorCode::Unavailable, "the service is briefly unavailable; try again")
        }
    }

    /// The client-facing half of a failure whose cause has been logged on the server.
    pub fn internal() -> Self {
        Self::new(ErrorCode::Internal, "internal error")
    }

    pub fn status(&self) -> u16 {
        self.status.unwrap_or_else(|| self.code.status())
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AppError {}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    /// Failures of the server-function machinery itself: on the server, a request it
    /// could not read (a client error, never a 500); in the browser, no answer at all.
    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        let error = match value {
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => {
                Self::new(ErrorCode::Invalid, "the request's fields could not be read")
            }
            ServerFnErrorErr::UnsupportedRequestMethod(_) => {
                Self::new(ErrorCode::MethodNotAllowed, "method not allowed")
            }
            ServerFnErrorErr::Request(_) => Self::new(ErrorCode::Unavailable, "the server could not be reached"),
            // On the server, a body that could not be read is the client's: too long
            // (a chunked body past the limit) or not UTF-8. In the browser, the same
            // variant means the server's answer could not be read.
            ServerFnErrorErr::Deserialization(why) if cfg!(feature = "ssr") => {
                if why.contains("length limit exceeded") {
                    Self::new(ErrorCode::PayloadTooLarge, "the request body is too large")
                } else {
                    Self::new(ErrorCode::Invalid, "the request's body could not be read")
                }
            }
            ServerFnErrorErr::Deserialization(_) | ServerFnErrorErr::Response(_) => {
                Self::new(ErrorCode::Unavailable, "the server's answer could not be read")
            }
            ServerFnErrorErr::Registration(_)
            | ServerFnErrorErr::ServerError(_)
            | ServerFnErrorErr::MiddlewareError(_)
            | ServerFnErrorErr::Serialization(_) => Self::internal(),
        };
        #[cfg(feature = "ssr")]
        crate::server::reply::set_status(&error);
        error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_code_has_the_contract_status() {
        assert_eq!(AppError::invalid("username", "x").status(), 400);
        assert_eq!(AppError::username_taken().status(), 409);
        assert_eq!(AppError::invalid_credentials().status(), 401);
        assert_eq!(AppError::unavailable().status(), 503);
        assert_eq!(AppError::internal().status(), 500);
    }

    #[test]
    fn codes_round_trip_through_their_names() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()), "serde and as_str agree");
        }
        assert_eq!(ErrorCode::parse("<script>"), None);
    }

    #[test]
    fn the_json_body_names_the_field_and_omits_what_is_empty() {
        let body = serde_json::to_string(&AppError::invalid("password", "password: at least 8 characters")).unwrap();
        assert_eq!(body, r#"{"code":"invalid","message":"password: at least 8 characters","field":"password"}"#);
    }
}
