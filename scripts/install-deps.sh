#!/usr/bin/env bash
# Installs everything callbridge needs to build, test and run on Debian 12 (as root).
# Idempotent; about a minute on a fresh machine.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

PKGS=(
  build-essential cmake ninja-build pkg-config ccache git python3
  libboost1.81-dev libboost-json1.81-dev libssl-dev
  libsqlite3-dev sqlite3
  libspdlog-dev libfmt-dev libtomlplusplus-dev libcli11-dev
  libpugixml-dev  # CSTA XML (src/protocols/csta)
  libgtest-dev libgmock-dev libbenchmark-dev
  libsodium-dev libldap-dev slapd ldap-utils
  libqrencode-dev  # the QR code of `callbridge pair` (optional: without it, the link alone)
  libpq-dev postgresql
  nats-server libnats-dev  # cluster bus: relay nodes (issue 16), cluster mode (issue 19)
  libphonenumber8 libgeocoding8 libprotobuf-dev libabsl-dev libicu-dev
  curl libcurl4-openssl-dev
  clang-16 libclang-rt-16-dev  # fuzz/ (libFuzzer, ASan+UBSan); clang 14 cannot use libstdc++ 12's std::expected
  chromium  # browser end-to-end tests (web/tests/e2e, playwright-core drives it; ~30 s to install)
  firefox-esr  # Firefox smoke test (web/tests/e2e/firefox_smoke.ff.mjs, puppeteer-core over WebDriver BiDi)
  dpkg-dev debhelper lintian iproute2  # the Debian package and its test (ctest label package, docs/install.md)
)

# The live suite's Asterisk lab (ctest label `asterisk`, docs/testing.md): its Debian packages
# (SIPp, sox, prompts, Asterisk's runtime libraries) here, so the label's setup only unpacks.
root=$(cd "$(dirname "$0")/.." && pwd)
lab_src=${CB_LAB_SRC:-$root/../shared/lab}
if [ -f "$lab_src/packages.txt" ]; then
  PKGS+=($(grep -v '^#' "$lab_src/packages.txt"))
fi

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  apt-get update -qq
  # slapd asks questions on install; answer with defaults, we run our own slapd instances in tests.
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# libphonenumber-dev (8.12) depends on libboost-thread-dev = Boost 1.74, which conflicts with the
# Boost 1.81 we need for Asio/Beast. Its headers and the .so symlink are all we need from it, so we
# unpack the Debian package beside the system instead of installing it (runtime libs come from
# libphonenumber8/libgeocoding8 above). CMake looks in /opt/callbridge-deps first.
PREFIX=/opt/callbridge-deps
if [ ! -f "$PREFIX/usr/include/phonenumbers/phonenumberutil.h" ]; then
  echo "install-deps: unpacking libphonenumber-dev headers into $PREFIX" >&2
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download libphonenumber-dev >/dev/null 2>&1 || { apt-get update -qq && apt-get download libphonenumber-dev >/dev/null; })
  mkdir -p "$PREFIX"
  dpkg-deb -x "$tmp"/libphonenumber-dev_*.deb "$PREFIX"
  rm -rf "$tmp"
fi
echo "install-deps: done" >&2
