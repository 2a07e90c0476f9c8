package auth

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

// Valid reports whether r is one of the four global roles.
func (r GlobalRole) Valid() bool {
	switch r {
	case RoleEndUser, RoleStaff, RoleDataAdmin, RoleSystemAdmin:
		return true
	}
	return false
}
