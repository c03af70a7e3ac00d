package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"postfach/internal/auth"
)

var secretRE = regexp.MustCompile(`Secret: ([A-Z2-7]+)`)

// enable2FA runs `2fa enable` as a person would: it reads the secret the
// command prints and types the code an authenticator app would show
// (answer turns it into the line typed; nil types the right code).
func enable2FA(t *testing.T, cfg, address string, answer func(code string) string) result {
	t.Helper()
	pr, pw := io.Pipe()
	var out, errb lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- runEnv(context.Background(), []string{"2fa", "enable", address, "--config", cfg}, pr, &out, &errb, func(string) string { return "" })
	}()
	deadline := time.Now().Add(10 * time.Second)
	var secret string
	for secret == "" {
		if m := secretRE.FindStringSubmatch(out.String()); m != nil {
			secret = m[1]
			break
		}
		select {
		case code := <-done:
			return result{code, out.String(), errb.String()}
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no secret printed: %q %q", out.String(), errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if answer != nil {
		code = answer(code)
	}
	io.WriteString(pw, code+"\n")
	pw.Close()
	status := <-done
	return result{status, out.String(), errb.String()}
}

func TestTwoFactorCommands(t *testing.T) {
	cfg, dataDir := cliAccount(t)
	run := func(args ...string) result {
		t.Helper()
		return postfach(t, nil, "", append(args, "--config", cfg)...)
	}
	run("2fa", "status", "tim@example.org").expect(t, 0, "out:tim@example.org: off")

	// A wrong code leaves it off.
	enable2FA(t, cfg, "tim@example.org", func(string) string { return "000000" }).expect(t, 1, "err:the code is not right")
	run("2fa", "status").expect(t, 0, "out:tim@example.org: off")
	// No code at all.
	run("2fa", "enable", "tim@example.org").expect(t, 1, "err:no code on standard input")

	r := enable2FA(t, cfg, "tim@example.org", nil)
	r.expect(t, 0, "out:otpauth://totp/mail.example.org:tim@example.org?", "out:issuer=mail.example.org",
		"out:Two-factor login is on for tim@example.org.", "out:postfach app-password add tim@example.org")
	if !strings.Contains(r.stdout, "█") || !strings.Contains(r.stdout, "▀") && !strings.Contains(r.stdout, "▄") {
		t.Error("no QR code drawn")
	}
	codes := regexp.MustCompile(`(?m)^    ([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})$`).FindAllStringSubmatch(r.stdout, -1)
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes in:\n%s", len(codes), r.stdout)
	}
	run("2fa", "status", "tim@example.org").expect(t, 0, "out:tim@example.org: on since ", "out:10 recovery codes left")
	enable2FA(t, cfg, "tim@example.org", nil).expect(t, 1, "err:two-factor login is already on for tim@example.org")

	// The server side: the password is refused with the message, an app
	// password opens IMAP, the web login takes a recovery code once.
	st := openStore(t, dataDir)
	svc := serverService(t, st)
	ctx := context.Background()
	_, err := svc.Password(ctx, mailConn("imap"), "tim@example.org", "correct horse battery staple")
	var ae *auth.Error
	if !errors.As(err, &ae) || ae.Text != "Two-factor login is on for this account: use an app password (postfach app-password add)" {
		t.Fatalf("password under 2FA: %v", err)
	}
	add := run("app-password", "add", "tim@example.org", "--name", "phone")
	m := appPasswordRE.FindStringSubmatch(add.stdout)
	if m == nil {
		t.Fatalf("app password: %q", add.stdout)
	}
	if sess, err := svc.Password(ctx, mailConn("imap"), "tim@example.org", m[1]); err != nil {
		t.Errorf("app password under 2FA: %v", err)
	} else {
		sess.Close()
	}
	acct, needs, err := svc.VerifyPassword(ctx, mailConn("http"), "tim@example.org", "correct horse battery staple")
	if err != nil || !needs {
		t.Fatalf("VerifyPassword = %v, %v", needs, err)
	}
	if err := svc.VerifyTOTP(ctx, mailConn("http"), acct, codes[0][1]); err != nil {
		t.Errorf("recovery code: %v", err)
	}
	run("2fa", "status", "tim@example.org").expect(t, 0, "out:9 recovery codes left")

	run("2fa", "disable", "tim@example.org").expect(t, 0, "out:two-factor login is off for tim@example.org")
	run("2fa", "disable", "tim@example.org").expect(t, 1, "err:two-factor login is already off")
	if sess, err := svc.Password(ctx, mailConn("imap"), "tim@example.org", "correct horse battery staple"); err != nil {
		t.Errorf("password after 2fa disable: %v", err)
	} else {
		sess.Close()
	}
	run("2fa", "status", "who@example.org").expect(t, 1, "err:account who@example.org does not exist")
}

// TestWriteQR: the drawing has the quiet zone and square proportions (two
// module rows per line).
func TestWriteQR(t *testing.T) {
	var b bytes.Buffer
	if err := writeQR(&b, "otpauth://totp/x:y?secret=JBSWY3DPEHPK3PXP&issuer=x"); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	width := len([]rune(lines[0]))
	if width < 25 || (width+1)/2 != len(lines) {
		t.Errorf("%d lines of %d columns", len(lines), width)
	}
	if strings.Trim(lines[0], "█") != "" {
		t.Errorf("first line is not quiet zone: %q", lines[0])
	}
	for _, l := range lines {
		if len([]rune(l)) != width {
			t.Fatalf("ragged line %q", l)
		}
	}
}
