package mailauth

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DKIM keys live in files, one per key:
//
//	<data_dir>/dkim/<domain>/<selector>.pem   (PKCS #8, mode 0600)
//
// Selectors are "pf" + the year and month the key was made (UTC) + "r"
// for RSA or "e" for Ed25519: pf202611r, pf202611e. They sort by age, so
// a rotation is: generate a newer pair, publish its records, and the
// Signer uses the newest key of each algorithm; keep the old records
// published for a few days for mail still in transit. One pair per
// month at most: a second generation in a month is refused.
//
// Every domain gets an RSA 2048 key (RFC 8301 section 3.2: at least 1024
// bits, 2048 recommended) and an Ed25519 key (RFC 8463), and mail is
// signed with both (RFC 8463 section 5): verifiers that do not know
// Ed25519 still find a valid RSA signature.

// KeyDir is the directory under the data directory holding DKIM keys.
const KeyDir = "dkim"

// Key algorithms, as the k= tag of the key record names them (RFC 6376
// section 3.6.1, RFC 8463 section 4).
const (
	AlgRSA     = "rsa"
	AlgEd25519 = "ed25519"
)

// rsaBits is the size of generated RSA keys.
const rsaBits = 2048

// Key is one DKIM private key of a domain.
type Key struct {
	Domain    string // lower-case A-labels
	Selector  string
	Algorithm string // AlgRSA or AlgEd25519
	Signer    crypto.Signer
}

// Record is a DNS record to publish.
type Record struct {
	Name    string // fully qualified, with the final dot
	Type    string // "TXT"
	Value   string // the record's text, unquoted
	Comment string // one line for humans
}

// String returns the record in master file syntax (RFC 1035 section 5.1)
// with its comment on the line before. A long TXT value is split into
// character-strings of at most 255 bytes (RFC 1035 section 3.3.14), which
// verifiers join again (RFC 6376 section 3.6.2.2).
func (r Record) String() string {
	var b strings.Builder
	if r.Comment != "" {
		b.WriteString("; " + r.Comment + "\n")
	}
	b.WriteString(r.Name + " 3600 IN " + r.Type + " ")
	if r.Type != "TXT" {
		b.WriteString(r.Value)
		return b.String()
	}
	v := r.Value
	var parts []string
	for len(v) > 255 {
		parts = append(parts, v[:255])
		v = v[255:]
	}
	parts = append(parts, v)
	if len(parts) > 1 {
		b.WriteString("( ")
	}
	for i, p := range parts {
		if i > 0 {
			b.WriteString("\n    ")
		}
		b.WriteString(`"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(p) + `"`)
	}
	if len(parts) > 1 {
		b.WriteString(" )")
	}
	return b.String()
}

// Record returns the key record to publish at
// <selector>._domainkey.<domain> (RFC 6376 section 3.6.1): the public
// key, SubjectPublicKeyInfo for RSA, the raw 32 bytes for Ed25519 (RFC
// 8463 section 4.2).
func (k *Key) Record() Record {
	var p []byte
	switch pub := k.Signer.Public().(type) {
	case *rsa.PublicKey:
		p, _ = x509.MarshalPKIXPublicKey(pub)
	case ed25519.PublicKey:
		p = pub
	}
	what := "RSA 2048"
	if k.Algorithm == AlgEd25519 {
		what = "Ed25519 (RFC 8463)"
	}
	return Record{
		Name:    k.Selector + "._domainkey." + k.Domain + ".",
		Type:    "TXT",
		Value:   "v=DKIM1; k=" + k.Algorithm + "; p=" + base64.StdEncoding.EncodeToString(p),
		Comment: "DKIM " + what + " key " + k.Selector + " of " + k.Domain,
	}
}

// ErrKeysExist is returned by GenerateKeys when this month's selectors
// are taken.
var ErrKeysExist = errors.New("mailauth: DKIM keys of this month exist")

// domainDir returns <dataDir>/dkim/<domain> for a valid domain name, so
// that no name can lead elsewhere in the file system.
func domainDir(dataDir, domain string) (string, string, error) {
	d, ok := normalizeDomain(domain)
	if !ok {
		return "", "", fmt.Errorf("mailauth: %q is not a domain name", domain)
	}
	return filepath.Join(dataDir, KeyDir, d), d, nil
}

// selector returns the selector of a key made at now.
func selector(now time.Time, alg string) string {
	now = now.UTC()
	return fmt.Sprintf("pf%04d%02d%c", now.Year(), int(now.Month()), alg[0])
}

// GenerateKeys makes an RSA 2048 and an Ed25519 key for domain, named
// for the month of now, and writes them under dataDir/dkim/<domain>/
// (mode 0600, directories 0700, each file synced and renamed into place).
// It returns ErrKeysExist (wrapped) if this month's keys exist.
func GenerateKeys(dataDir, domain string, now time.Time) ([]*Key, error) {
	dir, d, err := domainDir(dataDir, domain)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	var keys []*Key
	for _, alg := range []string{AlgRSA, AlgEd25519} {
		sel := selector(now, alg)
		if _, err := os.Stat(filepath.Join(dir, sel+".pem")); err == nil {
			return nil, fmt.Errorf("%w: %s of %s; keys rotate at most monthly", ErrKeysExist, sel, d)
		}
		var priv crypto.Signer
		if alg == AlgRSA {
			priv, err = rsa.GenerateKey(rand.Reader, rsaBits)
		} else {
			_, priv, err = ed25519.GenerateKey(rand.Reader)
		}
		if err != nil {
			return nil, err
		}
		keys = append(keys, &Key{Domain: d, Selector: sel, Algorithm: alg, Signer: priv})
	}
	for _, k := range keys {
		der, err := x509.MarshalPKCS8PrivateKey(k.Signer)
		if err != nil {
			return nil, err
		}
		data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
		if err := writeNew(filepath.Join(dir, k.Selector+".pem"), data); err != nil {
			return nil, err
		}
	}
	return keys, syncDir(dir)
}

// writeNew writes a file that must not exist yet, durably: a temporary
// file, synced, then linked to its name (which fails if the name exists,
// so two concurrent generations cannot overwrite each other).
func writeNew(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w: %s", ErrKeysExist, filepath.Base(path))
		}
		return err
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// LoadKeys reads every key of domain, newest selector first. A domain
// without keys has none (no error).
func LoadKeys(dataDir, domain string) ([]*Key, error) {
	dir, d, err := domainDir(dataDir, domain)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var keys []*Key
	for _, e := range entries {
		sel, ok := strings.CutSuffix(e.Name(), ".pem")
		if !ok || !e.Type().IsRegular() || !validSelector(sel) {
			continue
		}
		k, err := loadKey(filepath.Join(dir, e.Name()), d, sel)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b *Key) int { return strings.Compare(b.Selector, a.Selector) })
	return keys, nil
}

// validSelector accepts a selector that is one DNS label of letters,
// digits and hyphens (RFC 6376 section 3.1 allows dotted selectors; we
// make none).
func validSelector(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func loadKey(path, domain, sel string) (*Key, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("mailauth: %s: no PEM block", path)
	}
	priv, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("mailauth: %s: %w", path, err)
	}
	k := &Key{Domain: domain, Selector: sel}
	switch p := priv.(type) {
	case *rsa.PrivateKey:
		if p.N.BitLen() < 1024 {
			return nil, fmt.Errorf("mailauth: %s: RSA key of %d bits; RFC 8301 section 3.2 wants at least 1024", path, p.N.BitLen())
		}
		k.Algorithm, k.Signer = AlgRSA, p
	case ed25519.PrivateKey:
		k.Algorithm, k.Signer = AlgEd25519, p
	default:
		return nil, fmt.Errorf("mailauth: %s: unsupported key type %T", path, priv)
	}
	return k, nil
}

// SigningKeys returns the keys that sign: the newest of each algorithm,
// RSA first.
func SigningKeys(keys []*Key) []*Key {
	var out []*Key
	for _, alg := range []string{AlgRSA, AlgEd25519} {
		for _, k := range keys { // newest first
			if k.Algorithm == alg {
				out = append(out, k)
				break
			}
		}
	}
	return out
}

// keyCache keeps each domain's signing keys in memory, reloading them
// when the domain's key directory changes (a key generated or removed
// while the server runs renames or unlinks a file in it, which changes
// its modification time).
type keyCache struct {
	dataDir string
	mu      sync.Mutex
	domains map[string]cachedKeys
}

type cachedKeys struct {
	mtime time.Time
	ino   uint64
	keys  []*Key
}

func newKeyCache(dataDir string) *keyCache {
	return &keyCache{dataDir: dataDir, domains: map[string]cachedKeys{}}
}

// signingKeys returns domain's signing keys, none if it has no keys.
func (c *keyCache) signingKeys(domain string) ([]*Key, error) {
	dir, d, err := domainDir(c.dataDir, domain)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ino uint64
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		ino = st.Ino
	}
	c.mu.Lock()
	ck, ok := c.domains[d]
	c.mu.Unlock()
	if ok && ck.mtime.Equal(fi.ModTime()) && ck.ino == ino {
		return ck.keys, nil
	}
	all, err := LoadKeys(c.dataDir, d)
	if err != nil {
		return nil, err
	}
	ck = cachedKeys{mtime: fi.ModTime(), ino: ino, keys: SigningKeys(all)}
	c.mu.Lock()
	c.domains[d] = ck
	c.mu.Unlock()
	return ck.keys, nil
}
