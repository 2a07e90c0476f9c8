# The README's two commands: `go run ./cmd/authd` serves on the embedded
# defaults, `make test` runs the whole test suite, then every benchmark once.

.PHONY: test build vet fmt

# test runs the tests, then every benchmark once (-benchtime=1x) so that none
# rots; measured figures are in docs/benchmarks.md.
test: vet
	./scripts/services.sh
	go test -race -count=1 ./...
	go test -run '^$$' -bench . -benchtime=1x ./...

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	go vet ./...

build:
	CGO_ENABLED=0 go build ./...

fmt:
	gofmt -w $$(git ls-files '*.go')
