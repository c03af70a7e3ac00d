package logging

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"postfach/internal/config"
)

func TestSecret(t *testing.T) {
	s := Secret("hunter2")
	for _, f := range []string{"%v", "%s", "%#v", "%+v"} {
		if got := fmt.Sprintf(f, s); got != Redacted {
			t.Errorf("Sprintf(%q) = %q", f, got)
		}
	}
	if s.Reveal() != "hunter2" {
		t.Error("Reveal lost the value")
	}
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		log, err := New(&buf, config.Log{Level: "debug", Format: format}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		log.Info("login", "user", "tim@example.org", "pw", s, slog.Group("g", "inner", s),
			"password", "plain-oops", "PASS", "x1", "sasl", []byte("AHRpbQBwdw=="))
		out := buf.String()
		for _, leak := range []string{"hunter2", "plain-oops", "x1", "AHRpbQBwdw"} {
			if strings.Contains(out, leak) {
				t.Errorf("%s: %q leaked in %q", format, leak, out)
			}
		}
		if !strings.Contains(out, "tim@example.org") {
			t.Errorf("%s: ordinary attribute missing: %q", format, out)
		}
		if format == "json" {
			var m map[string]any
			if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
				t.Errorf("json output %q: %v", out, err)
			}
		}
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		cfg     config.Log
		min     slog.Leveler
		debug   bool
		warn    bool
		wantErr bool
	}{
		{config.Log{Level: "info", Format: "text"}, nil, false, true, false},
		{config.Log{Level: "DEBUG", Format: "JSON"}, nil, true, true, false},
		{config.Log{Level: "debug", Format: "text"}, slog.LevelWarn, false, true, false},
		{config.Log{Level: "error", Format: "text"}, slog.LevelWarn, false, false, false},
		{config.Log{Level: "loud", Format: "text"}, nil, false, false, true},
		{config.Log{Level: "info", Format: "xml"}, nil, false, false, true},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		log, err := New(&buf, tt.cfg, Options{MinLevel: tt.min})
		if (err != nil) != tt.wantErr {
			t.Errorf("New(%+v) err = %v", tt.cfg, err)
			continue
		}
		if err != nil {
			continue
		}
		log.Debug("dbg")
		log.Warn("wrn")
		if got := strings.Contains(buf.String(), "dbg"); got != tt.debug {
			t.Errorf("%+v min %v: debug logged = %v", tt.cfg, tt.min, got)
		}
		if got := strings.Contains(buf.String(), "wrn"); got != tt.warn {
			t.Errorf("%+v min %v: warn logged = %v", tt.cfg, tt.min, got)
		}
	}
}
