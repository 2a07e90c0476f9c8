// Package faulttest holds the fault tests of authd: each starts real,
// private services (see internal/testservices), puts authd under load, and
// breaks a service in the middle: PostgreSQL restarted, and what the
// requests, the logs and the rows left behind show about it.
//
// The package has no code of its own; its tests are in *_test.go.
package faulttest
