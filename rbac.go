package auth

import (
	"fmt"
	"slices"
)

// GlobalRole is a user's platform-wide role. It grants nothing inside an
// organisation.
type GlobalRole string

// Global roles, lowest first.
const (
	RoleEndUser     GlobalRole = "END_USER"
	RoleStaff       GlobalRole = "STAFF"
	RoleDataAdmin   GlobalRole = "DATA_ADMIN"
	RoleSystemAdmin GlobalRole = "SYSTEM_ADMIN"
)

// GlobalRoles returns the four global roles, lowest first.
func GlobalRoles() []GlobalRole {
	return []GlobalRole{RoleEndUser, RoleStaff, RoleDataAdmin, RoleSystemAdmin}
}

// Valid reports whether r is one of the four global roles.
func (r GlobalRole) Valid() bool { return slices.Contains(GlobalRoles(), r) }

// OrgRole is a membership's role inside one organisation. It grants nothing
// globally.
type OrgRole string

// Organisation roles, highest first: OWNER > ADMIN > MEMBER.
const (
	OrgOwner  OrgRole = "OWNER"
	OrgAdmin  OrgRole = "ADMIN"
	OrgMember OrgRole = "MEMBER"
)

// OrgRoles returns the three organisation roles, highest first.
func OrgRoles() []OrgRole { return []OrgRole{OrgOwner, OrgAdmin, OrgMember} }

// Valid reports whether r is one of the three organisation roles.
func (r OrgRole) Valid() bool { return slices.Contains(OrgRoles(), r) }

// rank orders organisation roles: OWNER 3, ADMIN 2, MEMBER 1, anything else 0.
func (r OrgRole) rank() int {
	switch r {
	case OrgOwner:
		return 3
	case OrgAdmin:
		return 2
	case OrgMember:
		return 1
	}
	return 0
}

// Above reports whether r is strictly higher than other in the hierarchy.
func (r OrgRole) Above(other OrgRole) bool { return r.rank() > other.rank() }

// Permission names one action a role may be granted. Every permission
// belongs to one scope: global permissions (internal.*) are granted to
// global roles, organisation permissions to organisation roles.
type Permission string

// Organisation permissions.
const (
	PermOrgView          Permission = "org.view"
	PermOrgUpdate        Permission = "org.update"
	PermOrgDelete        Permission = "org.delete"
	PermOrgTransfer      Permission = "org.transfer"
	PermOrgAuditRead     Permission = "org.audit.read"
	PermMemberView       Permission = "member.view"
	PermMemberInvite     Permission = "member.invite"
	PermMemberRemove     Permission = "member.remove"
	PermMemberRoleChange Permission = "member.role.change"
)

// Global (internal) permissions.
const (
	PermDashboardView     Permission = "internal.dashboard.view"
	PermUsersRead         Permission = "internal.users.read"
	PermUsersWrite        Permission = "internal.users.write"
	PermRolesChange       Permission = "internal.roles.change"
	PermOrgsRead          Permission = "internal.orgs.read"
	PermAuditRead         Permission = "internal.audit.read"
	PermSessionsRead      Permission = "internal.sessions.read"
	PermSessionsRevoke    Permission = "internal.sessions.revoke"
	PermPermissionsManage Permission = "internal.permissions.manage"
)

// Scope says which kind of role a permission or mapping is for.
type Scope string

// Scopes, spelt as in the /internal/permissions/{scope}/ paths.
const (
	ScopeUser Scope = "user" // global roles
	ScopeOrg  Scope = "org"  // organisation roles
)

// OrgPermissions returns every organisation permission.
func OrgPermissions() []Permission {
	return []Permission{PermOrgView, PermMemberView, PermOrgUpdate, PermMemberInvite, PermMemberRemove,
		PermMemberRoleChange, PermOrgAuditRead, PermOrgDelete, PermOrgTransfer}
}

// UserPermissions returns every global permission.
func UserPermissions() []Permission {
	return []Permission{PermDashboardView, PermUsersRead, PermOrgsRead, PermAuditRead, PermSessionsRead,
		PermUsersWrite, PermRolesChange, PermSessionsRevoke, PermPermissionsManage}
}

// AllPermissions returns every permission, global ones first.
func AllPermissions() []Permission { return append(UserPermissions(), OrgPermissions()...) }

// Scope returns the scope of p, or "" for an unknown permission.
func (p Permission) Scope() Scope {
	switch {
	case slices.Contains(UserPermissions(), p):
		return ScopeUser
	case slices.Contains(OrgPermissions(), p):
		return ScopeOrg
	}
	return ""
}

// ParsePermission returns the permission named s, or an error for a name
// that is not one of [AllPermissions].
func ParsePermission(s string) (Permission, error) {
	p := Permission(s)
	if p.Scope() == "" {
		return "", fmt.Errorf("auth: unknown permission %q", s)
	}
	return p, nil
}

// Mappings are the role → permission tables of both scopes.
type Mappings struct {
	UserRoles map[GlobalRole][]Permission
	OrgRoles  map[OrgRole][]Permission
}

// DefaultPermissions returns the contract's default mappings, which
// `authd seed-permissions` writes for roles that have none yet.
func DefaultPermissions() Mappings {
	staff := []Permission{PermDashboardView, PermUsersRead, PermOrgsRead}
	dataAdmin := append(slices.Clone(staff), PermAuditRead, PermSessionsRead)
	systemAdmin := append(slices.Clone(dataAdmin), PermUsersWrite, PermRolesChange, PermSessionsRevoke, PermPermissionsManage)
	member := []Permission{PermOrgView, PermMemberView}
	admin := append(slices.Clone(member), PermOrgUpdate, PermMemberInvite, PermMemberRemove, PermMemberRoleChange, PermOrgAuditRead)
	owner := append(slices.Clone(admin), PermOrgDelete, PermOrgTransfer)
	return Mappings{
		UserRoles: map[GlobalRole][]Permission{RoleEndUser: {}, RoleStaff: staff, RoleDataAdmin: dataAdmin, RoleSystemAdmin: systemAdmin},
		OrgRoles:  map[OrgRole][]Permission{OrgOwner: owner, OrgAdmin: admin, OrgMember: member},
	}
}
