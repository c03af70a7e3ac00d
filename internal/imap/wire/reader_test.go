package wire

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// newTestReader returns a Reader on in that records continuation requests.
func newTestReader(in string, opts Options) (*Reader, *[]string) {
	conts := &[]string{}
	r := NewReader(bufio.NewReader(strings.NewReader(in)), opts, func(text string) error {
		*conts = append(*conts, text)
		return nil
	})
	return r, conts
}

// ss builds a SeqSet from start/stop pairs.
func ss(pairs ...uint32) SeqSet {
	var s SeqSet
	for i := 0; i+1 < len(pairs); i += 2 {
		s.Ranges = append(s.Ranges, SeqRange{pairs[i], pairs[i+1]})
	}
	return s
}

func pss(pairs ...uint32) *SeqSet { s := ss(pairs...); return &s }

func strp(s string) *string { return &s }

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// dump renders v for failure messages.
func dump(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// checkNext asserts that the reader is in sync: the next command is
// "next NOOP".
func checkNext(t *testing.T, r *Reader) {
	t.Helper()
	cmd, err := r.ReadCommand()
	if err != nil {
		t.Fatalf("next command: %v (%s)", err, dump(err))
	}
	if cmd.Tag != "next" || cmd.Name != "NOOP" {
		t.Fatalf("next command: got %s, want next NOOP", dump(cmd))
	}
	if _, err := r.ReadCommand(); err != io.EOF {
		t.Fatalf("after next command: got %v, want EOF", err)
	}
}

// validCommandTests are well-formed commands and what they parse to.
var validCommandTests = []struct {
	in    string // after "t ", without the final CRLF
	want  Command
	conts int
}{
	// Commands without arguments.
	{in: "CAPABILITY", want: Command{Name: "CAPABILITY"}},
	{in: "noop", want: Command{Name: "NOOP"}},
	{in: "Logout", want: Command{Name: "LOGOUT"}},
	{in: "STARTTLS", want: Command{Name: "STARTTLS"}},
	{in: "NAMESPACE", want: Command{Name: "NAMESPACE"}},
	{in: "CHECK", want: Command{Name: "CHECK"}},
	{in: "CLOSE", want: Command{Name: "CLOSE"}},
	{in: "UNSELECT", want: Command{Name: "UNSELECT"}},
	{in: "EXPUNGE", want: Command{Name: "EXPUNGE"}},
	{in: "IDLE", want: Command{Name: "IDLE"}},
	{in: "UNAUTHENTICATE", want: Command{Name: "UNAUTHENTICATE"}},

	// LOGIN: atoms, quoted strings with escapes, literals.
	{in: "LOGIN bob secret", want: Command{Name: "LOGIN", Args: &LoginArgs{"bob", "secret"}}},
	{in: `LOGIN "bob" "se cret"`, want: Command{Name: "LOGIN", Args: &LoginArgs{"bob", "se cret"}}},
	{in: `LOGIN "" "a\"b\\c"`, want: Command{Name: "LOGIN", Args: &LoginArgs{"", `a"b\c`}}},
	{in: "LOGIN {3}\r\nbob {6}\r\nsec\r\nt", want: Command{Name: "LOGIN", Args: &LoginArgs{"bob", "sec\r\nt"}}, conts: 2},
	{in: "LOGIN {3+}\r\nbob {0+}\r\n", want: Command{Name: "LOGIN", Args: &LoginArgs{"bob", ""}}},
	{in: "LOGIN {0}\r\n x]y", want: Command{Name: "LOGIN", Args: &LoginArgs{"", "x]y"}}, conts: 1},
	{in: "LOGIN \"j\xc3\xb6rg\" \"\x01\tx\"", want: Command{Name: "LOGIN", Args: &LoginArgs{"jörg", "\x01\tx"}}},
	{in: "LOGIN {4+}\r\n\xff\xfe\x01a pw", want: Command{Name: "LOGIN", Args: &LoginArgs{"\xff\xfe\x01a", "pw"}}},

	// AUTHENTICATE with and without SASL-IR (RFC 4959).
	{in: "AUTHENTICATE plain", want: Command{Name: "AUTHENTICATE", Args: &AuthenticateArgs{Mechanism: "PLAIN"}}},
	{in: "AUTHENTICATE PLAIN AGJvYgBzZWNyZXQ=", want: Command{Name: "AUTHENTICATE", Args: &AuthenticateArgs{Mechanism: "PLAIN", Initial: []byte("\x00bob\x00secret"), HasInitial: true}}},
	{in: "AUTHENTICATE EXTERNAL =", want: Command{Name: "AUTHENTICATE", Args: &AuthenticateArgs{Mechanism: "EXTERNAL", Initial: []byte{}, HasInitial: true}}},
	{in: "AUTHENTICATE SCRAM-SHA-256-PLUS", want: Command{Name: "AUTHENTICATE", Args: &AuthenticateArgs{Mechanism: "SCRAM-SHA-256-PLUS"}}},

	{in: "ENABLE condstore UTF8=ACCEPT", want: Command{Name: "ENABLE", Args: &EnableArgs{[]string{"CONDSTORE", "UTF8=ACCEPT"}}}},
	{in: "ENABLE IMAP4rev2", want: Command{Name: "ENABLE", Args: &EnableArgs{[]string{"IMAP4REV2"}}}},

	{in: "ID NIL", want: Command{Name: "ID", Args: &IDArgs{}}},
	{in: "COMPRESS deflate", want: Command{Name: "COMPRESS", Args: &CompressArgs{Mechanism: "DEFLATE"}}},
	{in: "SEARCH RETURN (PARTIAL 1:100 COUNT) ALL", want: Command{Name: "SEARCH", Args: &SearchArgs{Return: []string{"PARTIAL", "COUNT"}, HasReturn: true, Partial: &PartialRange{1, 100}, Criteria: []SearchKey{{Name: "ALL"}}}}},
	{in: "UID SEARCH RETURN (partial -100:-1) UNDELETED", want: Command{Name: "SEARCH", UID: true, Args: &SearchArgs{Return: []string{"PARTIAL"}, HasReturn: true, Partial: &PartialRange{-1, -100}, Criteria: []SearchKey{{Name: "UNDELETED"}}}}},
	{in: "UID FETCH 1:* (FLAGS) (PARTIAL -1:-3 CHANGEDSINCE 5)", want: Command{Name: "FETCH", UID: true, Args: &FetchArgs{Set: SeqSet{Ranges: []SeqRange{{1, 0}}}, Items: []FetchItem{{Name: "FLAGS"}}, ChangedSince: 5, Partial: &PartialRange{-1, -3}}}},
	{in: `GETMETADATA (MAXSIZE 1024 DEPTH infinity) INBOX (/private/comment /shared/comment)`, want: Command{Name: "GETMETADATA", Args: &GetMetadataArgs{Mailbox: "INBOX", Entries: []string{"/private/comment", "/shared/comment"}, MaxSize: 1024, Depth: -1}}},
	{in: `GETMETADATA "" /shared/admin`, want: Command{Name: "GETMETADATA", Args: &GetMetadataArgs{Mailbox: "", Entries: []string{"/shared/admin"}, MaxSize: -1}}},
	{in: `SETMETADATA INBOX (/private/comment "x" /shared/y NIL)`, want: Command{Name: "SETMETADATA", Args: &SetMetadataArgs{Mailbox: "INBOX", Entries: []MetadataValue{{"/private/comment", strp("x")}, {"/shared/y", nil}}}}},
	{in: "NOTIFY NONE", want: Command{Name: "NOTIFY", Args: &NotifyArgs{None: true}}},
	{in: "NOTIFY SET STATUS (selected (MessageNew (uid flags) messageExpunge)) (subtree (Lists inbox) (MessageNew MessageExpunge FlagChange)) (personal NONE)", want: Command{Name: "NOTIFY", Args: &NotifyArgs{Status: true, Groups: []NotifyGroup{
		{Filter: "SELECTED", Events: []string{"MessageNew", "MessageExpunge"}, FetchAtts: []FetchItem{{Name: "UID"}, {Name: "FLAGS"}}},
		{Filter: "SUBTREE", Mailboxes: []string{"Lists", "INBOX"}, Events: []string{"MessageNew", "MessageExpunge", "FlagChange"}},
		{Filter: "PERSONAL"}}}}},
	{in: "NOTIFY SET (mailboxes Sent (MailboxName))", want: Command{Name: "NOTIFY", Args: &NotifyArgs{Groups: []NotifyGroup{{Filter: "MAILBOXES", Mailboxes: []string{"Sent"}, Events: []string{"MailboxName"}}}}}},
	{in: "SORT (REVERSE date subject) UTF-8 ALL", want: Command{Name: "SORT", Args: &SortArgs{Keys: []SortCriterion{{"DATE", true}, {"SUBJECT", false}}, Charset: "UTF-8", Criteria: []SearchKey{{Name: "ALL"}}}}},
	{in: "UID SORT RETURN (MIN COUNT) (DISPLAYFROM) us-ascii UNSEEN SUBJECT x", want: Command{Name: "SORT", UID: true, Args: &SortArgs{Return: []string{"MIN", "COUNT"}, HasReturn: true, Keys: []SortCriterion{{"DISPLAYFROM", false}}, Charset: "US-ASCII", Criteria: []SearchKey{{Name: "UNSEEN"}, {Name: "SUBJECT", String: "x"}}}}},
	{in: "THREAD references UTF-8 ALL", want: Command{Name: "THREAD", Args: &ThreadArgs{Algorithm: "REFERENCES", Charset: "UTF-8", Criteria: []SearchKey{{Name: "ALL"}}}}},
	{in: `UID THREAD ORDEREDSUBJECT "UTF-8" SINCE 1-Feb-2026`, want: Command{Name: "THREAD", UID: true, Args: &ThreadArgs{Algorithm: "ORDEREDSUBJECT", Charset: "UTF-8", Criteria: []SearchKey{{Name: "SINCE", Date: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)}}}}},
	{in: `GETQUOTA ""`, want: Command{Name: "GETQUOTA", Args: &QuotaRootArgs{Root: ""}}},
	{in: "GETQUOTAROOT inbox", want: Command{Name: "GETQUOTAROOT", Args: &MailboxArgs{Mailbox: "INBOX"}}},
	{in: `SETQUOTA "" (storage 512 MESSAGE 100)`, want: Command{Name: "SETQUOTA", Args: &SetQuotaArgs{Root: "", Limits: []QuotaLimit{{"STORAGE", 512}, {"MESSAGE", 100}}}}},
	{in: `SETQUOTA "" ()`, want: Command{Name: "SETQUOTA", Args: &SetQuotaArgs{Root: ""}}},
	{in: "STATUS INBOX (DELETED-STORAGE)", want: Command{Name: "STATUS", Args: &StatusArgs{"INBOX", []string{"DELETED-STORAGE"}}}},
	{in: "ID nil", want: Command{Name: "ID", Args: &IDArgs{}}},
	{in: "ID ()", want: Command{Name: "ID", Args: &IDArgs{Fields: []IDField{}}}},
	{in: `ID ("name" "mutt" "version" NIL)`, want: Command{Name: "ID", Args: &IDArgs{Fields: []IDField{{"name", strp("mutt")}, {"version", nil}}}}},
	{in: "ID (name {4+}\r\nmutt)", want: Command{Name: "ID", Args: &IDArgs{Fields: []IDField{{"name", strp("mutt")}}}}},

	// SELECT and EXAMINE, with RFC 7162 parameters.
	{in: "SELECT INBOX", want: Command{Name: "SELECT", Args: &SelectArgs{Mailbox: "INBOX"}}},
	{in: "select inBox", want: Command{Name: "SELECT", Args: &SelectArgs{Mailbox: "INBOX"}}},
	{in: `SELECT "INBOX/Sub"`, want: Command{Name: "SELECT", Args: &SelectArgs{Mailbox: "INBOX/Sub"}}},
	{in: `EXAMINE "a b" (CONDSTORE)`, want: Command{Name: "EXAMINE", Args: &SelectArgs{Mailbox: "a b", CondStore: true}}},
	{in: "SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))", want: Command{Name: "SELECT", Args: &SelectArgs{Mailbox: "INBOX",
		QResync: &QResyncParams{UIDValidity: 67890007, ModSeq: 20050715194045000, KnownUIDs: pss(41, 41, 43, 211, 214, 541)}}}},
	{in: "SELECT INBOX (QRESYNC (1 2))", want: Command{Name: "SELECT", Args: &SelectArgs{Mailbox: "INBOX", QResync: &QResyncParams{UIDValidity: 1, ModSeq: 2}}}},
	{in: "SELECT INBOX (CONDSTORE QRESYNC (1 2 (1:3 5:7)))", want: Command{Name: "SELECT", Args: &SelectArgs{Mailbox: "INBOX", CondStore: true,
		QResync: &QResyncParams{UIDValidity: 1, ModSeq: 2, SeqMatchSeqs: pss(1, 3), SeqMatchUIDs: pss(5, 7)}}}},
	{in: "SELECT INBOX (QRESYNC (1 2 5:1 (1,2 5,9)))", want: Command{Name: "SELECT", Args: &SelectArgs{Mailbox: "INBOX",
		QResync: &QResyncParams{UIDValidity: 1, ModSeq: 2, KnownUIDs: pss(1, 5), SeqMatchSeqs: pss(1, 1, 2, 2), SeqMatchUIDs: pss(5, 5, 9, 9)}}}},

	// CREATE with RFC 6154 USE.
	{in: "CREATE foo", want: Command{Name: "CREATE", Args: &CreateArgs{Mailbox: "foo"}}},
	{in: `CREATE "Archive" (USE (\Archive))`, want: Command{Name: "CREATE", Args: &CreateArgs{Mailbox: "Archive", SpecialUse: []string{`\Archive`}}}},
	{in: `CREATE x (use (\Drafts \Sent))`, want: Command{Name: "CREATE", Args: &CreateArgs{Mailbox: "x", SpecialUse: []string{`\Drafts`, `\Sent`}}}},
	{in: "CREATE x (USE ())", want: Command{Name: "CREATE", Args: &CreateArgs{Mailbox: "x", SpecialUse: []string{}}}},
	{in: "DELETE &U,BTFw-", want: Command{Name: "DELETE", Args: &MailboxArgs{"&U,BTFw-"}}},
	{in: "SUBSCRIBE inbox", want: Command{Name: "SUBSCRIBE", Args: &MailboxArgs{"INBOX"}}},
	{in: `UNSUBSCRIBE "x y"`, want: Command{Name: "UNSUBSCRIBE", Args: &MailboxArgs{"x y"}}},
	{in: `RENAME a "b c"`, want: Command{Name: "RENAME", Args: &RenameArgs{"a", "b c"}}},
	{in: "RENAME ~peter/mail/&U,BTFw- {3+}\r\nb]c", want: Command{Name: "RENAME", Args: &RenameArgs{"~peter/mail/&U,BTFw-", "b]c"}}},

	// LIST, basic and extended (RFC 5258, RFC 6154, RFC 5819).
	{in: `LIST "" *`, want: Command{Name: "LIST", Args: &ListArgs{Reference: "", Patterns: []string{"*"}}}},
	{in: `LIST "" %`, want: Command{Name: "LIST", Args: &ListArgs{Patterns: []string{"%"}}}},
	{in: `LIST ~/Mail/ foo/%/*]`, want: Command{Name: "LIST", Args: &ListArgs{Reference: "~/Mail/", Patterns: []string{"foo/%/*]"}}}},
	{in: `list inbox ""`, want: Command{Name: "LIST", Args: &ListArgs{Reference: "inbox", Patterns: []string{""}}}},
	{in: `LIST "" ("INBOX" Drafts %)`, want: Command{Name: "LIST", Args: &ListArgs{Extended: true, Patterns: []string{"INBOX", "Drafts", "%"}}}},
	{in: `LIST () "" %`, want: Command{Name: "LIST", Args: &ListArgs{Extended: true, Patterns: []string{"%"}}}},
	{in: `LIST "" % RETURN ()`, want: Command{Name: "LIST", Args: &ListArgs{Extended: true, Patterns: []string{"%"}}}},
	{in: `LIST (SUBSCRIBED) "" "*" RETURN (CHILDREN STATUS (MESSAGES UNSEEN))`, want: Command{Name: "LIST", Args: &ListArgs{Extended: true, Patterns: []string{"*"},
		SelectSubscribed: true, ReturnChildren: true, ReturnStatus: []string{"MESSAGES", "UNSEEN"}}}},
	{in: `LIST (special-use) "" * RETURN (SPECIAL-USE SUBSCRIBED)`, want: Command{Name: "LIST", Args: &ListArgs{Extended: true, Patterns: []string{"*"},
		SelectSpecialUse: true, ReturnSpecialUse: true, ReturnSubscribed: true}}},
	{in: `LIST (REMOTE SUBSCRIBED RECURSIVEMATCH) "" %`, want: Command{Name: "LIST", Args: &ListArgs{Extended: true, Patterns: []string{"%"},
		SelectRemote: true, SelectSubscribed: true, SelectRecursiveMatch: true}}},
	{in: `LIST (REMOTE) "" %`, want: Command{Name: "LIST", Args: &ListArgs{Extended: true, Patterns: []string{"%"}, SelectRemote: true}}},
	{in: "LIST \"\" {1+}\r\n*", want: Command{Name: "LIST", Args: &ListArgs{Patterns: []string{"*"}}}},
	{in: `LSUB "" *`, want: Command{Name: "LSUB", Args: &LsubArgs{"", "*"}}},
	{in: `LSUB "#news." comp.mail.%`, want: Command{Name: "LSUB", Args: &LsubArgs{"#news.", "comp.mail.%"}}},

	{in: "STATUS INBOX (MESSAGES uidnext UIDVALIDITY UNSEEN DELETED SIZE RECENT HIGHESTMODSEQ APPENDLIMIT MAILBOXID)", want: Command{Name: "STATUS", Args: &StatusArgs{"INBOX",
		[]string{"MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "DELETED", "SIZE", "RECENT", "HIGHESTMODSEQ", "APPENDLIMIT", "MAILBOXID"}}}},

	// FETCH.
	{in: "FETCH 1 FLAGS", want: Command{Name: "FETCH", Args: &FetchArgs{Set: ss(1, 1), Items: []FetchItem{{Name: "FLAGS"}}}}},
	{in: "FETCH 1:* ALL", want: Command{Name: "FETCH", Args: &FetchArgs{Set: ss(1, 0), Items: []FetchItem{{Name: "FLAGS"}, {Name: "INTERNALDATE"}, {Name: "RFC822.SIZE"}, {Name: "ENVELOPE"}}}}},
	{in: "FETCH * fast", want: Command{Name: "FETCH", Args: &FetchArgs{Set: ss(0, 0), Items: []FetchItem{{Name: "FLAGS"}, {Name: "INTERNALDATE"}, {Name: "RFC822.SIZE"}}}}},
	{in: "FETCH 2,4:7,9,12:* FULL", want: Command{Name: "FETCH", Args: &FetchArgs{Set: ss(2, 2, 4, 7, 9, 9, 12, 0),
		Items: []FetchItem{{Name: "FLAGS"}, {Name: "INTERNALDATE"}, {Name: "RFC822.SIZE"}, {Name: "ENVELOPE"}, {Name: "BODY"}}}}},
	{in: "FETCH *:4,7:5 UID", want: Command{Name: "FETCH", Args: &FetchArgs{Set: ss(4, 0, 5, 7), Items: []FetchItem{{Name: "UID"}}}}},
	{in: "FETCH $ (UID)", want: Command{Name: "FETCH", Args: &FetchArgs{Set: SeqSet{SearchRes: true}, Items: []FetchItem{{Name: "UID"}}}}},
	{in: "FETCH 4294967295 (flags internaldate rfc822.size envelope body bodystructure uid rfc822 rfc822.header rfc822.text modseq savedate emailid threadid preview)",
		want: Command{Name: "FETCH", Args: &FetchArgs{Set: ss(4294967295, 4294967295), Items: []FetchItem{{Name: "FLAGS"}, {Name: "INTERNALDATE"}, {Name: "RFC822.SIZE"},
			{Name: "ENVELOPE"}, {Name: "BODY"}, {Name: "BODYSTRUCTURE"}, {Name: "UID"}, {Name: "RFC822"}, {Name: "RFC822.HEADER"}, {Name: "RFC822.TEXT"},
			{Name: "MODSEQ"}, {Name: "SAVEDATE"}, {Name: "EMAILID"}, {Name: "THREADID"}, {Name: "PREVIEW"}}}}},
	{in: "FETCH 1 (BODY[] BODY.PEEK[TEXT]<0.2048> body[1.2.3] BODY[1.MIME] BODY[2.HEADER] BODY[3.TEXT]<5.0>)",
		want: Command{Name: "FETCH", Args: &FetchArgs{Set: ss(1, 1), Items: []FetchItem{
			{Name: "BODY", Section: &Section{}},
			{Name: "BODY.PEEK", Section: &Section{Specifier: "TEXT"}, Partial: &Partial{0, 2048}},
			{Name: "BODY", Section: &Section{Part: []int{1, 2, 3}}},
			{Name: "BODY", Section: &Section{Part: []int{1}, Specifier: "MIME"}},
			{Name: "BODY", Section: &Section{Part: []int{2}, Specifier: "HEADER"}},
			{Name: "BODY", Section: &Section{Part: []int{3}, Specifier: "TEXT"}, Partial: &Partial{5, 0}},
		}}}},
	{in: `FETCH 1 BODY.PEEK[HEADER.FIELDS (From To "Message-ID")]<0.100>`, want: Command{Name: "FETCH", Args: &FetchArgs{Set: ss(1, 1), Items: []FetchItem{
		{Name: "BODY.PEEK", Section: &Section{Specifier: "HEADER.FIELDS", Fields: []string{"From", "To", "Message-ID"}}, Partial: &Partial{0, 100}}}}}},
	{in: "FETCH 1 (BODY[1.2.header.fields.not (X-Spam {7+}\r\nSubject)] UID)", want: Command{Name: "FETCH", Args: &FetchArgs{Set: ss(1, 1), Items: []FetchItem{
		{Name: "BODY", Section: &Section{Part: []int{1, 2}, Specifier: "HEADER.FIELDS.NOT", Fields: []string{"X-Spam", "Subject"}}}, {Name: "UID"}}}}},
	{in: "FETCH 1 (BINARY[] BINARY.PEEK[1.2]<10.20> BINARY.SIZE[3] binary.size[])", want: Command{Name: "FETCH", Args: &FetchArgs{Set: ss(1, 1), Items: []FetchItem{
		{Name: "BINARY", Section: &Section{}},
		{Name: "BINARY.PEEK", Section: &Section{Part: []int{1, 2}}, Partial: &Partial{10, 20}},
		{Name: "BINARY.SIZE", Section: &Section{Part: []int{3}}},
		{Name: "BINARY.SIZE", Section: &Section{}}}}}},
	{in: "FETCH 1 (PREVIEW (LAZY) FLAGS)", want: Command{Name: "FETCH", Args: &FetchArgs{Set: ss(1, 1), Items: []FetchItem{{Name: "PREVIEW", Lazy: true}, {Name: "FLAGS"}}}}},
	{in: "FETCH 1 PREVIEW (lazy)", want: Command{Name: "FETCH", Args: &FetchArgs{Set: ss(1, 1), Items: []FetchItem{{Name: "PREVIEW", Lazy: true}}}}},
	{in: "FETCH 1 PREVIEW (CHANGEDSINCE 5)", want: Command{Name: "FETCH", Args: &FetchArgs{Set: ss(1, 1), Items: []FetchItem{{Name: "PREVIEW"}}, ChangedSince: 5}}},
	{in: "FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)", want: Command{Name: "FETCH", Args: &FetchArgs{Set: ss(1, 0), Items: []FetchItem{{Name: "FLAGS"}}, ChangedSince: 12345}}},
	{in: "UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)", want: Command{Name: "FETCH", UID: true, Args: &FetchArgs{Set: ss(1, 0), Items: []FetchItem{{Name: "FLAGS"}}, ChangedSince: 12345, Vanished: true}}},
	{in: "uid fetch 300:100 ALL (vanished changedsince 1)", want: Command{Name: "FETCH", UID: true, Args: &FetchArgs{Set: ss(100, 300),
		Items: []FetchItem{{Name: "FLAGS"}, {Name: "INTERNALDATE"}, {Name: "RFC822.SIZE"}, {Name: "ENVELOPE"}}, ChangedSince: 1, Vanished: true}}},

	// STORE.
	{in: `STORE 1 FLAGS (\Seen)`, want: Command{Name: "STORE", Args: &StoreArgs{Set: ss(1, 1), Flags: []string{`\Seen`}}}},
	{in: `STORE 2:4 +FLAGS.SILENT (\Deleted $Forwarded)`, want: Command{Name: "STORE", Args: &StoreArgs{Set: ss(2, 4), Op: '+', Silent: true, Flags: []string{`\Deleted`, "$Forwarded"}}}},
	{in: `STORE 1 -flags \seen \Flagged`, want: Command{Name: "STORE", Args: &StoreArgs{Set: ss(1, 1), Op: '-', Flags: []string{`\seen`, `\Flagged`}}}},
	{in: `STORE 1 FLAGS ()`, want: Command{Name: "STORE", Args: &StoreArgs{Set: ss(1, 1), Flags: []string{}}}},
	{in: `STORE 1 FLAGS.SILENT foo`, want: Command{Name: "STORE", Args: &StoreArgs{Set: ss(1, 1), Silent: true, Flags: []string{"foo"}}}},
	{in: `STORE $ -FLAGS.SILENT (\Seen)`, want: Command{Name: "STORE", Args: &StoreArgs{Set: SeqSet{SearchRes: true}, Op: '-', Silent: true, Flags: []string{`\Seen`}}}},
	{in: `UID STORE 1:* (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\Deleted)`, want: Command{Name: "STORE", UID: true, Args: &StoreArgs{Set: ss(1, 0), Op: '+', Silent: true,
		Flags: []string{`\Deleted`}, UnchangedSince: 320162338, HasUnchangedSince: true}}},
	{in: `STORE 7 (UNCHANGEDSINCE 0) FLAGS ()`, want: Command{Name: "STORE", Args: &StoreArgs{Set: ss(7, 7), Flags: []string{}, HasUnchangedSince: true}}},

	// COPY, MOVE, UID EXPUNGE.
	{in: "COPY 1:3 Trash", want: Command{Name: "COPY", Args: &CopyArgs{ss(1, 3), "Trash"}}},
	{in: `MOVE $ "Junk"`, want: Command{Name: "MOVE", Args: &CopyArgs{SeqSet{SearchRes: true}, "Junk"}}},
	{in: "UID COPY 4,5 inbox", want: Command{Name: "COPY", UID: true, Args: &CopyArgs{ss(4, 4, 5, 5), "INBOX"}}},
	{in: "UID MOVE 42 {4+}\r\nArch", want: Command{Name: "MOVE", UID: true, Args: &CopyArgs{ss(42, 42), "Arch"}}},
	{in: "UID EXPUNGE 3000:3002", want: Command{Name: "EXPUNGE", UID: true, Args: &ExpungeArgs{ss(3000, 3002)}}},

	// SEARCH.
	{in: "SEARCH ALL", want: Command{Name: "SEARCH", Args: &SearchArgs{Criteria: []SearchKey{{Name: "ALL"}}}}},
	{in: "SEARCH answered deleted draft flagged new old recent seen unanswered undeleted undraft unflagged unseen savedatesupported",
		want: Command{Name: "SEARCH", Args: &SearchArgs{Criteria: []SearchKey{{Name: "ANSWERED"}, {Name: "DELETED"}, {Name: "DRAFT"}, {Name: "FLAGGED"}, {Name: "NEW"},
			{Name: "OLD"}, {Name: "RECENT"}, {Name: "SEEN"}, {Name: "UNANSWERED"}, {Name: "UNDELETED"}, {Name: "UNDRAFT"}, {Name: "UNFLAGGED"}, {Name: "UNSEEN"}, {Name: "SAVEDATESUPPORTED"}}}}},
	{in: `SEARCH BCC a CC "b c" FROM d BODY e SUBJECT "" TEXT f TO g`, want: Command{Name: "SEARCH", Args: &SearchArgs{Criteria: []SearchKey{
		{Name: "BCC", String: "a"}, {Name: "CC", String: "b c"}, {Name: "FROM", String: "d"}, {Name: "BODY", String: "e"}, {Name: "SUBJECT", String: ""},
		{Name: "TEXT", String: "f"}, {Name: "TO", String: "g"}}}}},
	{in: `SEARCH KEYWORD $Junk UNKEYWORD foo HEADER Message-ID "<x@y>"`, want: Command{Name: "SEARCH", Args: &SearchArgs{Criteria: []SearchKey{
		{Name: "KEYWORD", String: "$Junk"}, {Name: "UNKEYWORD", String: "foo"}, {Name: "HEADER", Field: "Message-ID", String: "<x@y>"}}}}},
	{in: `SEARCH BEFORE 1-Feb-1994 ON "02-mar-2000" SINCE 31-Dec-1999 SENTBEFORE 29-Feb-2000 SENTON 1-Jan-2020 SENTSINCE "1-Jan-2020" SAVEDBEFORE 2-Jan-2021 SAVEDON 3-Jan-2021 SAVEDSINCE 4-Jan-2021`,
		want: Command{Name: "SEARCH", Args: &SearchArgs{Criteria: []SearchKey{
			{Name: "BEFORE", Date: day(1994, 2, 1)}, {Name: "ON", Date: day(2000, 3, 2)}, {Name: "SINCE", Date: day(1999, 12, 31)},
			{Name: "SENTBEFORE", Date: day(2000, 2, 29)}, {Name: "SENTON", Date: day(2020, 1, 1)}, {Name: "SENTSINCE", Date: day(2020, 1, 1)},
			{Name: "SAVEDBEFORE", Date: day(2021, 1, 2)}, {Name: "SAVEDON", Date: day(2021, 1, 3)}, {Name: "SAVEDSINCE", Date: day(2021, 1, 4)}}}}},
	{in: "SEARCH LARGER 0 SMALLER 9223372036854775807 OLDER 3600 YOUNGER 1", want: Command{Name: "SEARCH", Args: &SearchArgs{Criteria: []SearchKey{
		{Name: "LARGER", Number: 0}, {Name: "SMALLER", Number: 9223372036854775807}, {Name: "OLDER", Number: 3600}, {Name: "YOUNGER", Number: 1}}}}},
	{in: `SEARCH MODSEQ 0 MODSEQ "/flags/\\draft" all 620162338`, want: Command{Name: "SEARCH", Args: &SearchArgs{Criteria: []SearchKey{
		{Name: "MODSEQ", Number: 0}, {Name: "MODSEQ", Number: 620162338}}}}},
	{in: "SEARCH UID 1:*,5 1,3:4 * $", want: Command{Name: "SEARCH", Args: &SearchArgs{Criteria: []SearchKey{
		{Name: "UID", Set: ss(1, 0, 5, 5)}, {Name: "SEQSET", Set: ss(1, 1, 3, 4)}, {Name: "SEQSET", Set: ss(0, 0)}, {Name: "SEQSET", Set: SeqSet{SearchRes: true}}}}}},
	{in: "SEARCH EMAILID M6d99ac3275bb4e THREADID T-_1", want: Command{Name: "SEARCH", Args: &SearchArgs{Criteria: []SearchKey{
		{Name: "EMAILID", String: "M6d99ac3275bb4e"}, {Name: "THREADID", String: "T-_1"}}}}},
	{in: "SEARCH OR FROM x NOT (SEEN 1:3) NOT NOT DRAFT", want: Command{Name: "SEARCH", Args: &SearchArgs{Criteria: []SearchKey{
		{Name: "OR", Children: []SearchKey{{Name: "FROM", String: "x"}, {Name: "NOT", Children: []SearchKey{{Name: "AND", Children: []SearchKey{{Name: "SEEN"}, {Name: "SEQSET", Set: ss(1, 3)}}}}}}},
		{Name: "NOT", Children: []SearchKey{{Name: "NOT", Children: []SearchKey{{Name: "DRAFT"}}}}}}}}},
	{in: "SEARCH OR (OR $ 1,3000:3021) TEXT x ((SEEN))", want: Command{Name: "SEARCH", Args: &SearchArgs{Criteria: []SearchKey{
		{Name: "OR", Children: []SearchKey{
			{Name: "AND", Children: []SearchKey{{Name: "OR", Children: []SearchKey{{Name: "SEQSET", Set: SeqSet{SearchRes: true}}, {Name: "SEQSET", Set: ss(1, 1, 3000, 3021)}}}}},
			{Name: "TEXT", String: "x"}}},
		{Name: "AND", Children: []SearchKey{{Name: "AND", Children: []SearchKey{{Name: "SEEN"}}}}}}}}},
	{in: "SEARCH CHARSET utf-8 TEXT {6}\r\nXXXXXX", want: Command{Name: "SEARCH", Args: &SearchArgs{Charset: "UTF-8", Criteria: []SearchKey{{Name: "TEXT", String: "XXXXXX"}}}}, conts: 1},
	{in: "SEARCH CHARSET \"us-ascii\" SUBJECT \"caf\xc3\xa9\"", want: Command{Name: "SEARCH", Args: &SearchArgs{Charset: "US-ASCII", Criteria: []SearchKey{{Name: "SUBJECT", String: "café"}}}}},
	{in: "SEARCH RETURN (MIN max ALL COUNT SAVE) UNSEEN", want: Command{Name: "SEARCH", Args: &SearchArgs{Return: []string{"MIN", "MAX", "ALL", "COUNT", "SAVE"}, HasReturn: true,
		Criteria: []SearchKey{{Name: "UNSEEN"}}}}},
	{in: "UID SEARCH RETURN () CHARSET UTF-8 ALL", want: Command{Name: "SEARCH", UID: true, Args: &SearchArgs{Return: []string{}, HasReturn: true, Charset: "UTF-8",
		Criteria: []SearchKey{{Name: "ALL"}}}}},
	{in: "UID SEARCH UID $ SMALLER 4096", want: Command{Name: "SEARCH", UID: true, Args: &SearchArgs{Criteria: []SearchKey{
		{Name: "UID", Set: SeqSet{SearchRes: true}}, {Name: "SMALLER", Number: 4096}}}}},

	// CATENATE (RFC 4469), in APPEND and REPLACE (RFC 8508 section 4.2).
	{in: `APPEND Drafts (\Seen) CATENATE (URL "/Drafts;UIDVALIDITY=385759045/;UID=20/;section=HEADER" TEXT {4}` + "\r\nabcd url {3+}\r\nx y text ~{2+}\r\n\x00\x01)",
		want: Command{Name: "APPEND", Args: &AppendArgs{Mailbox: "Drafts", Messages: []AppendMessage{{Flags: []string{`\Seen`}, Catenate: []CatPart{
			{URL: "/Drafts;UIDVALIDITY=385759045/;UID=20/;section=HEADER"}, {Text: NewLiteral([]byte("abcd"))}, {URL: "x y"},
			{Text: NewLiteral([]byte("\x00\x01")), Binary: true}}}}}}, conts: 1},
	{in: "APPEND x CATENATE (UTF8 (~{2+}\r\nab)) {1+}\r\nz", want: Command{Name: "APPEND", Args: &AppendArgs{Mailbox: "x", Messages: []AppendMessage{
		{Catenate: []CatPart{{Text: NewLiteral([]byte("ab")), Binary: true}}}, {Data: NewLiteral([]byte("z"))}}}}},
	{in: `UID REPLACE 3002 Drafts CATENATE (TEXT {5+}` + "\r\nTo: x" + ` URL "/Drafts/;UID=3002")`, want: Command{Name: "REPLACE", UID: true, Args: &ReplaceArgs{Number: 3002, Mailbox: "Drafts",
		Message: AppendMessage{Catenate: []CatPart{{Text: NewLiteral([]byte("To: x"))}, {URL: "/Drafts/;UID=3002"}}}}}},

	// ESEARCH (RFC 7377).
	{in: `ESEARCH IN (mailboxes "folder1" subtree "folder2") unseen`, want: Command{Name: "ESEARCH", Args: &ESearchArgs{
		Sources: []MailboxFilter{{"MAILBOXES", []string{"folder1"}}, {"SUBTREE", []string{"folder2"}}}, Search: &SearchArgs{Criteria: []SearchKey{{Name: "UNSEEN"}}}}}},
	{in: `ESEARCH IN (Selected inboxes personal subscribed subtree-one (a inbox)) RETURN (MIN COUNT) CHARSET UTF-8 SUBJECT chad`, want: Command{Name: "ESEARCH", Args: &ESearchArgs{
		Sources: []MailboxFilter{{Filter: "SELECTED"}, {Filter: "INBOXES"}, {Filter: "PERSONAL"}, {Filter: "SUBSCRIBED"}, {"SUBTREE-ONE", []string{"a", "INBOX"}}},
		Search:  &SearchArgs{Return: []string{"MIN", "COUNT"}, HasReturn: true, Charset: "UTF-8", Criteria: []SearchKey{{Name: "SUBJECT", String: "chad"}}}}}},
	{in: `ESEARCH FROM "frobozz" 1:100`, want: Command{Name: "ESEARCH", Args: &ESearchArgs{Search: &SearchArgs{Criteria: []SearchKey{
		{Name: "FROM", String: "frobozz"}, {Name: "SEQSET", Set: ss(1, 100)}}}}}},

	// LIST-METADATA (RFC 9590).
	{in: `LIST "" % RETURN (METADATA (/shared/comment "/private/comment"))`, want: Command{Name: "LIST", Args: &ListArgs{Extended: true, Patterns: []string{"%"},
		ReturnMetadata: &ListMetadata{Entries: []string{"/shared/comment", "/private/comment"}, MaxSize: -1}}}},
	{in: `LIST "" * RETURN (CHILDREN METADATA (MAXSIZE 100 DEPTH infinity) /shared/x)`, want: Command{Name: "LIST", Args: &ListArgs{Extended: true, Patterns: []string{"*"},
		ReturnChildren: true, ReturnMetadata: &ListMetadata{Entries: []string{"/shared/x"}, MaxSize: 100, Depth: -1}}}},
	{in: `LIST "" * RETURN (METADATA (/shared/x maxsize 5 depth 1))`, want: Command{Name: "LIST", Args: &ListArgs{Extended: true, Patterns: []string{"*"},
		ReturnMetadata: &ListMetadata{Entries: []string{"/shared/x"}, MaxSize: 5, Depth: 1}}}},

	// Tags may hold any ASTRING-CHAR but "+".
	{in: "NOOP", want: Command{Name: "NOOP"}},
}

func TestReadCommandValid(t *testing.T) {
	for _, tc := range validCommandTests {
		t.Run(tc.in, func(t *testing.T) {
			r, conts := newTestReader("t "+tc.in+"\r\nnext NOOP\r\n", Options{})
			cmd, err := r.ReadCommand()
			if err != nil {
				t.Fatalf("ReadCommand: %v (%s)", err, dump(err))
			}
			want := tc.want
			want.Tag = "t"
			if !reflect.DeepEqual(cmd, &want) {
				t.Errorf("got  %s\nwant %s", dump(cmd), dump(&want))
			}
			checkReencode(t, cmd)
			if len(*conts) != tc.conts {
				t.Errorf("continuations: got %d, want %d", len(*conts), tc.conts)
			}
			checkNext(t, r)
		})
	}
}

func TestReadCommandTags(t *testing.T) {
	for _, tag := range []string{"a", "A001", "x]y", "~1", "$.:-_!#&'", "1"} {
		r, _ := newTestReader(tag+" NOOP\r\n", Options{})
		cmd, err := r.ReadCommand()
		if err != nil || cmd.Tag != tag {
			t.Errorf("tag %q: got %+v, %v", tag, cmd, err)
		}
	}
}

// invalidCommandTests are commands the reader refuses, and how.
var invalidCommandTests = []struct {
	in    string // the whole first line(s), without the final CRLF
	tag   string
	no    bool
	code  string
	conts int
}{
	{in: "t SORT () UTF-8 ALL", tag: "t"},
	{in: "t NOTIFY SET", tag: "t"},
	{in: "t GETMETADATA (DEPTH 2) INBOX /private/x", tag: "t"},
	{in: "t GETMETADATA INBOX", tag: "t"},
	{in: "t SETMETADATA INBOX ()", tag: "t"},
	{in: "t NOTIFY SET (everything (MessageNew))", tag: "t"},
	{in: "t NOTIFY SET (personal (Fireworks))", tag: "t"},
	{in: "t NOTIFY SET (subtree (MessageNew))", tag: "t"},
	{in: "t NOTIFY LATER", tag: "t"},
	{in: "t SEARCH RETURN (PARTIAL 1:10 ALL) ALL", tag: "t"},
	{in: "t SEARCH RETURN (PARTIAL 0:10) ALL", tag: "t"},
	{in: "t SEARCH RETURN (PARTIAL -1:10) ALL", tag: "t"},
	{in: "t FETCH 1 FLAGS (PARTIAL 1:2)", tag: "t"},
	{in: "t SORT (COLOR) UTF-8 ALL", tag: "t"},
	{in: "t SORT (DATE) ALL", tag: "t"},
	{in: "t SORT (REVERSE) UTF-8 ALL", tag: "t"},
	{in: "t SORT RETURN (SAVE) (DATE) UTF-8 ALL", tag: "t"},
	{in: "t THREAD SPAGHETTI UTF-8 ALL", tag: "t"},
	{in: "t THREAD REFERENCES UTF-8", tag: "t"},
	{in: "t SETQUOTA \"\" (STORAGE)", tag: "t"},
	// Tags.
	{in: " NOOP", tag: ""},
	{in: "a+b NOOP", tag: ""},
	{in: "* NOOP", tag: ""},
	{in: "+ NOOP", tag: ""},
	{in: "a{1} NOOP", tag: ""},
	{in: "a\"b NOOP", tag: ""},
	{in: "t", tag: "t"},
	{in: "t ", tag: "t"},
	{in: "\x00", tag: ""},

	// Names and trailing garbage.
	{in: "t FOO", tag: "t"},
	{in: "t BLURDYBLOOP {102856}", tag: "t"},
	{in: "t NOOP x", tag: "t"},
	{in: "t NOOP ", tag: "t"},
	{in: "t  NOOP", tag: "t"},
	{in: "t NOOP\tx", tag: "t"},
	{in: "t NO\x00OP", tag: "t"},
	{in: "t NOOP\r", tag: "t"},
	{in: "t UID", tag: "t"},
	{in: "t UID NOOP", tag: "t"},
	{in: "t UID EXPUNGE", tag: "t"},
	{in: "t UID FOO 1", tag: "t"},
	{in: "t VERYVERYVERYLONGCOMMANDNAME", tag: "t"},

	{in: "t LOGIN bob", tag: "t"},
	{in: "t LOGIN bob pass extra", tag: "t"},
	{in: `t LOGIN "unterminated`, tag: "t"},
	{in: `t LOGIN "bad\escape" x`, tag: "t"},
	{in: "t LOGIN b\xc3\xb6b x", tag: "t"},
	{in: "t LOGIN \"\xff\" x", tag: "t"},
	{in: "t LOGIN \"a\x00\" x", tag: "t"},
	{in: "t LOGIN (x) y", tag: "t"},
	{in: "t LOGIN {3} x", tag: "t"},
	{in: "t LOGIN ~{3+}\r\nbob x", tag: "t"},
	{in: "t LOGIN {3+}\r\nb\x00b x", tag: "t"},
	{in: "t LOGIN {-1} x", tag: "t"},
	{in: "t LOGIN {99999999999999999999}", tag: "t"},
	{in: "t AUTHENTICATE", tag: "t"},
	{in: "t AUTHENTICATE PLAIN ", tag: "t"},
	{in: "t AUTHENTICATE PLAIN !!!", tag: "t"},
	{in: "t AUTHENTICATE PLAIN AGJ", tag: "t"},
	{in: "t AUTHENTICATE PLAIN == x", tag: "t"},
	{in: "t AUTHENTICATE {5}", tag: "t"},
	{in: "t ENABLE", tag: "t"},
	{in: "t ENABLE ", tag: "t"},
	{in: "t ID", tag: "t"},
	{in: `t ID ("a")`, tag: "t"},
	{in: `t ID ("a" "b" "c")`, tag: "t"},
	{in: `t ID ("a" "b"`, tag: "t"},

	{in: "t SELECT", tag: "t"},
	{in: "t SELECT INBOX ()", tag: "t"},
	{in: "t SELECT INBOX (FOO)", tag: "t"},
	{in: "t SELECT INBOX (CONDSTORE", tag: "t"},
	{in: "t SELECT INBOX (QRESYNC (0 1))", tag: "t"},
	{in: "t SELECT INBOX (QRESYNC (1 0))", tag: "t"},
	{in: "t SELECT INBOX (QRESYNC (1 2 1:*))", tag: "t"},
	{in: "t SELECT INBOX (QRESYNC (1 2 $))", tag: "t"},
	{in: "t SELECT INBOX (QRESYNC (1 2 1:5 (1:2)))", tag: "t"},
	{in: "t SELECT INBOX (QRESYNC (1 2) QRESYNC (1 2))", tag: "t"},
	{in: "t SELECT INBOX (QRESYNC (1 2 ))", tag: "t"},
	{in: "t EXAMINE", tag: "t"},
	{in: "t CREATE", tag: "t"},
	{in: "t CREATE foo (USE (Archive))", tag: "t"},
	{in: "t CREATE foo (FOO)", tag: "t"},
	{in: "t CREATE foo (USE)", tag: "t"},
	{in: "t DELETE", tag: "t"},
	{in: "t DELETE a b", tag: "t"},
	{in: "t RENAME a", tag: "t"},
	{in: "t SUBSCRIBE", tag: "t"},

	{in: "t LIST", tag: "t"},
	{in: `t LIST ""`, tag: "t"},
	{in: `t LIST "" ()`, tag: "t"},
	{in: `t LIST (RECURSIVEMATCH) "" %`, tag: "t"},
	{in: `t LIST (REMOTE RECURSIVEMATCH) "" %`, tag: "t"},
	{in: `t LIST (FOO) "" %`, tag: "t"},
	{in: `t LIST "" % RETURN (FOO)`, tag: "t"},
	{in: `t LIST "" % RETURN (STATUS ())`, tag: "t"},
	{in: `t LIST "" % RETURN (STATUS (FOO))`, tag: "t"},
	{in: `t LIST "" % FOO`, tag: "t"},
	{in: `t LIST "" % RETURN`, tag: "t"},
	{in: `t LIST % ""`, tag: "t"},
	{in: `t LSUB ""`, tag: "t"},

	{in: "t STATUS INBOX", tag: "t"},
	{in: "t STATUS INBOX ()", tag: "t"},
	{in: "t STATUS INBOX (FOO)", tag: "t"},
	{in: "t STATUS INBOX MESSAGES", tag: "t"},

	{in: "t FETCH", tag: "t"},
	{in: "t FETCH 1", tag: "t"},
	{in: "t FETCH 0 FLAGS", tag: "t"},
	{in: "t FETCH 1:0 FLAGS", tag: "t"},
	{in: "t FETCH 01 FLAGS", tag: "t"},
	{in: "t FETCH 4294967296 FLAGS", tag: "t"},
	{in: "t FETCH 1, FLAGS", tag: "t"},
	{in: "t FETCH 1: FLAGS", tag: "t"},
	{in: "t FETCH $,1 FLAGS", tag: "t"},
	{in: "t FETCH 1 ()", tag: "t"},
	{in: "t FETCH 1 (FLAGS", tag: "t"},
	{in: "t FETCH 1 (FLAGS  UID)", tag: "t"},
	{in: "t FETCH 1 FOO", tag: "t"},
	{in: "t FETCH 1 (ALL)", tag: "t"},
	{in: "t FETCH 1 ALL FLAGS", tag: "t"},
	{in: "t FETCH 1 BODY[0]", tag: "t"},
	{in: "t FETCH 1 BODY[1.0]", tag: "t"},
	{in: "t FETCH 1 BODY[01]", tag: "t"},
	{in: "t FETCH 1 BODY[1.]", tag: "t"},
	{in: "t FETCH 1 BODY[MIME]", tag: "t"},
	{in: "t FETCH 1 BODY[HEADER.FIELDS ()]", tag: "t"},
	{in: "t FETCH 1 BODY[HEADER.FIELDS]", tag: "t"},
	{in: "t FETCH 1 BODY[HEADER.FIELDS (From]", tag: "t"},
	{in: "t FETCH 1 BODY[FOO]", tag: "t"},
	{in: "t FETCH 1 BODY[TEXT", tag: "t"},
	{in: "t FETCH 1 BODY.PEEK", tag: "t"},
	{in: "t FETCH 1 BODY<0.1>", tag: "t"},
	{in: "t FETCH 1 BODY[]<0>", tag: "t"},
	{in: "t FETCH 1 BODY[]<0.1", tag: "t"},
	{in: "t FETCH 1 BODY[]<4294967296.1>", tag: "t"},
	{in: "t FETCH 1 BINARY[HEADER]", tag: "t"},
	{in: "t FETCH 1 BINARY[1.TEXT]", tag: "t"},
	{in: "t FETCH 1 BINARY", tag: "t"},
	{in: "t FETCH 1 BINARY.SIZE[1]<0.1>", tag: "t"},
	{in: "t FETCH 1 PREVIEW (FOO)", tag: "t"},
	{in: "t FETCH 1 PREVIEW (LAZY FOO)", tag: "t"},
	{in: "t FETCH 1 FLAGS (VANISHED)", tag: "t"},
	{in: "t FETCH 1 FLAGS (CHANGEDSINCE 1 VANISHED)", tag: "t"},
	{in: "t UID FETCH 1 FLAGS (VANISHED)", tag: "t"},
	{in: "t FETCH 1 FLAGS (CHANGEDSINCE 0)", tag: "t"},
	{in: "t FETCH 1 FLAGS (CHANGEDSINCE 9223372036854775808)", tag: "t"},
	{in: "t FETCH 1 FLAGS (FOO)", tag: "t"},
	{in: "t FETCH 1 FLAGS ()", tag: "t"},

	{in: "t STORE 1 FLAGS", tag: "t"},
	{in: "t STORE 1 FLAGS ", tag: "t"},
	{in: `t STORE 1 FOO (\Seen)`, tag: "t"},
	{in: `t STORE 1 +FLAGS (\*)`, tag: "t"},
	{in: `t STORE 1 +FLAGS \`, tag: "t"},
	{in: `t STORE 1 +FLAGS "x"`, tag: "t"},
	{in: `t STORE 1 FLAGS (\Seen`, tag: "t"},
	{in: `t STORE 1 FLAGS (\Seen )`, tag: "t"},
	{in: `t STORE 1 FLAGS \Seen `, tag: "t"},
	{in: `t STORE 1 (UNCHANGEDSINCE 1 UNCHANGEDSINCE 2) FLAGS ()`, tag: "t"},
	{in: `t STORE 1 (FOO 1) FLAGS ()`, tag: "t"},
	{in: `t STORE 1 (UNCHANGEDSINCE) FLAGS ()`, tag: "t"},
	{in: `t STORE 1 () FLAGS ()`, tag: "t"},
	{in: `t STORE 1 (UNCHANGEDSINCE 1)FLAGS ()`, tag: "t"},

	{in: "t COPY 1", tag: "t"},
	{in: "t COPY 1 ", tag: "t"},
	{in: "t MOVE x y", tag: "t"},

	{in: "t SEARCH", tag: "t"},
	{in: "t SEARCH ", tag: "t"},
	{in: "t SEARCH FOO", tag: "t"},
	{in: "t SEARCH (SEEN", tag: "t"},
	{in: "t SEARCH ()", tag: "t"},
	{in: "t SEARCH SEEN  UNSEEN", tag: "t"},
	{in: "t SEARCH OR SEEN", tag: "t"},
	{in: "t SEARCH NOT", tag: "t"},
	{in: "t SEARCH BEFORE 32-Jan-2020", tag: "t"},
	{in: "t SEARCH BEFORE 0-Jan-2020", tag: "t"},
	{in: "t SEARCH ON 1-Foo-2020", tag: "t"},
	{in: "t SEARCH ON 29-Feb-2021", tag: "t"},
	{in: "t SEARCH SINCE 1-Jan-20", tag: "t"},
	{in: "t SEARCH SINCE 001-Jan-2020", tag: "t"},
	{in: `t SEARCH SINCE "1-Jan-2020`, tag: "t"},
	{in: "t SEARCH SINCE {10+}\r\n1-Jan-2020", tag: "t"},
	{in: "t SEARCH RETURN (FOO) ALL", tag: "t"},
	{in: "t SEARCH RETURN ALL", tag: "t"},
	{in: "t SEARCH RETURN (MIN)", tag: "t"},
	{in: "t SEARCH CHARSET", tag: "t"},
	{in: "t SEARCH CHARSET UTF-8", tag: "t"},
	{in: "t SEARCH " + strings.Repeat("NOT ", 70) + "ALL", tag: "t"},
	{in: "t SEARCH " + strings.Repeat("(", 70) + "ALL" + strings.Repeat(")", 70), tag: "t"},
	{in: `t SEARCH KEYWORD \Seen`, tag: "t"},
	{in: `t SEARCH KEYWORD "x"`, tag: "t"},
	{in: "t SEARCH OLDER 0", tag: "t"},
	{in: `t SEARCH MODSEQ "/flags/\\seen" foo 5`, tag: "t"},
	{in: `t SEARCH MODSEQ "/flags/\\seen" 5`, tag: "t"},
	{in: "t SEARCH MODSEQ", tag: "t"},
	{in: "t SEARCH LARGER -1", tag: "t"},
	{in: "t SEARCH LARGER 9223372036854775808", tag: "t"},
	{in: "t SEARCH UID", tag: "t"},
	{in: "t SEARCH UID ALL", tag: "t"},
	{in: "t SEARCH HEADER Subject", tag: "t"},
	{in: "t SEARCH EMAILID a.b", tag: "t"},
	{in: "t SEARCH EMAILID " + strings.Repeat("a", 256), tag: "t"},
	{in: "t SEARCH 1:2:3", tag: "t"},

	{in: "t APPEND", tag: "t"},
	{in: "t APPEND INBOX", tag: "t"},
	{in: "t APPEND INBOX ", tag: "t"},
	{in: "t APPEND INBOX {3", tag: "t"},
	{in: "t APPEND INBOX abc", tag: "t"},
	{in: `t APPEND INBOX "abc"`, tag: "t"},
	{in: `t APPEND INBOX (\Seen) "bad" {3}`, tag: "t"},
	{in: `t APPEND INBOX (\Seen) "bad" {3+}` + "\r\nabc", tag: "t"},
	{in: `t APPEND INBOX (\*) {3+}` + "\r\nabc", tag: "t"},
	{in: `t APPEND INBOX "32-Jan-2020 10:00:00 +0000" {3}`, tag: "t"},
	{in: `t APPEND INBOX "01-Jan-2020 24:00:00 +0000" {3}`, tag: "t"},
	{in: `t APPEND INBOX "01-Jan-2020 10:60:00 +0000" {3}`, tag: "t"},
	{in: `t APPEND INBOX "01-Jan-2020 10:00:00 0000" {3}`, tag: "t"},
	{in: `t APPEND INBOX "01-Jan-2020 10:00:00 +00000" {3}`, tag: "t"},
	{in: `t APPEND INBOX "01-Jan-2020 10:00 +0000" {3}`, tag: "t"},
	{in: `t APPEND INBOX "01-Jan-2020  10:00:00 +0000" {3}`, tag: "t"},
	{in: "t APPEND INBOX {3+}\r\nabc x", tag: "t"},
	{in: "t APPEND INBOX {3+}\r\nabc  {3+}\r\nabc", tag: "t"},
	{in: "t APPEND INBOX {3+}\r\na\x00c", tag: "t"},
	{in: "t APPEND INBOX UTF8 ({3+}\r\nabc)", tag: "t"},
	{in: "t APPEND INBOX UTF8 (~{3+}\r\nabc", tag: "t"},
	{in: "t APPEND INBOX UTF8 ~{3+}\r\nabc", tag: "t"},
	{in: "t APPEND x CATENATE ()", tag: "t"},
	{in: "t APPEND x CATENATE (URL)", tag: "t"},
	{in: `t APPEND x CATENATE (URL "")`, tag: "t"},
	{in: "t APPEND x CATENATE (FOO x)", tag: "t"},
	{in: "t APPEND x CATENATE URL x", tag: "t"},
	{in: "t APPEND x CATENATE (URL x", tag: "t"},
	{in: "t APPEND x CATENATE (URL x  URL y)", tag: "t"},
	{in: "t APPEND x CATENATE (TEXT x)", tag: "t"},
	{in: "t APPEND x CATENATE (TEXT {1+}\r\nx", tag: "t"},
	{in: "t APPEND x CATENATE (URL " + strings.Repeat("u", 4097) + ")", tag: "t", no: true, code: "LIMIT"},
	{in: "t ESEARCH", tag: "t"},
	{in: "t ESEARCH IN () ALL", tag: "t"},
	{in: "t ESEARCH IN (personal)", tag: "t"},
	{in: "t ESEARCH IN (selected-delayed) ALL", tag: "t"},
	{in: "t ESEARCH IN (subtree) ALL", tag: "t"},
	{in: "t ESEARCH IN (mailboxes ()) ALL", tag: "t"},
	{in: "t ESEARCH IN (personal (DEPTH 1)) ALL", tag: "t"},
	{in: "t ESEARCH IN personal ALL", tag: "t"},
	{in: `t LIST "" % RETURN (METADATA ())`, tag: "t"},
	{in: `t LIST "" % RETURN (METADATA (MAXSIZE 5))`, tag: "t"},
	{in: `t LIST "" % RETURN (METADATA (DEPTH 2) /shared/x)`, tag: "t"},
	{in: `t LIST "" % RETURN (METADATA)`, tag: "t"},
}

func TestReadCommandInvalid(t *testing.T) {
	for _, tc := range invalidCommandTests {
		t.Run(tc.in, func(t *testing.T) {
			r, conts := newTestReader(tc.in+"\r\nnext NOOP\r\n", Options{})
			cmd, err := r.ReadCommand()
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %s, %v; want *Error", dump(cmd), err)
			}
			if e.Tag != tc.tag || e.No != tc.no || e.Code != tc.code || e.Fatal {
				t.Errorf("got %s, want tag %q no %v code %q", dump(e), tc.tag, tc.no, tc.code)
			}
			if e.Text == "" {
				t.Errorf("error without text")
			}
			if len(*conts) != tc.conts {
				t.Errorf("continuations: got %d, want %d", len(*conts), tc.conts)
			}
			checkNext(t, r)
		})
	}
}

func TestAppend(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SpoolDir: dir, SpoolThreshold: 8}
	type msg struct {
		flags   []string
		date    string // RFC 3339, "" for none
		binary  bool
		utf8    bool
		content string
	}
	tests := []struct {
		in    string
		mbox  string
		msgs  []msg
		conts int
	}{
		{in: "APPEND INBOX {5}\r\nhello", mbox: "INBOX", msgs: []msg{{content: "hello"}}, conts: 1},
		{in: "APPEND saved-messages (\\Seen) {12+}\r\nHello\r\nWorld", mbox: "saved-messages", msgs: []msg{{flags: []string{`\Seen`}, content: "Hello\r\nWorld"}}},
		{in: "APPEND \"x y\" () \" 7-Feb-1994 21:52:25 -0800\" {0}\r\n", mbox: "x y", msgs: []msg{{flags: []string{}, date: "1994-02-07T21:52:25-08:00", content: ""}}, conts: 1},
		{in: "APPEND x \"07-Feb-1994 21:52:25 +0000\" ~{3+}\r\na\x00c", mbox: "x", msgs: []msg{{date: "1994-02-07T21:52:25Z", binary: true, content: "a\x00c"}}},
		{in: "APPEND x \"7-Feb-1994 01:02:03 +0130\" {1+}\r\nz", mbox: "x", msgs: []msg{{date: "1994-02-07T01:02:03+01:30", content: "z"}}},
		{in: "APPEND x UTF8 (~{4}\r\nj\xc3\xb6r)", mbox: "x", msgs: []msg{{binary: true, utf8: true, content: "j\xc3\xb6r"}}, conts: 1},
		// MULTIAPPEND (RFC 3502), mixing forms; the second is spooled.
		{in: "APPEND Drafts (\\Draft) {3+}\r\none ($Forwarded foo) \"01-Jan-2021 00:00:00 +0000\" {20}\r\nabcdefghijklmnopqrst ~{2+}\r\n\x00\x01",
			mbox: "Drafts", msgs: []msg{
				{flags: []string{`\Draft`}, content: "one"},
				{flags: []string{"$Forwarded", "foo"}, date: "2021-01-01T00:00:00Z", content: "abcdefghijklmnopqrst"},
				{binary: true, content: "\x00\x01"}}, conts: 1},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			r, conts := newTestReader("t "+tc.in+"\r\nnext NOOP\r\n", opts)
			cmd, err := r.ReadCommand()
			if err != nil {
				t.Fatalf("ReadCommand: %v (%s)", err, dump(err))
			}
			a, ok := cmd.Args.(*AppendArgs)
			if !ok || cmd.Name != "APPEND" || cmd.Tag != "t" {
				t.Fatalf("got %s", dump(cmd))
			}
			if a.Mailbox != tc.mbox || len(a.Messages) != len(tc.msgs) {
				t.Fatalf("got %s", dump(a))
			}
			checkReencode(t, cmd)
			for i, m := range a.Messages {
				w := tc.msgs[i]
				if !reflect.DeepEqual(m.Flags, w.flags) || m.Binary != w.binary || m.UTF8 != w.utf8 || m.HasDate != (w.date != "") {
					t.Errorf("message %d: got %s, want %+v", i, dump(m), w)
				}
				if w.date != "" {
					want, _ := time.Parse(time.RFC3339, w.date)
					_, off1 := m.Date.Zone()
					_, off2 := want.Zone()
					if !m.Date.Equal(want) || off1 != off2 {
						t.Errorf("message %d: date %v, want %v", i, m.Date, want)
					}
				}
				if m.Data.Size() != int64(len(w.content)) {
					t.Errorf("message %d: size %d, want %d", i, m.Data.Size(), len(w.content))
				}
				for range 2 { // Open gives independent readers
					b, err := io.ReadAll(m.Data.Open())
					if err != nil || string(b) != w.content {
						t.Errorf("message %d: data %q, %v; want %q", i, b, err, w.content)
					}
				}
				if err := m.Data.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
				if _, err := io.ReadAll(m.Data.Open()); err == nil {
					t.Errorf("message %d: Open after Close succeeded", i)
				}
			}
			if len(*conts) != tc.conts {
				t.Errorf("continuations: got %d, want %d", len(*conts), tc.conts)
			}
			checkNext(t, r)
			assertEmptyDir(t, dir)
		})
	}
}

// TestSpooledLiteralReleased checks that spooled APPEND data is released
// when a later part of the command fails: otherwise each such command would
// leak an open file.
func TestSpooledLiteralReleased(t *testing.T) {
	fds := func() int {
		ents, err := readDirNames("/proc/self/fd")
		if err != nil {
			t.Skip("no /proc/self/fd")
		}
		return len(ents)
	}
	dir := t.TempDir()
	msg := strings.Repeat("x", 100)
	var in strings.Builder
	const n = 50
	for range n {
		in.WriteString("t APPEND INBOX {100+}\r\n" + msg + " garbage\r\n")
	}
	in.WriteString("next NOOP\r\n")
	r, _ := newTestReader(in.String(), Options{SpoolDir: dir, SpoolThreshold: 10})
	before := fds()
	for range n {
		if _, err := r.ReadCommand(); err == nil {
			t.Fatal("garbage after APPEND accepted")
		}
	}
	if after := fds(); after >= before+n/2 {
		t.Errorf("open files grew from %d to %d", before, after)
	}
	checkNext(t, r)
	assertEmptyDir(t, dir)
}

func TestReadCommandEOF(t *testing.T) {
	for _, in := range []string{"", "\r\n", "\r\n\n"} {
		r, _ := newTestReader(in, Options{})
		if _, err := r.ReadCommand(); err != io.EOF {
			t.Errorf("%q: got %v, want EOF", in, err)
		}
	}
	dir := t.TempDir()
	for _, in := range []string{"t NOOP", "t LOGIN {3}\r\nab", "t LOGIN {3+}\r\nabc", "t APPEND x {30+}\r\nabc",
		"t APPEND x {300+}\r\n" + strings.Repeat("x", 200), "t APPEND x {3+}\r\nabc {300+}\r\n" + strings.Repeat("x", 200), "t FOO {3+}\r\nab"} {
		r, _ := newTestReader(in, Options{SpoolDir: dir, SpoolThreshold: 100})
		if _, err := r.ReadCommand(); err != io.ErrUnexpectedEOF {
			t.Errorf("%.40q: got %v, want ErrUnexpectedEOF", in, err)
		}
	}
	assertEmptyDir(t, dir)
}

func TestReaderReset(t *testing.T) {
	r, _ := newTestReader("a STARTTLS\r\ninjected NOOP\r\n", Options{})
	if cmd, err := r.ReadCommand(); err != nil || cmd.Name != "STARTTLS" {
		t.Fatalf("got %+v, %v", cmd, err)
	}
	if n := r.Buffered(); n != len("injected NOOP\r\n") {
		t.Errorf("Buffered = %d", n)
	}
	r.Reset(bufio.NewReader(strings.NewReader("next NOOP\r\n")))
	if r.Buffered() != 0 {
		t.Errorf("Buffered after Reset = %d", r.Buffered())
	}
	checkNext(t, r)
}

func TestReadCommandLineEndings(t *testing.T) {
	// Bare LF ends a line too; empty lines between commands are skipped.
	r, _ := newTestReader("\r\n\na NOOP\nb LOGIN {3}\nbob x\r\n\r\nnext NOOP\r\n", Options{})
	for _, want := range []string{"NOOP", "LOGIN"} {
		cmd, err := r.ReadCommand()
		if err != nil || cmd.Name != want {
			t.Fatalf("got %+v, %v; want %s", cmd, err, want)
		}
	}
	checkNext(t, r)
}

func TestContinuationError(t *testing.T) {
	boom := errors.New("boom")
	r := NewReader(bufio.NewReader(strings.NewReader("t LOGIN {3}\r\nbob x\r\n")), Options{}, func(string) error { return boom })
	if _, err := r.ReadCommand(); err != boom {
		t.Errorf("got %v, want the continuation's error", err)
	}
	// A nil callback is allowed: nothing is sent.
	r = NewReader(bufio.NewReader(strings.NewReader("t LOGIN {3}\r\nbob x\r\n")), Options{}, nil)
	if cmd, err := r.ReadCommand(); err != nil || cmd.Args.(*LoginArgs).User != "bob" {
		t.Errorf("got %+v, %v", cmd, err)
	}
}

func TestReadLine(t *testing.T) {
	long := strings.Repeat("x", 200)
	r, _ := newTestReader("DONE\r\n"+long+"\r\nAGJvYg==\n\r\n", Options{MaxLineLength: 100})
	for _, want := range []string{"DONE", "", "AGJvYg==", ""} {
		line, err := r.ReadLine()
		if want == "" && err == nil && len(line) == 0 {
			continue
		}
		if want == "" {
			var e *Error
			if !errors.As(err, &e) || e.Fatal {
				t.Fatalf("overlong line: got %q, %v", line, err)
			}
			continue
		}
		if err != nil || string(line) != want {
			t.Fatalf("got %q, %v; want %q", line, err, want)
		}
	}
	if _, err := r.ReadLine(); err != io.EOF {
		t.Errorf("got %v, want EOF", err)
	}
}

// readDirNames lists a directory.
func readDirNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	names, err := readDirNames(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) > 0 {
		t.Errorf("spool directory not empty: %v", names)
	}
}

func TestReplace(t *testing.T) {
	opts := Options{SpoolDir: t.TempDir(), SpoolThreshold: 8}
	for _, tc := range []struct {
		in      string
		uid     bool
		number  uint32
		mbox    string
		content string
	}{
		{in: "REPLACE 3 Drafts {5+}\r\nhello", number: 3, mbox: "Drafts", content: "hello"},
		{in: `UID REPLACE 42 inbox (\Draft) " 7-Feb-1994 21:52:25 -0800" {2}` + "\r\nhi", uid: true, number: 42, mbox: "INBOX", content: "hi"},
		{in: "REPLACE * Drafts ~{1+}\r\n\x00", mbox: "Drafts", content: "\x00"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			r, _ := newTestReader("t "+tc.in+"\r\nnext NOOP\r\n", opts)
			cmd, err := r.ReadCommand()
			if err != nil {
				t.Fatalf("ReadCommand: %v (%s)", err, dump(err))
			}
			defer closeCommand(cmd)
			a, ok := cmd.Args.(*ReplaceArgs)
			if !ok || cmd.Name != "REPLACE" || cmd.UID != tc.uid || a.Number != tc.number || a.Mailbox != tc.mbox {
				t.Fatalf("got %s", dump(cmd))
			}
			if b, _ := io.ReadAll(a.Message.Data.Open()); string(b) != tc.content {
				t.Errorf("content %q", b)
			}
			checkReencode(t, cmd)
			checkNext(t, r)
		})
	}
	// Two messages, or none, are not a REPLACE.
	for _, in := range []string{"REPLACE 1 Drafts {1+}\r\na {1+}\r\nb", "REPLACE 0 Drafts {1+}\r\na", "REPLACE 1 Drafts"} {
		r, _ := newTestReader("t "+in+"\r\nnext NOOP\r\n", opts)
		if cmd, err := r.ReadCommand(); err == nil {
			closeCommand(cmd)
			t.Errorf("%q parsed", in)
		}
		checkNext(t, r)
	}
}
