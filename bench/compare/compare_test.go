package main

import (
	"os"
	"os/user"
	"strings"
	"testing"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	if ratioOf(3, 0) != 0 || ratioOf(3, 2) != 1.5 {
		t.Error("ratioOf")
	}
}

// TestDovecotTemplate fills the template and wants no placeholder left,
// the fsync setting and nothing from /etc/dovecot.
func TestDovecotTemplate(t *testing.T) {
	tmpl, err := os.ReadFile("../dovecot.conf.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	u := &user.User{Username: "nobody", Uid: "65534", Gid: "65534"}
	conf, err := renderDovecotConf(string(tmpl), dovecotSetup{dir: "/scratch/dovecot", tlsDir: "/scratch/tls", idleConns: 1000}, u)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"mail_fsync = always",
		"mail_uid = 65534",
		"port = 10993",
		"process_limit = 1200",
		"ssl_cert = </scratch/tls/cert.pem",
		"mail_location = maildir:/scratch/dovecot/mail/%u/Maildir",
	} {
		if !strings.Contains(conf, want) {
			t.Errorf("configuration lacks %q", want)
		}
	}
	for _, line := range strings.Split(conf, "\n") {
		if line = strings.TrimSpace(line); !strings.HasPrefix(line, "#") &&
			(strings.Contains(line, "/etc/dovecot") || strings.Contains(line, "!include")) {
			t.Errorf("configuration reads /etc/dovecot: %s", line)
		}
	}
	// Every case's metrics have names and readers.
	for _, c := range cases(options{users: 100, idleCompare: 1000, idleLarge: 10000, idleHuge: 20000}) {
		if c.id == "" || c.title == "" || len(c.metrics) == 0 || len(c.args) == 0 {
			t.Errorf("case %+v", c)
		}
	}
}
