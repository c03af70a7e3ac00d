package loadgen

import (
	"bufio"
	"bytes"
	"net"
	"testing"
	"time"
)

// The parsers read what a server sends: they must not panic or loop on
// anything.

func FuzzIMAPResponse(f *testing.F) {
	for _, s := range []string{
		"* 3 FETCH (UID 42 FLAGS (\\Seen))\r\n",
		"* 1 FETCH (BODY[] {5}\r\nhello)\r\n",
		"* OK [UIDNEXT 31] x\r\n* 5 EXISTS\r\nL1 OK [APPENDUID 1 2] done\r\n",
		"* 1 FETCH (BODY[] {99999999}\r\n",
		"* SEARCH 1 2 3\r\n",
		"+ idling\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		parseExists(data)
		parseFetchUID(data)
		parseSearch(data)
		respCode(data, "UIDNEXT")
		literalSize(data)
		client, server := net.Pipe()
		go func() {
			server.Write(data)
			server.Close()
		}()
		c := newIMAPClient(client, time.Second)
		for range 100 {
			if _, err := c.readLine(); err != nil {
				break
			}
		}
		client.Close()
	})
}

func FuzzSMTPReply(f *testing.F) {
	for _, s := range []string{"250-a\r\n250 b\r\n", "354 go\r\n", "5", "250-x\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		parseReplyLine(data)
		c := &smtpClient{br: bufio.NewReader(bytes.NewReader(data))}
		for range 10 {
			if _, _, err := c.reply(); err != nil {
				break
			}
		}
	})
}

func FuzzPOP3(f *testing.F) {
	for _, s := range []string{"+OK 3 300\r\n", "-ERR no\r\n", "+OK\r\nline\r\n..dot\r\n.\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &pop3Client{br: bufio.NewReader(bytes.NewReader(data))}
		if _, err := c.status("x"); err == nil {
			c.multi("x")
		}
	})
}
