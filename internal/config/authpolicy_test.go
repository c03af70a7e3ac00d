package config

import (
	"strings"
	"testing"

	"postfach/internal/auth"
)

// TestAuthPolicyDefaultsMatchAuth keeps the [auth] password and SCRAM
// defaults in step with the auth package's, which explain them.
func TestAuthPolicyDefaultsMatchAuth(t *testing.T) {
	a := Default().Auth
	if a.MinPasswordLength != auth.DefaultMinPasswordLength || a.SCRAMIterations != auth.DefaultSCRAMIterations {
		t.Errorf("config defaults %d, %d; auth's %d, %d", a.MinPasswordLength, a.SCRAMIterations, auth.DefaultMinPasswordLength, auth.DefaultSCRAMIterations)
	}
	if minSCRAMIterations != auth.MinSCRAMIterations {
		t.Errorf("minimum SCRAM iterations %d, auth's %d", minSCRAMIterations, auth.MinSCRAMIterations)
	}
}

func TestValidateAuthPolicy(t *testing.T) {
	for _, tc := range []struct {
		set  func(*Auth)
		want string
	}{
		{func(a *Auth) { a.MinPasswordLength = 7 }, "auth.min_password_length: 7 is out of range 8..128"},
		{func(a *Auth) { a.MinPasswordLength = 129 }, "auth.min_password_length: 129 is out of range 8..128"},
		{func(a *Auth) { a.SCRAMIterations = 4095 }, "auth.scram_iterations: 4095 is out of range 4096..10000000"},
		{func(a *Auth) { a.SCRAMIterations = 0 }, "auth.scram_iterations: 0 is out of range"},
	} {
		cfg := Default()
		cfg.Hostname = "mail.example.org"
		tc.set(&cfg.Auth)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate = %v, want %q", err, tc.want)
		}
	}
	cfg := Default()
	cfg.Hostname = "mail.example.org"
	cfg.Auth.MinPasswordLength, cfg.Auth.SCRAMIterations = 8, 4096
	if err := cfg.Validate(); err != nil && strings.Contains(err.Error(), "auth.") {
		t.Errorf("Validate with the lowest allowed values: %v", err)
	}
}
