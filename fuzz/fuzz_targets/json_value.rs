//! The JSON value decoder (state-file `RawState.json`) on arbitrary bytes, against a type read
//! from the front of the input. Nothing may panic, and a decoded value must survive encoding:
//! it decodes back to the same value, and its encoding is a fixed point. The one value JSON
//! cannot hold is an infinite number (the decoder accepts "Inf" text, as go-cty does).

#![no_main]

use libfuzzer_sys::fuzz_target;
use tfprovider::fuzzing::type_from_bytes;
use tfprovider::tfvalue::{from_json, to_json};

fuzz_target!(|data: &[u8]| {
    let (ty, bytes) = type_from_bytes(data);
    let Ok(value) = from_json(bytes, &ty) else {
        return;
    };
    let json = match to_json(&value, &ty) {
        Ok(j) => j,
        Err(e) if e.to_string().contains("infinity cannot be written as JSON") => return,
        Err(e) => panic!("decoded {value:?} as {ty} but cannot encode it: {e}"),
    };
    let text = serde_json::to_vec(&json).expect("serializing a serde_json::Value");
    let back = from_json(&text, &ty).unwrap_or_else(|e| {
        panic!(
            "cannot decode our own encoding {} of {value:?} as {ty}: {e}",
            String::from_utf8_lossy(&text)
        )
    });
    assert_eq!(
        back,
        value,
        "round trip through {} as {ty}",
        String::from_utf8_lossy(&text)
    );
    let again = to_json(&back, &ty).expect("encodes once, encodes twice");
    assert_eq!(
        again, json,
        "encoding is not canonical for {value:?} as {ty}"
    );
});
