package httpapi

import (
	"net/http"

	auth "github.com/authd/auth"
)

// The handlers of API.md's Organisations rows. Each passes the caller to
// the OrgService, which asks the Guard: a caller who is not a member of the
// organisation in the path gets 404 not_found, a member without the
// permission 403 permission_denied.

// createOrg is POST /orgs/create/: 201 {"org"}, the caller its OWNER.
func (s *server) createOrg(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var in struct {
		Name string `json:"name"`
		Slug string `json:"slug"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	om, err := s.orgs.Create(r.Context(), s.client(r), p, in.Name, in.Slug)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, orgResponse{newMembershipJSON(om)})
}

// myOrgs is GET /orgs/: the organisations the caller belongs to, with its
// role in each, one page at a time.
func (s *server) myOrgs(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	page, err := pageFrom(r)
	if err != nil {
		return err
	}
	list, next, err := s.orgs.Mine(r.Context(), p, page)
	if err != nil {
		return err
	}
	return writeList(w, "orgs", mapJSON(list, newMembershipJSON), next)
}

// org is GET /orgs/{slug}/: 200 {"org"} with the caller's role.
func (s *server) org(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	om, err := s.orgs.Org(r.Context(), p, r.PathValue("slug"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, orgResponse{newMembershipJSON(om)})
}

// renameOrg is PATCH /orgs/{slug}/: 200 {"org"} with the new name.
func (s *server) renameOrg(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	om, err := s.orgs.Rename(r.Context(), s.client(r), p, r.PathValue("slug"), in.Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, orgResponse{newMembershipJSON(om)})
}

// deleteOrg is DELETE /orgs/{slug}/: 204.
func (s *server) deleteOrg(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := s.orgs.Delete(r.Context(), s.client(r), p, r.PathValue("slug")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// members is GET /orgs/{slug}/members/: the members, one page at a time.
func (s *server) members(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	page, err := pageFrom(r)
	if err != nil {
		return err
	}
	list, next, err := s.orgs.Members(r.Context(), p, r.PathValue("slug"), page)
	if err != nil {
		return err
	}
	return writeList(w, "members", mapJSON(list, newMemberJSON), next)
}

// changeMemberRole is PATCH /orgs/{slug}/members/{user_id}/: 200
// {"member"} with the new role.
func (s *server) changeMemberRole(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var in struct {
		Role string `json:"role"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	m, err := s.orgs.ChangeRole(r.Context(), s.client(r), p, r.PathValue("slug"), pathID(r, "user_id"), auth.OrgRole(in.Role))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, memberResponse{newMemberJSON(m)})
}

// removeMember is DELETE /orgs/{slug}/members/{user_id}/: 204.
func (s *server) removeMember(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := s.orgs.RemoveMember(r.Context(), s.client(r), p, r.PathValue("slug"), pathID(r, "user_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// leaveOrg is POST /orgs/{slug}/leave/: 204; the owner gets 409
// owner_cannot_leave.
func (s *server) leaveOrg(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	// No fields, but a body still has to be JSON, as everywhere.
	if err := decodeJSON(w, r, &struct{}{}); err != nil {
		return err
	}
	if err := s.orgs.Leave(r.Context(), s.client(r), p, r.PathValue("slug")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// transferOwnership is POST /orgs/{slug}/transfer-ownership/: 200 {"org"}
// with the caller's new role, ADMIN.
func (s *server) transferOwnership(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var in struct {
		UserID string `json:"user_id"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.UserID == "" {
		// The library would look for a member with an empty id and
		// answer 404; the contract makes a missing field 400.
		return invalidField("user_id", "required")
	}
	om, err := s.orgs.TransferOwnership(r.Context(), s.client(r), p, r.PathValue("slug"), canonicalID(in.UserID))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, orgResponse{newMembershipJSON(om)})
}

// invite is POST /orgs/{slug}/invites/: 201 {"invite"}, the invitation
// mailed.
func (s *server) invite(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var in struct {
		Email string `json:"email"`
		Role  string `json:"role"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	inv, err := s.orgs.Invite(r.Context(), s.client(r), p, r.PathValue("slug"), in.Email, auth.OrgRole(in.Role))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, inviteResponse{newInviteJSON(inv)})
}

// invites is GET /orgs/{slug}/invites/: the pending invites, one page at
// a time.
func (s *server) invites(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	page, err := pageFrom(r)
	if err != nil {
		return err
	}
	list, next, err := s.orgs.Invites(r.Context(), p, r.PathValue("slug"), page)
	if err != nil {
		return err
	}
	return writeList(w, "invites", mapJSON(list, newInviteJSON), next)
}

// revokeInvite is DELETE /orgs/{slug}/invites/{id}/: 204; an invite of
// another organisation is 404.
func (s *server) revokeInvite(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := s.orgs.RevokeInvite(r.Context(), s.client(r), p, r.PathValue("slug"), pathID(r, "id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// acceptInvite is POST /orgs/invites/accept/: 200 {"org", "member"}.
func (s *server) acceptInvite(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var in struct {
		Token string `json:"token"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	om, m, err := s.orgs.AcceptInvite(r.Context(), s.client(r), p, in.Token)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, acceptResponse{Org: newMembershipJSON(om), Member: newMemberJSON(m)})
}

// orgAudit is GET /orgs/{slug}/audit/: the organisation's audit events,
// newest first, one page at a time.
func (s *server) orgAudit(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	page, err := pageFrom(r)
	if err != nil {
		return err
	}
	list, next, err := s.orgs.Audit(r.Context(), p, r.PathValue("slug"), auth.AuditFilter{}, page)
	if err != nil {
		return err
	}
	return writeList(w, "events", mapJSON(list, newAuditEventJSON), next)
}
