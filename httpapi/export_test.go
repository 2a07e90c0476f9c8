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
