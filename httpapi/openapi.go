package httpapi

import (
	_ "embed"
	"net/http"
	"slices"
)

// openAPIPath is where the handler serves the OpenAPI document, under
// /api/v1. It is the one path without a trailing slash.
const openAPIPath = "/openapi.json"

// openAPIDocument is the OpenAPI 3.1 description of every endpoint New
// serves. The HTTP tests validate each request and response they make
// against it, so it cannot drift from the handlers.
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPI returns the OpenAPI 3.1 document (JSON) of the REST contract that
// [New] serves at /api/v1/openapi.json: every endpoint with its parameters,
// bodies, responses and error codes. Its server URL is /api/v1; a host that
// mounts the handler under a prefix of its own may rewrite it. Each call
// returns a new copy, which the caller may change.
func OpenAPI() []byte { return slices.Clone(openAPIDocument) }

// openAPI is GET /api/v1/openapi.json: the document, public, as is.
func (s *server) openAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(openAPIDocument)
	return nil
}
