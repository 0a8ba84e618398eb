#!/usr/bin/env bash
# Type-checks the binaries (`cargo check --bins`) for the release's other platforms with
# Debian's Rust and the standard library's source (-Zbuild-std); see the README's Checks. One
# line per target: "checked", "failed" (the end of cargo's output follows on stderr, the whole
# of it is in target/platform-check/TARGET.log) or "skipped" with what is missing and how to
# install it. It installs nothing, does not link or run, and checks one target at a time, each
# in its own target directory, target/platform-check/TARGET. It exits 1 only if a check whose
# tools are present fails.
#
#   scripts/check-platforms.sh                 every target below
#   scripts/check-platforms.sh TARGET...       only those
#
# Targets (release platform in brackets):
#   x86_64-pc-windows-gnu       [windows_amd64]  MinGW gcc for ring's C and assembly
#   aarch64-unknown-linux-gnu   [linux_arm64]    Debian's aarch64 cross gcc
#   aarch64-pc-windows-gnullvm  [windows_arm64]  clang and llvm-ar with MinGW's headers; the
#                                                release builds aarch64-pc-windows-msvc, which
#                                                has the same cfg(windows) code
#   aarch64-apple-darwin        [darwin_arm64]   clang and a macOS SDK (SDKROOT); ring's C
#   x86_64-apple-darwin         [darwin_amd64]   includes the SDK's headers, no Debian package
#                                                has them, so these are skipped without one
set -uo pipefail
cd "$(dirname "$0")/.."

all=(x86_64-pc-windows-gnu aarch64-unknown-linux-gnu aarch64-pc-windows-gnullvm
  aarch64-apple-darwin x86_64-apple-darwin)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

# The newest of `name`, `name-N` on PATH (Debian installs clang as clang-N).
newest() {
  local found
  found=$(compgen -c "$1" | grep -E "^$1(-[0-9]+)?$" | sort -V | tail -n 1)
  [ -n "$found" ] && echo "$found"
}

# Shared by every target: Debian's compiler and the standard library's source.
base_missing=()
[ -x /usr/bin/rustc ] || base_missing+=("/usr/bin/rustc")
[ -x /usr/bin/cargo ] || base_missing+=("/usr/bin/cargo")
[ -d /usr/lib/rustlib/src/rust ] || base_missing+=("/usr/lib/rustlib/src/rust")
base_install="rustc-web cargo-web rust-web-src"

status=0
for t in "${targets[@]}"; do
  missing=("${base_missing[@]}")
  install=""
  note=""
  env=()
  case "$t" in
    x86_64-pc-windows-gnu)
      command -v x86_64-w64-mingw32-gcc >/dev/null || missing+=("x86_64-w64-mingw32-gcc")
      command -v x86_64-w64-mingw32-dlltool >/dev/null || missing+=("x86_64-w64-mingw32-dlltool")
      install="gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64"
      ;;
    aarch64-unknown-linux-gnu)
      command -v aarch64-linux-gnu-gcc >/dev/null || missing+=("aarch64-linux-gnu-gcc")
      install="gcc-aarch64-linux-gnu"
      ;;
    aarch64-pc-windows-gnullvm)
      clang=$(newest clang) || missing+=("clang")
      ar=$(newest llvm-ar) || missing+=("llvm-ar")
      # MinGW's C headers do not depend on the architecture; Debian ships them in
      # mingw-w64-common, which gcc-mingw-w64-x86-64 pulls in.
      mingw=/usr/share/mingw-w64/include
      [ -f "$mingw/stdlib.h" ] || missing+=("$mingw")
      install="clang-22 llvm-22 mingw-w64-common"
      env=("CC_aarch64_pc_windows_gnullvm=${clang:-}" "AR_aarch64_pc_windows_gnullvm=${ar:-}"
        "CFLAGS_aarch64_pc_windows_gnullvm=-isystem $mingw")
      ;;
    aarch64-apple-darwin | x86_64-apple-darwin)
      clang=$(newest clang) || missing+=("clang")
      ar=$(newest llvm-ar) || missing+=("llvm-ar")
      install="clang-22 llvm-22"
      if [ -z "${SDKROOT:-}" ] || [ ! -d "${SDKROOT:-}/usr/include" ]; then
        missing+=("a macOS SDK")
        note="; for the SDK set SDKROOT=/path/to/MacOSX.sdk (no Debian package has one, it comes with Xcode)"
      fi
      # cc passes -isysroot only to Xcode's clang; Debian's needs it in CFLAGS.
      u=${t//-/_}
      env=("CC_$u=${clang:-}" "AR_$u=${ar:-}" "CFLAGS_$u=-isysroot ${SDKROOT:-}")
      ;;
    *)
      echo "$t: failed, not a target this script knows (${all[*]})"
      status=1
      continue
      ;;
  esac
  if [ ${#missing[@]} -gt 0 ]; then
    echo "$t: skipped, missing ${missing[*]} (install with: apt-get install -y $base_install $install$note)"
    continue
  fi
  dir=target/platform-check
  mkdir -p "$dir"
  log="$dir/$t.log"
  # RUSTC must be Debian's compiler (rustup's has no std source here); RUSTC_BOOTSTRAP=1 allows
  # -Zbuild-std on a stable compiler, for this check only.
  if env "${env[@]}" RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 \
    CARGO_TARGET_DIR="$dir/$t" \
    /usr/bin/cargo check -Zbuild-std=std,panic_abort --target "$t" --bins >"$log" 2>&1; then
    echo "$t: checked"
  else
    echo "$t: failed (cargo check, see $log)"
    tail -n 30 "$log" >&2
    status=1
  fi
done
exit $status
