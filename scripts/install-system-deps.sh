#!/usr/bin/env bash
# Install the system packages the real-server test harness needs (Dovecot IMAP), and
# Chromium, which the report test uses to open the HTML report as a browser would.
# Idempotent: installs only what is missing.
set -euo pipefail

DOVECOT_BIN=/usr/sbin/dovecot
POLICY=/usr/sbin/policy-rc.d

install_dovecot() {
if [[ -x "$DOVECOT_BIN" ]]; then
    echo "dovecot: present"
    return 0
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
}
install_dovecot

# Chromium (Debian's package; run it as root with --no-sandbox): tests/integration/test_report.py
# opens the HTML report headless and checks that every chart image loaded.
CHROMIUM_BIN=/usr/bin/chromium
if [[ -x "$CHROMIUM_BIN" ]]; then
    echo "chromium: present"
elif [[ "$(id -u)" -ne 0 ]]; then
    echo "chromium: missing; run this script as root (or: sudo apt-get install chromium)" >&2
    exit 1
else
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends chromium >/dev/null
    if [[ ! -x "$CHROMIUM_BIN" ]]; then
        echo "chromium: install finished but $CHROMIUM_BIN is still missing" >&2
        exit 1
    fi
    echo "chromium: installed"
fi

# systemd (Debian's package) for `systemd-analyze verify`: tests/integration/test_ops_units.py
# checks the shipped units with it. Nothing is started; containers without systemd as PID 1
# install it fine.
ANALYZE_BIN=/usr/bin/systemd-analyze
if [[ -x "$ANALYZE_BIN" ]]; then
    echo "systemd-analyze: present"
elif [[ "$(id -u)" -ne 0 ]]; then
    echo "systemd-analyze: missing; run this script as root (or: sudo apt-get install systemd)" >&2
    exit 1
else
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends systemd >/dev/null
    if [[ ! -x "$ANALYZE_BIN" ]]; then
        echo "systemd-analyze: install finished but $ANALYZE_BIN is still missing" >&2
        exit 1
    fi
    echo "systemd-analyze: installed"
fi

# PostgreSQL 15 (Debian's package) for the contract tests on PostgreSQL and the multi-instance
# test; tests start private servers (mailbot/testing/postgres.py). No system cluster is
# created or started: createcluster.conf says so before the install, policy-rc.d blocks starts.
install_postgres() {
    if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
        echo "postgresql: present"
        return 0
    fi
    if [[ "$(id -u)" -ne 0 ]]; then
        echo "postgresql: missing; run this script as root (or: sudo apt-get install postgresql)" >&2
        exit 1
    fi
    mkdir -p /etc/postgresql-common
    if [[ ! -e /etc/postgresql-common/createcluster.conf ]]; then
        echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.conf
    fi
    local made_policy=0
    if [[ ! -e "$POLICY" ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$POLICY"
        chmod 0755 "$POLICY"
        made_policy=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    if [[ "$made_policy" -eq 1 ]]; then
        rm -f "$POLICY"
    fi
    if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
        echo "postgresql: install finished but initdb is still missing" >&2
        exit 1
    fi
    echo "postgresql: installed"
}
install_postgres
