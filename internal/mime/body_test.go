package mime

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func decodeString(t *testing.T, enc, body string) string {
	t.Helper()
	p := &Part{BodyStart: 0, BodyEnd: int64(len(body)), Encoding: enc, Type: "application", Subtype: "octet-stream"}
	// One byte per read exercises state kept across reads.
	b, err := io.ReadAll(iotest.OneByteReader(DecodedBody(strings.NewReader(body), p)))
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	b2, err := io.ReadAll(DecodedBody(strings.NewReader(body), p))
	if err != nil || string(b2) != string(b) {
		t.Fatalf("bulk read differs: %q vs %q (%v)", b2, b, err)
	}
	return string(b)
}

func TestDecodeBase64(t *testing.T) {
	tests := []struct{ in, want string }{
		{"SGVsbG8gd29ybGQ=", "Hello world"},
		{"SGVs\r\nbG8g\r\nd29y\r\nbGQ=\r\n", "Hello world"},
		{"SGVsbG8gd29ybGQ", "Hello world"},               // missing padding
		{"SG Vs*bG8!gd29\tybGQ=", "Hello world"},         // garbage skipped
		{"SGVsbG8=IHdvcmxk", "Hello world"},              // concatenated blocks
		{"SGVsbG8gd29ybGQ===\r\n-- \r\n", "Hello world"}, // trailing junk
		{"", ""},
		{"QQ", "A"},
		{"Q", ""},
	}
	for _, tt := range tests {
		if got := decodeString(t, "base64", tt.in); got != tt.want {
			t.Errorf("base64 %q = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDecodeQuotedPrintable(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Gr=C3=BC=C3=9Fe", "Grüße"},
		{"lower =c3=bc", "lower ü"},
		{"soft=\r\nbreak", "softbreak"},
		{"soft=  \r\nbreak with padding", "softbreak with padding"},
		{"soft=\nbreak lf", "softbreak lf"},
		{"trailing space   \r\nnext", "trailing space\r\nnext"},
		{"trailing tab\t\nnext", "trailing tab\nnext"},
		{"inner  spaces kept", "inner  spaces kept"},
		{"bad =ZZ escape", "bad =ZZ escape"},
		{"half =4", "half =4"},
		{"half =4x", "half =4x"},
		{"eq space = x", "eq space = x"},
		{"end =", "end "},
		{"space before soft  =\r\nx", "space before soft  x"},
		{"cr\ralone", "cr\ralone"},
		{"=\rx", "=\rx"},
		{"a=3D=3d", "a=="},
	}
	for _, tt := range tests {
		if got := decodeString(t, "quoted-printable", tt.in); got != tt.want {
			t.Errorf("qp %q = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDecodedBodyOtherEncodings(t *testing.T) {
	for _, enc := range []string{"", "7bit", "8bit", "binary", "x-uuencode"} {
		if got := decodeString(t, enc, "as =41 is"); got != "as =41 is" {
			t.Errorf("%q: got %q", enc, got)
		}
	}
}

type failingReaderAt struct{}

func (failingReaderAt) ReadAt([]byte, int64) (int, error) { return 0, errors.New("disk on fire") }

func TestDecodedBodyReadError(t *testing.T) {
	for _, enc := range []string{"", "base64", "quoted-printable"} {
		p := &Part{BodyEnd: 10, Encoding: enc}
		if _, err := io.ReadAll(DecodedBody(failingReaderAt{}, p)); err == nil || !strings.Contains(err.Error(), "fire") {
			t.Errorf("%q: error %v, want the reader's", enc, err)
		}
	}
}

func TestParseReaderError(t *testing.T) {
	r := io.MultiReader(strings.NewReader("Subject: x\r\n"), iotest.ErrReader(errors.New("boom")))
	if _, err := Parse(r); err == nil || err.Error() != "boom" {
		t.Fatalf("Parse error = %v, want boom", err)
	}
}
