#!/usr/bin/env bash
# Installs everything edgesnn needs on a fresh Debian machine: the system tools the
# tests and benchmarks use, then the package itself (which compiles the C core) with
# its test extra. Safe to run again; it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

need_apt=()
for tool in gcc make valgrind; do
    command -v "$tool" >/dev/null 2>&1 || need_apt+=("$tool")
done
# the QEMU-emulated Cortex-M boards (boards/, tests/test_qemu_boards.py)
command -v arm-none-eabi-gcc >/dev/null 2>&1 || need_apt+=(gcc-arm-none-eabi)
[ -e /usr/lib/arm-none-eabi/lib/nano.specs ] || [ -e /usr/lib/arm-none-eabi/newlib/nano.specs ] \
    || need_apt+=(libnewlib-arm-none-eabi)
command -v qemu-system-arm >/dev/null 2>&1 || need_apt+=(qemu-system-arm)
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "installing system packages: ${need_apt[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

echo "installing edgesnn and its test dependencies (compiles the C core)"
"$PY" -m pip install -q --disable-pip-version-check -e '.[test]'
# Norse (second NIR exporter, tests/test_nir_norse.py): not in pyproject because its 1.1.0
# sdist's setuptools-scm metadata resolves to version 0.0.0 and pip then refuses it for
# `norse==1.1.0`. SETUPTOOLS_SCM_PRETEND_VERSION fixes the version, but only setuptools_scm
# reads it, so the build keeps pip's isolated build env (which installs setuptools_scm;
# with --no-build-isolation and no setuptools_scm installed pip fails "inconsistent
# version 0.0.0"). --no-deps so pip cannot replace the installed torch (norse would also
# pull torchvision, which its NIR export does not need). Only when norse is missing.
if ! "$PY" -c "import norse" >/dev/null 2>&1; then
    echo "installing norse 1.1.0 (sdist, version pinned by hand)"
    SETUPTOOLS_SCM_PRETEND_VERSION=1.1.0 "$PY" -m pip install -q --disable-pip-version-check \
        --no-deps norse==1.1.0
fi
"$PY" -c "import edgesnn._esnn" || { echo "the C core extension did not build" >&2; exit 1; }
