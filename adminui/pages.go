package adminui

import (
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	auth "github.com/authd/auth"
)

// pageSize is the length of every paginated table.
const pageSize = 25

// pageURL returns path with the non-empty query values of q.
func pageURL(path string, q url.Values) string {
	clean := url.Values{}
	for k, vs := range q {
		if len(vs) > 0 && vs[0] != "" {
			clean.Set(k, vs[0])
		}
	}
	if len(clean) == 0 {
		return path
	}
	return path + "?" + clean.Encode()
}

// pager is the navigation of a paginated table: the next page's URL when
// there is one, and the first page's when this is not it.
type pager struct {
	NextURL  string
	FirstURL string
}

func newPager(path string, q url.Values, next string) pager {
	var pg pager
	if next != "" {
		nq := maps.Clone(q)
		nq.Set("cursor", next)
		pg.NextURL = pageURL(path, nq)
	}
	if q.Get("cursor") != "" {
		fq := maps.Clone(q)
		fq.Del("cursor")
		pg.FirstURL = pageURL(path, fq)
	}
	return pg
}

// redirectBack answers a POST with 303 to path inside the panel.
func (p *panel) redirectBack(w http.ResponseWriter, r *http.Request, path string) error {
	http.Redirect(w, r, p.prefix+path, http.StatusSeeOther)
	return nil
}

// dashboardData is the dashboard's content.
type dashboardData struct {
	Stats  auth.Stats
	Chart  chart
	Recent []auditRow // with internal.audit.read
}

// dashboard is GET /: the counts and the logins of the last 7 days.
func (p *panel) dashboard(w http.ResponseWriter, r *http.Request, v *view) error {
	st, err := p.admin.Dashboard(r.Context(), v.principal)
	if err != nil {
		return err
	}
	days, partial, err := p.admin.DailyLogins(r.Context(), v.principal, 7)
	if err != nil {
		return err
	}
	data := dashboardData{Stats: st, Chart: newChart(days, partial)}
	if v.Can.AuditRead {
		events, _, err := p.admin.Audit(r.Context(), v.principal, auth.AuditFilter{}, auth.Page{Limit: 6})
		if err != nil {
			return err
		}
		data.Recent = p.auditRows(r, v, events)
	}
	v.Title, v.Section, v.Flashes = "Dashboard", "dashboard", v.session.takeFlashes()
	v.Data = data
	p.render(w, r, http.StatusOK, "dashboard", v)
	return nil
}

// usersData is the user list's content.
type usersData struct {
	Query string
	Role  string
	Roles []auth.GlobalRole
	Users []auth.User
	pager
}

// users is GET /users/?q&role&cursor: the users whose email or name
// contains q, with role.
func (p *panel) users(w http.ResponseWriter, r *http.Request, v *view) error {
	q := r.URL.Query()
	f := auth.UserFilter{Query: strings.TrimSpace(q.Get("q")), Role: auth.GlobalRole(q.Get("role"))}
	list, next, err := p.admin.Users(r.Context(), v.principal, f, auth.Page{Limit: pageSize, Cursor: q.Get("cursor")})
	if err != nil {
		return err
	}
	v.Title, v.Section, v.Flashes = "Users", "users", v.session.takeFlashes()
	v.Data = usersData{Query: f.Query, Role: string(f.Role), Roles: auth.GlobalRoles(), Users: list,
		pager: newPager(p.prefix+"/users/", url.Values{"q": {f.Query}, "role": {string(f.Role)}, "cursor": {q.Get("cursor")}}, next)}
	p.render(w, r, http.StatusOK, "users", v)
	return nil
}

// userData is a user's page.
type userData struct {
	auth.UserDetail
	Sessions []auth.Session
	Roles    []auth.GlobalRole
	// PanelSessionID is the authd session of this panel sign-in.
	PanelSessionID string
	Self           bool
	CanEditRole    bool
	CanToggle      bool
	CanRevoke      bool
}

// user is GET /users/{id}/: the user, its organisations and identities,
// and its active sessions with internal.sessions.read.
func (p *panel) user(w http.ResponseWriter, r *http.Request, v *view) error {
	d, err := p.admin.User(r.Context(), v.principal, r.PathValue("id"))
	if err != nil {
		return err
	}
	data := userData{UserDetail: d, Roles: auth.GlobalRoles(), PanelSessionID: v.principal.SessionID,
		Self: d.User.ID == v.Me.ID}
	if v.Can.SessionsRead {
		if data.Sessions, err = p.admin.UserSessions(r.Context(), v.principal, d.User.ID); err != nil {
			return err
		}
	}
	data.CanEditRole = v.Can.UsersWrite && v.Can.RolesChange && !data.Self
	data.CanToggle = v.Can.UsersWrite && !data.Self
	data.CanRevoke = v.Can.SessionsRevoke
	v.Title, v.Section, v.Flashes = displayName(d.User), "users", v.session.takeFlashes()
	v.Data = data
	p.render(w, r, http.StatusOK, "user", v)
	return nil
}

// displayName is the user's name, or its email when it has none.
func displayName(u auth.User) string {
	if u.Name != "" {
		return u.Name
	}
	return u.Email
}

// changeRole is POST /users/{id}/role/: role=ROLE (internal.users.write
// and internal.roles.change).
func (p *panel) changeRole(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PathValue("id")
	role := auth.GlobalRole(r.PostForm.Get("role"))
	u, err := p.admin.UpdateUser(r.Context(), p.client(r), v.principal, id, auth.UserUpdate{Role: &role})
	if errors.Is(err, auth.ErrValidation) {
		v.session.addFlash("error", "Choose one of the roles END_USER, STAFF, DATA_ADMIN or SYSTEM_ADMIN.")
		return p.redirectBack(w, r, "/users/"+url.PathEscape(id)+"/")
	}
	if err != nil {
		return err
	}
	v.session.addFlash("success", "The role of "+u.Email+" is now "+string(u.Role)+".")
	return p.redirectBack(w, r, "/users/"+url.PathEscape(u.ID)+"/")
}

// setActive is POST /users/{id}/active/: active=true|false
// (internal.users.write). Disabling revokes every session of the user.
func (p *panel) setActive(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PathValue("id")
	var active bool
	switch r.PostForm.Get("active") {
	case "true":
		active = true
	case "false":
	default:
		p.errorPage(w, r, v, http.StatusBadRequest, "Invalid request", "active must be true or false.")
		return nil
	}
	u, err := p.admin.UpdateUser(r.Context(), p.client(r), v.principal, id, auth.UserUpdate{IsActive: &active})
	if err != nil {
		return err
	}
	if active {
		v.session.addFlash("success", u.Email+" is enabled and can sign in again.")
	} else {
		v.session.addFlash("success", u.Email+" is disabled; all of its sessions were revoked.")
	}
	return p.redirectBack(w, r, "/users/"+url.PathEscape(u.ID)+"/")
}

// revokeSession is POST /sessions/{id}/revoke/ (internal.sessions.revoke),
// back to the page of user_id.
func (p *panel) revokeSession(w http.ResponseWriter, r *http.Request, v *view) error {
	back := "/users/"
	if uid := r.PostForm.Get("user_id"); uid != "" {
		back = "/users/" + url.PathEscape(uid) + "/"
	}
	err := p.admin.RevokeSession(r.Context(), p.client(r), v.principal, r.PathValue("id"))
	switch {
	case errors.Is(err, auth.ErrNotFound):
		v.session.addFlash("error", "That session had already ended.")
	case err != nil:
		return err
	default:
		v.session.addFlash("success", "The session was revoked: its refresh token no longer works.")
	}
	return p.redirectBack(w, r, back)
}

// orgsData is the organisation list's content.
type orgsData struct {
	Query string
	Orgs  []auth.Org
	pager
}

// orgs is GET /orgs/?q&cursor: the organisations whose name or slug
// contains q.
func (p *panel) orgs(w http.ResponseWriter, r *http.Request, v *view) error {
	q := r.URL.Query()
	query := strings.TrimSpace(q.Get("q"))
	list, next, err := p.admin.Orgs(r.Context(), v.principal, auth.OrgFilter{Query: query},
		auth.Page{Limit: pageSize, Cursor: q.Get("cursor")})
	if err != nil {
		return err
	}
	v.Title, v.Section, v.Flashes = "Organisations", "orgs", v.session.takeFlashes()
	v.Data = orgsData{Query: query, Orgs: list,
		pager: newPager(p.prefix+"/orgs/", url.Values{"q": {query}, "cursor": {q.Get("cursor")}}, next)}
	p.render(w, r, http.StatusOK, "orgs", v)
	return nil
}

// orgData is an organisation's page.
type orgData struct {
	Org         auth.Org
	Owner       auth.Member
	Members     []auth.Member
	Invites     []inviteRow
	MoreInvites bool
}

// inviteRow is a pending invite with the inviter's email when known.
type inviteRow struct {
	auth.Invite
	InvitedByEmail string
}

// org is GET /orgs/{slug}/: the organisation, its members and its
// pending invites.
func (p *panel) org(w http.ResponseWriter, r *http.Request, v *view) error {
	o, members, err := p.admin.Org(r.Context(), v.principal, r.PathValue("slug"))
	if err != nil {
		return err
	}
	invites, next, err := p.admin.OrgInvites(r.Context(), v.principal, o.Slug, auth.Page{Limit: 200})
	if err != nil {
		return err
	}
	data := orgData{Org: o, Members: members, MoreInvites: next != ""}
	emails := map[string]string{}
	for _, m := range members {
		emails[m.UserID] = m.Email
		if m.UserID == o.OwnerID {
			data.Owner = m
		}
	}
	for _, inv := range invites {
		data.Invites = append(data.Invites, inviteRow{Invite: inv, InvitedByEmail: emails[inv.InvitedBy]})
	}
	v.Title, v.Section, v.Flashes = o.Name, "orgs", v.session.takeFlashes()
	v.Data = data
	p.render(w, r, http.StatusOK, "org", v)
	return nil
}

// auditData is the audit log's content.
type auditData struct {
	Event, ActorID, OrgID, Since, Until string
	EventNames                          []string
	Rows                                []auditRow
	Error                               string
	pager
}

// auditRow is one event with what makes it readable.
type auditRow struct {
	auth.AuditEvent
	ActorEmail string
	UserURL    string // the page of the user the event is about, if any
	Meta       []metaPair
}

type metaPair struct{ Key, Value string }

// eventNames are the events of the contract, for the filter's list.
var eventNames = []string{
	auth.EventUserRegistered, auth.EventUserEmailVerified, auth.EventLogin, auth.EventLoginFailed,
	auth.EventLogout, auth.EventLogoutAll, auth.EventTokenReused, auth.EventSessionRevoked,
	auth.EventPasswordChanged, auth.EventPasswordSet, auth.EventPasswordResetRequest, auth.EventPasswordReset,
	auth.EventSSOLogin, auth.EventSSOLinked, auth.EventSSOUnlinked, auth.EventOrgCreated, auth.EventOrgUpdated,
	auth.EventOrgDeleted, auth.EventMemberInvited, auth.EventInviteRevoked, auth.EventMemberJoined,
	auth.EventMemberRemoved, auth.EventMemberLeft, auth.EventMemberRoleChanged, auth.EventOwnershipTransferred,
	auth.EventUserUpdated, auth.EventUserRoleChanged, auth.EventUserDisabled, auth.EventPermissionsChanged,
}

// timeLayouts are the accepted spellings of the audit log's since and
// until: RFC 3339, and a date or a date and time of an HTML form, in UTC.
var timeLayouts = []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"}

func parseFilterTime(s string) (time.Time, bool) {
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// audit is GET /audit/?event&actor_id&org_id&since&until&cursor: the
// matching events, newest first. It is read-only: there is no route that
// changes or deletes an event.
func (p *panel) audit(w http.ResponseWriter, r *http.Request, v *view) error {
	q := r.URL.Query()
	data := auditData{Event: strings.TrimSpace(q.Get("event")), ActorID: strings.ToLower(strings.TrimSpace(q.Get("actor_id"))),
		OrgID: strings.ToLower(strings.TrimSpace(q.Get("org_id"))), EventNames: eventNames}
	f := auth.AuditFilter{Event: data.Event, ActorID: data.ActorID, OrgID: data.OrgID}
	var bad []string
	for _, field := range []struct {
		name string
		dst  *time.Time
		form *string
	}{{"since", &f.Since, &data.Since}, {"until", &f.Until, &data.Until}} {
		raw := strings.TrimSpace(q.Get(field.name))
		if raw == "" {
			continue
		}
		t, ok := parseFilterTime(raw)
		if !ok {
			bad = append(bad, field.name)
			*field.form = raw
			continue
		}
		*field.dst, *field.form = t, t.Format("2006-01-02T15:04")
	}
	v.Title, v.Section, v.Flashes = "Audit log", "audit", v.session.takeFlashes()
	if len(bad) > 0 {
		data.Error = "Enter " + strings.Join(bad, " and ") + " as a date and time in UTC, such as 2026-03-14T15:09."
		if !v.Can.AuditRead {
			return auth.ErrPermissionDenied
		}
		v.Data = data
		p.render(w, r, http.StatusBadRequest, "audit", v)
		return nil
	}
	events, next, err := p.admin.Audit(r.Context(), v.principal, f, auth.Page{Limit: 50, Cursor: q.Get("cursor")})
	if err != nil {
		return err
	}
	data.Rows = p.auditRows(r, v, events)
	data.pager = newPager(p.prefix+"/audit/", url.Values{"event": {data.Event}, "actor_id": {data.ActorID},
		"org_id": {data.OrgID}, "since": {q.Get("since")}, "until": {q.Get("until")}, "cursor": {q.Get("cursor")}}, next)
	v.Data = data
	p.render(w, r, http.StatusOK, "audit", v)
	return nil
}

// identitiesData is the SSO identities page's content.
type identitiesData struct {
	Query string
	Rows  []identityRow
	Users int // how many users of this page were looked at
	pager
}

type identityRow struct {
	User     auth.User
	Identity auth.Identity
}

// identities is GET /identities/?q&cursor: the SSO identities of the
// users whose email or name contains q, a page of users at a time
// (internal.users.read).
func (p *panel) identities(w http.ResponseWriter, r *http.Request, v *view) error {
	q := r.URL.Query()
	query := strings.TrimSpace(q.Get("q"))
	users, next, err := p.admin.Users(r.Context(), v.principal, auth.UserFilter{Query: query},
		auth.Page{Limit: pageSize, Cursor: q.Get("cursor")})
	if err != nil {
		return err
	}
	data := identitiesData{Query: query, Users: len(users),
		pager: newPager(p.prefix+"/identities/", url.Values{"q": {query}, "cursor": {q.Get("cursor")}}, next)}
	for _, u := range users {
		d, err := p.admin.User(r.Context(), v.principal, u.ID)
		if errors.Is(err, auth.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return err
		}
		for _, id := range d.Identities {
			data.Rows = append(data.Rows, identityRow{User: d.User, Identity: id})
		}
	}
	v.Title, v.Section, v.Flashes = "SSO identities", "identities", v.session.takeFlashes()
	v.Data = data
	p.render(w, r, http.StatusOK, "identities", v)
	return nil
}

// permissionsData is the permission mappings page's content.
type permissionsData struct {
	Tables []permissionTable
}

// permissionTable is one scope: a row per permission, a column per role.
type permissionTable struct {
	Scope       string
	Title       string
	Description string
	Roles       []string
	Permissions []auth.Permission
	Grants      map[string][]auth.Permission
}

// permissions is GET /permissions/: the mappings in force for both scopes
// (internal.permissions.manage).
func (p *panel) permissions(w http.ResponseWriter, r *http.Request, v *view) error {
	m, err := p.admin.Permissions(r.Context(), v.principal)
	if err != nil {
		return err
	}
	user := permissionTable{Scope: string(auth.ScopeUser), Title: "Global roles",
		Description: "What each platform-wide role may do in this panel and the internal API.",
		Permissions: auth.UserPermissions(), Grants: map[string][]auth.Permission{}}
	for _, role := range auth.GlobalRoles() {
		user.Roles = append(user.Roles, string(role))
		user.Grants[string(role)] = m.UserRoles[role]
	}
	org := permissionTable{Scope: string(auth.ScopeOrg), Title: "Organisation roles",
		Description: "What each role inside an organisation may do there.",
		Permissions: auth.OrgPermissions(), Grants: map[string][]auth.Permission{}}
	for _, role := range auth.OrgRoles() {
		org.Roles = append(org.Roles, string(role))
		org.Grants[string(role)] = m.OrgRoles[role]
	}
	v.Title, v.Section, v.Flashes = "Permissions", "permissions", v.session.takeFlashes()
	v.Data = permissionsData{Tables: []permissionTable{user, org}}
	p.render(w, r, http.StatusOK, "permissions", v)
	return nil
}

// setPermissions is POST /permissions/{scope}/{role}/: the role's
// permissions become the checked ones (internal.permissions.manage).
// Taking internal.permissions.manage from SYSTEM_ADMIN is refused (the
// library's conflict), shown as an error message.
func (p *panel) setPermissions(w http.ResponseWriter, r *http.Request, v *view) error {
	scope, role := auth.Scope(r.PathValue("scope")), r.PathValue("role")
	_, err := p.admin.SetPermissions(r.Context(), p.client(r), v.principal, scope, role, r.PostForm["permission"])
	var verr *auth.ValidationError
	switch {
	case errors.Is(err, auth.ErrConflict):
		v.session.addFlash("error", "Not saved: SYSTEM_ADMIN must keep "+string(auth.PermPermissionsManage)+
			", or no one could manage permissions any more.")
	case errors.As(err, &verr):
		v.session.addFlash("error", "Not saved: "+describeFields(verr))
	case err != nil:
		return err
	default:
		v.session.addFlash("success", "The permissions of "+role+" are saved. Every instance applies them within a second.")
	}
	return p.redirectBack(w, r, "/permissions/")
}

// auditRows makes events readable: the actors' emails (with
// internal.users.read, one lookup per distinct actor), a link to the user
// an event is about, and the metadata in key order.
func (p *panel) auditRows(r *http.Request, v *view, events []auth.AuditEvent) []auditRow {
	emails := map[string]string{}
	email := func(id string) string {
		if id == "" || !v.Can.UsersRead {
			return ""
		}
		if e, ok := emails[id]; ok {
			return e
		}
		d, err := p.admin.User(r.Context(), v.principal, id)
		emails[id] = d.User.Email // empty when the user is gone or hidden
		if err != nil && !errors.Is(err, auth.ErrNotFound) {
			p.log.WarnContext(r.Context(), "adminui: look up an audit actor", "err", err)
		}
		return emails[id]
	}
	rows := make([]auditRow, 0, len(events))
	for _, e := range events {
		row := auditRow{AuditEvent: e, ActorEmail: email(e.ActorID)}
		switch {
		case e.TargetType == auth.TargetUser || e.TargetType == auth.TargetMember:
			row.UserURL = p.prefix + "/users/" + url.PathEscape(e.TargetID) + "/"
		case e.Metadata["user_id"] != "":
			row.UserURL = p.prefix + "/users/" + url.PathEscape(e.Metadata["user_id"]) + "/"
		}
		for _, k := range slices.Sorted(maps.Keys(e.Metadata)) {
			row.Meta = append(row.Meta, metaPair{k, e.Metadata[k]})
		}
		rows = append(rows, row)
	}
	return rows
}
