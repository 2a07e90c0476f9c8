package main

import (
	"bytes"
	"context"
	"testing"
)

func TestRunPrintsTheTranscript(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	want := `registered ada@example.com
mail to ada@example.com: "Verify your email address"
login before verifying: email_not_verified
email verified: true
logged in: an access token for 5m0s and a refresh token for 168h0m0s
access token verified: it is ada's: true
created organisation "Acme Corp" with slug "acme-corp"; ada is OWNER
org.update in acme-corp: allowed
org.delete in acme-corp: allowed
internal.users.read globally (END_USER): permission_denied
org.view in acme-corp for a non-member: not_found
`
	if got := out.String(); got != want {
		t.Errorf("transcript:\n%s\nwant:\n%s", got, want)
	}
}
