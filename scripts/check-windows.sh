#!/usr/bin/env bash
# The Windows (x86_64-pc-windows-gnu) type-check alone; scripts/check-platforms.sh does the work
# and says what it needs (see the README's Checks).
set -euo pipefail
exec "$(dirname "$0")/check-platforms.sh" x86_64-pc-windows-gnu
