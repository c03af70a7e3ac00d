package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"postfach/internal/store"
	"postfach/internal/store/sqlite"
)

// writeMaildir copies the INBOX of account addr in the postfach store at
// storeDir into a Maildir for Dovecot, message for message: the same
// octets, UIDs (a dovecot-uidlist written beforehand), flags, keywords
// (dovecot-keywords) and internal dates (file times). Files are made
// owned by uid:gid, Dovecot's mail user.
func writeMaildir(ctx context.Context, storeDir, addr, maildir string, uid, gid int) (int, error) {
	s, err := sqlite.Open(ctx, sqlite.Options{Dir: storeDir, NoSync: true})
	if err != nil {
		return 0, err
	}
	defer s.Close()
	a, err := s.AccountByAddress(ctx, addr)
	if err != nil {
		return 0, err
	}
	m := s.Mail(a.ID)
	inbox, err := m.Mailbox(ctx, "INBOX")
	if err != nil {
		return 0, err
	}
	snap, err := m.Snapshot(ctx, inbox.ID)
	if err != nil {
		return 0, err
	}
	for _, d := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(maildir, d), 0o700); err != nil {
			return 0, err
		}
	}
	keywords := map[string]byte{}
	var kwList strings.Builder
	guid := make([]byte, 16)
	rand.Read(guid)
	var uidlist strings.Builder
	fmt.Fprintf(&uidlist, "3 V%d N%d G%s\n", snap.Mailbox.UIDValidity, snap.Mailbox.UIDNext, hex.EncodeToString(guid))
	n := 0
	for lo := 0; lo < len(snap.UIDs); lo += 1000 {
		part := snap.UIDs[lo:min(lo+1000, len(snap.UIDs))]
		msgs, err := m.Messages(ctx, inbox.ID, store.UIDSetOf(part...), store.FetchOptions{})
		if err != nil {
			return n, err
		}
		for i := range msgs {
			msg := &msgs[i]
			flags := []byte{}
			for _, f := range []struct {
				f store.Flags
				c byte
			}{{store.FlagDraft, 'D'}, {store.FlagFlagged, 'F'}, {store.FlagAnswered, 'R'}, {store.FlagSeen, 'S'}, {store.FlagDeleted, 'T'}} {
				if msg.Flags&f.f != 0 {
					flags = append(flags, f.c)
				}
			}
			var kws []byte
			for _, k := range msg.Keywords {
				c, ok := keywords[k]
				if !ok {
					c = byte('a' + len(keywords))
					if c > 'z' {
						return n, fmt.Errorf("more than 26 keywords")
					}
					fmt.Fprintf(&kwList, "%d %s\n", len(keywords), k)
					keywords[k] = c
				}
				kws = append(kws, c)
			}
			slices.Sort(kws)
			base := fmt.Sprintf("%d.M%dP%d.issue6,S=%d", msg.InternalDate.Unix(), msg.UID, msg.UID, msg.Size)
			path := filepath.Join(maildir, "cur", base+":2,"+string(flags)+string(kws))
			if err := copyBody(ctx, m, msg, path); err != nil {
				return n, err
			}
			if err := os.Chtimes(path, msg.InternalDate, msg.InternalDate); err != nil {
				return n, err
			}
			if err := os.Chown(path, uid, gid); err != nil {
				return n, err
			}
			fmt.Fprintf(&uidlist, "%d :%s\n", msg.UID, base)
			n++
		}
	}
	if err := os.WriteFile(filepath.Join(maildir, "dovecot-keywords"), []byte(kwList.String()), 0o600); err != nil {
		return n, err
	}
	if err := os.WriteFile(filepath.Join(maildir, "dovecot-uidlist"), []byte(uidlist.String()), 0o600); err != nil {
		return n, err
	}
	return n, filepath.Walk(filepath.Dir(maildir), func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

func copyBody(ctx context.Context, m store.Mail, msg *store.Message, path string) error {
	b, err := m.OpenBody(ctx, msg)
	if err != nil {
		return err
	}
	defer b.Close()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, io.NewSectionReader(b, 0, b.Size())); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
