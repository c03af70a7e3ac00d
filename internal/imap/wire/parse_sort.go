package wire

// parseSort reads SORT's arguments (RFC 5256 section 5, RFC 5267 section
// 3 for RETURN, RFC 5957 for DISPLAYFROM and DISPLAYTO):
//
//	[SP "RETURN" SP "(" [sort-return-opt *(SP sort-return-opt)] ")"]
//	SP "(" ["REVERSE" SP] sort-key *(SP ["REVERSE" SP] sort-key) ")"
//	SP charset 1*(SP search-key)
func (r *Reader) parseSort() *SortArgs {
	r.sp()
	a := &SortArgs{}
	if r.takeKeyword("RETURN") {
		a.HasReturn = true
		a.Return = []string{}
		r.sp()
		r.list(func() {
			var buf [16]byte
			switch opt := string(r.keyword(buf[:])); opt {
			case "MIN", "MAX", "ALL", "COUNT", "RELEVANCY": // RELEVANCY: RFC 6203 section 6
				a.Return = append(a.Return, opt)
			default:
				r.fail("unknown SORT return option")
			}
		})
		r.sp()
	}
	r.list(func() {
		var c SortCriterion
		if r.takeKeyword("REVERSE") {
			c.Reverse = true
			r.sp()
		}
		var buf [16]byte
		switch key := string(r.keyword(buf[:])); key {
		case "ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO", "DISPLAYFROM", "DISPLAYTO",
			"RELEVANCY": // RFC 6203 section 6
			c.Key = key
		default:
			r.fail("unknown sort key")
		}
		a.Keys = append(a.Keys, c)
		if len(a.Keys) > 16 {
			r.fail("too many sort keys")
		}
	})
	if len(a.Keys) == 0 {
		r.fail("SORT needs at least one sort key")
	}
	r.sp()
	a.Charset = r.charset()
	r.sp()
	a.Criteria = r.searchKeys()
	return a
}

// parseThread reads THREAD's arguments (RFC 5256 section 5): SP
// thread-alg SP charset 1*(SP search-key).
func (r *Reader) parseThread() *ThreadArgs {
	r.sp()
	a := &ThreadArgs{}
	var buf [16]byte
	switch alg := string(r.keyword(buf[:])); alg {
	case "ORDEREDSUBJECT", "REFERENCES":
		a.Algorithm = alg
	default:
		r.fail("unknown threading algorithm")
	}
	r.sp()
	a.Charset = r.charset()
	r.sp()
	a.Criteria = r.searchKeys()
	return a
}

// charset reads a charset: atom / quoted, upper-cased.
func (r *Reader) charset() string {
	if r.peek() == '"' {
		return upperString(r.quoted())
	}
	return upperString(string(r.atom()))
}

// searchKeys reads search-key *(SP search-key).
func (r *Reader) searchKeys() []SearchKey {
	var keys []SearchKey
	for {
		keys = append(keys, r.searchKey(0))
		if !r.takeIf(' ') {
			return keys
		}
	}
}
