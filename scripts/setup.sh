#!/usr/bin/env bash
# Set up valuegrad on a fresh Debian/Ubuntu machine, from the root of a clone:
#
#   bash scripts/setup.sh demos     Graphviz + a virtual environment .venv with '.[demos]'
#   bash scripts/setup.sh test      also Chromium and its driver, and '.[test,demos,notebook]'
#   bash scripts/setup.sh --system-only test   only the system packages (what .ci/run uses)
#
# System packages are installed only if missing, with apt-get: directly when run as root
# (a container, a fresh VM: no sudo there), through sudo otherwise. Then `. .venv/bin/activate`.
set -euo pipefail

system_only=false
if [ "${1:-}" = "--system-only" ]; then
    system_only=true
    shift
fi
what="${1:-demos}"
case "$what" in
    demos) extras="demos" ;;
    test) extras="test,demos,notebook" ;;
    *)
        echo "scripts/setup.sh: what to set up must be 'demos' or 'test', got '$what'" >&2
        exit 2
        ;;
esac

cd "$(dirname "$0")/.."

# Run a command as root: directly if we are root, through sudo if it exists.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "scripts/setup.sh: need root (or sudo) to run: $*" >&2
        return 1
    fi
}

packages=()
if ! command -v dot >/dev/null 2>&1; then
    packages+=(graphviz)  # dot renders the pictures
fi
if [ "$what" = test ] && ! command -v chromedriver >/dev/null 2>&1; then
    packages+=(chromium chromium-driver)  # the explorer's browser test (headless)
fi
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    packages+=(python3-venv)  # brings python3 itself on a machine without it
fi
if [ "${#packages[@]}" -gt 0 ]; then
    echo "== installing system packages: ${packages[*]}"
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "${packages[@]}"
fi
if $system_only; then
    exit 0
fi

echo "== virtual environment .venv with '.[$extras]'"
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[$extras]"
echo "== done: . .venv/bin/activate"
