// Package store defines postfach's mail store: accounts, mailboxes and
// messages, independent of any protocol and of any storage engine.
//
// Invariants every backend keeps (the conformance suite in storetest checks
// them):
//   - The store speaks UIDs only. Message sequence numbers are a session
//     detail of IMAP and never appear here.
//   - Within one UIDVALIDITY a UID is never reused, and UIDs are assigned in
//     ascending order of arrival.
//   - Every change to a mailbox (append, flag change, expunge, copy, move)
//     takes a new MODSEQ, larger than any MODSEQ the mailbox had before; all
//     changes made by one call share that MODSEQ. Expunged UIDs leave a
//     tombstone carrying the MODSEQ of their expunge (RFC 7162 QRESYNC needs
//     them).
//   - A message body is an immutable blob. A call that stores a message
//     returns only after the blob and the row describing it are durable
//     (fsync); a crash at any instant leaves either the whole message or
//     nothing visible.
//   - Every Mail method is confined to one account: a MailboxID of another
//     account behaves as if it did not exist.
//   - After a change commits, the backend publishes a notify.Event, so that
//     sessions of the account (IDLE, NOOP, POP3) learn of it; sessions then
//     read what changed through Mail.Changes.
//   - No method writes protocol syntax.
package store

import (
	"context"
	"errors"
	"io"
	"time"

	"postfach/internal/mime"
)

// Errors returned by stores. Backends wrap them; test with errors.Is.
var (
	ErrNotFound    = errors.New("store: not found")
	ErrExists      = errors.New("store: already exists")
	ErrInvalidName = errors.New("store: invalid name")
	ErrNotAllowed  = errors.New("store: operation not allowed")
	ErrOverQuota   = errors.New("store: over quota")
)

type (
	AccountID int64
	MailboxID int64
	UID       uint32
	ModSeq    uint64
)

// Flags is the set of IMAP system flags a message stores. \Recent is not
// stored: it is per-session state (see Mail.ClaimRecent).
type Flags uint8

const (
	FlagSeen Flags = 1 << iota
	FlagAnswered
	FlagFlagged
	FlagDeleted
	FlagDraft
)

// Domain is a mail domain the server is authoritative for.
type Domain struct {
	Name    string
	Created time.Time
}

// Account is one user: one address, one set of mailboxes.
type Account struct {
	ID           AccountID
	Address      string // lower case local@domain
	Domain       string
	PasswordHash string // PHC string (argon2id); "" means login is disabled
	Created      time.Time
}

// Mailbox describes one mailbox of an account.
type Mailbox struct {
	ID            MailboxID
	Account       AccountID
	Name          string // UTF-8, "/" as hierarchy delimiter, "INBOX" canonical
	UIDValidity   uint32
	UIDNext       UID
	HighestModSeq ModSeq
	// SpecialUse holds RFC 6154 attributes such as `\Sent`.
	SpecialUse []string
	Subscribed bool
	Created    time.Time
}

// MailboxStatus holds the counters STATUS reports.
type MailboxStatus struct {
	Messages      uint32
	Recent        uint32 // messages not yet claimed by any session (ClaimRecent)
	Unseen        uint32
	Deleted       uint32
	Size          int64 // sum of message sizes
	UIDNext       UID
	UIDValidity   uint32
	HighestModSeq ModSeq
}

// Snapshot is a consistent view of a mailbox, read in one transaction: a
// session that selects a mailbox starts from it and then follows Changes
// from Mailbox.HighestModSeq.
type Snapshot struct {
	Mailbox  Mailbox
	UIDs     []UID    // every message, ascending
	Keywords []string // keywords in use in the mailbox, sorted
	// FirstUnseen is the lowest UID without \Seen, or 0.
	FirstUnseen UID
	// Recent is the number of messages not yet claimed by any session.
	Recent uint32
}

// Message is a message's metadata. The body is reached through
// Mail.OpenBody.
type Message struct {
	UID          UID
	ModSeq       ModSeq
	Flags        Flags
	Keywords     []string // sorted, as stored (case preserved)
	InternalDate time.Time
	SaveDate     time.Time
	Size         int64 // octets of the stored (CRLF) message
	// Blob identifies the body for Mail.OpenBody; opaque to callers.
	Blob string
	// Part is the parsed MIME tree, set only when FetchOptions.Structure is
	// true.
	Part *mime.Part
}

// FetchOptions select what Mail.Messages loads.
type FetchOptions struct {
	// Structure loads Message.Part (envelope, body structure, offsets).
	Structure bool
}

// NewMessage is a message to append.
type NewMessage struct {
	Flags        Flags
	Keywords     []string
	InternalDate time.Time // zero means now
	// Body is the raw message. Bare LF line endings are stored as CRLF, so
	// that sizes and offsets are those every protocol sends.
	Body io.Reader
}

// AppendResult tells where appended messages went (UIDPLUS APPENDUID).
type AppendResult struct {
	UIDValidity uint32
	UIDs        []UID
}

// CopyResult tells where copied or moved messages went (UIDPLUS COPYUID).
// SourceUIDs[i] became DestUIDs[i]; both ascend.
type CopyResult struct {
	UIDValidity uint32
	SourceUIDs  []UID
	DestUIDs    []UID
}

// FlagOp says how a FlagUpdate applies.
type FlagOp int

const (
	FlagsReplace FlagOp = iota
	FlagsAdd
	FlagsRemove
)

// FlagUpdate is a STORE.
type FlagUpdate struct {
	Op       FlagOp
	Flags    Flags
	Keywords []string
	// UnchangedSince, when non-zero, applies the update only to messages
	// whose MODSEQ is at most this value (RFC 7162 section 3.1.3).
	UnchangedSince ModSeq
}

// FlagResult reports one message's flags after a FlagUpdate.
type FlagResult struct {
	UID      UID
	Flags    Flags
	Keywords []string
	ModSeq   ModSeq
	// Changed is false when the update left the message as it was.
	Changed bool
}

// StoreResult is the outcome of Mail.StoreFlags.
type StoreResult struct {
	// Messages lists every existing message of the set, ascending, with its
	// flags after the update.
	Messages []FlagResult
	// Modified lists messages skipped by UnchangedSince.
	Modified []UID
}

// ChangeSet is what changed in a mailbox after some MODSEQ.
type ChangeSet struct {
	HighestModSeq ModSeq
	// Changed holds messages whose MODSEQ is greater than the one asked
	// for (new ones and ones whose flags changed), ascending by UID. Part is
	// not loaded.
	Changed []Message
	// Expunged holds UIDs expunged after that MODSEQ, ascending.
	Expunged []UID
}

// SortField is a SORT criterion (RFC 5256 section 3, RFC 5957).
type SortField uint8

const (
	SortArrival     SortField = iota + 1 // internal date
	SortCc                               // addr-mailbox of the first Cc address
	SortDate                             // Date field, else internal date
	SortFrom                             // addr-mailbox of the first From address
	SortSize                             // RFC822.SIZE
	SortSubject                          // base subject
	SortTo                               // addr-mailbox of the first To address
	SortDisplayFrom                      // display name of the first From address, else its addr-spec
	SortDisplayTo                        // same for To
)

// SortKey is one criterion with its REVERSE modifier.
type SortKey struct {
	Field   SortField
	Reverse bool
}

// ThreadInfo is what THREAD needs of one message. Strings compared by
// threading are as RFC 5256 compares them: BaseSubject is upper-cased in
// ASCII (i;ascii-casemap), message IDs are kept as written, without the
// angle brackets.
type ThreadInfo struct {
	UID         UID
	MessageID   string
	References  []string // References, or the In-Reply-To ID; oldest first
	BaseSubject string
	Reply       bool      // the subject had "Re:", "Fwd:" and the like
	Date        time.Time // sent date, else internal date (UTC)
}

// ThreadKeys is what THREAD needs of every message of a mailbox (RFC
// 5256), in columns indexed alike, ascending by UID. Message IDs and base
// subjects are numbered, equal strings alike (as ThreadInfo compares
// them), 0 meaning none; the numbers are dense. A ThreadKeys may be shared
// by its callers: it is read-only.
type ThreadKeys struct {
	UIDs     []UID
	Dates    []int64  // sent date, else internal date, in Unix seconds
	IDs      []uint32 // Message-ID
	Subjects []uint32 // base subject
	Reply    []bool   // the subject had "Re:", "Fwd:" and the like
	// Refs holds the references of every message (References, or the
	// In-Reply-To ID; oldest first), one after the other; RefEnds[i] is
	// where message i's end. See References.
	Refs    []uint32
	RefEnds []uint32
}

// References returns the references of message i.
func (k *ThreadKeys) References(i int) []uint32 {
	start := uint32(0)
	if i > 0 {
		start = k.RefEnds[i-1]
	}
	return k.Refs[start:k.RefEnds[i]:k.RefEnds[i]]
}

// MetadataEntry is one annotation (RFC 5464). Name is lower case and
// starts with "/private/" or "/shared/".
type MetadataEntry struct {
	Name  string
	Value []byte
}

// MaxMetadataEntries bounds the annotations of one mailbox, or of the
// account's server annotations.
const MaxMetadataEntries = 256

// ErrTooMany: a limit on the number of items was reached.
var ErrTooMany = errors.New("store: too many entries")

// Quota is an account's limits; zero means unlimited.
type Quota struct {
	StorageBytes int64 // sum of message sizes (RFC 9208 STORAGE, in bytes)
	Messages     int64 // number of messages (RFC 9208 MESSAGE)
}

// QuotaUsage is an account's limits and its usage.
type QuotaUsage struct {
	Quota
	UsedBytes    int64
	UsedMessages int64
}

// CreateOptions tune CreateMailbox.
type CreateOptions struct {
	SpecialUse []string
}

// Body is a message body opened for reading.
type Body interface {
	io.ReaderAt
	io.Closer
	Size() int64
}

// Store is a whole mail store: domains, accounts and, through Mail, each
// account's mail.
type Store interface {
	AddDomain(ctx context.Context, name string) (Domain, error)
	// RemoveDomain fails with ErrNotAllowed while accounts exist in it.
	RemoveDomain(ctx context.Context, name string) error
	Domains(ctx context.Context) ([]Domain, error)

	// AddAccount creates an account in an existing domain, with INBOX and
	// the special-use mailboxes Drafts, Sent, Junk, Trash and Archive.
	AddAccount(ctx context.Context, address, passwordHash string) (Account, error)
	RemoveAccount(ctx context.Context, address string) error
	SetPasswordHash(ctx context.Context, address, hash string) error
	// SetQuota sets an account's limits (RFC 9208 STORAGE and MESSAGE);
	// zero fields mean unlimited. Appends, copies and deliveries that
	// would exceed them fail with ErrOverQuota.
	SetQuota(ctx context.Context, address string, q Quota) error
	// Accounts lists accounts, of one domain or (domain "") of all.
	Accounts(ctx context.Context, domain string) ([]Account, error)
	AccountByAddress(ctx context.Context, address string) (Account, error)

	// Mail gives access to one account's mailboxes. It does no I/O.
	Mail(id AccountID) Mail

	Close() error
}

// Mail is one account's mail. Every method is confined to that account.
type Mail interface {
	Mailboxes(ctx context.Context) ([]Mailbox, error)
	// Mailbox finds a mailbox by name; INBOX is matched case-insensitively.
	Mailbox(ctx context.Context, name string) (Mailbox, error)
	MailboxByID(ctx context.Context, id MailboxID) (Mailbox, error)
	CreateMailbox(ctx context.Context, name string, opts CreateOptions) (Mailbox, error)
	// DeleteMailbox removes a mailbox and its messages. Inferior names stay.
	// INBOX cannot be deleted (ErrNotAllowed).
	DeleteMailbox(ctx context.Context, name string) error
	// RenameMailbox renames a mailbox and its inferiors, keeping their
	// UIDVALIDITY. Renaming INBOX moves its messages to the new name and
	// leaves an empty INBOX (RFC 9051 section 6.3.6).
	RenameMailbox(ctx context.Context, from, to string) error
	// Subscribe adds or removes a subscription; the name need not exist.
	Subscribe(ctx context.Context, name string, subscribed bool) error
	Subscriptions(ctx context.Context) ([]string, error)
	Status(ctx context.Context, mbox MailboxID) (MailboxStatus, error)
	// Quota reports the account's limits and what it uses, over all its
	// mailboxes (RFC 9208: one quota root per account).
	Quota(ctx context.Context) (QuotaUsage, error)
	// GetMetadata returns the annotations (RFC 5464) of a mailbox, or of
	// the account when mbox is 0, whose names are one of names or, with
	// depth 1, a direct child of one, or with depth -1 any descendant;
	// sorted by name.
	GetMetadata(ctx context.Context, mbox MailboxID, names []string, depth int) ([]MetadataEntry, error)
	// SetMetadata sets annotations atomically; a nil Value removes one.
	// More than MaxMetadataEntries per mailbox (or account) fail with
	// ErrTooMany and change nothing.
	SetMetadata(ctx context.Context, mbox MailboxID, entries []MetadataEntry) error

	Snapshot(ctx context.Context, mbox MailboxID) (Snapshot, error)
	// ClaimRecent makes this caller the one session that sees messages
	// that arrived since the last claim as \Recent (RFC 3501 section
	// 2.3.2) and returns their UIDs.
	ClaimRecent(ctx context.Context, mbox MailboxID) ([]UID, error)
	// Changes reports what changed after since.
	Changes(ctx context.Context, mbox MailboxID, since ModSeq) (ChangeSet, error)

	// Append stores messages atomically: all of them or none (MULTIAPPEND,
	// RFC 3502).
	Append(ctx context.Context, mbox MailboxID, msgs []NewMessage) (AppendResult, error)
	// Messages returns the messages of uids that exist, ascending.
	Messages(ctx context.Context, mbox MailboxID, uids UIDSet, opts FetchOptions) ([]Message, error)
	OpenBody(ctx context.Context, m *Message) (Body, error)
	StoreFlags(ctx context.Context, mbox MailboxID, uids UIDSet, upd FlagUpdate) (StoreResult, error)
	Copy(ctx context.Context, from MailboxID, uids UIDSet, to MailboxID) (CopyResult, error)
	// Move copies and then expunges the source messages in one transaction
	// (RFC 6851).
	Move(ctx context.Context, from MailboxID, uids UIDSet, to MailboxID) (CopyResult, error)
	// Expunge removes the messages flagged \Deleted, limited to uids when
	// uids is not nil, and returns their UIDs ascending.
	Expunge(ctx context.Context, mbox MailboxID, uids UIDSet) ([]UID, error)
	// Search returns the UIDs of messages matching c, ascending.
	Search(ctx context.Context, mbox MailboxID, c *SearchCriteria) ([]UID, error)
	// Sort returns every message's UID ordered by keys (RFC 5256 SORT,
	// RFC 5957 DISPLAY keys); ties keep ascending UID order.
	Sort(ctx context.Context, mbox MailboxID, keys []SortKey) ([]UID, error)
	// ThreadInfo returns what threading needs of every message,
	// ascending by UID (RFC 5256 THREAD).
	ThreadInfo(ctx context.Context, mbox MailboxID) ([]ThreadInfo, error)
	// ThreadKeys returns the same as ThreadInfo, numbered for threading
	// a whole mailbox fast.
	ThreadKeys(ctx context.Context, mbox MailboxID) (*ThreadKeys, error)

	// POP3 (RFC 1939) sees INBOX as a maildrop; see POP3Maildrop.
	//
	// POP3Maildrop reads INBOX as a POP3 session sees it at login: the
	// messages not hidden from POP3, ascending by UID, with the sizes
	// RETR sends. It is one consistent snapshot.
	POP3Maildrop(ctx context.Context) (POP3Maildrop, error)
	// POP3Update applies what a POP3 session's UPDATE state commits (RFC
	// 1939 section 6), in one transaction: all of it or none. UIDs that
	// no longer exist (expunged over IMAP meanwhile) are skipped. Sessions
	// of the account learn of the change like of any other (notify).
	POP3Update(ctx context.Context, mbox MailboxID, upd POP3Update) (POP3UpdateResult, error)
	// SetPOP3Policy sets the account's own deletion policy; "" returns
	// the account to the server's.
	SetPOP3Policy(ctx context.Context, p POP3Policy) error
}

// POP3Policy says what a message deleted over POP3 (DELE, then QUIT)
// becomes. IMAP serves the same INBOX, so the choice is the operator's or
// the account's, not the protocol's.
type POP3Policy string

const (
	// POP3Expunge removes the message, as IMAP EXPUNGE does: IMAP
	// sessions see it expunged.
	POP3Expunge POP3Policy = "expunge"
	// POP3Trash moves the message to the account's Trash mailbox (the
	// \Trash special-use mailbox, created if there is none).
	POP3Trash POP3Policy = "trash"
	// POP3Hide keeps the message in INBOX for IMAP, unchanged, and hides
	// it from every later POP3 session.
	POP3Hide POP3Policy = "flag"
)

// Valid reports whether p is one of the policies.
func (p POP3Policy) Valid() bool {
	return p == POP3Expunge || p == POP3Trash || p == POP3Hide
}

// POP3Message is one message of a maildrop.
type POP3Message struct {
	UID UID
	// Size is the octet count RETR sends, byte-stuffing and the final
	// "." line not counted: the stored (CRLF) message, plus the CRLF that
	// ends its last line when the message does not end with one (RFC
	// 1939 section 11 asks for the exact size).
	Size int64
	// Blob identifies the body for Mail.OpenBody, as Message.Blob does.
	Blob string
}

// POP3Maildrop is INBOX as a POP3 session sees it.
type POP3Maildrop struct {
	Mailbox  Mailbox
	Messages []POP3Message
	// Policy is the account's own deletion policy; "" means the server's.
	Policy POP3Policy
}

// POP3Update is what the UPDATE state of a POP3 session applies.
type POP3Update struct {
	// Delete lists the messages marked deleted (DELE); Policy says what
	// becomes of them.
	Delete []UID
	Policy POP3Policy
	// Seen lists messages to flag \Seen (those the session retrieved,
	// when the operator wants IMAP to see them read). A message that
	// Delete removes from INBOX is left as it is.
	Seen []UID
}

// POP3UpdateResult tells what POP3Update did.
type POP3UpdateResult struct {
	// Deleted lists the UIDs the policy was applied to, ascending; UIDs
	// already gone are not in it.
	Deleted []UID
	// Moved says where POP3Trash put them.
	Moved CopyResult
}

// SearchCriteria is a conjunction: a message matches when every condition
// that is set holds. Protocol layers translate their own syntax into it
// (IMAP turns sequence numbers, \Recent, NEW and OLD into UID sets first).
type SearchCriteria struct {
	UIDs []UIDSet // the UID is in each set

	// Dates compare the calendar date in the time's own zone, ignoring the
	// time of day (RFC 9051 section 6.4.4). A zero time is unset.
	Since, Before         time.Time // internal date >= Since, < Before
	SentSince, SentBefore time.Time // Date: header
	// SavedSince and SavedBefore compare the calendar date, in UTC, of
	// the save date (RFC 8514 SAVEDSINCE, SAVEDBEFORE).
	SavedSince, SavedBefore time.Time
	// Younger and Older compare the internal date exactly (RFC 5032 WITHIN):
	// internal date > Younger, < Older.
	Younger, Older time.Time

	Header []HeaderMatch // case-insensitive substring of a header field
	Body   []string      // case-insensitive substring of the decoded body
	Text   []string      // header or body
	// Fuzzy holds RFC 6203 FUZZY text keys: approximate matches, which
	// a backend may also rank (RelevancySearcher).
	Fuzzy []FuzzyMatch

	Flags       Flags // all set
	NotFlags    Flags // all clear
	Keywords    []string
	NotKeywords []string

	Larger  []int64 // size > n
	Smaller []int64 // size < n

	ModSeq ModSeq // MODSEQ >= n (RFC 7162)

	Not []SearchCriteria
	Or  [][2]SearchCriteria
}

// HeaderMatch matches a header field (name case-insensitive) whose decoded
// value contains Value, case-insensitively. An empty Value matches any
// message that has the field.
type HeaderMatch struct {
	Field string
	Value string
}

// FuzzyField says what text a FuzzyMatch looks at.
type FuzzyField uint8

const (
	FuzzyBody   FuzzyField = iota + 1 // the decoded body text (BODY)
	FuzzyText                         // header, body and attachment file names (TEXT)
	FuzzyHeader                       // the header field named Field (SUBJECT, FROM, HEADER ...)
)

// FuzzyMatch is an RFC 6203 FUZZY text key. What matches approximately
// is defined once, for every backend, by package match (FuzzyWords): a
// message matches when each word of Value of three or more letters has
// at least half of its three-letter pieces in the text; a Value without
// such a word is a plain substring search.
type FuzzyMatch struct {
	In    FuzzyField
	Field string // the header field, for FuzzyHeader
	Value string
}

// RelevancySearcher is implemented by stores that rank FUZZY matches
// (RFC 6203 section 4).
type RelevancySearcher interface {
	// SearchRelevancy is Search that also scores each UID: relevancy[i]
	// is the score of uids[i], from 1 to 100, the best match of the
	// search 100. A message that matched through other keys than the
	// fuzzy ones scores lowest; when nothing scores (no fuzzy key, say),
	// every message has 100.
	SearchRelevancy(ctx context.Context, mbox MailboxID, c *SearchCriteria) (uids []UID, relevancy []uint8, err error)
}

// SharedAppender is implemented by stores that can store one message in
// mailboxes of several accounts at once (local delivery of a message
// with many recipients, LMTP): the body is written, made durable and
// parsed once, and every copy refers to it, as copies made by Copy do.
// It is not confined to one account: only local delivery, which chose
// the accounts, calls it.
type SharedAppender interface {
	// AppendShared stores msg in the mailbox of each target, in one
	// transaction, and returns one outcome per target, in order. Each
	// target is checked on its own, as Mail.Append checks it: a mailbox
	// that is not there (or not the account's) fails that target with
	// ErrNotFound, an account whose quota msg would exceed fails it with
	// ErrOverQuota (an account named by several targets is charged
	// msg's size for each), and the other targets are stored all the
	// same. A target listed twice gets two messages. A failure of the
	// whole (the body cannot be read, the commit fails) is every
	// outcome's error. An outcome without error is durable, as a
	// successful Append is, and its account's sessions are told.
	AppendShared(ctx context.Context, targets []AppendTarget, msg NewMessage) []AppendOutcome
}

// AppendTarget is one mailbox a shared append stores into.
type AppendTarget struct {
	Account AccountID
	Mailbox MailboxID
}

// AppendOutcome is what a shared append did for one target.
type AppendOutcome struct {
	// Err is nil when the message is stored, under UID.
	Err         error
	UIDValidity uint32
	UID         UID
}

// Previewer is implemented by stores that keep RFC 8970 previews.
type Previewer interface {
	// Previews returns the preview of each message of uids that exists,
	// ascending by UID: at most 200 characters of its first text part,
	// "" when it has none. With lazy set, a preview that is not ready
	// (not computed yet for a message stored before previews existed)
	// has Ready false rather than being computed now.
	Previews(ctx context.Context, mbox MailboxID, uids UIDSet, lazy bool) ([]Preview, error)
}

// Preview is one message's preview.
type Preview struct {
	UID   UID
	Text  string
	Ready bool
}

// Credentials: what the auth layer keeps beside an account's password
// hash. A backend that implements Credentials (the SQLite store does)
// gives postfach SCRAM, app passwords and two-factor login; internal/auth
// finds it by a type assertion on the store it is given.
//
// Every row belongs to an account and goes when the account goes. What is
// stored is never a secret a client sends: SCRAM keys, hashes of app
// passwords and of recovery codes. The TOTP secret is the exception
// (RFC 6238 needs it to compute codes); it is as sensitive as a password.
type Credentials interface {
	// CredentialSecret returns the store's random secret of that name
	// (32 octets), created on first use and the same ever after, in every
	// process that opens the store.
	CredentialSecret(ctx context.Context, name string) ([]byte, error)

	// SCRAMKeys returns the SCRAM-SHA-256 keys of the account's password,
	// or ErrNotFound when there are none or they were made for another
	// password hash than the account has now (the password changed).
	SCRAMKeys(ctx context.Context, account AccountID) (SCRAMKeys, error)
	// SetSCRAMKeys stores the keys of the password whose hash is
	// passwordHash. They count only while the account has that hash.
	SetSCRAMKeys(ctx context.Context, account AccountID, passwordHash string, keys SCRAMKeys) error

	// AddAppPassword stores a new app password (ID, Created and LastUsed
	// are set by the store) and returns it; ErrExists when the account has
	// one of that name.
	AddAppPassword(ctx context.Context, ap AppPassword) (AppPassword, error)
	// AppPasswords lists an account's app passwords by name.
	AppPasswords(ctx context.Context, account AccountID) ([]AppPassword, error)
	// AppPasswordByHash finds an app password by its hash, of any
	// account; ErrNotFound when none has it.
	AppPasswordByHash(ctx context.Context, hash []byte) (AppPassword, error)
	// AppPasswordByID finds an app password; ErrNotFound once revoked.
	AppPasswordByID(ctx context.Context, id int64) (AppPassword, error)
	// RevokeAppPassword deletes an app password by name; ErrNotFound when
	// there is none.
	RevokeAppPassword(ctx context.Context, account AccountID, name string) error
	// TouchAppPassword records a use of an app password.
	TouchAppPassword(ctx context.Context, id int64, at time.Time) error

	// TOTP returns the account's two-factor login, ErrNotFound when off.
	TOTP(ctx context.Context, account AccountID) (TOTP, error)
	// EnableTOTP turns two-factor login on (or re-enrolls it), replacing
	// any earlier secret and recovery codes.
	EnableTOTP(ctx context.Context, account AccountID, t TOTP, recoveryCodeHashes [][]byte) error
	// DisableTOTP turns it off and forgets the secret and recovery codes;
	// ErrNotFound when it was off.
	DisableTOTP(ctx context.Context, account AccountID) error
	// UseTOTPStep records that the code of a time step was accepted. It
	// fails with ErrNotAllowed unless step is later than every step
	// accepted before, so that each code opens one login (RFC 6238
	// section 5.2).
	UseTOTPStep(ctx context.Context, account AccountID, step int64) error
	// UseRecoveryCode consumes a recovery code by its hash; ErrNotFound
	// when the account has no such unused code.
	UseRecoveryCode(ctx context.Context, account AccountID, hash []byte) error

	// CredentialGeneration is a counter that changes whenever a credential
	// stops being valid: an app password revoked, a password changed, an
	// account removed, two-factor login turned on. A server polls it to
	// learn of revocations made by other processes (the admin commands).
	CredentialGeneration(ctx context.Context) (int64, error)
}

// SCRAMKeys are the SCRAM-SHA-256 keys of one password (RFC 5802 section
// 3): enough to check a client's proof and to prove the server knows them,
// not enough to log in.
type SCRAMKeys struct {
	Salt       []byte
	Iterations int
	StoredKey  []byte
	ServerKey  []byte
}

// IsZero reports whether k holds no keys.
func (k SCRAMKeys) IsZero() bool { return len(k.StoredKey) == 0 }

// AppPassword is a password generated for one mail client, so that the
// account password stays out of devices. Only its hash is stored.
type AppPassword struct {
	ID      int64
	Account AccountID
	Name    string
	// Scope lists the protocols it opens: "imap", "pop3", "smtp".
	Scope []string
	// Hash identifies the password (internal/auth decides how it is made).
	Hash []byte
	// SCRAM holds its SCRAM-SHA-256 keys, made with the account's SCRAM
	// salt; zero when it can only be used with PLAIN and LOGIN.
	SCRAM    SCRAMKeys
	Created  time.Time
	LastUsed time.Time // zero: never used
}

// TOTP is an account's time-based one-time password enrollment (RFC 6238:
// HMAC-SHA-1, 6 digits, 30-second steps, as authenticator apps expect).
type TOTP struct {
	Secret  []byte
	Enabled time.Time
	// LastStep is the latest time step whose code was accepted.
	LastStep int64
	// RecoveryCodes is the number of unused recovery codes (read only).
	RecoveryCodes int
}

// Aliases: addresses that deliver to other addresses (SMTP). A backend
// that implements Aliases (the SQLite store does) gives postfach aliases
// and catch-all addresses; internal/deliver finds it by a type assertion
// on the store it is given.
//
// An alias address is "local@domain" in a domain of the store, or
// "@domain" for the domain's catch-all, which receives mail for every
// address of the domain that is neither an account nor an alias. Its
// targets are addresses: accounts, other aliases, or addresses elsewhere
// (forwarding). Addresses are kept in lower case. AddAlias refuses an
// account's address; should an account be added later under an alias's
// address, the account takes the mail. Aliases go when their domain goes.
type Aliases interface {
	// AddAlias adds targets to the alias of address, creating it when
	// needed, and returns the alias as it now is. ErrNotFound: the domain
	// is not in the store; ErrExists: an account has that address;
	// ErrInvalidName: an address is malformed or a target is the alias
	// itself.
	AddAlias(ctx context.Context, address string, targets []string) (Alias, error)
	// RemoveAlias removes targets from the alias, or the whole alias when
	// targets is empty; an alias left without targets is gone.
	// ErrNotFound: no such alias, or none of the targets is in it.
	RemoveAlias(ctx context.Context, address string, targets []string) error
	// Alias returns the alias of address ("@domain" for a catch-all);
	// ErrNotFound when there is none.
	Alias(ctx context.Context, address string) (Alias, error)
	// AliasList lists aliases, of one domain or (domain "") of all, by
	// address.
	AliasList(ctx context.Context, domain string) ([]Alias, error)
	// AliasesTo lists the aliases that name target among their targets
	// directly: the addresses its account may also send as.
	AliasesTo(ctx context.Context, target string) ([]Alias, error)
}

// Alias is an address that delivers to other addresses.
type Alias struct {
	Address string   // "local@domain", or "@domain" for a catch-all
	Targets []string // sorted
	Created time.Time
}

// IsCatchAll reports whether the alias takes a whole domain's mail.
func (a Alias) IsCatchAll() bool { return len(a.Address) > 0 && a.Address[0] == '@' }
