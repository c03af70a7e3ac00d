package wire

import (
	"time"
)

// Command is one parsed client command.
type Command struct {
	Tag string
	// Name is the upper-case command name without a UID prefix: "FETCH" for
	// both FETCH and UID FETCH.
	Name string
	// UID is true for the UID forms (UID FETCH, UID STORE, UID COPY,
	// UID MOVE, UID SEARCH, UID EXPUNGE).
	UID bool
	// Args holds the command's arguments: one of the *...Args types below,
	// or nil for commands without arguments (NOOP, CAPABILITY, LOGOUT,
	// STARTTLS, CHECK, CLOSE, UNSELECT, EXPUNGE, IDLE, NAMESPACE,
	// UNAUTHENTICATE).
	Args any
}

// SeqRange is an inclusive range of sequence numbers or UIDs. Zero stands
// for "*", the largest number in use (RFC 9051 section 9, seq-number).
//
// The reader normalizes ranges: Start <= Stop, except that a "*" end is
// always in Stop ("*:4" and "4:*" are {4, 0}); "*" alone is {0, 0}, and a
// single number n is {n, n}.
type SeqRange struct {
	Start, Stop uint32
}

// SeqSet is a sequence-set. SearchRes is true when the set was given as "$",
// the saved search result (RFC 5182); the ranges are then empty.
type SeqSet struct {
	Ranges    []SeqRange
	SearchRes bool
}

// LoginArgs: LOGIN userid password.
type LoginArgs struct {
	User, Password string
}

// AuthenticateArgs: AUTHENTICATE mechanism [initial-response] (RFC 4959).
type AuthenticateArgs struct {
	Mechanism string // upper case
	// Initial is the decoded SASL-IR initial response; HasInitial tells an
	// empty one ("=") from none.
	Initial    []byte
	HasInitial bool
}

// EnableArgs: ENABLE capability... (RFC 5161).
type EnableArgs struct {
	Capabilities []string // upper case
}

// SortArgs: SORT (RFC 5256, RFC 5267 RETURN, RFC 5957 DISPLAY keys).
type SortArgs struct {
	// Return holds the ESORT return options, upper case: MIN MAX ALL
	// COUNT RELEVANCY (RFC 6203); HasReturn is true when RETURN was given.
	Return    []string
	HasReturn bool
	Keys      []SortCriterion
	Charset   string // upper case
	Criteria  []SearchKey
}

// SortCriterion is one sort key: ARRIVAL CC DATE FROM SIZE SUBJECT TO
// DISPLAYFROM DISPLAYTO RELEVANCY (RFC 6203).
type SortCriterion struct {
	Key     string
	Reverse bool
}

// ThreadArgs: THREAD algorithm charset search-criteria (RFC 5256).
type ThreadArgs struct {
	Algorithm string // ORDEREDSUBJECT or REFERENCES
	Charset   string
	Criteria  []SearchKey
}

// QuotaRootArgs: GETQUOTA quota-root (RFC 9208 section 4.1.1).
type QuotaRootArgs struct {
	Root string
}

// SetQuotaArgs: SETQUOTA quota-root (resource limit ...) (RFC 9208
// section 4.1.3).
type SetQuotaArgs struct {
	Root   string
	Limits []QuotaLimit
}

// QuotaLimit is one resource limit of SETQUOTA.
type QuotaLimit struct {
	Resource string // upper case
	Limit    uint64
}

// CompressArgs: COMPRESS mechanism (RFC 4978 section 3).
type CompressArgs struct {
	Mechanism string // upper case
}

// IDArgs: ID ( "key" "value" ... ) or ID NIL (RFC 2971).
type IDArgs struct {
	Fields []IDField // nil for NIL
}

// IDField is one key/value of ID; Value is nil for NIL.
type IDField struct {
	Key   string
	Value *string
}

// MailboxArgs is the argument of commands that take one mailbox: DELETE,
// SUBSCRIBE, UNSUBSCRIBE. Mailbox names are as sent (modified UTF-7 for
// IMAP4rev1 clients); decode them with DecodeMailbox. The one exception is
// INBOX: any case of it is given as "INBOX" (RFC 9051 section 9, mailbox).
// LIST and LSUB references and patterns are always as sent.
type MailboxArgs struct {
	Mailbox string
}

// SelectArgs: SELECT/EXAMINE mailbox [(params)] (RFC 4466 section 2.1).
type SelectArgs struct {
	Mailbox   string
	CondStore bool // (CONDSTORE), RFC 7162
	// QResync is set for (QRESYNC (...)), RFC 7162 section 3.2.5.
	QResync *QResyncParams
}

// QResyncParams are the parameters of SELECT (QRESYNC ...).
type QResyncParams struct {
	UIDValidity uint32
	ModSeq      uint64
	KnownUIDs   *SeqSet // nil when absent
	// SeqMatch pairs known sequence numbers with their UIDs; nil when absent.
	SeqMatchSeqs, SeqMatchUIDs *SeqSet
}

// CreateArgs: CREATE mailbox [(USE (attrs))] (RFC 6154 section 3).
type CreateArgs struct {
	Mailbox    string
	SpecialUse []string
}

// RenameArgs: RENAME from to.
type RenameArgs struct {
	From, To string
}

// ListArgs: LIST, in its basic and extended forms (RFC 5258, RFC 6154,
// RFC 5819).
type ListArgs struct {
	// Extended is true when selection or return options were given, or
	// several patterns; the reply then uses the extended form.
	Extended  bool
	Reference string
	Patterns  []string

	// Selection options.
	SelectSubscribed     bool
	SelectRemote         bool
	SelectRecursiveMatch bool
	SelectSpecialUse     bool

	// Return options.
	ReturnSubscribed bool
	ReturnChildren   bool
	ReturnSpecialUse bool
	// ReturnStatus lists STATUS items for RETURN (STATUS (...)), RFC 5819.
	ReturnStatus []string
	// ReturnMetadata is RETURN (METADATA ...), RFC 9590; nil when absent.
	ReturnMetadata *ListMetadata
}

// LsubArgs: LSUB reference pattern.
type LsubArgs struct {
	Reference, Pattern string
}

// StatusArgs: STATUS mailbox (items).
type StatusArgs struct {
	Mailbox string
	Items   []string // upper case: MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE RECENT HIGHESTMODSEQ ...
}

// AppendArgs: APPEND mailbox [flags] [date] literal, repeated for
// MULTIAPPEND (RFC 3502).
type AppendArgs struct {
	Mailbox  string
	Messages []AppendMessage
}

// AppendMessage is one message of an APPEND.
type AppendMessage struct {
	Flags []string // as sent, e.g. `\Seen`, `$Forwarded`
	Date  time.Time
	// HasDate is false when no date-time was given.
	HasDate bool
	// Binary is true for a literal8 ~{n} (RFC 3516).
	Binary bool
	// UTF8 is true for the UTF8 (~{n}) form of RFC 6855 section 4 (Binary
	// is then true as well). Only valid after ENABLE UTF8=ACCEPT.
	UTF8 bool
	// Data holds the message. The caller must Close it (see Close).
	Data *Literal
	// Catenate holds the parts of the CATENATE form (RFC 4469), which
	// build the message from literals and IMAP URLs; Data is then nil.
	Catenate []CatPart
}

// ReplaceArgs: REPLACE seq-number mailbox append-message (RFC 8508).
type ReplaceArgs struct {
	Number  uint32 // sequence number or UID; 0 for "*"
	Mailbox string
	Message AppendMessage
}

// FetchArgs: FETCH sequence-set items [(modifiers)].
type FetchArgs struct {
	Set   SeqSet
	Items []FetchItem // macros (ALL, FAST, FULL) are expanded
	// ChangedSince is the CHANGEDSINCE modifier (RFC 7162); 0 when absent.
	ChangedSince uint64
	// Vanished is the VANISHED modifier (RFC 7162 section 3.2.6).
	Vanished bool
	// Partial is the PARTIAL modifier of UID FETCH (RFC 9394 section
	// 3.3); nil when absent.
	Partial *PartialRange
}

// PartialRange is a partial-range of RFC 9394: positions First..Last in
// a result, counted from 1 at the start, or, when both are negative,
// from -1 at the end. First <= Last in absolute value.
type PartialRange struct {
	First, Last int64
}

// FetchItem is one fetch attribute.
type FetchItem struct {
	// Name is upper case: FLAGS, INTERNALDATE, RFC822.SIZE, ENVELOPE, BODY,
	// BODYSTRUCTURE, UID, RFC822, RFC822.HEADER, RFC822.TEXT, MODSEQ,
	// BINARY, BINARY.PEEK, BINARY.SIZE, BODY.PEEK, SAVEDATE, EMAILID,
	// THREADID, PREVIEW. BODY with Section set is BODY[...].
	Name string
	// Section is set for BODY[...], BODY.PEEK[...], BINARY[...],
	// BINARY.PEEK[...] and BINARY.SIZE[...].
	Section *Section
	// Partial is set for <offset.count>.
	Partial *Partial
	// Lazy is PREVIEW (LAZY) (RFC 8970 section 4.1).
	Lazy bool
}

// Section is a body section specification. An empty Section is BODY[] (or
// BINARY[]): the whole message.
type Section struct {
	Part []int // part numbers, 1-based; empty for the whole message
	// Specifier is "", "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT",
	// "TEXT" or "MIME".
	Specifier string
	Fields    []string // for HEADER.FIELDS and HEADER.FIELDS.NOT, as sent
}

// Partial is <offset.count>.
type Partial struct {
	Offset, Count uint32
}

// StoreArgs: STORE sequence-set [(UNCHANGEDSINCE n)] (+|-)FLAGS[.SILENT] flags.
type StoreArgs struct {
	Set SeqSet
	// Op is '+', '-' or 0 for replace.
	Op     byte
	Silent bool
	Flags  []string
	// UnchangedSince is the RFC 7162 modifier; HasUnchangedSince tells 0
	// from absent.
	UnchangedSince    uint64
	HasUnchangedSince bool
}

// CopyArgs: COPY and MOVE sequence-set mailbox.
type CopyArgs struct {
	Set     SeqSet
	Mailbox string
}

// ExpungeArgs: UID EXPUNGE sequence-set (RFC 4315).
type ExpungeArgs struct {
	Set SeqSet
}

// SearchArgs: SEARCH [RETURN (opts)] [CHARSET c] criteria.
type SearchArgs struct {
	// Return holds the ESEARCH return options (RFC 4731, RFC 5182), upper
	// case: MIN MAX ALL COUNT SAVE, and RELEVANCY (RFC 6203). HasReturn
	// is true when RETURN was given, even as "RETURN ()".
	Return    []string
	HasReturn bool
	// Partial is the PARTIAL return option (RFC 9394); Return then
	// holds "PARTIAL" too.
	Partial *PartialRange
	Charset string // upper case; "" when absent
	// Criteria is the list of search keys; the message must match all.
	Criteria []SearchKey
}

// SearchKey is one search key. Name is the upper-case key name:
//
//	ALL ANSWERED DELETED DRAFT FLAGGED NEW OLD RECENT SEEN UNANSWERED
//	UNDELETED UNDRAFT UNFLAGGED UNSEEN            (no argument)
//	SAVEDATESUPPORTED                             (no argument; RFC 8514)
//	BCC BODY CC FROM SUBJECT TEXT TO              (String)
//	KEYWORD UNKEYWORD                             (String: the flag)
//	HEADER                                        (Field, String)
//	BEFORE ON SINCE SENTBEFORE SENTON SENTSINCE   (Date)
//	SAVEDBEFORE SAVEDON SAVEDSINCE                (Date; RFC 8514)
//	LARGER SMALLER OLDER YOUNGER                  (Number)
//	MODSEQ                                        (Number; entry ignored)
//	EMAILID THREADID                              (String: the objectid; RFC 8474)
//	UID                                           (Set)
//	SEQSET                                        (Set: a bare sequence set)
//	NOT                                           (Children[0])
//	FUZZY                                         (Children[0]; RFC 6203)
//	OR                                            (Children[0], Children[1])
//	AND                                           (Children: a parenthesized list)
//
// Dates are midnight UTC of the given day; the session applies its time
// zone (RFC 9051 section 6.4.4 disregards time and timezone).
type SearchKey struct {
	Name     string
	String   string
	Field    string
	Date     time.Time
	Number   uint64
	Set      SeqSet
	Children []SearchKey
}
