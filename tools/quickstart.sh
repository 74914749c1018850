#!/usr/bin/env bash
# The README's first command: set everything up, then run the main job on the default
# target (the host runtime) with the default model that ships in the package.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install.sh
"${PYTHON:-python3}" -m edgesnn demo
