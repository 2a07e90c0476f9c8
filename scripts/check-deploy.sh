#!/usr/bin/env bash
# Checks the deployment files without a Docker engine (there is none where
# authd is developed and tested):
#
#   - deploy/nginx.conf passes Debian's `nginx -t`, on a copy whose upstream
#     hosts (authd-1, authd-2: compose service names, which resolve only
#     inside compose) are replaced by 127.0.0.1 ports;
#   - deploy/docker-compose.yml parses as YAML (PyYAML) and holds together:
#     the replicas share their secrets, database and Redis, TRUSTED_PROXIES
#     is nginx's fixed address, nginx's upstreams are the replicas, only
#     nginx is published;
#   - the Dockerfile's builder uses go.mod's Go version, and the binary
#     builds with CGO_ENABLED=0 into a static executable.
#
# The checks are the Go tests of ./deploy/ (CI runs them in `make test`);
# this script installs what they need (nginx, python3-yaml) when it runs as
# root, then runs them and fails when a tool is still missing.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/services.sh
AUTHD_REQUIRE_SERVICES=1 go test -count=1 -v ./deploy/
