#!/usr/bin/env bash
# wrk beside bench/authbench: wrk is a C client, so it leaves more of the
# two cores to the server than the Go load generator does. It starts authd
# and examples/mount on one fresh SQLite database and JWT key, signs in a
# SYSTEM_ADMIN, and runs wrk (-t2 -c16, DURATION each, default 10s) on the
# bare host route, the host route behind RequireAuth + Guard, and authd's
# GET /auth/me/, printing req/s and the ratios to the bare route.
#
#	./bench/wrk.sh [DURATION]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk is not installed (Debian: apt-get install wrk)"; exit 1; }
dur=${1:-10s}
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
go build -o "$tmp/authd" ./cmd/authd
go build -o "$tmp/mount" ./examples/mount
export DATABASE_URL="sqlite:$tmp/authd.db" JWT_SECRET_KEY=$(head -c 32 /dev/urandom | base64) \
	SECRET_KEY=$(head -c 32 /dev/urandom | base64) PUBLIC_URL=http://127.0.0.1:18090 JWT_AUDIENCE=authd \
	MAIL_DIR="$tmp/mail" LOG_LEVEL=warn ACCESS_TOKEN_TTL=1h RATE_LIMIT_LOGIN=1000000/s RATE_LIMIT_LOGIN_IP=1000000/s
password="correct horse battery staple"
"$tmp/authd" migrate >/dev/null
echo "$password" | "$tmp/authd" createsuperuser --email bench@example.com >/dev/null
ADDR=127.0.0.1:18090 "$tmp/authd" serve 2>"$tmp/authd.log" &
(cd "$tmp" && exec ./mount -addr 127.0.0.1:18091 -db "$DATABASE_URL" -data "$tmp/mountdata") 2>"$tmp/mount.log" &
for url in http://127.0.0.1:18090/readyz http://127.0.0.1:18091/api/bare-reports; do
	for _ in $(seq 100); do curl -fs -o /dev/null "$url" && break; sleep 0.1; done
done
token=$(curl -fs -H 'Content-Type: application/json' -d "{\"email\":\"bench@example.com\",\"password\":\"$password\"}" \
	http://127.0.0.1:18090/api/v1/auth/login/ | sed -E 's/.*"access":"([^"]+)".*/\1/')
rate() { wrk -t2 -c16 -d"$dur" "$@" | awk '/Requests\/sec/ {print $2} /Non-2xx/ {print "errors:", $0 > "/dev/stderr"}'; }
bare=$(rate http://127.0.0.1:18091/api/bare-reports)
host=$(rate -H "Authorization: Bearer $token" http://127.0.0.1:18091/api/reports)
me=$(rate -H "Authorization: Bearer $token" http://127.0.0.1:18090/api/v1/auth/me/)
echo "wrk -t2 -c16 -d$dur, $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg) at the end"
printf '%-34s %10s %8s\n' route req/s "/bare"
printf '%-34s %10.0f %8.2f\n' "GET /api/bare-reports (mount)" "$bare" 1
printf '%-34s %10.0f %8.2f\n' "GET /api/reports (mount, guarded)" "$host" "$(echo "$host / $bare" | bc -l)"
printf '%-34s %10.0f %8.2f\n' "GET /api/v1/auth/me/ (authd)" "$me" "$(echo "$me / $bare" | bc -l)"
