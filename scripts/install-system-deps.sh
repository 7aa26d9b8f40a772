#!/usr/bin/env bash
# Install the system packages the real-server test harness needs (Dovecot IMAP).
# Idempotent: does nothing when /usr/sbin/dovecot already exists.
set -euo pipefail

DOVECOT_BIN=/usr/sbin/dovecot
POLICY=/usr/sbin/policy-rc.d

if [[ -x "$DOVECOT_BIN" ]]; then
    echo "dovecot: present"
    exit 0
fi

if [[ "$(id -u)" -ne 0 ]]; then
    echo "dovecot: missing; run this script as root (or: sudo apt-get install dovecot-imapd)" >&2
    exit 1
fi

# A policy-rc.d that exits 101 stops the package from starting a system-wide
# Dovecot; the tests run their own private instances. Only remove it if we made it.
created_policy=0
cleanup() {
    if [[ "$created_policy" -eq 1 ]]; then
        rm -f "$POLICY"
    fi
}
trap cleanup EXIT

if [[ ! -e "$POLICY" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$POLICY"
    chmod 0755 "$POLICY"
    created_policy=1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends dovecot-imapd >/dev/null

if [[ ! -x "$DOVECOT_BIN" ]]; then
    echo "dovecot: install finished but $DOVECOT_BIN is still missing" >&2
    exit 1
fi
echo "dovecot: installed"
