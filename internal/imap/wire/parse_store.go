package wire

// parseStore reads STORE's arguments: SP sequence-set [store-modifiers] SP
// store-att-flags, where store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"])
// SP (flag-list / (flag *(SP flag))) (RFC 9051 section 6.4.6; RFC 4466
// section 2.5; RFC 7162 section 3.1.3 for UNCHANGEDSINCE).
func (r *Reader) parseStore() *StoreArgs {
	r.sp()
	a := &StoreArgs{Set: r.seqSet(0)}
	r.sp()
	if r.takeIf('(') {
		for {
			if !r.takeKeyword("UNCHANGEDSINCE") {
				r.fail("unknown STORE modifier")
			}
			if a.HasUnchangedSince {
				// RFC 7162 section 7: only a single UNCHANGEDSINCE.
				r.fail("UNCHANGEDSINCE given twice")
			}
			r.sp()
			a.UnchangedSince = r.number64() // mod-sequence-valzer
			a.HasUnchangedSince = true
			if r.takeIf(')') {
				break
			}
			r.sp()
		}
		r.sp()
	}
	var buf [16]byte
	switch string(r.keyword(buf[:])) {
	case "FLAGS":
	case "FLAGS.SILENT":
		a.Silent = true
	case "+FLAGS":
		a.Op = '+'
	case "+FLAGS.SILENT":
		a.Op, a.Silent = '+', true
	case "-FLAGS":
		a.Op = '-'
	case "-FLAGS.SILENT":
		a.Op, a.Silent = '-', true
	default:
		r.fail("expected FLAGS, +FLAGS or -FLAGS")
	}
	r.sp()
	if r.peek() == '(' {
		a.Flags = r.flagList()
		return a
	}
	for {
		a.Flags = append(a.Flags, r.flag())
		if !r.takeIf(' ') {
			return a
		}
	}
}
