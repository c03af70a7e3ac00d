package wire

// ListMetadata is LIST's METADATA return option (RFC 9590): the
// annotations to return with each listed mailbox, with GETMETADATA's
// options (RFC 5464 section 4.2).
type ListMetadata struct {
	Entries []string // as sent
	// MaxSize is the MAXSIZE option; -1 when absent.
	MaxSize int64
	// Depth is the DEPTH option: 0, 1, or -1 for infinity.
	Depth int
}

// listMetadata reads the METADATA return option after "METADATA" SP. RFC
// 9590 gives it GETMETADATA's arguments after the mailbox:
//
//	[getmetadata-options SP] entries
//
// where getmetadata-options = "(" getmetadata-option *(SP
// getmetadata-option) ")" and entries = entry / "(" entry *(SP entry)
// ")". Clients also put the options inside the entry list
// ("(/shared/comment MAXSIZE 100)"); that form is taken as well, since
// an entry name always starts with "/" and cannot be mistaken for an
// option.
func (r *Reader) listMetadata() *ListMetadata {
	m := &ListMetadata{MaxSize: -1}
	if !r.takeIf('(') {
		m.Entries = []string{r.astring()}
		return m
	}
	for {
		if !r.metadataOption(m) {
			m.Entries = append(m.Entries, r.astring())
			if len(m.Entries) > maxMetadataItems {
				r.fail("too many entries")
			}
		}
		if r.takeIf(')') {
			break
		}
		r.sp()
	}
	if len(m.Entries) > 0 {
		return m
	}
	// The list held options only: the entries follow.
	r.sp()
	if !r.takeIf('(') {
		m.Entries = []string{r.astring()}
		return m
	}
	for {
		m.Entries = append(m.Entries, r.astring())
		if len(m.Entries) > maxMetadataItems {
			r.fail("too many entries")
		}
		if r.takeIf(')') {
			return m
		}
		r.sp()
	}
}

// metadataOption reads a MAXSIZE or DEPTH option if one is next.
func (r *Reader) metadataOption(m *ListMetadata) bool {
	switch {
	case r.takeKeyword("MAXSIZE"):
		r.sp()
		m.MaxSize = int64(r.number())
	case r.takeKeyword("DEPTH"):
		r.sp()
		switch {
		case r.takeKeyword("0"):
			m.Depth = 0
		case r.takeKeyword("1"):
			m.Depth = 1
		case r.takeKeyword("INFINITY"):
			m.Depth = -1
		default:
			r.fail("DEPTH is 0, 1 or infinity")
		}
	default:
		return false
	}
	return true
}
