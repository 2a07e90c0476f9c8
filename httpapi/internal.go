package httpapi

import (
	"net/http"

	auth "github.com/authd/auth"
)

// The handlers of API.md's Internal (global-role) rows. Each passes the
// caller to the Admin, which reads the caller's current global role and
// asks the Guard: without the permission the answer is 403
// permission_denied, whatever the caller's organisation roles.

// adminDashboard is GET /internal/dashboard/: the platform counts.
func (s *server) adminDashboard(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	st, err := s.admin.Dashboard(r.Context(), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, statsJSON{Users: st.Users, ActiveSessions: st.ActiveSessions,
		Orgs: st.Orgs, Logins24h: st.Logins24h})
}

// adminUsers is GET /internal/users/?q&role: the users whose email or
// name contains q and whose global role is role, one page at a time.
func (s *server) adminUsers(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	page, err := pageFrom(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := auth.UserFilter{Query: q.Get("q"), Role: auth.GlobalRole(q.Get("role"))}
	list, next, err := s.admin.Users(r.Context(), p, f, page)
	if err != nil {
		return err
	}
	return writeList(w, "users", mapJSON(list, newUserJSON), next)
}

// adminUser is GET /internal/users/{id}/: 200 {"user", "orgs",
// "identities"}, each organisation with the user's role in it.
func (s *server) adminUser(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	d, err := s.admin.User(r.Context(), p, pathID(r, "id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, userDetailResponse{User: newUserJSON(d.User),
		Orgs: mapJSON(d.Orgs, newMembershipJSON), Identities: mapJSON(d.Identities, newIdentityJSON)})
}

// adminUpdateUser is PATCH /internal/users/{id}/: 200 {"user"}. Each of
// name, is_active and role is changed only when present (and not null).
func (s *server) adminUpdateUser(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var in struct {
		Name     *string `json:"name"`
		IsActive *bool   `json:"is_active"`
		Role     *string `json:"role"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	up := auth.UserUpdate{Name: in.Name, IsActive: in.IsActive}
	if in.Role != nil {
		role := auth.GlobalRole(*in.Role)
		up.Role = &role
	}
	u, err := s.admin.UpdateUser(r.Context(), s.client(r), p, pathID(r, "id"), up)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, userResponse{newUserJSON(u)})
}

// adminUserSessions is GET /internal/users/{id}/sessions/: the user's
// active sessions; current marks only the caller's own.
func (s *server) adminUserSessions(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	list, err := s.admin.UserSessions(r.Context(), p, pathID(r, "id"))
	if err != nil {
		return err
	}
	return writeSessions(w, list, p)
}

// adminRevokeSession is DELETE /internal/sessions/{id}/: 204, any user's
// session revoked.
func (s *server) adminRevokeSession(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := s.admin.RevokeSession(r.Context(), s.client(r), p, pathID(r, "id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// adminOrgs is GET /internal/orgs/?q: every organisation whose name or
// slug contains q, one page at a time, without a role.
func (s *server) adminOrgs(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	page, err := pageFrom(r)
	if err != nil {
		return err
	}
	list, next, err := s.admin.Orgs(r.Context(), p, auth.OrgFilter{Query: r.URL.Query().Get("q")}, page)
	if err != nil {
		return err
	}
	return writeList(w, "orgs", mapJSON(list, newOrgJSON), next)
}

// adminOrg is GET /internal/orgs/{slug}/: 200 {"org", "members"}, the org
// without a role.
func (s *server) adminOrg(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	o, members, err := s.admin.Org(r.Context(), p, r.PathValue("slug"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, adminOrgResponse{Org: newOrgJSON(o), Members: mapJSON(members, newMemberJSON)})
}

// adminAudit is GET /internal/audit/?event&actor_id&org_id&since&until:
// the matching audit events, newest first, one page at a time.
func (s *server) adminAudit(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	page, err := pageFrom(r)
	if err != nil {
		return err
	}
	f, err := auditFilterFrom(r)
	if err != nil {
		return err
	}
	list, next, err := s.admin.Audit(r.Context(), p, f, page)
	if err != nil {
		return err
	}
	return writeList(w, "events", mapJSON(list, newAuditEventJSON), next)
}

// adminPermissions is GET /internal/permissions/: every permission and
// the role mappings in force.
func (s *server) adminPermissions(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	m, err := s.admin.Permissions(r.Context(), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, permissionsResponse{Permissions: auth.AllPermissions(),
		UserRoles: m.UserRoles, OrgRoles: m.OrgRoles})
}

// adminSetPermissions is PUT /internal/permissions/{scope}/{role}/: the
// role's permissions replaced by the body's, 200 {"role", "permissions"}.
// An unknown scope is 404.
func (s *server) adminSetPermissions(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var in struct {
		Permissions []string `json:"permissions"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.Permissions == nil {
		// Missing or null, as opposed to [] (a role with no permission):
		// never read as "take every permission away".
		return invalidField("permissions", "required")
	}
	role := r.PathValue("role")
	perms, err := s.admin.SetPermissions(r.Context(), s.client(r), p, auth.Scope(r.PathValue("scope")), role, in.Permissions)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rolePermissionsResponse{Role: role, Permissions: perms})
}
