package config

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSMTPDefaults(t *testing.T) {
	s := Default().SMTP
	if s.MaxRecipients != 100 || s.MaxCommandLength != 4096 || s.Timeout != 5*time.Minute || s.SubaddressDelimiter != "+" ||
		s.MaxMessagesPerHour != 200 || s.MaxRecipientsPerHour != 1000 || s.SocketMode() != 0o666 {
		t.Fatalf("[smtp] defaults %+v", s)
	}
	want := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	if got := s.TrustedNetworks(); !reflect.DeepEqual(got, want) {
		t.Fatalf("trusted networks %v", got)
	}
}

func TestSMTPLoad(t *testing.T) {
	cfg, err := Load(writeConfig(t, `hostname = "mail.example.org"
[listen]
smtp = "127.0.0.1:0"
submission = "127.0.0.1:0"
submissions = "127.0.0.1:0"
lmtp = "unix:/run/postfach/lmtp.sock"

[smtp]
max_recipients = 500
max_command_length = "8 KiB"
timeout = "10m"
subaddress_delimiter = "+-"
lmtp_trusted_networks = ["10.0.0.0/8"]
lmtp_socket_mode = "0660"
max_messages_per_hour = 0
max_recipients_per_hour = 50
`))
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.SMTP
	if s.MaxRecipients != 500 || s.MaxCommandLength != 8192 || s.Timeout != 10*time.Minute || s.SubaddressDelimiter != "+-" ||
		s.SocketMode() != 0o660 || s.MaxMessagesPerHour != 0 || s.MaxRecipientsPerHour != 50 {
		t.Fatalf("[smtp] %+v", s)
	}
	if got := s.TrustedNetworks(); len(got) != 1 || got[0].String() != "10.0.0.0/8" {
		t.Fatalf("trusted networks %v", got)
	}
	var lmtp Listener
	for _, ln := range cfg.Listen.Enabled() {
		if ln.Name == "lmtp" {
			lmtp = ln
		}
	}
	if n, a := lmtp.Network(); n != "unix" || a != "/run/postfach/lmtp.sock" {
		t.Fatalf("lmtp listens on %s %s", n, a)
	}
	if n, a := (Listener{Addr: "127.0.0.1:25"}).Network(); n != "tcp" || a != "127.0.0.1:25" {
		t.Fatalf("smtp listens on %s %s", n, a)
	}
}

func TestSMTPErrors(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		{"few recipients", "[smtp]\nmax_recipients = 0\n", []string{"smtp.max_recipients: must be at least 1"}},
		{"short lines", "[smtp]\nmax_command_length = 100\n", []string{"smtp.max_command_length: 100 is below 512"}},
		{"timeout", "[smtp]\ntimeout = \"10ms\"\n", []string{"smtp.timeout"}},
		{"timeout unit", "[smtp]\ntimeout = 300\n", []string{"smtp.timeout: want a duration string"}},
		{"delimiter", "[smtp]\nsubaddress_delimiter = \"@\"\n", []string{"smtp.subaddress_delimiter"}},
		{"network", "[smtp]\nlmtp_trusted_networks = [\"localhost\"]\n", []string{"smtp.lmtp_trusted_networks[0]"}},
		{"mode", "[smtp]\nlmtp_socket_mode = \"rw\"\n", []string{"smtp.lmtp_socket_mode"}},
		{"rate", "[smtp]\nmax_messages_per_hour = -1\n", []string{"smtp.max_messages_per_hour"}},
		{"relative socket", "[listen]\nimap = \":143\"\nlmtp = \"unix:lmtp.sock\"\n", []string{"listen.lmtp", "must be absolute"}},
		{"socket for smtp", "[listen]\nimap = \":143\"\nsmtp = \"unix:/run/smtp.sock\"\n", []string{"listen.smtp: only listen.lmtp may be a unix socket"}},
		{"one socket twice", "[listen]\nimap = \":143\"\nlmtp = \"unix:/run/x.sock\"\nsubmission = \"unix:/run//x.sock\"\n", []string{"listen.lmtp: address unix:/run/x.sock is also used by listen.submission"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(writeConfig(t, "hostname = \"mail.example.org\"\n"+tc.text))
			if err == nil {
				t.Fatal("Load accepted it")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
