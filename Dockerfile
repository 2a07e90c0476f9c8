# syntax=docker/dockerfile:1
#
# authd as a static, non-root image:
#
#   docker build -t authd .
#   docker run -p 8080:8080 -v authd-data:/data authd
#
# The binary is pure Go (SQLite through modernc.org/sqlite), so it is built
# with CGO_ENABLED=0 and runs on distroless/static, which has CA
# certificates (for SMTP, Google and GitHub over TLS), tzdata and a
# "nonroot" user (65532) but no shell. There is therefore no HEALTHCHECK:
# nothing in the image could run one. Let the orchestrator probe
# GET /healthz (liveness) and GET /readyz (readiness) over HTTP instead.
#
# No Docker engine runs where this file is developed: `go test ./deploy/`
# builds the binary the way the first stage does and checks this file's
# consistency with go.mod, but the image itself is not built there.

FROM golang:1.26-bookworm AS build
WORKDIR /src
# Dependencies first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/authd ./cmd/authd \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/authd /usr/local/bin/authd
# authd keeps its SQLite file, generated secrets and .eml mail in ./data,
# relative to its working directory: / makes that the /data volume.
COPY --from=build --chown=65532:65532 /out/data /data
WORKDIR /
VOLUME /data
EXPOSE 8080
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/authd"]
CMD ["serve"]
