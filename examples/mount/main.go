// Command mount is a host application that serves authd's REST API under
// its own prefix and protects its own routes with authd's access tokens and
// Guard, once on net/http's ServeMux and once on chi:
//
//	/auth/api/v1/…            authd's API (httpapi.New behind http.StripPrefix)
//	GET  /api/reports         a signed-in user whose global role grants internal.dashboard.view
//	GET  /api/bare-reports    the same answer without any check: a baseline for benchmarks
//	GET  /orgs/{slug}/projects   a member of the organisation (org.view)
//	POST /orgs/{slug}/projects   a member whose role grants org.update (OWNER, ADMIN)
//
// Without a token the protected routes answer 401, without the permission
// 403, and for an organisation the caller is not a member of 404, as
// authd's own endpoints do.
//
//	go run ./examples/mount                 # net/http, on :8081, data in ./data
//	go run ./examples/mount -router chi
//
// Mail is written as .eml files to ./data/mail (the verification link is in
// there). JWT_SECRET_KEY (at least 32 bytes) keys the tokens; without it a
// new key is made at each start. PUBLIC_URL and JWT_AUDIENCE set the tokens'
// issuer and audience as they do for authd, so with the same three values and
// -db naming authd's database, the application accepts the access tokens an
// authd server issues (bench/authbench runs it that way):
//
//	go run ./examples/mount -db 'postgres://…'   # authd's database instead of ./data/mount.db
package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/authd/auth"
	"github.com/authd/auth/httpapi"
	"github.com/authd/auth/mailer"
	"github.com/authd/auth/storage"
)

func main() {
	addr := flag.String("addr", ":8081", "listen address")
	router := flag.String("router", "std", "std (net/http ServeMux) or chi")
	data := flag.String("data", "./data", "directory of the SQLite database and the mail files")
	db := flag.String("db", "", "database URL (postgres://… or sqlite:PATH); default sqlite:DATA/mount.db")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *db == "" {
		*db = "sqlite:" + filepath.Join(*data, "mount.db")
	}
	if err := serve(ctx, *addr, *router, *data, *db); err != nil {
		fmt.Fprintln(os.Stderr, "mount:", err)
		os.Exit(1)
	}
}

// serve runs the host application on the database at dbURL until ctx ends.
func serve(ctx context.Context, addr, router, data, dbURL string) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := os.MkdirAll(data, 0o700); err != nil {
		return err
	}
	st, err := storage.Open(ctx, dbURL)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	mail, err := mailer.NewDir(filepath.Join(data, "mail"), "host app <no-reply@example.com>", log)
	if err != nil {
		return err
	}
	secret := []byte(os.Getenv("JWT_SECRET_KEY"))
	if len(secret) == 0 {
		secret = make([]byte, 32)
		rand.Read(secret)
		log.Warn("JWT_SECRET_KEY is not set: tokens will not survive a restart")
	}
	a, err := newApp(ctx, st, mail, auth.Config{JWTSecret: secret, Logger: log,
		Issuer: os.Getenv("PUBLIC_URL"), Audience: os.Getenv("JWT_AUDIENCE")})
	if err != nil {
		return err
	}
	defer a.Close()

	var h http.Handler
	switch router {
	case "std":
		h = a.stdHandler()
	case "chi":
		h = a.chiHandler()
	default:
		return fmt.Errorf("-router %q: want std or chi", router)
	}
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout: 15 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("serving", "addr", addr, "router", router, "api", "/auth/api/v1/")
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

// app is the host application: authd's services, the mounted API and the
// application's own data (projects, in memory).
type app struct {
	auth  *auth.Authenticator
	orgs  *auth.OrgService
	guard *auth.Guard
	api   http.Handler

	mu       sync.Mutex
	projects map[string][]string // organisation id → project names
}

// newApp builds authd's services on st and the API handler. Call Close when
// done.
func newApp(ctx context.Context, st *storage.Store, mail auth.Mailer, cfg auth.Config) (*app, error) {
	if _, err := auth.SeedPermissions(ctx, st); err != nil {
		return nil, err
	}
	a, err := auth.NewAuthenticator(st, mail, cfg)
	if err != nil {
		return nil, err
	}
	guard, err := auth.NewGuard(ctx, st, auth.GuardConfig{Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	orgs, err := auth.NewOrgService(st, mail, guard, cfg)
	if err != nil {
		guard.Close()
		return nil, err
	}
	api, err := httpapi.New(httpapi.Config{Auth: a, Orgs: orgs, Logger: cfg.Logger})
	if err != nil {
		guard.Close()
		return nil, err
	}
	return &app{auth: a, orgs: orgs, guard: guard, api: api, projects: map[string][]string{}}, nil
}

// Close stops the Guard's reloading.
func (a *app) Close() { a.guard.Close() }

// stdHandler is the application on net/http's ServeMux.
func (a *app) stdHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/auth/", http.StripPrefix("/auth", a.api))
	signedIn := httpapi.RequireAuth(a.auth)
	mux.Handle("GET /api/reports", signedIn(http.HandlerFunc(a.reports)))
	mux.HandleFunc("GET /api/bare-reports", a.bareReports)
	mux.Handle("GET /orgs/{slug}/projects", signedIn(http.HandlerFunc(a.listProjects)))
	mux.Handle("POST /orgs/{slug}/projects", signedIn(http.HandlerFunc(a.createProject)))
	return mux
}

// chiHandler is the same application on chi. chi sets the request's path
// values, so the handlers read {slug} with r.PathValue on both routers.
func (a *app) chiHandler() http.Handler {
	r := chi.NewRouter()
	r.Mount("/auth", http.StripPrefix("/auth", a.api))
	r.Get("/api/bare-reports", a.bareReports)
	r.Group(func(r chi.Router) {
		r.Use(httpapi.RequireAuth(a.auth))
		r.Get("/api/reports", a.reports)
		r.Get("/orgs/{slug}/projects", a.listProjects)
		r.Post("/orgs/{slug}/projects", a.createProject)
	})
	return r
}

// reportList is what both report routes answer.
var reportList = map[string][]string{"reports": {"weekly-signups", "active-organisations"}}

// reports is GET /api/reports, behind RequireAuth: the caller's global
// role, as stored now, must grant internal.dashboard.view.
func (a *app) reports(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.PrincipalFrom(r.Context())
	// The Guard reads the global role from the store through its user
	// cache, never from the token: a demotion through auth.Admin takes
	// effect at once (from another process, such as the authd binary, only
	// when both share a Broadcaster; otherwise within UserCacheTTL).
	if err := a.guard.RequirePrincipalPermission(r.Context(), p, auth.PermDashboardView); err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, reportList)
}

// bareReports is GET /api/bare-reports: reports' answer with no check at
// all, to measure what authentication and the permission check cost.
func (a *app) bareReports(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, reportList)
}

// member returns the caller's membership of the organisation {slug} once
// the Guard allowed perm: ErrNotFound for a missing organisation or a
// non-member, ErrPermissionDenied for a member without perm.
func (a *app) member(r *http.Request, perm auth.Permission) (auth.Member, error) {
	p, _ := auth.PrincipalFrom(r.Context())
	m, err := a.orgs.Membership(r.Context(), p, r.PathValue("slug"))
	if err != nil {
		return auth.Member{}, err
	}
	return m, a.guard.RequirePermission(r.Context(), m, perm) // no I/O
}

// listProjects is GET /orgs/{slug}/projects, for any member.
func (a *app) listProjects(w http.ResponseWriter, r *http.Request) {
	m, err := a.member(r, auth.PermOrgView)
	if err != nil {
		fail(w, err)
		return
	}
	a.mu.Lock()
	projects := append([]string{}, a.projects[m.OrgID]...)
	a.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string][]string{"projects": projects})
}

// createProject is POST /orgs/{slug}/projects {"name"}, for a member whose
// role grants org.update.
func (a *app) createProject(w http.ResponseWriter, r *http.Request) {
	m, err := a.member(r, auth.PermOrgUpdate)
	if err != nil {
		fail(w, err)
		return
	}
	var in struct {
		Name string `json:"name"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10)).Decode(&in); err != nil || in.Name == "" {
		writeJSON(w, http.StatusBadRequest, problem{"invalid_request", "Send {\"name\": \"…\"}."})
		return
	}
	a.mu.Lock()
	a.projects[m.OrgID] = append(a.projects[m.OrgID], in.Name)
	a.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]string{"name": in.Name})
}

// problem is the application's error body: a small RFC 9457 problem with
// authd's codes.
type problem struct {
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

// fail answers err: 404 for a missing organisation or a non-member, 403 for
// a missing permission, 401 for a user who no longer exists, 500 otherwise.
func fail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, auth.ErrNotFound):
		writeJSON(w, http.StatusNotFound, problem{"not_found", "No such organisation."})
	case errors.Is(err, auth.ErrPermissionDenied):
		writeJSON(w, http.StatusForbidden, problem{"permission_denied", "You are not allowed to do this."})
	case errors.Is(err, auth.ErrUnauthenticated):
		w.Header().Set("WWW-Authenticate", "Bearer")
		writeJSON(w, http.StatusUnauthorized, problem{"unauthenticated", "A valid access token is required."})
	default:
		writeJSON(w, http.StatusInternalServerError, problem{"internal_error", "An unexpected error occurred."})
	}
}

// writeJSON answers v as JSON, or as problem+json when v is a problem.
func writeJSON(w http.ResponseWriter, status int, v any) {
	ct := "application/json"
	if _, ok := v.(problem); ok {
		ct = "application/problem+json"
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
