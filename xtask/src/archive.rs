//! Reproducible provider archives (zip, deflate, fixed time/order/modes) and the hashes Terraform
//! checks them with: SHA-256 of the file and Go's dirhash `h1:` of its contents.

use std::io::{Cursor, Read as _, Write as _};

use base64::Engine as _;
use sha2::{Digest as _, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};

/// The archive bytes: one entry `entry_name` holding `contents`, mode 0755.
///
/// Nothing of the build machine goes in: the time is the zip epoch (1980-01-01 00:00), the
/// host system field is always Unix (the zip crate would write DOS on Windows, losing the mode),
/// no extra fields, and a fixed deflate level; so the same binary always gives the same bytes.
pub fn zip_single(entry_name: &str, contents: &[u8]) -> Result<Vec<u8>, String> {
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(9))
        .last_modified_time(DateTime::default())
        .system(zip::System::Unix)
        .unix_permissions(0o755)
        .large_file(false);
    let fail = |e: zip::result::ZipError| format!("writing zip entry {entry_name}: {e}");
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    zip.start_file(entry_name, options).map_err(fail)?;
    zip.write_all(contents)
        .map_err(|e| format!("writing zip entry {entry_name}: {e}"))?;
    Ok(zip.finish().map_err(fail)?.into_inner())
}

/// Lowercase hex SHA-256, as in SHA256SUMS.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Go's `dirhash.Hash1` (golang.org/x/mod/sumdb/dirhash), which Terraform records as `h1:`:
/// over the files sorted by name (byte order), the lines `"<sha256 hex>  <name>\n"`; the
/// result is `h1:` + base64 of the SHA-256 of those lines. Names with a newline are refused,
/// as Go does, since they would make the line list ambiguous.
pub fn h1<'a>(files: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Result<String, String> {
    let mut lines: Vec<(&str, String)> = Vec::new();
    for (name, bytes) in files {
        if name.contains('\n') {
            return Err(format!("file name {name:?} contains a newline"));
        }
        lines.push((name, sha256_hex(bytes)));
    }
    lines.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut summary = Sha256::new();
    for (name, digest) in &lines {
        summary.update(format!("{digest}  {name}\n").as_bytes());
    }
    Ok(format!(
        "h1:{}",
        base64::engine::general_purpose::STANDARD.encode(summary.finalize())
    ))
}

/// `h1:` of a zip archive, over its entries as Terraform's `HashZip` reads them (every entry,
/// under its name in the archive). Works on archives built elsewhere, for the merge.
pub fn h1_of_zip(archive: &[u8]) -> Result<String, String> {
    let mut zip =
        ZipArchive::new(Cursor::new(archive)).map_err(|e| format!("not a zip archive: {e}"))?;
    let mut entries: Vec<(String, Vec<u8>)> = Vec::with_capacity(zip.len());
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| format!("zip entry {i}: {e}"))?;
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| format!("zip entry {}: {e}", entry.name()))?;
        entries.push((entry.name().to_owned(), bytes));
    }
    h1(entries.iter().map(|(n, b)| (n.as_str(), b.as_slice())))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Computed by hand, independently of this code:
    /// ```sh
    /// printf 'hello\n' > a; printf '#!/bin/sh\n' > b
    /// (printf '%s  %s\n' "$(sha256sum b | cut -d' ' -f1)" Z
    ///  printf '%s  %s\n' "$(sha256sum a | cut -d' ' -f1)" a/b.txt) > lines
    /// printf 'h1:%s\n' "$(sha256sum lines | cut -d' ' -f1 | xxd -r -p | base64)"
    /// ```
    /// The input order is reversed on purpose; "Z" sorts before "a" in byte order.
    #[test]
    fn h1_known_vector() {
        let got = h1([("a/b.txt", &b"hello\n"[..]), ("Z", &b"#!/bin/sh\n"[..])]).unwrap();
        assert_eq!(got, "h1:J6jcpFAIyKtTr2R78tsnt2ZC0K8wO0W/KmZXrrWqrU4=");
    }

    #[test]
    fn h1_refuses_newlines_in_names() {
        assert!(h1([("a\nb", &b""[..])]).is_err());
    }

    #[test]
    fn sha256_of_empty_input() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn zip_has_one_executable_entry_and_matching_h1() {
        let body = b"\x7fELF not really, but bytes".repeat(100);
        let bytes = zip_single("terraform-provider-alicloud_v0.1.0", &body).unwrap();
        let mut zip = ZipArchive::new(Cursor::new(&bytes)).unwrap();
        assert_eq!(zip.len(), 1);
        let mut entry = zip.by_index(0).unwrap();
        assert_eq!(entry.name(), "terraform-provider-alicloud_v0.1.0");
        assert_eq!(entry.compression(), CompressionMethod::Deflated);
        assert_eq!(entry.unix_mode(), Some(0o100755));
        assert_eq!(entry.last_modified(), Some(DateTime::default()));
        let mut back = Vec::new();
        entry.read_to_end(&mut back).unwrap();
        assert_eq!(back, body);
        drop(entry);
        assert_eq!(
            h1_of_zip(&bytes).unwrap(),
            h1([("terraform-provider-alicloud_v0.1.0", &body[..])]).unwrap()
        );
    }

    #[test]
    fn not_a_zip_is_an_error() {
        assert!(h1_of_zip(b"PK nonsense").unwrap_err().contains("not a zip"));
    }
}
