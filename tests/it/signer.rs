//! Signatures v1 and V3 against the published and SDK-computed vectors in `tests/vectors/`,
//! and property tests: any changed byte of what is signed changes the signature.

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

// ---------------------------------------------------------------------------------------
// Signature V3 (ACS3-HMAC-SHA256) against tests/vectors/signature-v3.json.

use tfprovider::alicloud::sign::v3;

/// The V3 vectors (also read by the emulator's V3 tests).
pub fn v3_vectors() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/signature-v3.json"
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    doc["vectors"].as_array().unwrap().clone()
}

/// A vector's `[name, value]` pairs.
pub fn pairs(v: &Value) -> Vec<(String, String)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap().to_owned(),
                p[1].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn borrowed(p: &[(String, String)]) -> Vec<(&str, &str)> {
    p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

#[test]
fn every_v3_vector_in_the_file() {
    let vectors = v3_vectors();
    assert!(vectors.len() >= 9, "vector file looks truncated");
    let (mut positive, mut negative, mut sources) = (0, 0, std::collections::BTreeSet::new());
    for v in &vectors {
        let name = v["name"].as_str().unwrap();
        assert!(
            v["tool"].as_str().is_some_and(|t| !t.is_empty()),
            "{name}: no tool"
        );
        sources.insert(v["source"].as_str().unwrap().to_owned());
        let query = pairs(&v["query"]);
        let headers = pairs(&v["headers"]);
        let (q, h) = (borrowed(&query), borrowed(&headers));
        let payload = v["payload_hash"].as_str().unwrap();
        if let Some(body) = v["body"].as_str() {
            assert_eq!(
                v3::hash_hex(body.as_bytes()),
                payload,
                "{name}: payload hash"
            );
        }
        let req = v3::Request {
            method: v["method"].as_str().unwrap(),
            path: v["path"].as_str().unwrap(),
            query: &q,
            headers: &h,
            payload_hash: payload,
        };
        if let Some(cq) = v["canonical_query"].as_str() {
            assert_eq!(v3::canonical_query(&q), cq, "{name}: canonical query");
        }
        let (block, signed) = v3::canonical_headers(&h);
        if let Some(ch) = v["canonical_headers"].as_str() {
            assert_eq!(block, ch, "{name}: canonical headers");
        }
        if let Some(sh) = v["signed_headers"].as_str() {
            assert_eq!(signed, sh, "{name}: signed headers");
        }
        let canonical = v3::canonical_request(&req);
        if let Some(cr) = v["canonical_request"].as_str() {
            assert_eq!(canonical, cr, "{name}: canonical request");
        }
        let sts = v3::string_to_sign(&canonical);
        if let Some(s) = v["string_to_sign"].as_str() {
            assert_eq!(sts, s, "{name}: string to sign");
        }
        let secret = v["secret"].as_str().unwrap();
        let sig = v3::signature(&sts, secret);
        if let Some(s) = v["signature"].as_str() {
            assert_eq!(sig, s, "{name}: signature");
        }
        let key_id = v["access_key_id"].as_str().unwrap();
        if let Some(a) = v["authorization"].as_str() {
            assert_eq!(
                v3::authorization(&req, key_id, secret),
                a,
                "{name}: authorization"
            );
            positive += 1;
        }
        if let Some(wrong) = v["wrong_signature"].as_str() {
            assert_ne!(
                sig, wrong,
                "{name}: signer reproduced a known-wrong signature"
            );
            negative += 1;
        }
    }
    assert!(positive >= 8, "too few positive vectors: {positive}");
    assert!(negative >= 1, "no negative vector");
    for s in ["published", "darabonba openapi-util", "computed"] {
        assert!(sources.contains(s), "no vector from {s}: {sources:?}");
    }
}

/// The published example's signature, as printed in Alibaba's documentation.
#[test]
fn the_published_v3_example() {
    let v = v3_vectors()
        .into_iter()
        .find(|v| v["source"] == "published")
        .expect("the published vector");
    assert_eq!(
        v["signature"],
        "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
    );
    assert_eq!(
        v["string_to_sign"],
        "ACS3-HMAC-SHA256\n7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"
    );
}

/// Replaces the character at `at` of `s` (empty: adds one) with one of `alphabet` that
/// differs from it.
fn change_char(
    s: &str,
    at: prop::sample::Index,
    pick: prop::sample::Index,
    alphabet: &str,
) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    let choices: Vec<char> = alphabet.chars().collect();
    if chars.is_empty() {
        return choices[pick.index(choices.len())].to_string();
    }
    let i = at.index(chars.len());
    let start = pick.index(choices.len());
    let c = (0..choices.len())
        .map(|k| choices[(start + k) % choices.len()])
        .find(|c| *c != chars[i])
        .unwrap();
    chars[i] = c;
    chars.into_iter().collect()
}

const VISIBLE: &str = "!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~中é";
const LOWER: &str = "abcdefghijklmnopqrstuvwxyz-";
const NAME: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.";

#[derive(Debug, Clone)]
struct Parts {
    method: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    secret: String,
}

impl Parts {
    fn v3(&self) -> String {
        let q = borrowed(&self.query);
        let h = borrowed(&self.headers);
        let payload = v3::hash_hex(&self.body);
        let req = v3::Request {
            method: &self.method,
            path: "/",
            query: &q,
            headers: &h,
            payload_hash: &payload,
        };
        v3::authorization(&req, "testid", &self.secret)
    }

    fn v1(&self) -> String {
        signer::sign(&self.method, borrowed(&self.query), &self.secret)
    }
}

fn parts() -> impl Strategy<Value = Parts> {
    (
        prop::sample::select(vec!["GET", "POST", "PUT", "DELETE"]),
        prop::collection::vec(("[A-Za-z][A-Za-z0-9.]{0,8}", any::<String>()), 1..5),
        prop::collection::vec(("x-acs-[a-z]{1,6}", "[!-~]([ -~]{0,10}[!-~])?"), 1..5),
        prop::collection::vec(any::<u8>(), 0..64),
        "[!-~]{1,24}",
    )
        .prop_map(|(method, query, headers, body, secret)| Parts {
            method: method.to_owned(),
            query,
            headers,
            body,
            secret,
        })
}

/// One byte of one component changed: what it changes, where, and to what.
#[derive(Debug, Clone)]
struct Change {
    target: usize,
    item: prop::sample::Index,
    at: prop::sample::Index,
    pick: prop::sample::Index,
}

fn change() -> impl Strategy<Value = Change> {
    (
        0..7usize,
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(target, item, at, pick)| Change {
            target,
            item,
            at,
            pick,
        })
}

impl Change {
    /// `p` with this change; `v1` limits it to what v1 signs (method, query, secret).
    fn apply(&self, p: &Parts, v1: bool) -> Parts {
        let mut p = p.clone();
        let target = if v1 {
            [0, 1, 2, 6][self.target % 4]
        } else {
            self.target
        };
        match target {
            0 => {
                p.method = change_char(&p.method, self.at, self.pick, "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
            }
            1 => {
                let i = self.item.index(p.query.len());
                p.query[i].0 = change_char(&p.query[i].0, self.at, self.pick, NAME);
            }
            2 => {
                let i = self.item.index(p.query.len());
                p.query[i].1 = change_char(&p.query[i].1, self.at, self.pick, VISIBLE);
            }
            3 => {
                // Header names are lower-cased when signed: change to another lower-case name.
                let i = self.item.index(p.headers.len());
                let suffix = &p.headers[i].0["x-acs-".len()..];
                p.headers[i].0 =
                    format!("x-acs-{}", change_char(suffix, self.at, self.pick, LOWER));
            }
            4 => {
                // Values are trimmed when signed: change to a visible character.
                let i = self.item.index(p.headers.len());
                p.headers[i].1 = change_char(&p.headers[i].1, self.at, self.pick, &VISIBLE[..94]);
            }
            5 => {
                if p.body.is_empty() {
                    p.body.push(self.pick.index(256) as u8);
                } else {
                    let i = self.at.index(p.body.len());
                    p.body[i] ^= 1 + self.pick.index(255) as u8;
                }
            }
            _ => p.secret = change_char(&p.secret, self.at, self.pick, &VISIBLE[..94]),
        }
        p
    }
}

proptest! {
    #[test]
    fn v3_any_changed_byte_changes_the_signature(p in parts(), c in change()) {
        let changed = c.apply(&p, false);
        prop_assert_ne!(p.v3(), changed.v3(), "unchanged by {:?}", c);
    }

    #[test]
    fn v1_any_changed_byte_changes_the_signature(p in parts(), c in change()) {
        let changed = c.apply(&p, true);
        // v1 leaves a parameter named `Signature` out of what it signs.
        let named_signature = |x: &Parts| x.query.iter().any(|(k, _)| k == "Signature");
        prop_assume!(!named_signature(&p) && !named_signature(&changed));
        prop_assert_ne!(p.v1(), changed.v1(), "unchanged by {:?}", c);
    }

    #[test]
    fn v3_signatures_are_64_lower_case_hex_and_deterministic(p in parts()) {
        let a = p.v3();
        prop_assert_eq!(&a, &p.v3());
        let sig = a.rsplit("Signature=").next().unwrap_or_default();
        prop_assert_eq!(sig.len(), 64);
        prop_assert!(sig.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
    }
}
