package tlstest

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"postfach/internal/config"
	"postfach/internal/imaptest"
)

// ports lists the listeners testssl.sh audits: the listener, and the
// STARTTLS protocol for testssl.sh's -t ("" for implicit TLS). A new
// listener is one line here.
var ports = []struct {
	listener string
	starttls string
	set      func(l *config.Listen, addr string)
}{
	{"imaps", "", func(l *config.Listen, a string) { l.IMAPS = a }},
	{"imap", "imap", func(l *config.Listen, a string) { l.IMAP = a }},
	{"pop3s", "", func(l *config.Listen, a string) { l.POP3S = a }},
	{"pop3", "pop3", func(l *config.Listen, a string) { l.POP3 = a }},
	{"submissions", "", func(l *config.Listen, a string) { l.Submissions = a }},
	{"submission", "smtp", func(l *config.Listen, a string) { l.Submission = a }},
}

// testCA writes a CA and a server certificate it signed for
// mail.example.org, the way a public CA issues them (a CRL distribution
// point, serverAuth), and returns the files.
func testCA(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "postfach test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "mail.example.org"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(90 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"mail.example.org"},
		// Never fetched: testssl.sh runs without --phone-out.
		CRLDistributionPoints: []string{"http://crl.example.org/test.crl"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, blocks ...*pem.Block) string {
		var b []byte
		for _, blk := range blocks {
			b = append(b, pem.EncodeToMemory(blk)...)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", &pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		write("cert.pem", &pem.Block{Type: "CERTIFICATE", Bytes: der}, &pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		write("key.pem", &pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
}

// offlineResolver writes an nsswitch.conf that resolves host names from
// /etc/hosts alone and a resolv.conf that points at the loopback.
func offlineResolver(t *testing.T, dir string) (nss, resolv string) {
	t.Helper()
	nss, resolv = filepath.Join(dir, "nsswitch.conf"), filepath.Join(dir, "resolv.conf")
	if err := os.WriteFile(nss, []byte("passwd: files\ngroup: files\nhosts: files\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(resolv, []byte("nameserver 127.0.0.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return nss, resolv
}

// finding is one entry of testssl.sh's flat JSON output.
type finding struct {
	ID       string `json:"id"`
	IP       string `json:"ip"`
	Port     string `json:"port"`
	Severity string `json:"severity"`
	Finding  string `json:"finding"`
}

// connectRE matches a traced connect or sendto to an IP address.
var connectRE = regexp.MustCompile(`(connect|sendto|sendmsg)\(.*sin6?_port=htons\((\d+)\).*(?:inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)")`)

// TestTestssl runs testssl.sh against every TLS port of a running server
// and wants no HIGH or CRITICAL finding. It runs offline: --nodns none,
// --ip 127.0.0.1, no --phone-out; and strace shows every connection
// testssl.sh and its openssl children make goes to the port under test
// on 127.0.0.1. Skipped without testssl.sh (Debian package testssl.sh)
// or strace, unless POSTFACH_REQUIRE_CLIENTS=1.
func TestTestssl(t *testing.T) {
	if testing.Short() {
		t.Skip("testssl.sh takes half a minute per port")
	}
	tool, err := exec.LookPath("testssl")
	if err != nil {
		tool, err = exec.LookPath("testssl.sh")
	}
	straceTool, serr := exec.LookPath("strace")
	if err != nil || serr != nil {
		if os.Getenv("POSTFACH_REQUIRE_CLIENTS") == "1" {
			t.Fatal("testssl.sh or strace not installed (Debian packages testssl.sh, strace)")
		}
		t.Skip("testssl.sh or strace not installed (Debian packages testssl.sh, strace)")
	}
	dir := t.TempDir()
	nss, resolv := offlineResolver(t, dir)
	unshare, err := exec.LookPath("unshare")
	if err == nil {
		err = exec.Command(unshare, "-m", "--", "sh", "-c", `mount --bind "$1" /etc/resolv.conf`, "sh", resolv).Run()
	}
	if err != nil {
		// Without it, testssl.sh's DNS queries would leave the machine.
		if os.Getenv("POSTFACH_REQUIRE_CLIENTS") == "1" {
			t.Fatalf("cannot run testssl.sh offline: unshare -m (root) failed: %v", err)
		}
		t.Skipf("cannot run testssl.sh offline: unshare -m (root) failed: %v", err)
	}
	caFile, certFile, keyFile := testCA(t, dir)
	env := imaptest.Start(t, imaptest.Options{Configure: func(cfg *config.Config) {
		cfg.Listen = config.Listen{}
		for _, p := range ports {
			p.set(&cfg.Listen, "127.0.0.1:0")
		}
		cfg.TLS.Cert, cfg.TLS.Key = certFile, keyFile
	}})

	// Three at a time: testssl.sh mostly waits for its openssl
	// children; 2 cores keep up with three.
	sem := make(chan struct{}, 3)
	var wg sync.WaitGroup
	for _, p := range ports {
		addr := env.Server.Addr(p.listener)
		if addr == nil {
			t.Errorf("listener %s not running", p.listener)
			continue
		}
		_, port, _ := net.SplitHostPort(addr.String())
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			t.Run(p.listener, func(t *testing.T) {
				out := filepath.Join(dir, p.listener)
				args := []string{"-f", "-qq", "--seccomp-bpf", "-e", "trace=connect,sendto,sendmsg", "-o", out + ".trace",
					tool, "--quiet", "--color", "0", "--warnings", "off",
					"--nodns", "none", "--ip", "127.0.0.1", "--add-ca", caFile,
					"--connect-timeout", "10", "--openssl-timeout", "10",
					// protocols, ciphers, forward secrecy, certificate and
					// defaults, cipher order, vulnerabilities
					"-p", "-s", "-f", "-S", "-P", "-U",
					"--jsonfile", out + ".json"}
				if p.starttls != "" {
					args = append(args, "-t", p.starttls)
				}
				args = append(args, "mail.example.org:"+port)
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				defer cancel()
				// testssl.sh probes its openssl with "s_client -connect
				// invalid.", which the system resolver would send to the
				// configured nameserver: in a mount namespace of its
				// own, name lookups use /etc/hosts only.
				args = append([]string{"-m", "--", "sh", "-c",
					`mount --bind "$1" /etc/nsswitch.conf && mount --bind "$2" /etc/resolv.conf && shift 2 && exec "$@"`,
					"sh", nss, resolv, straceTool}, args...)
				cmd := exec.CommandContext(ctx, unshare, args...)
				cmd.Dir = dir
				text, err := cmd.CombinedOutput()
				if err != nil {
					// testssl.sh exits non-zero for findings too; the
					// JSON decides.
					t.Logf("testssl.sh exit: %v", err)
				}
				raw, rerr := os.ReadFile(out + ".json")
				if rerr != nil {
					t.Fatalf("no JSON output: %v\n%s", rerr, text)
				}
				var findings []finding
				if err := json.Unmarshal(raw, &findings); err != nil {
					t.Fatalf("JSON output: %v", err)
				}
				counts := map[string]int{}
				for _, f := range findings {
					counts[f.Severity]++
					switch f.Severity {
					case "HIGH", "CRITICAL":
						t.Errorf("%s %s: %s", f.Severity, f.ID, f.Finding)
					case "MEDIUM", "LOW", "WARN":
						t.Logf("%s %s: %s", f.Severity, f.ID, f.Finding)
					}
				}
				if counts["OK"] == 0 {
					t.Errorf("no check passed; testssl.sh did not run properly:\n%s", text)
				}
				t.Logf("%d findings: %v", len(findings), counts)
				checkTrace(t, out+".trace", port)
			})
		})
	}
	wg.Wait()
}

// checkTrace reads strace's output and fails on any connection or
// datagram to an address off the loopback. Besides the port under test,
// testssl.sh talks to an openssl s_server of its own on the loopback.
func checkTrace(t *testing.T, traceFile, port string) {
	t.Helper()
	f, err := os.Open(traceFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, toPort := 0, 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, "AF_INET") {
			continue // AF_UNIX (nscd, syslog), or no address
		}
		m := connectRE.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("unrecognized network call: %s", line)
			continue
		}
		n++
		ip, err := netip.ParseAddr(m[3] + m[4])
		if err != nil || !ip.Unmap().IsLoopback() {
			t.Errorf("testssl.sh reached %s port %s: %s", m[3]+m[4], m[2], line)
			continue
		}
		if ip.Unmap() == netip.MustParseAddr("127.0.0.1") && m[2] == port {
			toPort++
		}
	}
	if toPort == 0 {
		t.Error("strace saw no connection to the port under test")
	}
	t.Logf("%d connections, all on the loopback, %d to the port under test", n, toPort)
}
