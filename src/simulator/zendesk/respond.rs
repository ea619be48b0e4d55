//! The emulator's answers: JSON bodies with Zendesk's content type, and
//! Zendesk's error form (`{"error": …, "description": …}`).

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use serde_json::{json, Value};

/// A response of the emulator.
pub(super) type Resp = Response<Full<Bytes>>;

pub(super) fn json_response(status: StatusCode, body: &Value) -> Resp {
    bytes_response(status, Bytes::from(body.to_string()))
}

pub(super) fn bytes_response(status: StatusCode, body: Bytes) -> Resp {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

pub(super) fn error(status: StatusCode, error: &str, description: &str) -> Resp {
    json_response(
        status,
        &json!({ "error": error, "description": description }),
    )
}
