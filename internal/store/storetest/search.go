package storetest

import (
	"strings"
	"time"

	"postfach/internal/store"
)

func testSearchFlags(e *env) {
	t := e.t
	m := e.account("alice@example.com")
	inbox := e.mailbox(m, "INBOX")
	small := message("s", "x")
	big := message("b", strings.Repeat("x", 5000))
	u1 := e.append(m, inbox.ID, small, store.FlagSeen, "$Work")
	u2 := e.append(m, inbox.ID, big, store.FlagSeen|store.FlagFlagged)
	u3 := e.append(m, inbox.ID, small, store.FlagDeleted, "$work", "Other_1")
	all := store.SearchCriteria{}
	wantUIDs(t, "ALL", e.search(m, inbox.ID, all), u1, u2, u3)
	wantUIDs(t, "SEEN", e.search(m, inbox.ID, store.SearchCriteria{Flags: store.FlagSeen}), u1, u2)
	wantUIDs(t, "SEEN FLAGGED", e.search(m, inbox.ID, store.SearchCriteria{Flags: store.FlagSeen | store.FlagFlagged}), u2)
	wantUIDs(t, "UNSEEN", e.search(m, inbox.ID, store.SearchCriteria{NotFlags: store.FlagSeen}), u3)
	wantUIDs(t, "UNDELETED UNFLAGGED", e.search(m, inbox.ID, store.SearchCriteria{NotFlags: store.FlagDeleted | store.FlagFlagged}), u1)
	wantUIDs(t, "KEYWORD", e.search(m, inbox.ID, store.SearchCriteria{Keywords: []string{"$WORK"}}), u1, u3)
	wantUIDs(t, "KEYWORD Other_1", e.search(m, inbox.ID, store.SearchCriteria{Keywords: []string{"other_1"}}), u3)
	wantUIDs(t, "KEYWORD with LIKE wildcard", e.search(m, inbox.ID, store.SearchCriteria{Keywords: []string{"Other%1"}}))
	wantUIDs(t, "KEYWORD Other_ (prefix)", e.search(m, inbox.ID, store.SearchCriteria{Keywords: []string{"Other_"}}))
	wantUIDs(t, "KEYWORD two words", e.search(m, inbox.ID, store.SearchCriteria{Keywords: []string{"$work other_1"}}))
	wantUIDs(t, "UNKEYWORD", e.search(m, inbox.ID, store.SearchCriteria{NotKeywords: []string{"$work"}}), u2)
	wantUIDs(t, "LARGER", e.search(m, inbox.ID, store.SearchCriteria{Larger: []int64{int64(len(small))}}), u2)
	wantUIDs(t, "LARGER size-1", e.search(m, inbox.ID, store.SearchCriteria{Larger: []int64{int64(len(small)) - 1}}), u1, u2, u3)
	wantUIDs(t, "SMALLER", e.search(m, inbox.ID, store.SearchCriteria{Smaller: []int64{int64(len(big))}}), u1, u3)
	wantUIDs(t, "UID", e.search(m, inbox.ID, store.SearchCriteria{UIDs: []store.UIDSet{{{Start: u2, Stop: 99}}}}), u2, u3)
	wantUIDs(t, "UID twice", e.search(m, inbox.ID, store.SearchCriteria{UIDs: []store.UIDSet{{{Start: u2, Stop: 99}}, store.UIDSetOf(u1, u3)}}), u3)
	wantUIDs(t, "UID empty set", e.search(m, inbox.ID, store.SearchCriteria{UIDs: []store.UIDSet{{}}}))
	ms := e.message(m, inbox.ID, u3).ModSeq
	wantUIDs(t, "MODSEQ", e.search(m, inbox.ID, store.SearchCriteria{ModSeq: ms}), u3)
	e.storeFlags(m, inbox.ID, store.UIDSetOf(u1), store.FlagUpdate{Op: store.FlagsAdd, Flags: store.FlagAnswered})
	wantUIDs(t, "MODSEQ after STORE", e.search(m, inbox.ID, store.SearchCriteria{ModSeq: ms + 1}), u1)
	_, err := m.Search(e.ctx, 1<<40, &all)
	wantErr(t, "search in missing mailbox", err, store.ErrNotFound)
}

func testSearchDates(e *env) {
	t, ctx := e.t, e.ctx
	m := e.account("alice@example.com")
	inbox := e.mailbox(m, "INBOX")
	tokyo := time.FixedZone("JST", 9*3600)
	ny := time.FixedZone("EST", -5*3600)
	add := func(internal time.Time, dateHeader string) store.UID {
		raw := "Subject: d\r\n"
		if dateHeader != "" {
			raw += "Date: " + dateHeader + "\r\n"
		}
		raw += "\r\nx\r\n"
		res, err := m.Append(ctx, inbox.ID, []store.NewMessage{{InternalDate: internal, Body: strings.NewReader(raw)}})
		if err != nil {
			t.Fatal(err)
		}
		return res.UIDs[0]
	}
	// 1 March 00:30 in Tokyo is still 28 February in UTC: the message's own
	// calendar date counts.
	u1 := add(time.Date(2024, 3, 1, 0, 30, 0, 0, tokyo), "Thu, 29 Feb 2024 23:30:00 -0500")
	u2 := add(time.Date(2024, 3, 2, 23, 0, 0, 0, ny), "Sat, 2 Mar 2024 01:00:00 +0900")
	u3 := add(time.Date(2024, 3, 5, 12, 0, 0, 0, time.UTC), "")
	d := func(day int) time.Time { return time.Date(2024, 3, day, 0, 0, 0, 0, time.UTC) }
	wantUIDs(t, "SINCE 1-Mar", e.search(m, inbox.ID, store.SearchCriteria{Since: d(1)}), u1, u2, u3)
	wantUIDs(t, "SINCE 2-Mar", e.search(m, inbox.ID, store.SearchCriteria{Since: d(2)}), u2, u3)
	wantUIDs(t, "BEFORE 2-Mar", e.search(m, inbox.ID, store.SearchCriteria{Before: d(2)}), u1)
	wantUIDs(t, "BEFORE 1-Mar", e.search(m, inbox.ID, store.SearchCriteria{Before: d(1)}))
	wantUIDs(t, "ON 2-Mar", e.search(m, inbox.ID, store.SearchCriteria{Since: d(2), Before: d(3)}), u2)
	// A criterion's date is its own calendar date, whatever its zone.
	wantUIDs(t, "SINCE 2-Mar in Tokyo", e.search(m, inbox.ID, store.SearchCriteria{Since: time.Date(2024, 3, 2, 0, 0, 0, 0, tokyo)}), u2, u3)
	wantUIDs(t, "SENTSINCE 1-Mar", e.search(m, inbox.ID, store.SearchCriteria{SentSince: d(1)}), u2)
	wantUIDs(t, "SENTBEFORE 1-Mar", e.search(m, inbox.ID, store.SearchCriteria{SentBefore: d(1)}), u1)
	wantUIDs(t, "SENTON 29-Feb", e.search(m, inbox.ID, store.SearchCriteria{SentSince: time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), SentBefore: d(1)}), u1)
	wantUIDs(t, "NOT SENTSINCE (no Date: header)", e.search(m, inbox.ID, store.SearchCriteria{Not: []store.SearchCriteria{{SentSince: d(1)}}}), u1, u3)
	i2 := e.message(m, inbox.ID, u2).InternalDate
	wantUIDs(t, "YOUNGER", e.search(m, inbox.ID, store.SearchCriteria{Younger: i2}), u3)
	wantUIDs(t, "YOUNGER -1s", e.search(m, inbox.ID, store.SearchCriteria{Younger: i2.Add(-time.Second)}), u2, u3)
	wantUIDs(t, "OLDER", e.search(m, inbox.ID, store.SearchCriteria{Older: i2}), u1)
	wantUIDs(t, "OLDER +0.5s", e.search(m, inbox.ID, store.SearchCriteria{Older: i2.Add(time.Second / 2)}), u1, u2)
}

func testSearchText(e *env) {
	t := e.t
	m := e.account("alice@example.com")
	inbox := e.mailbox(m, "INBOX")
	u1 := e.append(m, inbox.ID, "From: \"Jörg Müller\" <joerg@example.de>\r\nTo: team@example.com\r\nCc: boss@example.com\r\nSubject: Quarterly report\r\nX-Mailer: MegaMail 3\r\nMessage-ID: <q1@example.de>\r\n\r\nThe numbers are UP this quarter.\r\n", 0)
	u2 := e.append(m, inbox.ID, "From: Bob <bob@example.com>\r\nTo: alice@example.com\r\nSubject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=\r\nContent-Type: multipart/alternative; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nSch=C3=B6ne Gr=C3=BC=C3=9Fe vom Rhein\r\n--XX\r\nContent-Type: text/html\r\n\r\n<p>Hello <b>html</b> world</p>\r\n--XX--\r\n", 0)
	u3 := e.append(m, inbox.ID, "Subject: attachment\r\nBcc: hidden@example.com\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--B\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nc2VjcmV0IGJpbmFyeQ==\r\n--B--\r\n", 0)
	h := func(field, value string) store.SearchCriteria {
		return store.SearchCriteria{Header: []store.HeaderMatch{{Field: field, Value: value}}}
	}
	wantUIDs(t, "SUBJECT report", e.search(m, inbox.ID, h("Subject", "REPORT")), u1)
	wantUIDs(t, "SUBJECT encoded word", e.search(m, inbox.ID, h("subject", "grüße aus")), u2)
	wantUIDs(t, "FROM display name", e.search(m, inbox.ID, h("From", "jörg")), u1)
	wantUIDs(t, "FROM address", e.search(m, inbox.ID, h("FROM", "bob@example")), u2)
	wantUIDs(t, "TO", e.search(m, inbox.ID, h("To", "alice@")), u2)
	wantUIDs(t, "CC", e.search(m, inbox.ID, h("Cc", "boss")), u1)
	wantUIDs(t, "BCC", e.search(m, inbox.ID, h("Bcc", "hidden")), u3)
	wantUIDs(t, "HEADER Message-ID", e.search(m, inbox.ID, h("Message-ID", "q1@")), u1)
	wantUIDs(t, "HEADER X-Mailer", e.search(m, inbox.ID, h("x-mailer", "megamail")), u1)
	wantUIDs(t, "HEADER X-Mailer present", e.search(m, inbox.ID, h("X-Mailer", "")), u1)
	wantUIDs(t, "HEADER Cc present", e.search(m, inbox.ID, h("Cc", "")), u1)
	wantUIDs(t, "HEADER absent field", e.search(m, inbox.ID, h("X-Nothing", "")))
	wantUIDs(t, "BODY", e.search(m, inbox.ID, store.SearchCriteria{Body: []string{"numbers are up"}}), u1)
	wantUIDs(t, "BODY quoted-printable utf-8", e.search(m, inbox.ID, store.SearchCriteria{Body: []string{"schöne grüße"}}), u2)
	wantUIDs(t, "BODY html without markup", e.search(m, inbox.ID, store.SearchCriteria{Body: []string{"hello html world"}}), u2)
	wantUIDs(t, "BODY not in header", e.search(m, inbox.ID, store.SearchCriteria{Body: []string{"quarterly"}}))
	wantUIDs(t, "BODY skips binary attachments", e.search(m, inbox.ID, store.SearchCriteria{Body: []string{"secret"}}))
	wantUIDs(t, "TEXT header", e.search(m, inbox.ID, store.SearchCriteria{Text: []string{"quarterly"}}), u1)
	wantUIDs(t, "TEXT body", e.search(m, inbox.ID, store.SearchCriteria{Text: []string{"rhein"}}), u2)
	wantUIDs(t, "TEXT both", e.search(m, inbox.ID, store.SearchCriteria{Text: []string{"example.com"}}), u1, u2, u3)
	wantUIDs(t, "NOT SUBJECT", e.search(m, inbox.ID, store.SearchCriteria{Not: []store.SearchCriteria{h("Subject", "report")}}), u2, u3)
	wantUIDs(t, "NOT BODY", e.search(m, inbox.ID, store.SearchCriteria{Not: []store.SearchCriteria{{Body: []string{"attached"}}}}), u1, u2)
	wantUIDs(t, "NOT header on message without it", e.search(m, inbox.ID, store.SearchCriteria{Not: []store.SearchCriteria{h("Cc", "boss")}}), u2, u3)
}

func testSearchUnicode(e *env) {
	t := e.t
	m := e.account("alice@example.com")
	inbox := e.mailbox(m, "INBOX")
	u1 := e.append(m, inbox.ID, "Subject: ΣΊΣΥΦΟΣ and the STRASSE\r\n\r\nДОБРЫЙ ДЕНЬ\r\n", 0)
	u2 := e.append(m, inbox.ID, "Subject: Entwu\u0308rfe\r\n\r\nKelvin: 5\u212a\r\n", 0)
	h := func(v string) store.SearchCriteria {
		return store.SearchCriteria{Header: []store.HeaderMatch{{Field: "Subject", Value: v}}}
	}
	wantUIDs(t, "Greek lower", e.search(m, inbox.ID, h("σίσυφος")), u1)
	wantUIDs(t, "ASCII case", e.search(m, inbox.ID, h("strasse")), u1)
	wantUIDs(t, "NFC against NFD", e.search(m, inbox.ID, h("ENTWÜRFE")), u2)
	wantUIDs(t, "Cyrillic body", e.search(m, inbox.ID, store.SearchCriteria{Body: []string{"добрый"}}), u1)
	wantUIDs(t, "Kelvin sign folds to k", e.search(m, inbox.ID, store.SearchCriteria{Body: []string{"5k"}}), u2)
}

func testSearchBoolean(e *env) {
	t := e.t
	m := e.account("alice@example.com")
	inbox := e.mailbox(m, "INBOX")
	u1 := e.append(m, inbox.ID, message("alpha", "one"), store.FlagSeen)
	u2 := e.append(m, inbox.ID, message("beta", "two"), store.FlagFlagged)
	u3 := e.append(m, inbox.ID, message("gamma", "three"), 0)
	subj := func(v string) store.SearchCriteria {
		return store.SearchCriteria{Header: []store.HeaderMatch{{Field: "Subject", Value: v}}}
	}
	or := func(a, b store.SearchCriteria) store.SearchCriteria {
		return store.SearchCriteria{Or: [][2]store.SearchCriteria{{a, b}}}
	}
	wantUIDs(t, "OR flags", e.search(m, inbox.ID, or(store.SearchCriteria{Flags: store.FlagSeen}, store.SearchCriteria{Flags: store.FlagFlagged})), u1, u2)
	wantUIDs(t, "OR subject body", e.search(m, inbox.ID, or(subj("alpha"), store.SearchCriteria{Body: []string{"three"}})), u1, u3)
	wantUIDs(t, "NOT OR", e.search(m, inbox.ID, store.SearchCriteria{Not: []store.SearchCriteria{or(subj("alpha"), subj("beta"))}}), u3)
	wantUIDs(t, "AND with OR", e.search(m, inbox.ID, store.SearchCriteria{NotFlags: store.FlagSeen, Or: [][2]store.SearchCriteria{{subj("alpha"), subj("beta")}}}), u2)
	wantUIDs(t, "NOT NOT", e.search(m, inbox.ID, store.SearchCriteria{Not: []store.SearchCriteria{{Not: []store.SearchCriteria{{Flags: store.FlagSeen}}}}}), u1)
	wantUIDs(t, "two NOTs", e.search(m, inbox.ID, store.SearchCriteria{Not: []store.SearchCriteria{{Flags: store.FlagSeen}, {Body: []string{"two"}}}}), u3)
	wantUIDs(t, "conjunction", e.search(m, inbox.ID, store.SearchCriteria{NotFlags: store.FlagSeen, Body: []string{"t"}, Header: []store.HeaderMatch{{Field: "subject", Value: "a"}}}), u2, u3)
}
