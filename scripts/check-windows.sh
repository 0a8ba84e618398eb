#!/usr/bin/env bash
# Type-checks the binaries for x86_64-pc-windows-gnu with Debian's Rust and the standard
# library's source (-Zbuild-std); see the README's Windows note. It installs nothing: when the
# tools are absent it says which ones in one line and exits 0. It does not link or run.
set -euo pipefail
cd "$(dirname "$0")/.."
install="apt-get install -y rustc-web cargo-web rust-web-src gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64"
missing=()
[ -x /usr/bin/rustc ] || missing+=("/usr/bin/rustc")
[ -x /usr/bin/cargo ] || missing+=("/usr/bin/cargo")
[ -d /usr/lib/rustlib/src/rust ] || missing+=("/usr/lib/rustlib/src/rust")
command -v x86_64-w64-mingw32-dlltool >/dev/null || missing+=("x86_64-w64-mingw32-dlltool")
if [ ${#missing[@]} -gt 0 ]; then
  echo "check-windows: skipped, ${missing[*]} missing (install with: $install)"
  exit 0
fi
# RUSTC must be Debian's compiler (rustup's has no std source here); RUSTC_BOOTSTRAP=1 allows
# -Zbuild-std on a stable compiler, for this check only.
RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 \
  CARGO_TARGET_DIR=target/windows-check \
  exec /usr/bin/cargo check -Zbuild-std=std,panic_abort --target x86_64-pc-windows-gnu --bins
