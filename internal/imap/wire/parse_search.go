package wire

import "slices"

// maxSearchDepth bounds the nesting of NOT, OR and parentheses, so that a
// hostile command cannot recurse deeply.
const maxSearchDepth = 64

// parseSearch reads SEARCH's arguments: [SP "RETURN" SP "(" [opt *(SP opt)]
// ")"] SP ["CHARSET" SP charset SP] search-key *(SP search-key) (RFC 9051
// section 6.4.4; RFC 4731 and RFC 5182 for RETURN).
func (r *Reader) parseSearch() *SearchArgs {
	r.sp()
	a := &SearchArgs{}
	if r.takeKeyword("RETURN") {
		a.HasReturn = true
		a.Return = []string{}
		r.sp()
		r.list(func() {
			var buf [16]byte
			var opt string
			switch string(r.keyword(buf[:])) {
			case "RELEVANCY":
				// RFC 6203 section 4.
				opt = "RELEVANCY"
			case "MIN":
				opt = "MIN"
			case "MAX":
				opt = "MAX"
			case "ALL":
				opt = "ALL"
			case "COUNT":
				opt = "COUNT"
			case "SAVE":
				opt = "SAVE"
			case "PARTIAL":
				// RFC 9394 section 3: not together with ALL, only once.
				if a.Partial != nil {
					r.fail("PARTIAL given twice")
				}
				opt = "PARTIAL"
				r.sp()
				a.Partial = r.partialRange()
			default:
				r.fail("unknown SEARCH return option")
			}
			a.Return = append(a.Return, opt)
		})
		if a.Partial != nil && slices.Contains(a.Return, "ALL") {
			r.fail("PARTIAL and ALL exclude each other")
		}
		r.sp()
	}
	if r.takeKeyword("CHARSET") {
		// charset = atom / quoted
		r.sp()
		var cs string
		if r.peek() == '"' {
			cs = r.quoted()
		} else {
			cs = string(r.atom())
		}
		a.Charset = upperString(cs)
		r.sp()
	}
	a.Criteria = r.searchKeys()
	return a
}

// upperString returns s in ASCII upper case.
func upperString(s string) string {
	for i := 0; i < len(s); i++ {
		if 'a' <= s[i] && s[i] <= 'z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'a' <= b[j] && b[j] <= 'z' {
					b[j] -= 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// searchKey reads one search-key (RFC 9051 section 9, RFC 3501 for NEW,
// OLD and RECENT; RFC 7162 MODSEQ, RFC 5032 OLDER and YOUNGER, RFC 8514
// SAVEDBEFORE, SAVEDON, SAVEDSINCE and SAVEDATESUPPORTED, RFC 8474 EMAILID
// and THREADID, RFC 6203 FUZZY).
func (r *Reader) searchKey(depth int) SearchKey {
	if depth > maxSearchDepth {
		r.fail("search criteria nested too deeply")
	}
	switch c := r.peek(); {
	case c == '(':
		r.pos++
		var children []SearchKey
		for {
			children = append(children, r.searchKey(depth+1))
			if r.takeIf(')') {
				return SearchKey{Name: "AND", Children: children}
			}
			r.sp()
		}
	case isDigit(c) || c == '*' || c == '$':
		return SearchKey{Name: "SEQSET", Set: r.seqSet(0)}
	}

	var buf [20]byte
	switch name := string(r.keyword(buf[:])); name {
	case "ALL", "ANSWERED", "DELETED", "DRAFT", "FLAGGED", "NEW", "OLD",
		"RECENT", "SEEN", "UNANSWERED", "UNDELETED", "UNDRAFT",
		"UNFLAGGED", "UNSEEN", "SAVEDATESUPPORTED":
		return SearchKey{Name: searchKeyName(name)}

	case "BCC", "BODY", "CC", "FROM", "SUBJECT", "TEXT", "TO":
		k := SearchKey{Name: searchKeyName(name)}
		r.sp()
		k.String = r.astring()
		return k

	case "KEYWORD", "UNKEYWORD":
		// flag-keyword is an atom.
		k := SearchKey{Name: searchKeyName(name)}
		r.sp()
		k.String = string(r.atom())
		return k

	case "HEADER":
		r.sp()
		k := SearchKey{Name: "HEADER"}
		k.Field = r.astring()
		r.sp()
		k.String = r.astring()
		return k

	case "BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON", "SENTSINCE",
		"SAVEDBEFORE", "SAVEDON", "SAVEDSINCE":
		k := SearchKey{Name: searchKeyName(name)}
		r.sp()
		k.Date = r.date()
		return k

	case "LARGER", "SMALLER":
		k := SearchKey{Name: searchKeyName(name)}
		r.sp()
		k.Number = r.number64()
		return k

	case "OLDER", "YOUNGER":
		// RFC 5032 section 3: nz-number.
		k := SearchKey{Name: searchKeyName(name)}
		r.sp()
		k.Number = uint64(r.nzNumber())
		return k

	case "MODSEQ":
		// RFC 7162 section 7: "MODSEQ" [SP entry-name SP entry-type-req]
		// SP mod-sequence-valzer. The entry is parsed and ignored.
		r.sp()
		if r.peek() == '"' {
			r.quoted()
			r.sp()
			var tbuf [8]byte
			switch string(r.keyword(tbuf[:])) {
			case "PRIV", "SHARED", "ALL":
			default:
				r.fail("invalid MODSEQ entry type")
			}
			r.sp()
		}
		return SearchKey{Name: "MODSEQ", Number: r.number64()}

	case "UID":
		r.sp()
		return SearchKey{Name: "UID", Set: r.seqSet(0)}

	case "EMAILID", "THREADID":
		// RFC 8474 section 7: objectid = 1*255(ALPHA / DIGIT / "_" / "-").
		k := SearchKey{Name: searchKeyName(name)}
		r.sp()
		id := r.word(isObjectIDChar)
		if len(id) == 0 || len(id) > 255 {
			r.fail("invalid object id")
		}
		k.String = string(id)
		return k

	case "NOT":
		r.sp()
		return SearchKey{Name: "NOT", Children: []SearchKey{r.searchKey(depth + 1)}}

	case "FUZZY":
		// RFC 6203 section 7: "FUZZY" SP search-key.
		r.sp()
		return SearchKey{Name: "FUZZY", Children: []SearchKey{r.searchKey(depth + 1)}}

	case "OR":
		r.sp()
		a := r.searchKey(depth + 1)
		r.sp()
		b := r.searchKey(depth + 1)
		return SearchKey{Name: "OR", Children: []SearchKey{a, b}}
	}
	r.fail("unknown search key")
	return SearchKey{}
}

// isObjectIDChar reports whether c may appear in an RFC 8474 objectid.
func isObjectIDChar(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || isDigit(c) || c == '_' || c == '-'
}

// searchKeyName returns the constant for an upper-case search key name, so
// that parsed keys do not hold on to freshly allocated strings.
func searchKeyName(name string) string {
	switch name {
	case "ALL":
		return "ALL"
	case "ANSWERED":
		return "ANSWERED"
	case "DELETED":
		return "DELETED"
	case "DRAFT":
		return "DRAFT"
	case "FLAGGED":
		return "FLAGGED"
	case "NEW":
		return "NEW"
	case "OLD":
		return "OLD"
	case "RECENT":
		return "RECENT"
	case "SEEN":
		return "SEEN"
	case "UNANSWERED":
		return "UNANSWERED"
	case "UNDELETED":
		return "UNDELETED"
	case "UNDRAFT":
		return "UNDRAFT"
	case "UNFLAGGED":
		return "UNFLAGGED"
	case "UNSEEN":
		return "UNSEEN"
	case "SAVEDATESUPPORTED":
		return "SAVEDATESUPPORTED"
	case "BCC":
		return "BCC"
	case "BODY":
		return "BODY"
	case "CC":
		return "CC"
	case "FROM":
		return "FROM"
	case "SUBJECT":
		return "SUBJECT"
	case "TEXT":
		return "TEXT"
	case "TO":
		return "TO"
	case "KEYWORD":
		return "KEYWORD"
	case "UNKEYWORD":
		return "UNKEYWORD"
	case "BEFORE":
		return "BEFORE"
	case "ON":
		return "ON"
	case "SINCE":
		return "SINCE"
	case "SENTBEFORE":
		return "SENTBEFORE"
	case "SENTON":
		return "SENTON"
	case "SENTSINCE":
		return "SENTSINCE"
	case "SAVEDBEFORE":
		return "SAVEDBEFORE"
	case "SAVEDON":
		return "SAVEDON"
	case "SAVEDSINCE":
		return "SAVEDSINCE"
	case "LARGER":
		return "LARGER"
	case "SMALLER":
		return "SMALLER"
	case "OLDER":
		return "OLDER"
	case "YOUNGER":
		return "YOUNGER"
	case "EMAILID":
		return "EMAILID"
	case "THREADID":
		return "THREADID"
	}
	panic("wire: unhandled search key " + name)
}

// partialRange reads partial-range = nz-number ":" nz-number / "-"
// nz-number ":" "-" nz-number (RFC 9394 section 4); either order.
func (r *Reader) partialRange() *PartialRange {
	neg := r.takeIf('-')
	a := int64(r.number())
	r.expect(':')
	if neg != r.takeIf('-') {
		r.fail("a partial range is both positive or both negative")
	}
	b := int64(r.number())
	if a == 0 || b == 0 {
		r.fail("partial range numbers start at 1")
	}
	if a > b {
		a, b = b, a
	}
	if neg {
		return &PartialRange{First: -a, Last: -b}
	}
	return &PartialRange{First: a, Last: b}
}
