package mime

import "testing"

func TestBaseSubject(t *testing.T) {
	for _, tc := range []struct {
		in, base string
		reply    bool
	}{
		{"Hello", "Hello", false},
		{"Re: Hello", "Hello", true},
		{"RE:  Hello  ", "Hello", true},
		{"re: Re: fwd: Hello", "Hello", true},
		{"Fw: Hello", "Hello", true},
		{"Fwd:Hello", "Hello", true},
		{"Re [2]: Hello", "Hello", true},
		{"[list] Re: Hello", "Hello", true},
		{"[list] Hello", "Hello", false},
		{"[list]", "[list]", false}, // removing the blob would leave nothing
		{"[a][b] Hello", "Hello", false},
		{"Hello (fwd)", "Hello", true},
		{"Hello (FWD) (fwd)", "Hello", true},
		{"[Fwd: Re: Hello]", "Hello", true},
		{"Re: [fwd: [list] Hello (fwd)]", "Hello", true},
		{"Hello\tthere\r\n  world", "Hello there world", false},
		{"Reply to this", "Reply to this", false},
		{"Re:", "", true},
		{"", "", false},
		{"   ", "", false},
		{"Fwd [x] : Hi", "Hi", true},
		{"Report: numbers", "Report: numbers", false},
	} {
		base, reply := BaseSubject(tc.in)
		if base != tc.base || reply != tc.reply {
			t.Errorf("BaseSubject(%q) = %q, %v; want %q, %v", tc.in, base, reply, tc.base, tc.reply)
		}
	}
}

func FuzzBaseSubject(f *testing.F) {
	for _, s := range []string{"Re: [fwd: [list] Hello (fwd)]", "[a][b]", "Fw [x]:", "[fwd:]", "re re: fwd"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		base, _ := BaseSubject(s)
		if len(base) > len(s)+1 {
			t.Fatalf("base %q longer than %q", base, s)
		}
		// The base subject is a fixed point.
		again, _ := BaseSubject(base)
		if again != base {
			t.Fatalf("BaseSubject(%q) = %q, but BaseSubject of that is %q", s, base, again)
		}
	})
}
