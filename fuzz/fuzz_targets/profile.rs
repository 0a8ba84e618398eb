//! The CLI credentials file (`~/.aliyun/config.json`) on arbitrary contents, read as the
//! profile credential source reads it, up to the first call it would make: the profile asked
//! for, its `source_profile` chain, its mode and fields, each link's role.
//!
//! Input: byte 0 picks the profile asked for (and whether a home directory is known), the
//! rest is the file (which must be UTF-8, as reading it requires). Nothing may panic, and a
//! chain is never longer than the limit.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use tfprovider::fuzzing::{ProfileOutcome, profile};

const WANTED: [Option<&str>; 8] = [
    None,
    Some("default"),
    Some("a"),
    Some("b"),
    Some("chain"),
    Some(" a"),
    None,
    Some("é"),
];

fuzz_target!(|data: &[u8]| {
    let [sel, file @ ..] = data else {
        return;
    };
    let Ok(text) = std::str::from_utf8(file) else {
        return;
    };
    let wanted = WANTED[usize::from(sel & 0x07)];
    let home = (sel & 0x80 != 0).then(|| Path::new("/home/fuzz"));
    match profile(text, wanted, home) {
        Ok(ProfileOutcome::Found { links, .. }) => assert!((1..=9).contains(&links), "{links}"),
        Ok(ProfileOutcome::Nothing(why)) => assert!(!why.is_empty()),
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
