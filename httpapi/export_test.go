package httpapi

import (
	"log/slog"
	"net/http"
)

// WriteError exposes the error table to the black-box tests, for the
// errors that cannot be forced over HTTP (overloaded, internal).
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	writeError(w, r, log, err)
}

// RecoverPanics exposes the panic middleware, which no real handler
// triggers.
var RecoverPanics = recoverPanics

// Routes lists the route table New builds from cfg, as "METHOD /path/"
// under /api/v1, so that tests can prove they cover every route.
func Routes(cfg Config) []string {
	s := &server{auth: cfg.Auth, orgs: cfg.Orgs, admin: cfg.Admin, sso: cfg.SSO}
	var out []string
	for _, rt := range s.routes() {
		out = append(out, rt.method+" "+rt.path)
	}
	return out
}
