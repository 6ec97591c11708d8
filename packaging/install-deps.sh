#!/bin/sh
# Installs the Debian 12 packages wharf needs to build, test and fuzz.
# Idempotent: packages already present are left alone; safe to run on every CI
# run. Must run as root (or through sudo) on a fresh machine.
set -eu

PACKAGES="build-essential cmake pkg-config git ca-certificates python3 \
  libuv1-dev libyajl-dev libzstd-dev libyaml-dev libpcre2-dev \
  librdkafka-dev libsystemd-dev libssl-dev libcmocka-dev zstd \
  clang libclang-rt-14-dev clang-format clang-tidy cppcheck valgrind time \
  kcat rsyslog rsyslog-gnutls openssl systemd-journal-remote \
  python3-yaml dpkg-dev lintian systemd tzdata"

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done

if [ -z "$missing" ]; then
    echo "install-deps: all packages present" >&2
    exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing$missing" >&2
$SUDO apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >&2
