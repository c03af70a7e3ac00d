package clienttest

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"postfach/internal/config"
	"postfach/internal/imaptest"
)

// pythonTimeout bounds one script; the scenarios take well under a second
// each, even with the server under -race.
const pythonTimeout = 2 * time.Minute

// runPython runs testdata/script with args and logs its output.
func runPython(t *testing.T, script string, args ...string) string {
	t.Helper()
	py := requireClient(t, pythonPath, "python3")
	path, err := filepath.Abs(filepath.Join("testdata", script))
	if err != nil {
		t.Fatal(err)
	}
	// Open the scripts here so that go test's cache knows them: a changed
	// script must run again (python3 reads them outside the test's sight).
	for _, f := range []string{path, filepath.Join(filepath.Dir(path), "checks.py")} {
		if _, err := os.ReadFile(f); err != nil {
			t.Fatal(err)
		}
	}
	out := runClient(t, pythonTimeout, t.TempDir(), py, append([]string{"-X", "dev", "-B", path}, args...)...)
	t.Logf("%s: %s", script, out)
	return out
}

func port(t *testing.T, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPythonSeedImplicitTLS runs the seed scenario over implicit TLS, the
// way the issue quotes it: IMAP4_SSL, login, select, append, search,
// fetch, store, copy, move, expunge, list, status, create, rename,
// delete, close, logout.
func TestPythonSeedImplicitTLS(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	runPython(t, "seed.py", "implicit", port(t, env.IMAPS), env.CertFile())
}

// TestPythonSeedStartTLS runs the same scenario on the STARTTLS port,
// after checking that LOGIN before STARTTLS fails with imaplib's error.
func TestPythonSeedStartTLS(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	runPython(t, "seed.py", "starttls", port(t, env.IMAP), env.CertFile())
}

var latencyRE = regexp.MustCompile(`(?m)^push latency (\w+): ([0-9.]+) ms$`)

// TestPythonIdle measures, from Python, how long an APPEND on one
// connection takes to reach another connection in IDLE as EXISTS, and an
// EXPUNGE as EXPUNGE. The script fails above one second.
func TestPythonIdle(t *testing.T) {
	env := imaptest.Start(t, imaptest.Options{})
	out := runPython(t, "idle.py", port(t, env.IMAPS), env.CertFile())
	got := map[string]float64{}
	for _, m := range latencyRE.FindAllStringSubmatch(out, -1) {
		v, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			t.Fatal(err)
		}
		got[m[1]] = v
	}
	for _, kind := range []string{"exists", "expunge"} {
		v, ok := got[kind]
		if !ok {
			t.Fatalf("no %s latency reported", kind)
		}
		if v >= 1000 {
			t.Errorf("%s push took %.1f ms, want < 1 s", kind, v)
		}
		t.Logf("IDLE %s push latency: %.1f ms", kind, v)
	}
}

// TestPythonMessageSizeLimit checks, from imaplib, that an APPEND over the
// configured limit is refused with NO [TOOBIG] before the literal, that
// the connection goes on, and that a message of exactly the limit is
// stored.
func TestPythonMessageSizeLimit(t *testing.T) {
	const limit = 1 << 20
	env := imaptest.Start(t, imaptest.Options{Configure: func(cfg *config.Config) {
		cfg.Limits.MaxMessageSize = limit
	}})
	runPython(t, "limits.py", port(t, env.IMAPS), env.CertFile(), strconv.Itoa(limit))
}

// TestPythonCompress runs COMPRESS=DEFLATE (RFC 4978) from Python's zlib
// with sync flushes and with partial flushes: a 1 MB APPEND and FETCH
// round trip over the compressed stream.
func TestPythonCompress(t *testing.T) {
	for _, flush := range []string{"sync", "partial"} {
		t.Run(flush, func(t *testing.T) {
			env := imaptest.Start(t, imaptest.Options{})
			runPython(t, "compress.py", port(t, env.IMAPS), env.CertFile(), flush)
		})
	}
}
