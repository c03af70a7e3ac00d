package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"postfach/internal/dns"
)

func TestDKIMCommands(t *testing.T) {
	cfg := testConfig(t)
	dataDir := filepath.Join(filepath.Dir(cfg), "data")
	c := []string{"--config", cfg}
	run := func(args ...string) result {
		t.Helper()
		return postfach(t, nil, "", append(args, c...)...)
	}
	month := time.Now().UTC().Format("200601")
	rsaName := "pf" + month + "r._domainkey.example.org."
	edName := "pf" + month + "e._domainkey.example.org."

	// domain add makes the keys and prints their records.
	run("domain", "add", "example.org").expect(t, 0, "out:added domain example.org",
		"out:; made DKIM keys for example.org", "out:"+rsaName+" 3600 IN TXT ( \"v=DKIM1; k=rsa; p=", "out:"+edName+" 3600 IN TXT \"v=DKIM1; k=ed25519; p=")
	for _, sel := range []string{"r", "e"} {
		fi, err := os.Stat(filepath.Join(dataDir, "dkim", "example.org", "pf"+month+sel+".pem"))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("key file: %v %v", fi, err)
		}
	}

	// dkim DOMAIN prints a zone: it parses, and has both keys.
	r := run("dkim", "example.org")
	r.expect(t, 0)
	z, err := dns.ParseZoneString(r.stdout)
	if err != nil {
		t.Fatalf("output is no zone: %v\n%s", err, r.stdout)
	}
	res := dns.NewZoneResolver(z)
	for _, name := range []string{rsaName, edName} {
		txt, err := res.LookupTXT(context.Background(), name)
		if err != nil || len(txt) != 1 || !strings.HasPrefix(txt[0], "v=DKIM1; k=") {
			t.Fatalf("%s: %q %v", name, txt, err)
		}
	}

	run("dkim", "generate", "example.org").expect(t, 1, "err:exist", "err:postfach dkim example.org")
	run("dkim", "generate", "nowhere.org").expect(t, 1, "err:domain nowhere.org does not exist")
	run("dkim", "nowhere.org").expect(t, 1, "err:domain nowhere.org does not exist")
	run("dkim", "generate").expect(t, 2, "err:missing DOMAIN")

	// A domain from before DKIM: no keys until generated.
	run("domain", "add", "old.example").expect(t, 0)
	os.RemoveAll(filepath.Join(dataDir, "dkim", "old.example"))
	run("dkim", "old.example").expect(t, 1, "err:domain old.example has no DKIM keys; make them with: postfach dkim generate old.example")
	run("dkim").expect(t, 0, "out:"+rsaName, "err:domain old.example has no DKIM keys")
	run("dkim", "generate", "OLD.example").expect(t, 0, "out:; made DKIM keys for old.example", "out:pf"+month+"e._domainkey.old.example.")
	if r := run("dkim"); strings.Count(r.stdout, "IN TXT") != 4 {
		t.Fatalf("dkim of all domains:\n%s", r.stdout)
	}

	// Removing and re-adding a domain keeps its keys.
	run("domain", "remove", "old.example").expect(t, 0)
	run("domain", "add", "old.example").expect(t, 0, "out:; old.example has DKIM keys already")

	// Retired keys are marked.
	writeOldKey(t, dataDir, "example.org", "pf200001r", rsaName)
	r = run("dkim", "example.org")
	if !strings.Contains(r.stdout, "pf200001r of example.org (retired") || strings.Contains(r.stdout, "pf"+month+"r of example.org (retired") {
		t.Fatalf("retired key not marked:\n%s", r.stdout)
	}
	postfach(t, nil, "", "help", "dkim").expect(t, 0, "out:pf202611r", "out:Usage: postfach dkim [--config FILE] [DOMAIN]")
}

// writeOldKey copies the current RSA key file under an older selector.
func writeOldKey(t *testing.T, dataDir, domain, sel, current string) {
	t.Helper()
	dir := filepath.Join(dataDir, "dkim", domain)
	src := filepath.Join(dir, strings.SplitN(current, ".", 2)[0]+".pem")
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, sel+".pem"), b, 0o600); err != nil {
		t.Fatal(err)
	}
}
