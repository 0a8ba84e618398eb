//! Request signers: pure functions of their inputs (time and nonce are passed in), returning
//! what to attach to a request. `v1` is the RPC signature (HMAC-SHA1, a `Signature`
//! parameter); a header-based `ACS3-HMAC-SHA256` signer would sit beside it as a sibling.

pub mod v1;
