package auth

import (
	_ "embed"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"
)

// DefaultMinPasswordLength is the minimum length of new passwords, in
// characters (Unicode code points, as NIST SP 800-63B counts them). NIST
// asks for at least 8 where the password is one factor of several and 15
// where it is the only one; mail passwords are typed rarely (clients keep
// them), so 12 costs users little, and the common-password check and the
// login limiter cover what length does not. [auth] min_password_length
// changes it.
const DefaultMinPasswordLength = 12

// commonPasswords is the list of common passwords the policy refuses,
// one per line, lower case: written by gen_commonpasswords.go, which says
// where it comes from.
//
//go:generate go run gen_commonpasswords.go
//go:embed commonpasswords.txt
var commonPasswords string

// commonSet is commonPasswords as a set, built at first use and never
// changed afterwards.
var commonSet = sync.OnceValue(func() map[string]struct{} {
	m := make(map[string]struct{}, strings.Count(commonPasswords, "\n"))
	for line := range strings.Lines(commonPasswords) {
		if line = strings.TrimSpace(line); line != "" {
			m[line] = struct{}{}
		}
	}
	return m
})

// PasswordPolicy says which new passwords may be set. It follows NIST SP
// 800-63B section 3.1.1.2: a minimum length and a check against passwords
// known to be common or guessable, no composition rules (they make
// passwords harder to remember, not to guess).
type PasswordPolicy struct {
	// MinLength is the minimum number of characters.
	MinLength int
}

// WeakPasswordError is the policy's refusal, with its reason in words a
// user can act on.
type WeakPasswordError struct {
	Reason string
}

func (e *WeakPasswordError) Error() string { return "password refused: " + e.Reason }

// Check reports whether password may become the password of address. It
// applies CheckPassword first, then refuses a password that is
//   - shorter than MinLength characters;
//   - on the list of common passwords, also once case is folded,
//     look-alike digits read as letters ("p4ssw0rd") and a short or
//     trivial decoration (digits, a year, punctuation) taken off either
//     end ("Password2024!");
//   - one short unit repeated ("abcabcabcabc") or a run of consecutive
//     characters ("123456789012", "abcdefghijkl");
//   - only digits, shorter than 16 (dates and phone numbers);
//   - the address, its local part or its domain's first label, decorated
//     or not.
func (p PasswordPolicy) Check(password, address string) error {
	if err := CheckPassword(password); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(password); n < p.MinLength {
		return &WeakPasswordError{fmt.Sprintf("it has %d characters; at least %d are needed (several unrelated words make a long password that is easy to remember)", n, p.MinLength)}
	}
	lower := strings.ToLower(password)
	if strings.Trim(lower, "0123456789") == "" && len(lower) < 16 {
		return &WeakPasswordError{"it has only digits; dates and phone numbers are among the first guesses"}
	}
	if isRepetition(lower) || isRun(lower) {
		return &WeakPasswordError{"it repeats or counts characters (like aaaa, abcabc or 123456), which is guessed at once"}
	}
	context := contextWords(address)
	for _, form := range []string{lower, unleet(lower)} {
		core, decoration := undecorate(form)
		weak := weakDecoration(decoration)
		if isCommon(form) || weak && isCommon(core) {
			return &WeakPasswordError{"it is one of the most common passwords, or one with a few digits or symbols added; attackers try those first"}
		}
		for _, w := range context {
			if form == w || weak && core == w {
				return &WeakPasswordError{"it is the address or part of it, which attackers try first"}
			}
		}
	}
	return nil
}

func isCommon(s string) bool {
	_, ok := commonSet()[s]
	return ok
}

// contextWords are the words of an address a guesser tries: the address,
// its local part, the first label of its domain.
func contextWords(address string) []string {
	address = NormalizeUsername(address)
	local, domain, ok := strings.Cut(address, "@")
	if !ok {
		return []string{address}
	}
	words := []string{address}
	if len(local) >= 3 {
		words = append(words, local)
	}
	if label, _, _ := strings.Cut(domain, "."); len(label) >= 3 {
		words = append(words, label)
	}
	return words
}

// undecorate takes digits and ASCII punctuation off both ends of s; it
// returns the core and what was taken off.
func undecorate(s string) (core, decoration string) {
	isDecor := func(r rune) bool {
		return r >= '0' && r <= '9' || r < 0x80 && strings.ContainsRune("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ ", r)
	}
	core = strings.TrimRightFunc(strings.TrimLeftFunc(s, isDecor), isDecor)
	if core == "" {
		return s, ""
	}
	i := strings.Index(s, core)
	return core, s[:i] + s[i+len(core):]
}

// weakDecoration reports whether a decoration adds little: at most four
// characters, or a year, a repetition or a run with a symbol or two.
func weakDecoration(d string) bool {
	if len(d) <= 4 {
		return true
	}
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, d)
	if len(d)-len(digits) > 2 {
		return false
	}
	switch {
	case len(digits) <= 4:
		return true
	case isDate(digits):
		return true
	}
	return isRepetition(digits) || isRun(digits)
}

// isDate reports whether digits spell a date: ddmmyy, yymmdd, ddmmyyyy,
// mmddyyyy or yyyymmdd, in the 20th or 21st century.
func isDate(digits string) bool {
	num := func(s string) int {
		n := 0
		for i := 0; i < len(s); i++ {
			n = n*10 + int(s[i]-'0')
		}
		return n
	}
	dm := func(d, m string) bool { return num(d) >= 1 && num(d) <= 31 && num(m) >= 1 && num(m) <= 12 }
	year := func(y string) bool { return y[:2] == "19" || y[:2] == "20" }
	switch len(digits) {
	case 6:
		return dm(digits[:2], digits[2:4]) || dm(digits[4:], digits[2:4])
	case 8:
		return year(digits[4:]) && (dm(digits[:2], digits[2:4]) || dm(digits[2:4], digits[:2])) ||
			year(digits[:4]) && dm(digits[6:], digits[4:6])
	}
	return false
}

// isRepetition reports whether s is one unit of at most four octets
// repeated.
func isRepetition(s string) bool {
	for n := 1; n <= 4 && 2*n <= len(s); n++ {
		if len(s)%n == 0 && strings.Repeat(s[:n], len(s)/n) == s {
			return true
		}
	}
	return false
}

// isRun reports whether s counts up or down by one at each octet (digits
// wrap: "7890123").
func isRun(s string) bool {
	if len(s) < 3 {
		return false
	}
	step := func(a, b byte) int {
		if a >= '0' && a <= '9' && b >= '0' && b <= '9' {
			return (int(b-'0') - int(a-'0') + 10) % 10
		}
		return int(b) - int(a)
	}
	d := step(s[0], s[1])
	if d != 1 && d != -1 && d != 9 {
		return false
	}
	for i := 2; i < len(s); i++ {
		if step(s[i-1], s[i]) != d {
			return false
		}
	}
	return true
}

// unleet reads look-alike digits and symbols as the letters they stand
// for.
func unleet(s string) string {
	return strings.NewReplacer("@", "a", "4", "a", "0", "o", "3", "e", "1", "i", "$", "s", "5", "s", "7", "t", "!", "i").Replace(s)
}
