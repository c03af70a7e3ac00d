package mime

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// typicalMessage builds a ~10 KB message as mail clients send it: a long
// trace header, DKIM, and multipart/alternative with text and HTML.
func typicalMessage() []byte {
	var b bytes.Buffer
	for i := 0; i < 6; i++ {
		fmt.Fprintf(&b, "Received: from mx%d.example.net (mx%d.example.net [192.0.2.%d])\r\n\tby mail.example.com (Postfix) with ESMTPS id 4ABC%dDEF\r\n\tfor <user@example.com>; Tue, 1 Jul 2025 10:52:37 +0200 (CEST)\r\n", i, i, i, i)
	}
	b.WriteString("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.net; s=sel;\r\n\th=from:to:subject:date:message-id; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\r\n\tb=" + strings.Repeat("AbCdEfGhIjKlMnOpQrStUvWxYz0123456789", 8) + "\r\n")
	b.WriteString("From: =?utf-8?q?J=C3=B6rg_Example?= <joerg@example.net>\r\n")
	b.WriteString("To: \"User, Some\" <user@example.com>, other@example.org\r\n")
	b.WriteString("Cc: Team: a@example.com, b@example.com;\r\n")
	b.WriteString("Subject: =?utf-8?q?Re=3A_Quarterly_numbers_=E2=80=94_draft?=\r\n")
	b.WriteString("Date: Tue, 1 Jul 2025 10:52:37 +0200\r\n")
	b.WriteString("Message-ID: <abc.123@example.net>\r\nIn-Reply-To: <xyz.987@example.com>\r\n")
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"=_alt_4711\"\r\n\r\n")
	b.WriteString("--=_alt_4711\r\nContent-Type: text/plain; charset=utf-8; format=flowed\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	for b.Len() < 5500 {
		b.WriteString("Hello, here are the numbers for the quarter. Gr=C3=BC=C3=9Fe and thanks =\r\nfor the review, see you soon.\r\n")
	}
	b.WriteString("\r\n--=_alt_4711\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<html><body>")
	for b.Len() < 10200 {
		b.WriteString("<p>Hello, here are the <b>numbers</b> for the quarter. Gr=C3=BC=C3=9Fe</p>\r\n")
	}
	b.WriteString("</body></html>\r\n--=_alt_4711--\r\n")
	return b.Bytes()
}

// largeMessage builds a ~1 MB multipart/mixed message with a text part and
// a base64 attachment.
func largeMessage() []byte {
	var b bytes.Buffer
	b.WriteString("From: a@example.com\r\nTo: b@example.com\r\nSubject: report\r\nDate: Tue, 1 Jul 2025 10:52:37 +0200\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"mixed-boundary\"\r\n\r\n")
	b.WriteString("--mixed-boundary\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nSee the attached report.\r\n\r\n")
	b.WriteString("--mixed-boundary\r\nContent-Type: application/pdf; name=\"report.pdf\"\r\nContent-Disposition: attachment; filename=\"report.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	rng := rand.New(rand.NewPCG(1, 2))
	raw := make([]byte, 57*13500)
	for i := range raw {
		raw[i] = byte(rng.Uint32())
	}
	for i := 0; i < len(raw); i += 57 {
		b.WriteString(base64.StdEncoding.EncodeToString(raw[i : i+57]))
		b.WriteString("\r\n")
	}
	b.WriteString("--mixed-boundary--\r\n")
	return b.Bytes()
}

func benchParse(b *testing.B, msg []byte) {
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(bytes.NewReader(msg)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseTypical10KB(b *testing.B)  { benchParse(b, typicalMessage()) }
func BenchmarkParseMultipart1MB(b *testing.B) { benchParse(b, largeMessage()) }

func BenchmarkDecodedBodyBase64(b *testing.B) {
	msg := largeMessage()
	root, err := Parse(bytes.NewReader(msg))
	if err != nil {
		b.Fatal(err)
	}
	att := root.Parts[1]
	b.SetBytes(att.Size())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := io.Copy(io.Discard, DecodedBody(bytes.NewReader(msg), att)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSearchTextTypical(b *testing.B) {
	msg := typicalMessage()
	root, err := Parse(bytes.NewReader(msg))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteSearchText(io.Discard, bytes.NewReader(msg), root, TextOptions{Headers: true, Bodies: true}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestBenchMessagesParse(t *testing.T) {
	for _, msg := range [][]byte{typicalMessage(), largeMessage()} {
		root := parseChecked(t, msg)
		if root.Type != "multipart" || len(root.Parts) != 2 {
			t.Fatalf("bench message parsed as %s/%s with %d parts", root.Type, root.Subtype, len(root.Parts))
		}
	}
}

func BenchmarkTextHTML(b *testing.B) {
	msg := typicalMessage()
	root, err := Parse(bytes.NewReader(msg))
	if err != nil {
		b.Fatal(err)
	}
	html := root.Parts[1]
	b.SetBytes(html.Size())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := io.Copy(io.Discard, Text(bytes.NewReader(msg), html)); err != nil {
			b.Fatal(err)
		}
	}
}
