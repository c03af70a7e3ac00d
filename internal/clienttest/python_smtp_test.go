package clienttest

import (
	"strings"
	"testing"
)

// TestPythonSMTP runs smtplib as the issue writes it: SMTP('127.0.0.1',
// 587), starttls(), login(), send_message(); then SMTP_SSL on 465, the MX
// and LMTP, with the refusals a script meets on the way (testdata/smtp.py).
func TestPythonSMTP(t *testing.T) {
	env := startSMTP(t, false, nil)
	out := runPython(t, "smtp.py", port(t, env.Submission), port(t, env.Submissions), port(t, env.SMTP), port(t, env.LMTP), env.CertFile())
	if !strings.Contains(out, "smtplib: ok") {
		t.Fatalf("smtp.py did not finish:\n%s", out)
	}
	var subjects []string
	for _, m := range env.mailbox(t, "bob@example.org", "INBOX") {
		for _, l := range strings.Split(m, "\r\n") {
			if s, ok := strings.CutPrefix(l, "Subject: "); ok {
				subjects = append(subjects, s)
			}
		}
	}
	if got := strings.Join(subjects, ","); got != "smtplib 587,smtplib partial,smtplib 465,smtplib mx" {
		t.Errorf("bob received %q", got)
	}
	if a := env.mailbox(t, "alice@example.org", "INBOX"); len(a) != 1 || !strings.Contains(a[0], "Subject: smtplib lmtp") {
		t.Errorf("alice received %q", a)
	}
}
