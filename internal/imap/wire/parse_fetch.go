package wire

// parseFetch reads FETCH's arguments: SP sequence-set SP ("ALL" / "FULL" /
// "FAST" / fetch-att / "(" fetch-att *(SP fetch-att) ")") [fetch-modifiers]
// (RFC 9051 section 6.4.5; RFC 4466 section 2.4 for modifiers, RFC 7162 for
// CHANGEDSINCE and VANISHED).
func (r *Reader) parseFetch(uid bool) *FetchArgs {
	r.sp()
	a := &FetchArgs{Set: r.seqSet(0)}
	r.sp()
	if r.takeIf('(') {
		a.Items = make([]FetchItem, 0, 4)
		for {
			a.Items = append(a.Items, r.fetchAtt())
			if r.takeIf(')') {
				break
			}
			r.sp()
		}
	} else if !r.fetchMacro(a) {
		a.Items = []FetchItem{r.fetchAtt()}
	}
	if r.takeIf(' ') {
		r.fetchModifiers(a, uid)
	}
	return a
}

// fetchMacro expands ALL, FAST or FULL (RFC 9051 section 6.4.5).
func (r *Reader) fetchMacro(a *FetchArgs) bool {
	switch {
	case r.takeKeyword("ALL"):
		a.Items = []FetchItem{{Name: "FLAGS"}, {Name: "INTERNALDATE"}, {Name: "RFC822.SIZE"}, {Name: "ENVELOPE"}}
	case r.takeKeyword("FAST"):
		a.Items = []FetchItem{{Name: "FLAGS"}, {Name: "INTERNALDATE"}, {Name: "RFC822.SIZE"}}
	case r.takeKeyword("FULL"):
		a.Items = []FetchItem{{Name: "FLAGS"}, {Name: "INTERNALDATE"}, {Name: "RFC822.SIZE"}, {Name: "ENVELOPE"}, {Name: "BODY"}}
	default:
		return false
	}
	return true
}

// isFetchNameChar reports whether c may be part of a fetch attribute name.
func isFetchNameChar(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || isDigit(c) || c == '.'
}

// fetchAtt reads one fetch-att (RFC 9051 section 9; RFC 7162 MODSEQ, RFC
// 8514 SAVEDATE, RFC 8474 EMAILID and THREADID, RFC 8970 PREVIEW).
func (r *Reader) fetchAtt() FetchItem {
	var buf [16]byte
	switch string(upper(buf[:], r.word(isFetchNameChar))) {
	case "FLAGS":
		return FetchItem{Name: "FLAGS"}
	case "UID":
		return FetchItem{Name: "UID"}
	case "INTERNALDATE":
		return FetchItem{Name: "INTERNALDATE"}
	case "RFC822.SIZE":
		return FetchItem{Name: "RFC822.SIZE"}
	case "ENVELOPE":
		return FetchItem{Name: "ENVELOPE"}
	case "BODYSTRUCTURE":
		return FetchItem{Name: "BODYSTRUCTURE"}
	case "RFC822":
		return FetchItem{Name: "RFC822"}
	case "RFC822.HEADER":
		return FetchItem{Name: "RFC822.HEADER"}
	case "RFC822.TEXT":
		return FetchItem{Name: "RFC822.TEXT"}
	case "MODSEQ":
		return FetchItem{Name: "MODSEQ"}
	case "SAVEDATE":
		return FetchItem{Name: "SAVEDATE"}
	case "EMAILID":
		return FetchItem{Name: "EMAILID"}
	case "THREADID":
		return FetchItem{Name: "THREADID"}
	case "PREVIEW":
		// RFC 8970 section 6: "PREVIEW" [SP "(" preview-mod *(SP
		// preview-mod) ")"], preview-mod = "LAZY". A "(" not followed by
		// LAZY belongs to the fetch modifiers.
		it := FetchItem{Name: "PREVIEW"}
		if r.pos+2 < len(r.line) && r.line[r.pos] == ' ' && r.line[r.pos+1] == '(' {
			save := r.pos
			r.pos += 2
			if !r.peekKeyword("LAZY") {
				r.pos = save
				return it
			}
			for {
				if !r.takeKeyword("LAZY") {
					r.fail("unknown PREVIEW modifier")
				}
				it.Lazy = true
				if r.takeIf(')') {
					break
				}
				r.sp()
			}
		}
		return it
	case "BODY":
		if r.peek() != '[' {
			return FetchItem{Name: "BODY"}
		}
		return FetchItem{Name: "BODY", Section: r.section(false), Partial: r.partial()}
	case "BODY.PEEK":
		return FetchItem{Name: "BODY.PEEK", Section: r.section(false), Partial: r.partial()}
	case "BINARY":
		return FetchItem{Name: "BINARY", Section: r.section(true), Partial: r.partial()}
	case "BINARY.PEEK":
		return FetchItem{Name: "BINARY.PEEK", Section: r.section(true), Partial: r.partial()}
	case "BINARY.SIZE":
		return FetchItem{Name: "BINARY.SIZE", Section: r.section(true)}
	}
	r.fail("unknown FETCH item")
	return FetchItem{}
}

// section reads a section: "[" [section-spec] "]", or with binary a
// section-binary: "[" [section-part] "]" (RFC 9051 section 9, RFC 3516).
// Part numbers are nz-numbers; MIME needs a part; HEADER.FIELDS needs a
// non-empty list.
func (r *Reader) section(binary bool) *Section {
	r.expect('[')
	s := &Section{}
	if r.takeIf(']') {
		return s
	}
	for isDigit(r.peek()) {
		s.Part = append(s.Part, int(r.nzNumber()))
		if !r.takeIf('.') {
			break
		}
		if !isDigit(r.peek()) {
			// section-part "." section-text
			r.sectionText(s, binary)
			r.expect(']')
			return s
		}
	}
	if len(s.Part) == 0 {
		r.sectionText(s, binary)
	}
	r.expect(']')
	return s
}

// sectionText reads section-msgtext, or "MIME" after a part number.
func (r *Reader) sectionText(s *Section, binary bool) {
	if binary {
		r.fail("BINARY section takes part numbers only")
	}
	var buf [20]byte
	switch string(upper(buf[:], r.word(isFetchNameChar))) {
	case "HEADER":
		s.Specifier = "HEADER"
	case "TEXT":
		s.Specifier = "TEXT"
	case "MIME":
		if len(s.Part) == 0 {
			r.fail("MIME needs a part number")
		}
		s.Specifier = "MIME"
	case "HEADER.FIELDS":
		s.Specifier = "HEADER.FIELDS"
		r.sp()
		s.Fields = r.headerList()
	case "HEADER.FIELDS.NOT":
		s.Specifier = "HEADER.FIELDS.NOT"
		r.sp()
		s.Fields = r.headerList()
	default:
		r.fail("invalid section")
	}
}

// headerList reads "(" header-fld-name *(SP header-fld-name) ")".
func (r *Reader) headerList() []string {
	r.expect('(')
	var fields []string
	for {
		fields = append(fields, r.astring())
		if r.takeIf(')') {
			return fields
		}
		r.sp()
	}
}

// partial reads an optional "<" number "." number ">". RFC 9051 wants a
// non-zero count; RFC 3501 clients may send zero, which asks for nothing.
func (r *Reader) partial() *Partial {
	if !r.takeIf('<') {
		return nil
	}
	p := &Partial{Offset: r.number()}
	r.expect('.')
	p.Count = r.number()
	r.expect('>')
	return p
}

// fetchModifiers reads "(" fetch-modifier *(SP fetch-modifier) ")": the
// CHANGEDSINCE and VANISHED modifiers of RFC 7162 sections 3.1.4.1 and
// 3.2.6. VANISHED is only valid in UID FETCH together with CHANGEDSINCE.
func (r *Reader) fetchModifiers(a *FetchArgs, uid bool) {
	r.expect('(')
	for {
		var buf [16]byte
		switch string(r.keyword(buf[:])) {
		case "CHANGEDSINCE":
			r.sp()
			a.ChangedSince = r.modSeq()
		case "VANISHED":
			a.Vanished = true
		case "PARTIAL":
			if !uid {
				r.fail("PARTIAL is only allowed in UID FETCH")
			}
			r.sp()
			a.Partial = r.partialRange()
		default:
			r.fail("unknown FETCH modifier")
		}
		if r.takeIf(')') {
			break
		}
		r.sp()
	}
	if a.Vanished && !uid {
		r.fail("VANISHED is only allowed in UID FETCH")
	}
	if a.Vanished && a.ChangedSince == 0 {
		r.fail("VANISHED needs CHANGEDSINCE")
	}
}
