#!/usr/bin/env bash
# The README's test command (and CI's): install, then run the whole suite. The C core's
# own tests and the blob fuzzer (under AddressSanitizer/UBSan) are driven from pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install.sh
exec "${PYTHON:-python3}" -m pytest -q "$@"
