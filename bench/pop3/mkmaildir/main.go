// Command mkmaildir writes the maildrops of the POP3 benchmarks
// (internal/benchtest/pop3_test.go) as Maildirs, for Dovecot:
// <root>/<address>/Maildir/cur/, the layout of
// mail_location = maildir:<root>/%u/Maildir. The messages are
// pop3test.BenchMessage, the ones postfach's own benchmark server holds.
//
// Files are stored with LF line endings and named with their sizes
// (",S=<octets>,W=<octets with CRLF>"), as Dovecot's own deliveries are,
// so Dovecot serves them as it serves mail it delivered itself.
//
//	go run ./bench/pop3/mkmaildir -root /scratch/mail
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"postfach/internal/pop3/pop3test"
)

func main() {
	root := flag.String("root", "", "directory that holds one directory per address")
	small := flag.Int("small-users", 32, "accounts pop3user1..N with -small-messages each")
	smallMsgs := flag.Int("small-messages", 20, "messages of each small account")
	flag.Parse()
	if *root == "" {
		log.Fatal("mkmaildir: -root is required")
	}
	if err := write(*root, "pop3big@example.org", pop3test.BenchMessages); err != nil {
		log.Fatal(err)
	}
	for i := range *small {
		if err := write(*root, fmt.Sprintf("pop3user%d@example.org", i+1), *smallMsgs); err != nil {
			log.Fatal(err)
		}
	}
}

// write makes one Maildir with messages 0..n-1, oldest first (Dovecot
// numbers new files in the order of their names).
func write(root, address string, n int) error {
	md := filepath.Join(root, address, "Maildir")
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(md, sub), 0o700); err != nil {
			return err
		}
	}
	const base = 1795000000 // a fixed delivery time, one second apart
	for i := range n {
		crlf := pop3test.BenchMessage(i)
		lf := bytes.ReplaceAll(crlf, []byte("\r\n"), []byte("\n"))
		name := fmt.Sprintf("%d.M%06dP1.bench,S=%d,W=%d:2,", base+i, i, len(lf), len(crlf))
		if err := os.WriteFile(filepath.Join(md, "cur", name), lf, 0o600); err != nil {
			return err
		}
	}
	return nil
}
