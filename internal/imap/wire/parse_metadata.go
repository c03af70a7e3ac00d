package wire

// GetMetadataArgs: GETMETADATA [(options)] mailbox entries (RFC 5464
// section 4.2).
type GetMetadataArgs struct {
	Mailbox string // "" for server annotations
	Entries []string
	// MaxSize is the MAXSIZE option; -1 when absent.
	MaxSize int64
	// Depth is the DEPTH option: 0, 1, or -1 for infinity.
	Depth int
}

// SetMetadataArgs: SETMETADATA mailbox (entry value ...) (RFC 5464
// section 4.3). A nil Value is NIL: remove the entry.
type SetMetadataArgs struct {
	Mailbox string
	Entries []MetadataValue
}

// MetadataValue is one entry and its value, nil for NIL.
type MetadataValue struct {
	Entry string
	Value *string
}

// maxMetadataItems bounds the entries of one command.
const maxMetadataItems = 256

func (r *Reader) parseGetMetadata() *GetMetadataArgs {
	r.sp()
	a := &GetMetadataArgs{MaxSize: -1}
	if r.peek() == '(' {
		r.list(func() {
			var buf [16]byte
			switch string(r.keyword(buf[:])) {
			case "MAXSIZE":
				r.sp()
				a.MaxSize = int64(r.number())
			case "DEPTH":
				r.sp()
				switch {
				case r.takeIf('0'):
					a.Depth = 0
				case r.takeIf('1'):
					a.Depth = 1
				case r.takeKeyword("INFINITY"):
					a.Depth = -1
				default:
					r.fail("DEPTH is 0, 1 or infinity")
				}
			default:
				r.fail("unknown GETMETADATA option")
			}
		})
		r.sp()
	}
	a.Mailbox = r.mailbox()
	r.sp()
	if r.takeIf('(') {
		for {
			a.Entries = append(a.Entries, r.astring())
			if len(a.Entries) > maxMetadataItems {
				r.fail("too many entries")
			}
			if r.takeIf(')') {
				break
			}
			r.sp()
		}
	} else {
		a.Entries = []string{r.astring()}
	}
	return a
}

func (r *Reader) parseSetMetadata() *SetMetadataArgs {
	r.sp()
	a := &SetMetadataArgs{Mailbox: r.mailbox()}
	r.sp()
	r.expect('(')
	for {
		e := MetadataValue{Entry: r.astring()}
		r.sp()
		if v, ok := r.nstring(); ok {
			e.Value = &v
		}
		a.Entries = append(a.Entries, e)
		if len(a.Entries) > maxMetadataItems {
			r.fail("too many entries")
		}
		if r.takeIf(')') {
			return a
		}
		r.sp()
	}
}
