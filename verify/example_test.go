package verify_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/authd/auth/verify"
)

// A service that accepts authd's access tokens on its own routes. authd
// runs with JWT_ALGORITHM=EdDSA (or RS256) and PUBLIC_URL
// https://auth.example.com.
func Example() {
	ctx := context.Background()
	v, err := verify.New(ctx, "https://auth.example.com/.well-known/jwks.json",
		verify.Config{Issuer: "https://auth.example.com"})
	if err != nil {
		panic(err) // authd unreachable, or it signs with HS256
	}
	defer v.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /reports", func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		c, err := v.Verify(r.Context(), token)
		if !ok || err != nil {
			w.Header().Set("WWW-Authenticate", "Bearer")
			http.Error(w, "unauthenticated", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "reports of user %s (%s)\n", c.UserID, c.Role)
	})
	http.ListenAndServe(":8081", mux)
}
