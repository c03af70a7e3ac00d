package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestQueueConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		p := filepath.Join(dir, "postfach.toml")
		if err := os.WriteFile(p, []byte("hostname = \"mail.example.org\"\n[listen]\nimaps = \"127.0.0.1:0\"\n"+body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg, err := Load(write(""))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Queue; got != defaultQueue() || got.Expiry != 120*time.Hour || got.SMTPPort != 25 {
		t.Errorf("defaults: %+v", got)
	}

	cfg, err = Load(write("[queue]\nexpiry = \"48h\"\ndelay_warning = \"0s\"\nsmtp_port = 2525\nroot_ca_file = \"ca.pem\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Queue.Expiry != 48*time.Hour || cfg.Queue.DelayWarning != 0 || cfg.Queue.SMTPPort != 2525 {
		t.Errorf("loaded: %+v", cfg.Queue)
	}
	if cfg.Queue.RootCAFile != filepath.Join(dir, "ca.pem") {
		t.Errorf("root_ca_file %q is not resolved against the config's directory", cfg.Queue.RootCAFile)
	}

	for _, tt := range []struct{ body, want string }{
		{"[queue]\nexpiry = \"10s\"\n", "queue.expiry"},
		{"[queue]\ndelay_warning = \"200h\"\n", "queue.delay_warning"},
		{"[queue]\nbackoff_initial = \"1h\"\nbackoff_max = \"5m\"\n", "queue.backoff_max"},
		{"[queue]\nconcurrency = 0\n", "queue.concurrency"},
		{"[queue]\nper_domain = 0\n", "queue.per_domain"},
		{"[queue]\nsmtp_port = 70000\n", "queue.smtp_port"},
		{"[queue]\nexpiry = 3600\n", "duration string"},
		{"[queue]\nretries = 3\n", "unknown key"},
	} {
		_, err := Load(write(tt.body))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: got %v, want an error about %s", tt.body, err, tt.want)
		}
	}
}
