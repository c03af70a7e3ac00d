package mailauth

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"postfach/internal/mime"
)

func TestReadHeaderSection(t *testing.T) {
	long := "X-Long: " + strings.Repeat("a", 5000) + "\r\n"
	for _, tc := range []struct {
		name, msg, hdr string
		complete       bool
		err            error
	}{
		{"crlf", "A: 1\r\nB: 2\r\n\r\nbody\r\n", "A: 1\r\nB: 2\r\n\r\n", true, nil},
		{"lf", "A: 1\nB: 2\n\nbody\n", "A: 1\nB: 2\n\n", true, nil},
		{"empty header", "\r\nbody", "\r\n", true, nil},
		{"empty header lf", "\nbody", "\n", true, nil},
		{"no body", "A: 1\r\nB: 2\r\n", "A: 1\r\nB: 2\r\n", false, nil},
		{"empty message", "", "", false, nil},
		{"blank line across reads", long + "\r\nbody", long + "\r\n", true, nil},
		{"too large", strings.Repeat(long, 3) + "\r\nbody", "", false, errHeaderTooLarge},
		{"at the limit", strings.Repeat("X: 12345678\r\n", 770) + "\r\n", strings.Repeat("X: 12345678\r\n", 770) + "\r\n", true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr, complete, err := readHeaderSection(strings.NewReader(tc.msg), int64(len(tc.msg)), 10012)
			if !errors.Is(err, tc.err) || string(hdr) != tc.hdr || complete != tc.complete {
				t.Fatalf("got %q %v %v, want %q %v %v", hdr, complete, err, tc.hdr, tc.complete, tc.err)
			}
		})
	}
	// Read errors come back.
	boom := errors.New("boom")
	if _, _, err := readHeaderSection(errReaderAt{boom}, 100, 1000); !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	// Short reads are fine.
	msg := "A: 1\r\n\r\nbody"
	hdr, ok, err := readHeaderSection(oneByteReaderAt{strings.NewReader(msg)}, int64(len(msg)), 1000)
	if err != nil || !ok || string(hdr) != "A: 1\r\n\r\n" {
		t.Fatalf("one byte reads: %q %v %v", hdr, ok, err)
	}
}

type errReaderAt struct{ err error }

func (e errReaderAt) ReadAt([]byte, int64) (int, error) { return 0, e.err }

// oneByteReaderAt returns one byte per call, with io.EOF only at the end.
type oneByteReaderAt struct{ r io.ReaderAt }

func (o oneByteReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, err := o.r.ReadAt(p[:1], off)
	if err == io.EOF && n == 1 {
		err = nil
	}
	return n, err
}

func TestFromDomain(t *testing.T) {
	for _, tc := range []struct {
		header, domain string
		problem        bool
	}{
		{"From: alice@example.org\r\n", "example.org", false},
		{"from: Alice <alice@Example.Org.>\r\n", "example.org", false},
		{"FROM : \"Smith, Alice\" <alice@example.org> (work)\r\n", "example.org", false},
		{"From: =?utf-8?q?Al=C3=AFce?= <alice@example.org>\r\n", "example.org", false},
		{"From: alice@bücher.example\r\n", "xn--bcher-kva.example", false},
		{"From: a@example.org, b@example.org\r\n", "example.org", false},
		{"From: a@example.org, b@sub.example.org\r\n", "", true},
		{"From: a@example.org\r\nFrom: b@example.org\r\n", "", true},
		{"To: a@example.org\r\n", "", true},
		{"From: \r\n", "", true},
		{"From: alice\r\n", "", true},
		{"From: alice@[192.0.2.1]\r\n", "", true},
		// The lenient parser IMAP's ENVELOPE uses stops at the space: the
		// domain judged is the one a client shows.
		{"From: alice@exa mple.org\r\n", "exa", false},
		{"From: list:;\r\n", "", true},
		{"From: a@" + strings.Repeat("x", 64) + ".org\r\n", "", true},
	} {
		d, problem := fromDomain(mime.ParseHeader([]byte(tc.header + "\r\n")))
		if d != tc.domain || (problem != "") != tc.problem {
			t.Errorf("%q: got %q, %q", tc.header, d, problem)
		}
	}
}

func TestTagList(t *testing.T) {
	tags, ok := tagList(" v=1; a=rsa-sha256;\r\n\td=example.org; s = sel ;\r\n b=abc\r\n def ; bh=x y=;")
	if !ok || tags["v"] != "1" || tags["d"] != "example.org" || tags["s"] != "sel" || tags["b"] != "abcdef" || tags["bh"] != "xy=" {
		t.Fatalf("%v %v", tags, ok)
	}
	for _, bad := range []string{"v=1; v=2", "v=1; junk", "=x"} {
		if _, ok := tagList(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestAuthResultsFormat(t *testing.T) {
	in := Input{MailFrom: `"odd; local"@example.org`, HELO: "client.test"}
	h := formatAuthResults("mx.example.org", in,
		SPFResult{Status: StatusTempError, Identity: "mailfrom", Domain: "example.org", Detail: "lookup failed; \"server\"\r\nmisbehaving"},
		[]DKIMResult{{Status: StatusPass, Domain: "example.org", Identifier: "@example.org", Selector: "s", Algorithm: "rsa-sha256", B: "abc+/=12"}},
		DMARCResult{Status: StatusPass, From: "example.org", Policy: "reject", Applied: "none"})
	if !strings.HasPrefix(h, "Authentication-Results: mx.example.org;\r\n\t") || !strings.HasSuffix(h, "\r\n") {
		t.Fatalf("%q", h)
	}
	for _, line := range strings.Split(strings.TrimSuffix(h, "\r\n"), "\r\n") {
		if len(line) > 78 {
			t.Errorf("line of %d: %q", len(line), line)
		}
	}
	if strings.Count(h, "\r") != strings.Count(h, "\n") || strings.Contains(h, "\r\nmisbehaving") {
		t.Fatalf("control characters in %q", h)
	}
	id, results, err := parseAuthResults(h)
	if err != nil || id != "mx.example.org" || len(results) != 3 {
		t.Fatalf("%q: %v %v %v", h, id, results, err)
	}
}

func FuzzFromDomain(f *testing.F) {
	for _, s := range []string{
		"From: alice@example.org\r\n\r\n",
		"From: a@b, c@d\r\nFrom: x\r\n\r\n",
		"From: \"a\\\"@b\" <c@d.example>\r\n\r\n",
		"From: g: a@b.example, (c) <d@b.example>;\r\n\r\n",
		"From: =?utf-8?b?w7w=?= <x@bücher.example>\n\n",
		"DKIM-Signature: v=1; d=example.org; s=x; b=abc; l=5\r\nFrom: a@example.org\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		hdr, _, err := readHeaderSection(bytes.NewReader(msg), int64(len(msg)), 4096)
		if err != nil {
			if !errors.Is(err, errHeaderTooLarge) {
				t.Fatal(err)
			}
			return
		}
		if !bytes.HasPrefix(msg, hdr) {
			t.Fatal("header is not a prefix of the message")
		}
		fields := mime.ParseHeader(hdr)
		d, problem := fromDomain(fields)
		if (d == "") == (problem == "") {
			t.Fatalf("domain %q with problem %q", d, problem)
		}
		if d != "" {
			if n, ok := normalizeDomain(d); !ok || n != d {
				t.Fatalf("domain %q not normal", d)
			}
		}
		sigs := signatureFields(fields, 10)
		for _, s := range sigs {
			if strings.ContainsAny(s.b, " \t\r\n") {
				t.Fatalf("b= with white space: %q", s.b)
			}
		}
		// Whatever the message, the Authentication-Results field is one
		// header field that a parser reads back.
		var dkims []DKIMResult
		for _, s := range sigs {
			dkims = append(dkims, DKIMResult{Status: StatusFail, Domain: s.domain, Selector: s.selector, Algorithm: s.algorithm, Identifier: s.identifier, B: shortB(s.b), Detail: s.domain})
		}
		h := formatAuthResults("mx.example.org", Input{MailFrom: d, HELO: d}, SPFResult{Status: StatusPermError, Identity: "mailfrom", Detail: problem}, dkims, DMARCResult{Status: StatusPermError, From: d, Detail: problem})
		body := strings.TrimSuffix(h, "\r\n")
		if strings.Contains(strings.NewReplacer("\r\n\t", "").Replace(body), "\r") || strings.Contains(strings.NewReplacer("\r\n\t", "").Replace(body), "\n") {
			t.Fatalf("bare line break in %q", h)
		}
	})
}
