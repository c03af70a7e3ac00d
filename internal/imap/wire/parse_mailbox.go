package wire

// parseMailboxArg reads SP mailbox: DELETE, SUBSCRIBE, UNSUBSCRIBE.
func (r *Reader) parseMailboxArg() *MailboxArgs {
	r.sp()
	return &MailboxArgs{Mailbox: r.mailbox()}
}

// parseRename reads SP mailbox SP mailbox (RFC 9051 section 6.3.6).
func (r *Reader) parseRename() *RenameArgs {
	r.sp()
	from := r.mailbox()
	r.sp()
	return &RenameArgs{From: from, To: r.mailbox()}
}

// parseSelect reads SELECT's and EXAMINE's arguments: SP mailbox
// [SP "(" select-param *(SP select-param) ")"] (RFC 4466 section 2.1), with
// the CONDSTORE and QRESYNC parameters of RFC 7162 sections 3.1.8 and 3.2.5.
// Other parameters are refused (RFC 4466: unknown parameters are BAD).
func (r *Reader) parseSelect() *SelectArgs {
	r.sp()
	a := &SelectArgs{Mailbox: r.mailbox()}
	if !r.takeIf(' ') {
		return a
	}
	r.expect('(')
	for {
		var buf [16]byte
		switch string(r.keyword(buf[:])) {
		case "CONDSTORE":
			a.CondStore = true
		case "QRESYNC":
			if a.QResync != nil {
				r.fail("QRESYNC given twice")
			}
			r.sp()
			a.QResync = r.qresyncParams()
		default:
			r.fail("unknown SELECT parameter")
		}
		if r.takeIf(')') {
			return a
		}
		r.sp()
	}
}

// qresyncParams reads "(" uidvalidity SP mod-sequence-value [SP known-uids]
// [SP seq-match-data] ")" (RFC 7162 section 7); "*" is not allowed in the
// sets.
func (r *Reader) qresyncParams() *QResyncParams {
	r.expect('(')
	q := &QResyncParams{UIDValidity: r.nzNumber()}
	r.sp()
	q.ModSeq = r.modSeq()
	if r.takeIf(' ') {
		if r.peek() != '(' {
			known := r.seqSet(seqNoStar | seqNoDollar)
			q.KnownUIDs = &known
			if !r.takeIf(' ') {
				r.expect(')')
				return q
			}
		}
		// seq-match-data = "(" known-sequence-set SP known-uid-set ")"
		r.expect('(')
		seqs := r.seqSet(seqNoStar | seqNoDollar)
		r.sp()
		uids := r.seqSet(seqNoStar | seqNoDollar)
		r.expect(')')
		q.SeqMatchSeqs, q.SeqMatchUIDs = &seqs, &uids
	}
	r.expect(')')
	return q
}

// parseCreate reads CREATE's arguments: SP mailbox [SP "(" create-param
// *(SP create-param) ")"] (RFC 4466 section 2.2), where the only parameter
// is USE (RFC 6154 section 3: "USE" SP "(" [use-attr *(SP use-attr)] ")").
func (r *Reader) parseCreate() *CreateArgs {
	r.sp()
	a := &CreateArgs{Mailbox: r.mailbox()}
	if !r.takeIf(' ') {
		return a
	}
	r.expect('(')
	for {
		if !r.takeKeyword("USE") {
			r.fail("unknown CREATE parameter")
		}
		r.sp()
		if a.SpecialUse == nil {
			a.SpecialUse = []string{}
		}
		r.list(func() { a.SpecialUse = append(a.SpecialUse, r.useAttr()) })
		if r.takeIf(')') {
			return a
		}
		r.sp()
	}
}

// useAttr reads a use-attr: "\" atom (RFC 6154 section 6).
func (r *Reader) useAttr() string {
	if r.peek() != '\\' {
		r.failf("expected special-use attribute at position %d", r.pos)
	}
	return r.flag()
}

// parseList reads LIST's arguments, basic or extended: [SP list-select-opts]
// SP mailbox SP mbox-or-pat [SP list-return-opts] (RFC 9051 section 6.3.9,
// RFC 5258 section 6, RFC 6154, RFC 5819).
func (r *Reader) parseList() *ListArgs {
	r.sp()
	a := &ListArgs{}
	if r.peek() == '(' {
		a.Extended = true
		r.listSelectOpts(a)
		r.sp()
	}
	a.Reference = r.astring()
	r.sp()
	if r.takeIf('(') {
		// patterns = "(" list-mailbox *(SP list-mailbox) ")"
		a.Extended = true
		for {
			a.Patterns = append(a.Patterns, r.listMailbox())
			if r.takeIf(')') {
				break
			}
			r.sp()
		}
	} else {
		a.Patterns = []string{r.listMailbox()}
	}
	if r.takeIf(' ') {
		a.Extended = true
		r.listReturnOpts(a)
	}
	return a
}

// listSelectOpts reads "(" [list-select-opt *(SP list-select-opt)] ")".
func (r *Reader) listSelectOpts(a *ListArgs) {
	r.list(func() {
		var buf [16]byte
		switch string(r.keyword(buf[:])) {
		case "SUBSCRIBED":
			a.SelectSubscribed = true
		case "REMOTE":
			a.SelectRemote = true
		case "RECURSIVEMATCH":
			a.SelectRecursiveMatch = true
		case "SPECIAL-USE":
			a.SelectSpecialUse = true
		default:
			// RFC 9051 section 6.3.9: unknown options are BAD.
			r.fail("unknown LIST selection option")
		}
	})
	// RFC 9051 section 6.3.9.1: RECURSIVEMATCH needs an option that
	// selects; REMOTE does not.
	if a.SelectRecursiveMatch && !a.SelectSubscribed && !a.SelectSpecialUse {
		r.fail("RECURSIVEMATCH needs another selection option")
	}
}

// listReturnOpts reads "RETURN" SP "(" [return-option *(SP return-option)]
// ")".
func (r *Reader) listReturnOpts(a *ListArgs) {
	if !r.takeKeyword("RETURN") {
		r.fail("expected RETURN")
	}
	r.sp()
	r.list(func() {
		var buf [16]byte
		switch string(r.keyword(buf[:])) {
		case "SUBSCRIBED":
			a.ReturnSubscribed = true
		case "CHILDREN":
			a.ReturnChildren = true
		case "SPECIAL-USE":
			a.ReturnSpecialUse = true
		case "STATUS":
			// RFC 5819 section 4: STATUS SP "(" status-att *(SP
			// status-att) ")".
			r.sp()
			a.ReturnStatus = r.statusAtts()
		case "METADATA":
			// RFC 9590 (LIST-METADATA).
			r.sp()
			a.ReturnMetadata = r.listMetadata()
		default:
			r.fail("unknown LIST return option")
		}
	})
}

// parseLsub reads SP mailbox SP list-mailbox (RFC 3501 section 6.3.9).
func (r *Reader) parseLsub() *LsubArgs {
	r.sp()
	ref := r.astring()
	r.sp()
	return &LsubArgs{Reference: ref, Pattern: r.listMailbox()}
}

// parseStatus reads SP mailbox SP "(" status-att *(SP status-att) ")" (RFC
// 9051 section 6.3.11).
func (r *Reader) parseStatus() *StatusArgs {
	r.sp()
	a := &StatusArgs{Mailbox: r.mailbox()}
	r.sp()
	a.Items = r.statusAtts()
	return a
}

// statusAtts reads "(" status-att *(SP status-att) ")": the items of RFC
// 9051, RECENT (RFC 3501), HIGHESTMODSEQ (RFC 7162), APPENDLIMIT (RFC 7889)
// and MAILBOXID (RFC 8474). Unknown items are BAD.
func (r *Reader) statusAtts() []string {
	r.expect('(')
	var items []string
	for {
		var buf [16]byte
		var item string
		switch string(r.keyword(buf[:])) {
		case "MESSAGES":
			item = "MESSAGES"
		case "UIDNEXT":
			item = "UIDNEXT"
		case "UIDVALIDITY":
			item = "UIDVALIDITY"
		case "UNSEEN":
			item = "UNSEEN"
		case "DELETED":
			item = "DELETED"
		case "SIZE":
			item = "SIZE"
		case "RECENT":
			item = "RECENT"
		case "HIGHESTMODSEQ":
			item = "HIGHESTMODSEQ"
		case "APPENDLIMIT":
			item = "APPENDLIMIT"
		case "MAILBOXID":
			item = "MAILBOXID"
		case "DELETED-STORAGE":
			item = "DELETED-STORAGE" // RFC 9208 section 4.1.4
		default:
			r.fail("unknown STATUS item")
		}
		items = append(items, item)
		if r.takeIf(')') {
			return items
		}
		r.sp()
	}
}

// parseSetQuota reads SP quota-root SP "(" [setquota-resource *(SP
// setquota-resource)] ")" with setquota-resource = resource-name SP
// resource-limit (RFC 9208 section 9).
func (r *Reader) parseSetQuota() *SetQuotaArgs {
	r.sp()
	a := &SetQuotaArgs{Root: r.astring()}
	r.sp()
	r.expect('(')
	var buf [32]byte
	for r.peek() != ')' {
		if len(a.Limits) > 0 {
			r.sp()
		}
		name := r.keyword(buf[:])
		if name == nil {
			r.fail("resource name too long")
		}
		r.sp()
		a.Limits = append(a.Limits, QuotaLimit{Resource: string(name), Limit: r.number64()})
		if len(a.Limits) > 16 {
			r.fail("too many resources")
		}
	}
	r.expect(')')
	return a
}
