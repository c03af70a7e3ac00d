package autoconfig

import (
	"bytes"
	"encoding/xml"
	"strconv"
)

// A minimal writer of Apple's XML property lists (the format of
// configuration profiles): dictionaries with ordered keys, arrays,
// strings, integers and booleans. Values are escaped by encoding/xml,
// which also replaces characters XML 1.0 cannot carry.

// plistValue is a value of a property list.
type plistValue interface {
	writePlist(b *bytes.Buffer, depth int)
}

// plistEntry is one key of a dictionary.
type plistEntry struct {
	Key   string
	Value plistValue
}

type (
	plistDict   []plistEntry
	plistArray  []plistValue
	plistString string
	plistInt    int64
	plistBool   bool
)

const plistHeader = xml.Header +
	`<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">` + "\n"

// marshalPlist returns the document whose root is v.
func marshalPlist(v plistValue) []byte {
	var b bytes.Buffer
	b.WriteString(plistHeader)
	b.WriteString("<plist version=\"1.0\">\n")
	v.writePlist(&b, 0)
	b.WriteString("</plist>\n")
	return b.Bytes()
}

func indent(b *bytes.Buffer, depth int) {
	for range depth {
		b.WriteByte('\t')
	}
}

func writeElement(b *bytes.Buffer, depth int, name, text string) {
	indent(b, depth)
	b.WriteString("<" + name + ">")
	xml.EscapeText(b, []byte(text))
	b.WriteString("</" + name + ">\n")
}

func (d plistDict) writePlist(b *bytes.Buffer, depth int) {
	indent(b, depth)
	b.WriteString("<dict>\n")
	for _, e := range d {
		writeElement(b, depth+1, "key", e.Key)
		e.Value.writePlist(b, depth+1)
	}
	indent(b, depth)
	b.WriteString("</dict>\n")
}

func (a plistArray) writePlist(b *bytes.Buffer, depth int) {
	indent(b, depth)
	b.WriteString("<array>\n")
	for _, v := range a {
		v.writePlist(b, depth+1)
	}
	indent(b, depth)
	b.WriteString("</array>\n")
}

func (s plistString) writePlist(b *bytes.Buffer, depth int) {
	writeElement(b, depth, "string", string(s))
}

func (n plistInt) writePlist(b *bytes.Buffer, depth int) {
	writeElement(b, depth, "integer", strconv.FormatInt(int64(n), 10))
}

func (v plistBool) writePlist(b *bytes.Buffer, depth int) {
	indent(b, depth)
	if v {
		b.WriteString("<true/>\n")
	} else {
		b.WriteString("<false/>\n")
	}
}
