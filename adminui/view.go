package adminui

import (
	"html/template"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	auth "github.com/authd/auth"
)

// view is what every template gets: the layout's fields and the page's
// Data.
type view struct {
	Title   string
	Section string // the navigation entry to highlight
	Prefix  string
	CSS     string
	CSRF    string
	Me      auth.User // zero on pages without a session
	Can     grants
	Flashes []flash
	Data    any

	session   *session
	principal auth.Principal
}

// SignedIn reports whether the page has the navigation of a signed-in
// user.
func (v *view) SignedIn() bool { return v.Me.ID != "" }

// grants says which global permissions the signed-in user's role has
// now, to decide which links and controls to show. Every action asks the
// Guard again.
type grants struct {
	UsersRead, UsersWrite, RolesChange, OrgsRead, AuditRead,
	SessionsRead, SessionsRevoke, PermissionsManage bool
}

func newGrants(perms []auth.Permission) grants {
	has := func(p auth.Permission) bool { return slices.Contains(perms, p) }
	return grants{
		UsersRead: has(auth.PermUsersRead), UsersWrite: has(auth.PermUsersWrite),
		RolesChange: has(auth.PermRolesChange), OrgsRead: has(auth.PermOrgsRead),
		AuditRead: has(auth.PermAuditRead), SessionsRead: has(auth.PermSessionsRead),
		SessionsRevoke: has(auth.PermSessionsRevoke), PermissionsManage: has(auth.PermPermissionsManage),
	}
}

// errorData is the error page's content.
type errorData struct {
	Status  int
	Message string
}

// templateFuncs are the helpers of the templates.
var templateFuncs = template.FuncMap{
	"datetime": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04")
	},
	"date": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2 Jan 2006")
	},
	"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"short": func(id string) string {
		if len(id) > 8 {
			return id[:8]
		}
		return id
	},
	"lower":     strings.ToLower,
	"isID":      looksLikeID,
	"roleClass": func(r any) string { return "role-" + strings.ToLower(strings.ReplaceAll(toString(r), "_", "-")) },
	"has":       func(list []auth.Permission, p auth.Permission) bool { return slices.Contains(list, p) },
	"permID": func(scope, role string, p auth.Permission) string {
		return "perm-" + scope + "-" + strings.ToLower(role) + "-" + strings.ReplaceAll(string(p), ".", "-")
	},
	"describe": func(p auth.Permission) string { return permissionDescriptions[p] },
	"eventClass": func(name string) string {
		prefix, _, _ := strings.Cut(name, ".")
		switch {
		case strings.HasSuffix(name, "failed") || strings.HasSuffix(name, "reused") || name == auth.EventUserDisabled:
			return "event-warn"
		case prefix == "auth" || prefix == "sso":
			return "event-auth"
		case prefix == "org" || prefix == "member":
			return "event-org"
		case prefix == "permissions" || name == auth.EventUserRoleChanged:
			return "event-admin"
		}
		return "event-other"
	},
}

// looksLikeID reports whether s is a UUID, which tables show shortened.
func looksLikeID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case !strings.ContainsRune("0123456789abcdef", c):
			return false
		}
	}
	return true
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case auth.GlobalRole:
		return string(x)
	case auth.OrgRole:
		return string(x)
	}
	return ""
}

// permissionDescriptions say what each permission allows, on the
// permissions page.
var permissionDescriptions = map[auth.Permission]string{
	auth.PermDashboardView:     "Sign in to this panel and see the dashboard",
	auth.PermUsersRead:         "List and view users and their identities",
	auth.PermOrgsRead:          "List and view organisations",
	auth.PermAuditRead:         "Read the audit log",
	auth.PermSessionsRead:      "See users' active sessions",
	auth.PermUsersWrite:        "Rename, disable and enable users",
	auth.PermRolesChange:       "Change users' global roles",
	auth.PermSessionsRevoke:    "Revoke any user's session",
	auth.PermPermissionsManage: "Edit these permission mappings",
	auth.PermOrgView:           "See the organisation",
	auth.PermMemberView:        "See the members",
	auth.PermOrgUpdate:         "Rename the organisation",
	auth.PermMemberInvite:      "Invite members, see and revoke invites",
	auth.PermMemberRemove:      "Remove members",
	auth.PermMemberRoleChange:  "Change members' roles",
	auth.PermOrgAuditRead:      "Read the organisation's audit log",
	auth.PermOrgDelete:         "Delete the organisation",
	auth.PermOrgTransfer:       "Transfer ownership",
}

// parseTemplates parses the layout with each page, one template set per
// page, keyed by the page's file name without extension.
func parseTemplates() (map[string]*template.Template, error) {
	base, err := template.New("").Funcs(templateFuncs).ParseFS(assets, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	files, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(assets, f)
		if err != nil {
			return nil, err
		}
		pages[name] = t
	}
	return pages, nil
}
