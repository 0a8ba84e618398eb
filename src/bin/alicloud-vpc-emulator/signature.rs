//! The emulator's signature check: a pure function over the request's parameters, built on
//! the same signer the client uses so both sides can only disagree when the request does.

use tfprovider::alicloud::sign::v1 as signer;

/// A request whose `Signature` is not what the server computes. Carries the server's string to
/// sign because the real gateway puts it in the error message, and it is what a user needs to
/// find an encoding difference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub server_string_to_sign: String,
}

/// Checks `Signature` against every other parameter signed with `secret` for `method`.
/// A missing `Signature` is a mismatch; the gateway reports it earlier as `MissingParameter`.
pub fn verify<'a, I>(method: &str, params: I, secret: &str) -> Result<(), Mismatch>
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let params: Vec<(&str, &str)> = params.into_iter().collect();
    let given = params
        .iter()
        .find(|(k, _)| *k == "Signature")
        .map(|(_, v)| *v);
    let server_string_to_sign = signer::string_to_sign(method, params.iter().copied());
    let expected = signer::sign_string(&server_string_to_sign, secret);
    match given {
        Some(sig) if signer::signatures_equal(sig, &expected) => Ok(()),
        _ => Err(Mismatch {
            server_string_to_sign,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn vectors() -> Vec<Value> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/vectors/signature-v1.json"
        );
        let text = std::fs::read_to_string(path).expect("vector file readable");
        let doc: Value = serde_json::from_str(&text).expect("vector file is JSON");
        doc["vectors"].as_array().cloned().unwrap_or_default()
    }

    fn params_with(v: &Value, signature: &str) -> Vec<(String, String)> {
        let mut p: Vec<(String, String)> = v["params"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
            .collect();
        p.push(("Signature".to_owned(), signature.to_owned()));
        p
    }

    #[test]
    fn vectors_verify_and_the_wrong_one_is_refused() {
        let vectors = vectors();
        let (mut positive, mut negative) = (0, 0);
        for v in &vectors {
            let name = v["name"].as_str().unwrap_or("?");
            let method = v["method"].as_str().unwrap_or("GET");
            let secret = v["secret"].as_str().unwrap_or_default();
            if let Some(sig) = v["signature"].as_str() {
                let p = params_with(v, sig);
                let it = p.iter().map(|(k, v)| (k.as_str(), v.as_str()));
                assert_eq!(verify(method, it, secret), Ok(()), "{name}");
                positive += 1;
            }
            if let Some(wrong) = v["wrong_signature"].as_str() {
                let p = params_with(v, wrong);
                let it = p.iter().map(|(k, v)| (k.as_str(), v.as_str()));
                let err = verify(method, it, secret).expect_err(name);
                if let Some(s) = v["string_to_sign"].as_str() {
                    assert_eq!(err.server_string_to_sign, s, "{name}");
                }
                negative += 1;
            }
        }
        assert!(positive >= 6, "too few positive vectors: {positive}");
        assert!(negative >= 1, "no negative vector");
    }

    #[test]
    fn mismatch_carries_the_string_to_sign() {
        let v = vectors()
            .into_iter()
            .find(|v| v["string_to_sign"].is_string());
        let v = v.expect("a vector with a string to sign");
        let p = params_with(&v, "bogus=");
        let it = p.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        let err = verify(v["method"].as_str().unwrap_or("GET"), it, "testsecret")
            .expect_err("bogus signature accepted");
        assert_eq!(
            err.server_string_to_sign,
            v["string_to_sign"].as_str().unwrap_or("")
        );
        // The method is part of what is signed.
        let ok = v["signature"].as_str().unwrap_or_default();
        let p = params_with(&v, ok);
        let other = if v["method"] == "GET" { "POST" } else { "GET" };
        let it = p.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        assert!(verify(other, it, "testsecret").is_err());
    }

    #[test]
    fn missing_signature_is_a_mismatch() {
        assert!(verify("GET", [("Action", "DescribeFlowLogs")], "s").is_err());
    }
}
