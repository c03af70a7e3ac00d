package config

import (
	"strings"
	"testing"
)

func TestPOP3Defaults(t *testing.T) {
	cfg := Default()
	if cfg.POP3.DeletePolicy != "expunge" || cfg.POP3.MarkSeen {
		t.Fatalf("[pop3] defaults %+v", cfg.POP3)
	}
}

func TestPOP3Load(t *testing.T) {
	cfg, err := Load(writeConfig(t, `hostname = "mail.example.org"
[listen]
pop3 = "127.0.0.1:0"
pop3s = "127.0.0.1:0"

[pop3]
delete_policy = "trash"
mark_seen = true
`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.POP3.DeletePolicy != "trash" || !cfg.POP3.MarkSeen {
		t.Fatalf("[pop3] %+v", cfg.POP3)
	}
	// POP3 listeners alone are a served configuration, without warnings.
	if len(cfg.Listen.Served()) != 2 || len(cfg.Warnings()) != 0 {
		t.Fatalf("served %v, warnings %v", cfg.Listen.Served(), cfg.Warnings())
	}
	// Without the table the defaults stay.
	cfg, err = Load(writeConfig(t, "hostname = \"mail.example.org\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.POP3 != defaultPOP3() {
		t.Fatalf("[pop3] without the table: %+v", cfg.POP3)
	}
}

func TestPOP3Errors(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		{"unknown policy", "[pop3]\ndelete_policy = \"shred\"\n", []string{`pop3.delete_policy: "shred" is not one of expunge, trash, flag`}},
		{"case matters", "[pop3]\ndelete_policy = \"Expunge\"\n", []string{`pop3.delete_policy: "Expunge"`}},
		{"empty policy", "[pop3]\ndelete_policy = \"\"\n", []string{"pop3.delete_policy: must be one of"}},
		{"unknown key", "[pop3]\ndelete = \"flag\"\n", []string{":3:", `unknown key "pop3.delete"`}},
		{"wrong type", "[pop3]\nmark_seen = \"yes\"\n", []string{":3:", "pop3.mark_seen"}},
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
