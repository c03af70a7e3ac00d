package clienttest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Paths of the external clients: the Debian packages' binaries (isync,
// python3), which CI installs.
const (
	pythonPath = "/usr/bin/python3"
	mbsyncPath = "/usr/bin/mbsync"
)

// requireEnv names the variable that turns a missing client into a
// failure instead of a skip.
const requireEnv = "POSTFACH_REQUIRE_CLIENTS"

// missingClient says what to do when the client at path is missing:
// skip (require false) or fail (require true). It returns "" when the
// client is present and executable.
func missingClient(path, pkg string, require bool) (skip, fail string) {
	fi, err := os.Stat(path)
	if err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
		return "", ""
	}
	reason := fmt.Sprintf("%s is not installed (Debian package %s)", path, pkg)
	if err == nil {
		reason = fmt.Sprintf("%s is not an executable file (Debian package %s)", path, pkg)
	}
	if require {
		return "", reason + ", and " + requireEnv + "=1 requires it"
	}
	return reason + "; skipping (set " + requireEnv + "=1 to make this a failure)", ""
}

// requireClient returns path when the client is there; otherwise it skips
// or fails the test, as missingClient decides.
func requireClient(t testing.TB, path, pkg string) string {
	t.Helper()
	skip, fail := missingClient(path, pkg, os.Getenv(requireEnv) == "1")
	switch {
	case fail != "":
		t.Fatal(fail)
	case skip != "":
		t.Skip(skip)
	}
	return path
}

func TestMissingClient(t *testing.T) {
	dir := t.TempDir()
	exe := dir + "/tool"
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	plain := dir + "/data"
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path              string
		require           bool
		wantSkip, wantErr bool
	}{
		{exe, false, false, false},
		{exe, true, false, false},
		{dir + "/absent", false, true, false},
		{dir + "/absent", true, false, true},
		{plain, false, true, false},
		{plain, true, false, true},
		{dir, true, false, true},
	} {
		skip, fail := missingClient(tc.path, "pkg", tc.require)
		if (skip != "") != tc.wantSkip || (fail != "") != tc.wantErr {
			t.Errorf("missingClient(%s, require=%v) = skip %q, fail %q", tc.path, tc.require, skip, fail)
		}
		if msg := skip + fail; msg != "" && (!strings.Contains(msg, tc.path) || !strings.Contains(msg, "pkg")) {
			t.Errorf("message %q does not name the path and package", msg)
		}
	}
}

// runClient runs an external client with a deadline and returns its
// combined output; a non-zero exit fails the test with that output.
func runClient(t testing.TB, timeout time.Duration, dir string, name string, args ...string) string {
	t.Helper()
	out, err := execClient(timeout, dir, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func execClient(timeout time.Duration, dir string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	// A clean environment: no proxy settings, no user configuration.
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + dir, "LANG=C.UTF-8", "PYTHONDONTWRITEBYTECODE=1"}
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("no result after %v: %w", timeout, err)
	}
	return string(out), err
}
