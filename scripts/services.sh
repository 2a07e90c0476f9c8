#!/usr/bin/env bash
# Starts the local PostgreSQL and Redis that the tests use, when they are
# installed here but not running. Where they are not installed it does
# nothing: the service-backed tests then skip with a message, or fail when
# AUTHD_REQUIRE_SERVICES=1.
set -u

if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "starting PostgreSQL" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
    for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
  fi
fi

if command -v redis-server >/dev/null 2>&1; then
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    echo "starting Redis" >&2
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no || true
    for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done
  fi
fi
# nginx, for the `nginx -t` test of deploy/nginx.conf, Debian's PyYAML,
# for the test that parses deploy/docker-compose.yml, and Debian's
# chromium, for the admin panel's browser tests (adminui): installed from
# Debian's packages when missing, only as root (as in CI). Services are not
# started by the install (a policy-rc.d is put in place for it when there
# is none).
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  missing=""
  command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing="$missing nginx"
  [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import yaml' >/dev/null 2>&1 || missing="$missing python3-yaml"
  [ -x /usr/bin/chromium ] || missing="$missing chromium"
  if [ -n "$missing" ]; then
    echo "installing$missing" >&2
    policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && policy=1
    fi
    # Retried downloads; when the install of all fails, each package is
    # tried alone, so that one failure does not block the others.
    apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o Acquire::Retries=3 --no-install-recommends "$@" >/dev/null 2>&1; }
    apt-get update -qq -o Acquire::Retries=3 >/dev/null 2>&1 || echo "apt-get update failed" >&2
    if ! apt_install $missing; then
      for p in $missing; do apt_install "$p" || echo "could not install $p" >&2; done
    fi
    [ -n "$policy" ] && rm -f /usr/sbin/policy-rc.d
  fi
fi
exit 0
