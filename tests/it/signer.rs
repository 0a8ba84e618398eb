//! Signature v1 against the published and SDK-computed vectors in `tests/vectors/`.

use proptest::prelude::*;
use serde_json::Value;
use tfprovider::alicloud::sign::v1 as signer;

fn vectors() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/signature-v1.json"
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    doc["vectors"].as_array().unwrap().clone()
}

fn params(v: &Value) -> Vec<(String, String)> {
    v["params"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

#[test]
fn every_vector_in_the_file() {
    let vectors = vectors();
    assert!(vectors.len() >= 7, "vector file looks truncated");
    let mut positive = 0;
    for v in &vectors {
        let name = v["name"].as_str().unwrap();
        let method = v["method"].as_str().unwrap();
        let secret = v["secret"].as_str().unwrap();
        let p = params(v);
        let it = || p.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        if let Some(q) = v["canonicalized_query"].as_str() {
            assert_eq!(
                signer::canonicalized_query(it()),
                q,
                "{name}: canonicalized query"
            );
        }
        if let Some(s) = v["string_to_sign"].as_str() {
            assert_eq!(
                signer::string_to_sign(method, it()),
                s,
                "{name}: string to sign"
            );
        }
        let got = signer::sign(method, it(), secret);
        if let Some(sig) = v["signature"].as_str() {
            assert_eq!(got, sig, "{name}: signature");
            positive += 1;
        }
        if let Some(wrong) = v["wrong_signature"].as_str() {
            assert_ne!(
                got, wrong,
                "{name}: signer reproduced a known-wrong signature"
            );
        }
    }
    assert!(positive >= 6);
}

#[test]
fn signature_parameter_is_not_signed() {
    let base = [("Action", "DescribeFlowLogs"), ("RegionId", "cn-hangzhou")];
    let with_sig = [
        ("Action", "DescribeFlowLogs"),
        ("RegionId", "cn-hangzhou"),
        ("Signature", "x"),
    ];
    assert_eq!(
        signer::sign("POST", base, "s"),
        signer::sign("POST", with_sig, "s")
    );
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            out.push(
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap(), 16).unwrap(),
            );
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

proptest! {
    #[test]
    fn any_utf8_survives_encoding(s in any::<String>()) {
        let enc = signer::percent_encode(&s);
        prop_assert_eq!(percent_decode(&enc), s.as_bytes().to_vec());
    }

    #[test]
    fn only_unreserved_characters_stay(s in any::<String>()) {
        let enc = signer::percent_encode(&s);
        for c in enc.chars() {
            prop_assert!(c.is_ascii_alphanumeric() || "-_.~%".contains(c), "{c:?} left unencoded");
        }
        // Every escape is upper-case hex.
        for esc in enc.split('%').skip(1) {
            let hex = &esc[..2];
            prop_assert!(hex.chars().all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c)));
        }
    }

    #[test]
    fn reserved_characters_always_encoded(c in prop::sample::select(vec![' ', '*', '+', '/', '=', '&', '%', ':', '?', '#', '!'])) {
        let enc = signer::percent_encode(&c.to_string());
        prop_assert_eq!(enc, format!("%{:02X}", c as u32));
    }
}
