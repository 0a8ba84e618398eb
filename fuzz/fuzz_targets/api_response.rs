//! An Alibaba Cloud API answer (HTTP status and body) decoded as the transport and the
//! operations decode it: a DescribeFlowLogs page, an ActiveFlowLog/DeactiveFlowLog answer, an
//! STS AssumeRole/AssumeRoleWithOIDC answer, or an error envelope / unexpected body.
//!
//! Input: byte 0 picks the call, byte 1 the HTTP status, the rest is the body. Nothing may
//! panic; no error may show a secret the request carried; an error about an STS answer never
//! quotes the body (it may hold new credentials).

#![no_main]

use libfuzzer_sys::fuzz_target;
use tfprovider::alicloud::Error;
use tfprovider::fuzzing::{AnswerKind, SENT_SECRETS, api_answer};

const STATUSES: [u16; 16] = [
    200, 200, 200, 200, 201, 299, 0, 302, 400, 403, 404, 409, 429, 500, 502, 503,
];

fuzz_target!(|data: &[u8]| {
    let [call, status, body @ ..] = data else {
        return;
    };
    let kind = match call % 4 {
        0 => AnswerKind::DescribeFlowLogs,
        1 => AnswerKind::ToggleFlowLog,
        2 => AnswerKind::AssumeRole,
        _ => AnswerKind::AssumeRoleWithOidc,
    };
    // Mostly the statuses an API answers with; the high bit any status at all.
    let status = if status & 0x80 == 0 {
        STATUSES[usize::from(status & 0x0f)]
    } else {
        u16::from(*status & 0x7f) * 8 + 100
    };
    let Err(err) = api_answer(kind, status, body) else {
        return;
    };
    let text = err.to_string();
    let _ = (
        err.code(),
        err.request_id(),
        err.is_retryable(),
        err.is_throttling(),
    );
    for secret in SENT_SECRETS {
        assert!(!text.contains(secret), "a sent secret in the error: {text}");
    }
    if kind.product().secret_answers
        && let Error::InvalidResponse { body_start, .. } = &err
    {
        assert!(
            body_start.starts_with("(not shown"),
            "an STS answer quoted: {text}"
        );
    }
});
