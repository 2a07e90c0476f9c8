package httpapi_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	auth "github.com/authd/auth"
	"github.com/authd/auth/httpapi"
)

// tokenSchemas are the bodies that carry tokens. The document lets
// "access" and "refresh" be absent, for cookie delivery; the strict copy
// of the document requires them, and validates every stack that delivers
// tokens in the body (the default).
var tokenSchemas = []string{"Tokens", "LoginTokens", "SSOTokens"}

// openAPISpec is the document loaded and validated, with its router.
type openAPISpec struct {
	doc    *openapi3.T
	router routers.Router
}

// openAPISpecs holds the two readings of the embedded document, loaded
// once per test binary: as published, and strict (token fields required).
var openAPISpecs struct {
	once            sync.Once
	published, body *openAPISpec
	err             error
}

// loadOpenAPI parses and validates the embedded document and builds its
// router; strict makes the token fields of the token bodies required.
func loadOpenAPI(strict bool) (*openAPISpec, error) {
	ctx := context.Background()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(httpapi.OpenAPI())
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("validate: %w", err)
	}
	if strict {
		for _, name := range tokenSchemas {
			s := doc.Components.Schemas[name]
			if s == nil || s.Value == nil {
				return nil, fmt.Errorf("no schema %s", name)
			}
			s.Value.Required = append(s.Value.Required, "access", "refresh")
		}
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	return &openAPISpec{doc: doc, router: router}, nil
}

// openAPIFor returns the document that validates a stack's exchanges:
// the strict one unless tokens go out as cookies.
func openAPIFor(t testing.TB, cookies bool) *openAPISpec {
	t.Helper()
	openAPISpecs.once.Do(func() {
		if openAPISpecs.published, openAPISpecs.err = loadOpenAPI(false); openAPISpecs.err != nil {
			return
		}
		openAPISpecs.body, openAPISpecs.err = loadOpenAPI(true)
	})
	if openAPISpecs.err != nil {
		t.Fatalf("openapi.json: %v", openAPISpecs.err)
	}
	if cookies {
		return openAPISpecs.published
	}
	return openAPISpecs.body
}

// checkOpenAPI reports a request and its response that the document does
// not describe. The response is always validated: its status must be
// documented for the operation, and its headers, content type and body
// must match. The request is validated only when the response is 2xx:
// the tests send malformed requests on purpose, and those must get one of
// the documented error responses. A path the document does not have (or
// the handler leaves out) must be 404 not_found, a method it does not have
// on a known path 405 method_not_allowed, both as documented in
// components.responses.
func (spec *openAPISpec) checkOpenAPI(req *http.Request, reqBody []byte, res response) error {
	ctx := context.Background()
	lookup := req.Clone(ctx)
	u := *req.URL
	// The document's paths end in "/", as the handler serves them; the
	// handler serves them without it too.
	if !strings.HasSuffix(u.Path, "/") && u.Path != "/api/v1/openapi.json" {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	lookup.URL = &u
	if lookup.Method == http.MethodHead {
		lookup.Method = http.MethodGet
	}
	lookup.Body = http.NoBody

	route, params, err := spec.router.FindRoute(lookup)
	switch {
	case res.status == http.StatusMethodNotAllowed:
		// Whether or not the document has the method: ServeMux may pick
		// another pattern than the router (POST /auth/sso/callback/ is
		// the callback's path to ServeMux, {provider} to the router).
		return spec.checkGeneric(req, res, http.StatusMethodNotAllowed, "MethodNotAllowed")
	case errors.Is(err, routers.ErrPathNotFound):
		return spec.checkGeneric(req, res, http.StatusNotFound, "NotFound")
	case errors.Is(err, routers.ErrMethodNotAllowed):
		return fmt.Errorf("an undocumented method answered %d, want 405", res.status)
	case err != nil:
		return fmt.Errorf("find route: %w", err)
	case res.status == http.StatusNotFound && route.Operation.Responses.Status(http.StatusNotFound) == nil &&
		bytes.Contains(res.body, []byte(`"detail":"No endpoint at this path."`)):
		// A handler built without Config.Orgs or Config.Admin leaves
		// their paths out: the catch-all answers them.
		return spec.checkGeneric(req, res, http.StatusNotFound, "NotFound")
	case req.Method == http.MethodHead:
		// No body to validate: the status must be one of GET's.
		if route.Operation.Responses.Status(res.status) == nil {
			return fmt.Errorf("response: status %d is not documented for GET", res.status)
		}
		return nil
	}

	in := &openapi3filter.RequestValidationInput{
		Request:    lookup,
		PathParams: params,
		Route:      route,
		Options: &openapi3filter.Options{
			AuthenticationFunc:  openapi3filter.NoopAuthenticationFunc,
			SkipSettingDefaults: true,
		},
	}
	if res.status >= 200 && res.status < 300 {
		lookup.Body = ioNopCloser(reqBody)
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			return fmt.Errorf("request: %w", err)
		}
	}
	return validateResponse(ctx, in, res)
}

// checkGeneric validates a response to a request that no operation
// serves against components.responses[name], which must have status.
func (spec *openAPISpec) checkGeneric(req *http.Request, res response, status int, name string) error {
	ref := spec.doc.Components.Responses[name]
	if ref == nil {
		return fmt.Errorf("no components.responses.%s", name)
	}
	in := &openapi3filter.RequestValidationInput{
		Request: req,
		Route: &routers.Route{Spec: spec.doc, Method: req.Method, Path: req.URL.Path,
			Operation: &openapi3.Operation{Responses: openapi3.NewResponses(openapi3.WithStatus(status, ref))}},
	}
	return validateResponse(context.Background(), in, res)
}

// validateResponse validates res as the answer to in, with undocumented
// statuses refused and, for a response documented without content, a body
// refused.
func validateResponse(ctx context.Context, in *openapi3filter.RequestValidationInput, res response) error {
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 res.status,
		Header:                 res.header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	out.SetBodyBytes(res.body)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return fmt.Errorf("response: %w", err)
	}
	if in.Request.Method == http.MethodHead {
		return nil
	}
	if ref := in.Route.Operation.Responses.Status(res.status); ref != nil && ref.Value != nil &&
		len(ref.Value.Content) == 0 && len(res.body) > 0 {
		return fmt.Errorf("response: status %d is documented without a body, got %q", res.status, res.body)
	}
	return nil
}

// ioNopCloser returns a fresh body reading b.
func ioNopCloser(b []byte) *readCloser { return &readCloser{bytes.NewReader(b)} }

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

func TestOpenAPIDocument(t *testing.T) {
	s := newStack(t)
	file, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("the document is served as embedded, publicly, without a trailing slash", func(t *testing.T) {
		res := s.do(t, "GET", "/api/v1/openapi.json", nil)
		wantStatus(t, res, http.StatusOK)
		if ct := res.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q, want application/json", ct)
		}
		if !bytes.Equal(res.body, file) || !bytes.Equal(httpapi.OpenAPI(), file) {
			t.Errorf("the served document (%d bytes) or OpenAPI() differs from openapi.json (%d bytes)", len(res.body), len(file))
		}
		wantStatus(t, s.do(t, "HEAD", "/api/v1/openapi.json", nil), http.StatusOK)
		wantProblem(t, s.do(t, "GET", "/api/v1/openapi.json/", nil), http.StatusNotFound, "not_found")
		res = s.do(t, "POST", "/api/v1/openapi.json", nil)
		wantProblem(t, res, http.StatusMethodNotAllowed, "method_not_allowed")
		if got := res.header.Get("Allow"); got != "GET, HEAD" {
			t.Errorf("Allow = %q, want GET, HEAD", got)
		}
	})

	t.Run("OpenAPI returns a copy", func(t *testing.T) {
		b := httpapi.OpenAPI()
		b[0] = 'x'
		if httpapi.OpenAPI()[0] == 'x' {
			t.Error("changing the result of OpenAPI changed the document")
		}
	})

	t.Run("the document is valid OpenAPI 3.1", func(t *testing.T) {
		spec, err := loadOpenAPI(false)
		if err != nil {
			t.Fatal(err)
		}
		if spec.doc.OpenAPI != "3.1.0" || !spec.doc.IsOpenAPI31OrLater() {
			t.Errorf("openapi = %q, want 3.1.0", spec.doc.OpenAPI)
		}
	})

	t.Run("every problem schema and response names codes of the error table", func(t *testing.T) {
		spec := openAPIFor(t, false)
		codes := spec.doc.Components.Schemas["ErrorCode"].Value.Enum
		if len(codes) != 25 {
			t.Errorf("ErrorCode has %d codes, want the 24 of the contract and method_not_allowed", len(codes))
		}
		for _, name := range []string{"LoginTokens", "SSOTokens", "Tokens", "User", "Session", "Org", "Member", "Invite",
			"AuditEvent", "Identity", "Problem", "UserList", "OrgList", "MemberList", "InviteList", "AuditEventList", "SessionList"} {
			if spec.doc.Components.Schemas[name] == nil {
				t.Errorf("no component schema %s", name)
			}
		}
	})
}

// routeKey is "METHOD /path/" as httpapi.Routes lists the route table.
func routeKey(method, path string) string { return method + " " + path }

func TestOpenAPICoversEveryRoute(t *testing.T) {
	spec := openAPIFor(t, false)
	var documented []string
	for path, item := range spec.doc.Paths.Map() {
		if len(item.Servers) > 0 {
			continue // served by the authd binary, not by httpapi
		}
		for method := range item.Operations() {
			documented = append(documented, routeKey(method, path))
		}
	}
	served := httpapi.Routes(httpapi.Config{Auth: new(auth.Authenticator), Orgs: new(auth.OrgService),
		Admin: new(auth.Admin), SSO: noSSO{}})
	slices.Sort(documented)
	slices.Sort(served)
	for _, r := range served {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s has no operation in openapi.json", r)
		}
	}
	for _, op := range documented {
		if !slices.Contains(served, op) {
			t.Errorf("operation %s of openapi.json is not in the route table", op)
		}
	}
	for _, r := range []string{"POST /auth/sso/exchange/", "GET /orgs/", "GET /internal/dashboard/"} {
		if !slices.Contains(served, r) {
			t.Errorf("the route table lacks %s: is a part of it left out?", r)
		}
	}
}

// noSSO stands for a configured single sign-on in the route table; it is
// never called.
type noSSO struct{}

func (noSSO) Start(context.Context, auth.Client, string) (string, string, error) {
	return "", "", errors.New("not used")
}
func (noSSO) Callback(context.Context, auth.Client, url.Values) string { return "" }
func (noSSO) Exchange(context.Context, auth.Client, string, string) (auth.Tokens, auth.User, bool, error) {
	return auth.Tokens{}, auth.User{}, false, errors.New("not used")
}

// TestOpenAPIValidation proves that the check every request of the HTTP
// tests goes through fails on what the document does not describe.
func TestOpenAPIValidation(t *testing.T) {
	spec := openAPIFor(t, false)
	const login = "/api/v1/auth/login/"
	user := `{"id":"0b5c2c52-47d4-4b4e-9d37-6b2f3f0b2a11","email":"a@example.com","name":"A","role":"END_USER",` +
		`"email_verified":true,"has_password":true,"is_active":true,"created_at":"2026-03-14T15:09:26Z"}`
	tokens := func(extra string) string {
		return `{"access":"a.b.c","refresh":"d.e.f","token_type":"Bearer","expires_in":300,"refresh_expires_in":604800,` +
			`"session_id":"0b5c2c52-47d4-4b4e-9d37-6b2f3f0b2a11","user":` + user + extra + `}`
	}
	h := func(contentType string) http.Header {
		return http.Header{"Content-Type": {contentType}, "X-Request-Id": {"req-1"}}
	}
	problemBody := `{"type":"about:blank","title":"Invalid credentials","status":401,"code":"invalid_credentials","detail":"No."}`
	unauthorized := h("application/problem+json")
	unauthorized.Set("WWW-Authenticate", "Bearer")
	body := []byte(`{"email":"a@example.com","password":"` + testPassword + `"}`)

	tests := []struct {
		name    string
		method  string
		path    string
		body    []byte
		res     response
		wantErr string // "" for a valid exchange
	}{
		{"a documented answer passes", "POST", login, body,
			response{200, h("application/json"), []byte(tokens(""))}, ""},
		{"a path without its trailing slash is matched", "POST", "/api/v1/auth/login", body,
			response{200, h("application/json"), []byte(tokens(""))}, ""},
		{"an undocumented field fails", "POST", login, body,
			response{200, h("application/json"), []byte(tokens(`,"remember":true`))}, "remember"},
		{"a missing refresh token fails when tokens go in the body", "POST", login, body,
			response{200, h("application/json"), []byte(strings.Replace(tokens(""), `"refresh":"d.e.f",`, "", 1))}, "refresh"},
		{"an undocumented status fails", "POST", login, body,
			response{418, h("application/problem+json"), []byte(problemBody)}, "status is not supported"},
		{"an undocumented content type fails", "POST", login, body,
			response{200, h("text/plain"), []byte(tokens(""))}, "text/plain"},
		{"a missing X-Request-Id fails", "POST", login, body,
			response{200, http.Header{"Content-Type": {"application/json"}}, []byte(tokens(""))}, "X-Request-Id"},
		{"a code the operation does not produce fails", "POST", login, body,
			response{401, unauthorized, []byte(strings.Replace(problemBody, "invalid_credentials", "token_reused", 1))}, "token_reused"},
		{"validation_failed without errors fails", "POST", login, body,
			response{400, h("application/problem+json"), []byte(`{"type":"about:blank","title":"Validation failed",` +
				`"status":400,"code":"validation_failed","detail":"No."}`)}, "errors"},
		{"errors with another code fail", "POST", login, body,
			response{400, h("application/problem+json"), []byte(`{"type":"about:blank","title":"Invalid request",` +
				`"status":400,"code":"invalid_request","detail":"No.","errors":{"email":"required"}}`)}, "errors"},
		{"a 401 without its challenge fails", "POST", login, body,
			response{401, h("application/problem+json"), []byte(problemBody)}, "WWW-Authenticate"},
		{"a request that breaks the document fails when it succeeded", "POST", login, []byte(`{"email":"a@example.com"}`),
			response{200, h("application/json"), []byte(tokens(""))}, "password"},
		{"a malformed request that was refused as documented passes", "POST", login, []byte(`{"email":`),
			response{400, h("application/problem+json"), []byte(`{"type":"about:blank","title":"Invalid request","status":400,` +
				`"code":"invalid_request","detail":"The request body is not valid JSON."}`)}, ""},
		{"an unknown path must be 404 not_found", "GET", "/api/v1/nowhere/", nil,
			response{200, h("application/json"), []byte(`{}`)}, "status is not supported"},
		{"a body on a 204 fails", "DELETE", "/api/v1/auth/sessions/" + unknownID + "/", nil,
			response{204, h("application/json"), []byte(`{}`)}, "without a body"},
	}
	t.Run("with cookie delivery the refresh token may be left out, and the access token only with it", func(t *testing.T) {
		published := openAPIFor(t, true)
		req := httptest.NewRequest("POST", "http://authd.test"+login, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		noRefresh := strings.Replace(tokens(""), `"refresh":"d.e.f",`, "", 1)
		if err := published.checkOpenAPI(req, body, response{200, h("application/json"), []byte(noRefresh)}); err != nil {
			t.Errorf("a body without the refresh token: %v", err)
		}
		noAccess := strings.Replace(tokens(""), `"access":"a.b.c",`, "", 1)
		if err := published.checkOpenAPI(req, body, response{200, h("application/json"), []byte(noAccess)}); err == nil {
			t.Error("a body with the refresh token but without the access token passed")
		}
	})

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, "http://authd.test"+tt.path, bytes.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer x")
			err := spec.checkOpenAPI(req, tt.body, tt.res)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("valid exchange rejected: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Errorf("exchange accepted, want an error mentioning %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("error %q does not mention %q", err, tt.wantErr)
			}
		})
	}
}

func TestSSOCallbackIsDocumented(t *testing.T) {
	s := newStack(t)
	res := s.do(t, "GET", "/api/v1/auth/sso/callback/?code=abc&state=forged", nil)
	wantStatus(t, res, http.StatusFound)
	if loc := res.header.Get("Location"); !strings.HasPrefix(loc, "http://app.test/auth/sso/complete?error=invalid_state") {
		t.Errorf("Location = %q", loc)
	}
}
