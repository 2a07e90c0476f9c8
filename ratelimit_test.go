package auth_test

import (
	"fmt"
	"testing"
	"time"

	auth "github.com/authd/auth"
)

func TestParseLimit(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want auth.Limit
	}{
		{"5/m", auth.Limit{Burst: 5, Period: time.Minute}},
		{"30/s", auth.Limit{Burst: 30, Period: time.Second}},
		{"20/h", auth.Limit{Burst: 20, Period: time.Hour}},
		{"1/h", auth.Limit{Burst: 1, Period: time.Hour}},
		{"  3/h\n", auth.Limit{Burst: 3, Period: time.Hour}},
		{"007/m", auth.Limit{Burst: 7, Period: time.Minute}},
		{"1000000000/s", auth.Limit{Burst: 1000000000, Period: time.Second}},
	} {
		t.Run(tt.in+" is read", func(t *testing.T) {
			got, err := auth.ParseLimit(tt.in)
			if err != nil || got != tt.want {
				t.Fatalf("ParseLimit(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
	for _, in := range []string{
		"", " ", "5", "5/", "/m", "0/m", "-1/m", "+5/m", "5.5/m", "5/min", "5/M", "5/d",
		"5/30s", "5 /m", "5/ m", "5/m/s", "x/m", "5m", "99999999999999999999/s", "1000000001/s",
	} {
		t.Run(fmt.Sprintf("%q is refused", in), func(t *testing.T) {
			if got, err := auth.ParseLimit(in); err == nil {
				t.Fatalf("ParseLimit(%q) = %+v, want an error", in, got)
			}
		})
	}
}

func TestLimitString(t *testing.T) {
	for _, tt := range []struct {
		l    auth.Limit
		want string
	}{
		{auth.Limit{Burst: 5, Period: time.Minute}, "5/m"},
		{auth.Limit{Burst: 30, Period: time.Second}, "30/s"},
		{auth.Limit{Burst: 3, Period: time.Hour}, "3/h"},
		{auth.Limit{Burst: 5, Period: 30 * time.Second}, "5/30s"},
		{auth.Limit{}, "unlimited"},
	} {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.l.String(); got != tt.want {
				t.Fatalf("%+v.String() = %q, want %q", tt.l, got, tt.want)
			}
		})
	}
	t.Run("ParseLimit reads back what String writes", func(t *testing.T) {
		for _, s := range []string{"1/s", "5/m", "20/h"} {
			l, err := auth.ParseLimit(s)
			if err != nil || l.String() != s {
				t.Fatalf("ParseLimit(%q).String() = %q, %v", s, l.String(), err)
			}
		}
	})
}
