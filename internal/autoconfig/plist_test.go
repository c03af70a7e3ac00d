package autoconfig

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
)

// parsePlist reads an XML property list with encoding/xml, independently
// of the writer: dict becomes map[string]any (with key order checked
// for duplicates), array []any, string string, integer int64, true and
// false bool.
func parsePlist(data []byte) (any, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	// Find <plist version="1.0">.
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("no plist element: %w", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Local != "plist" {
				return nil, fmt.Errorf("root element %q", se.Name.Local)
			}
			if len(se.Attr) != 1 || se.Attr[0].Name.Local != "version" || se.Attr[0].Value != "1.0" {
				return nil, fmt.Errorf("plist attributes %v", se.Attr)
			}
			break
		}
	}
	v, err := plistNext(dec)
	if err != nil {
		return nil, err
	}
	if err := plistEnd(dec, "plist"); err != nil {
		return nil, err
	}
	// Nothing but white space after </plist>.
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return v, nil
		}
		if err != nil {
			return nil, err
		}
		if cd, ok := tok.(xml.CharData); !ok || len(bytes.TrimSpace(cd)) > 0 {
			return nil, fmt.Errorf("content after </plist>: %v", tok)
		}
	}
}

// plistStart returns the next start element, skipping white space, or
// the end element that closes the container.
func plistStart(dec *xml.Decoder) (*xml.StartElement, *xml.EndElement, error) {
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return &t, nil, nil
		case xml.EndElement:
			return nil, &t, nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return nil, nil, fmt.Errorf("stray text %q", t)
			}
		case xml.Comment, xml.ProcInst, xml.Directive:
		}
	}
}

func plistEnd(dec *xml.Decoder, name string) error {
	se, ee, err := plistStart(dec)
	if err != nil {
		return err
	}
	if se != nil || ee.Name.Local != name {
		return fmt.Errorf("want </%s>", name)
	}
	return nil
}

func plistNext(dec *xml.Decoder) (any, error) {
	se, ee, err := plistStart(dec)
	if err != nil {
		return nil, err
	}
	if ee != nil {
		return nil, fmt.Errorf("unexpected </%s>", ee.Name.Local)
	}
	return plistValueOf(dec, se)
}

func plistValueOf(dec *xml.Decoder, se *xml.StartElement) (any, error) {
	switch se.Name.Local {
	case "dict":
		m := map[string]any{}
		for {
			kse, kee, err := plistStart(dec)
			if err != nil {
				return nil, err
			}
			if kee != nil {
				return m, nil
			}
			if kse.Name.Local != "key" {
				return nil, fmt.Errorf("dict entry starts with <%s>, want <key>", kse.Name.Local)
			}
			var key string
			if err := dec.DecodeElement(&key, kse); err != nil {
				return nil, err
			}
			if _, dup := m[key]; dup {
				return nil, fmt.Errorf("duplicate key %q", key)
			}
			v, err := plistNext(dec)
			if err != nil {
				return nil, fmt.Errorf("key %q: %w", key, err)
			}
			m[key] = v
		}
	case "array":
		var a []any
		for {
			ese, eee, err := plistStart(dec)
			if err != nil {
				return nil, err
			}
			if eee != nil {
				return a, nil
			}
			v, err := plistValueOf(dec, ese)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
	case "string":
		var s string
		err := dec.DecodeElement(&s, se)
		return s, err
	case "integer":
		var s string
		if err := dec.DecodeElement(&s, se); err != nil {
			return nil, err
		}
		return strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	case "true", "false":
		var s string
		if err := dec.DecodeElement(&s, se); err != nil {
			return nil, err
		}
		if s != "" {
			return nil, fmt.Errorf("<%s> with content", se.Name.Local)
		}
		return se.Name.Local == "true", nil
	}
	return nil, fmt.Errorf("unknown plist element <%s>", se.Name.Local)
}

func TestPlistRoundTrip(t *testing.T) {
	doc := plistDict{
		{"s", plistString(`<a & "b"> ]]> é`)},
		{"n", plistInt(-42)},
		{"t", plistBool(true)},
		{"f", plistBool(false)},
		{"a", plistArray{plistString("x"), plistInt(1), plistDict{{"k", plistString("v")}}}},
		{"empty", plistDict{}},
	}
	got, err := parsePlist(marshalPlist(doc))
	if err != nil {
		t.Fatalf("%v\n%s", err, marshalPlist(doc))
	}
	m := got.(map[string]any)
	if m["s"] != `<a & "b"> ]]> é` || m["n"] != int64(-42) || m["t"] != true || m["f"] != false {
		t.Errorf("scalars: %#v", m)
	}
	a := m["a"].([]any)
	if len(a) != 3 || a[0] != "x" || a[1] != int64(1) || a[2].(map[string]any)["k"] != "v" {
		t.Errorf("array: %#v", a)
	}
	if e := m["empty"].(map[string]any); len(e) != 0 {
		t.Errorf("empty dict: %#v", e)
	}
	// Characters XML cannot carry do not break the document.
	if _, err := parsePlist(marshalPlist(plistDict{{"c", plistString("a\x00b\x1bc")}})); err != nil {
		t.Errorf("control characters: %v", err)
	}
}
