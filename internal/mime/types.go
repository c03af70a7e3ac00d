// Package mime parses a message once, at delivery, into the facts every
// protocol needs later: the MIME tree with byte offsets of each part's
// header and body, the envelope fields, and decoded text for searching.
//
// Invariants:
//   - Parsing never fails on malformed input: a broken message still yields
//     a usable tree (RFC 2045 section 5.2 defaults apply), so that every
//     message the server accepted can be fetched.
//   - Offsets refer to the message exactly as stored (CRLF line endings), so
//     FETCH BODY[section] streams a byte range from the blob without parsing.
//   - Nothing here writes protocol syntax; IMAP renders ENVELOPE and
//     BODYSTRUCTURE from these types.
//   - Every string Parse returns is valid UTF-8 (8-bit header bytes that
//     are not UTF-8 are read as Windows-1252), so a tree survives JSON.
//   - Work is linear in the input; hostile nesting and part counts are
//     bounded by MaxDepth and MaxParts.
package mime

// Part is one node of a message's MIME tree.
//
// For the root part, HeaderStart is 0. A multipart part has Parts; a
// message/rfc822 (or message/global) part has Message, the encapsulated
// message's root, whose offsets are still absolute offsets in the outer
// message.
//
// What a renderer may rely on, for every tree Parse returns:
//   - Type "multipart" means a container: Parts holds its children, and may
//     be empty (no delimiter found); render an empty multipart as Dovecot
//     does, with one 0-length text/plain child.
//   - Type "message" with Subtype "rfc822" or "global" means Message is not
//     nil; every other part has Message nil and no Parts.
//   - A text/* part always has a charset parameter (us-ascii when the
//     message has none, RFC 2046 section 4.1.2).
//   - Size() is the body size BODYSTRUCTURE reports; Lines is its line
//     count for text/* and message/rfc822.
type Part struct {
	// HeaderStart is the offset of the first byte of this part's header.
	HeaderStart int64 `json:"hs"`
	// BodyStart is the offset of the first byte after the empty line that
	// ends the header (equal to HeaderStart when there is no header).
	BodyStart int64 `json:"bs"`
	// BodyEnd is the offset just past the body. For a part inside a
	// multipart, the CRLF that precedes the next boundary delimiter belongs
	// to the delimiter (RFC 2046 section 5.1.1), not to the body.
	BodyEnd int64 `json:"be"`
	// Lines is the number of lines in the body (text/* and message/rfc822
	// report it in BODYSTRUCTURE).
	Lines int64 `json:"l"`

	// Type and Subtype are lower case. When Content-Type is missing or
	// unparsable they default to text/plain (or message/rfc822 inside a
	// multipart/digest), as RFC 2045 section 5.2 and RFC 2046 section 5.1.5
	// say.
	Type    string `json:"t"`
	Subtype string `json:"st"`
	// Params are the Content-Type parameters in header order; names are lower
	// case, values are decoded from RFC 2231 continuations where present.
	Params []Param `json:"p,omitempty"`

	ID          string   `json:"id,omitempty"`   // Content-ID, raw
	Description string   `json:"d,omitempty"`    // Content-Description, raw
	Encoding    string   `json:"enc,omitempty"`  // Content-Transfer-Encoding, lower case; "" means 7bit
	MD5         string   `json:"md5,omitempty"`  // Content-MD5, raw
	Disposition string   `json:"dsp,omitempty"`  // Content-Disposition value, lower case
	DispParams  []Param  `json:"dp,omitempty"`   // Content-Disposition parameters
	Language    []string `json:"lang,omitempty"` // Content-Language tags
	Location    string   `json:"loc,omitempty"`  // Content-Location, raw

	// Envelope is set on the root part and on the root of every
	// encapsulated message.
	Envelope *Envelope `json:"env,omitempty"`

	Parts   []*Part `json:"parts,omitempty"` // children of a multipart
	Message *Part   `json:"msg,omitempty"`   // root of an encapsulated message
}

// Param is one MIME parameter.
type Param struct {
	Name  string `json:"n"`
	Value string `json:"v"`
}

// Envelope holds the header fields IMAP's ENVELOPE reports (RFC 9051
// section 7.5.2). Strings are the raw, undecoded field values with folding
// removed and white space trimmed; an absent field is the empty string or
// a nil slice. Of a field that occurs more than once, the first counts.
//
// Sender and ReplyTo are already defaulted: RFC 9051 section 7.5.2 says
// that when Sender or Reply-To is absent or empty, the server sets it to
// From, and Parse does so, so the IMAP layer renders the Envelope as it is.
type Envelope struct {
	Date      string    `json:"date,omitempty"`
	Subject   string    `json:"subj,omitempty"`
	From      []Address `json:"from,omitempty"`
	Sender    []Address `json:"sender,omitempty"`
	ReplyTo   []Address `json:"rt,omitempty"`
	To        []Address `json:"to,omitempty"`
	Cc        []Address `json:"cc,omitempty"`
	Bcc       []Address `json:"bcc,omitempty"`
	InReplyTo string    `json:"irt,omitempty"`
	MessageID string    `json:"mid,omitempty"`
}

// Address is one entry of an address list, in IMAP's shape: a mailbox with
// Mailbox and Host set, or a group marker. A group starts with an Address
// that has Group set and Mailbox holding the group's display name, and ends
// with an Address that has Group set and an empty Mailbox (RFC 9051 section
// 7.5.2, "group syntax").
//
// A mailbox (Group false) may have an empty Host ("undisclosed-recipients"
// without the colon) or even an empty Mailbox ("Name <>"). Render those as
// empty strings "", not NIL: (NIL NIL "x" NIL) would read as a group start.
type Address struct {
	Name    string `json:"n,omitempty"` // display name, raw (may hold RFC 2047 encoded words)
	Adl     string `json:"a,omitempty"` // source route, almost always empty
	Mailbox string `json:"m,omitempty"` // local part
	Host    string `json:"h,omitempty"` // domain
	Group   bool   `json:"g,omitempty"`
}
