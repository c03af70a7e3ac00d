package mime

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// checkTree verifies the invariants every tree Parse returns must hold for
// the message raw, whatever raw is.
func checkTree(t testing.TB, raw []byte, root *Part) {
	t.Helper()
	n := int64(len(raw))
	if root.HeaderStart != 0 || root.BodyEnd != n {
		t.Fatalf("root spans [%d,%d), message has %d bytes", root.HeaderStart, root.BodyEnd, n)
	}
	if root.Envelope == nil {
		t.Fatalf("root without envelope")
	}
	var check func(p *Part, path string, message bool)
	check = func(p *Part, path string, message bool) {
		if !(0 <= p.HeaderStart && p.HeaderStart <= p.BodyStart && p.BodyStart <= p.BodyEnd && p.BodyEnd <= n) {
			t.Fatalf("part %s: bad offsets hs=%d bs=%d be=%d len=%d", path, p.HeaderStart, p.BodyStart, p.BodyEnd, n)
		}
		if want := int64(bytes.Count(raw[p.BodyStart:p.BodyEnd], []byte("\n"))); p.Lines != want {
			t.Fatalf("part %s: Lines %d, body has %d LFs", path, p.Lines, want)
		}
		if p.Type == "" || p.Subtype == "" || p.Type != strings.ToLower(p.Type) || p.Subtype != strings.ToLower(p.Subtype) {
			t.Fatalf("part %s: type %q/%q", path, p.Type, p.Subtype)
		}
		if (p.Envelope != nil) != message {
			t.Fatalf("part %s: envelope %v, message root %v", path, p.Envelope != nil, message)
		}
		if p.Type == "text" && !hasParam(p.Params, "charset") {
			t.Fatalf("part %s: text without charset", path)
		}
		isMsg := p.Type == "message" && (p.Subtype == "rfc822" || p.Subtype == "global")
		if isMsg != (p.Message != nil) {
			t.Fatalf("part %s: %s/%s with Message %v", path, p.Type, p.Subtype, p.Message != nil)
		}
		if len(p.Parts) > 0 && p.Type != "multipart" {
			t.Fatalf("part %s: %s/%s with children", path, p.Type, p.Subtype)
		}
		for _, v := range []string{p.Encoding, p.Disposition} {
			if v != strings.ToLower(v) {
				t.Fatalf("part %s: not lower case: %q", path, v)
			}
		}
		prevEnd := p.BodyStart
		for i, c := range p.Parts {
			cp := fmt.Sprintf("%s.%d", path, i+1)
			if c.HeaderStart < prevEnd || c.BodyEnd > p.BodyEnd {
				t.Fatalf("part %s [%d,%d) outside parent body [%d,%d) or before previous end %d", cp, c.HeaderStart, c.BodyEnd, p.BodyStart, p.BodyEnd, prevEnd)
			}
			prevEnd = c.BodyEnd
			check(c, cp, false)
		}
		if m := p.Message; m != nil {
			if m.HeaderStart != p.BodyStart || m.BodyEnd != p.BodyEnd {
				t.Fatalf("part %s: message [%d,%d) != body [%d,%d)", path, m.HeaderStart, m.BodyEnd, p.BodyStart, p.BodyEnd)
			}
			check(m, path+".msg", true)
		}
	}
	check(root, "root", true)
}

// parseChecked parses raw three ways (the normal buffer, a small one that
// splits long lines, one byte per read) and verifies they agree and hold
// the invariants.
func parseChecked(t testing.TB, raw []byte) *Part {
	t.Helper()
	root, err := Parse(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	checkTree(t, raw, root)
	want := dumpJSON(root)
	var back Part
	if err := json.Unmarshal([]byte(want), &back); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	if got := dumpJSON(&back); got != want {
		t.Fatalf("JSON round trip differs (invalid UTF-8?):\n%s\nwant:\n%s", got, want)
	}
	small, err := parse(iotest.OneByteReader(bytes.NewReader(raw)), maxBoundaryLen+24)
	if err != nil {
		t.Fatalf("parse small: %v", err)
	}
	if got := dumpJSON(small); got != want {
		t.Fatalf("small buffer parse differs:\n%s\nwant:\n%s", got, want)
	}
	return root
}

func dumpJSON(p *Part) string {
	b, err := json.Marshal(p)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// exercise reads everything the package can derive from a parsed message,
// to catch panics and hangs.
func exercise(t testing.TB, raw []byte, root *Part) {
	t.Helper()
	r := bytes.NewReader(raw)
	err := Walk(root, func(p *Part) error {
		if _, err := ReadHeader(r, p); err != nil {
			return err
		}
		if _, err := io.Copy(io.Discard, DecodedBody(r, p)); err != nil {
			return err
		}
		_, err := io.Copy(io.Discard, Text(r, p))
		return err
	})
	if err != nil {
		t.Fatalf("exercise: %v", err)
	}
	if err := WriteSearchText(io.Discard, r, root, TextOptions{Headers: true, Bodies: true, Filenames: true}); err != nil {
		t.Fatalf("search text: %v", err)
	}
}
