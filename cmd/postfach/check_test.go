package main

import (
	"encoding/json"
	"net"
	"path/filepath"
	"strconv"
	"testing"

	"postfach/internal/config"
	"postfach/internal/imaptest"
)

func TestCheckCommand(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{Configure: func(cfg *config.Config) {
		cfg.Listen = config.Listen{IMAPS: "127.0.0.1:0"}
	}})
	port := strconv.Itoa(env.Server.Addr("imaps").(*net.TCPAddr).Port)
	ca := filepath.Join(env.Config.DataDir, "tls", "cert.pem")
	args := []string{"check", "127.0.0.1", "--port", "imaps=" + port, "--only", "imaps"}

	// The self-signed certificate is not trusted: a failure.
	postfach(t, nil, "", args...).expect(t, 2,
		"out:imaps", "out:FAIL", "out:self-signed (give its CA with --ca FILE to trust it)", "out:Verdict: FAIL")

	// Trusted with --ca; JSON on request.
	r := postfach(t, nil, "", append(args, "--ca", ca, "--json")...)
	r.expect(t, 0)
	var rep struct {
		Verdict string
		Probes  []struct {
			Service, Verdict string
			Port             int
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if rep.Verdict != "ok" || len(rep.Probes) != 1 || rep.Probes[0].Service != "imaps" || strconv.Itoa(rep.Probes[0].Port) != port {
		t.Errorf("JSON report %+v", rep)
	}

	// With an account: the password comes from standard input.
	postfach(t, nil, imaptest.Password+"\n", append(args, "--ca", ca, "--user", "alice@example.org")...).expect(t, 0,
		"out:logged in as alice@example.org", "out:6 mailboxes")
	postfach(t, nil, "wrong\n", append(args, "--ca", ca, "--user", "alice@example.org")...).expect(t, 2,
		"out:login as alice@example.org refused")

	// Usage errors.
	postfach(t, nil, "", "check", "127.0.0.1", "--port", "web=80").expect(t, 2, `err:unknown service "web"`, "err:Usage: postfach check")
	postfach(t, nil, "", "check", "127.0.0.1", "--port", "imaps=0").expect(t, 2, "err:want SERVICE=PORT")
	postfach(t, nil, "", "check", "127.0.0.1", "--send-test").expect(t, 2, "err:--send-test needs --user")
	postfach(t, nil, "", "check", "127.0.0.1", "--only", "http").expect(t, 2, "err:--only \"http\"")
	postfach(t, nil, "", "check", "127.0.0.1", "--ca", filepath.Join(t.TempDir(), "none.pem")).expect(t, 1, "err:--ca")
}
