package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Load reads the TOML file at path over the defaults, resolves relative
// paths against the file's directory and validates the result. An empty
// path returns the defaults, with paths resolved against the working
// directory.
func Load(path string) (*Config, error) {
	cfg := Default()
	if path == "" {
		if err := cfg.resolvePaths(""); err != nil {
			return nil, err
		}
		if err := cfg.Validate(); err != nil {
			return nil, err
		}
		return cfg, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	if err := cfg.decode(path, string(data)); err != nil {
		return nil, err
	}
	cfg.Hostname = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(cfg.Hostname)), ".")
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if err := cfg.resolvePaths(filepath.Dir(abs)); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, prefixErrors(path, err)
	}
	return cfg, nil
}

// prefixErrors puts the file name in front of each of the joined errors.
func prefixErrors(name string, err error) error {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = fmt.Errorf("%s: %w", name, e)
	}
	return errors.Join(out...)
}

// decode applies the TOML document over cfg, strictly: every key must be
// one Config knows, spelled exactly, and durations must be strings.
func (cfg *Config) decode(name, data string) error {
	md, err := toml.Decode(data, cfg)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			if pe.LastKey != "" {
				return fmt.Errorf("%s:%d: %s: %s", name, pe.Position.Line, pe.LastKey, pe.Message)
			}
			return fmt.Errorf("%s:%d: %s", name, pe.Position.Line, pe.Message)
		}
		// Type mismatches come as plain errors in the decoder's own
		// format; bring them into ours.
		if m := decodeErrRE.FindStringSubmatch(err.Error()); m != nil {
			return fmt.Errorf("%s:%s: %s: %s", name, m[1], m[2], m[3])
		}
		return fmt.Errorf("%s: %w", name, err)
	}

	// A [listen] table says exactly which listeners run: a key it does
	// not set is off, not the default (the documented contract). Without
	// the table, the defaults (IMAP on 143 and 993) stay.
	if md.IsDefined("listen") {
		lv := reflect.ValueOf(&cfg.Listen).Elem()
		for i := 0; i < lv.NumField(); i++ {
			if key := lv.Type().Field(i).Tag.Get("toml"); !md.IsDefined("listen", key) {
				lv.Field(i).SetString("")
			}
		}
	}

	known := make(map[string]reflect.Type)
	collectKeys(reflect.TypeOf(Config{}), nil, known)

	type keyErr struct {
		line int
		msg  string
	}
	var errs []keyErr
	for _, k := range md.Keys() {
		ks := k.String()
		typ, ok := known[ks]
		if !ok {
			msg := fmt.Sprintf("unknown key %q", ks)
			for kk := range known {
				if strings.EqualFold(kk, ks) {
					msg += fmt.Sprintf(" (did you mean %q?)", kk)
					break
				}
			}
			errs = append(errs, keyErr{keyLine(data, k), msg})
			continue
		}
		// The TOML decoder would take an integer as nanoseconds: make the
		// unit explicit instead.
		if typ == reflect.TypeOf(time.Duration(0)) && md.Type(k...) != "String" {
			errs = append(errs, keyErr{keyLine(data, k),
				fmt.Sprintf("%s: want a duration string such as \"30m\" or \"90s\"", ks)})
		}
	}
	if len(errs) == 0 {
		return nil
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].line < errs[j].line })
	joined := make([]error, len(errs))
	for i, e := range errs {
		if e.line > 0 {
			joined[i] = fmt.Errorf("%s:%d: %s", name, e.line, e.msg)
		} else {
			joined[i] = fmt.Errorf("%s: %s", name, e.msg)
		}
	}
	return errors.Join(joined...)
}

// decodeErrRE matches the decoder's `toml: line 3 (last key "a.b"): msg`.
var decodeErrRE = regexp.MustCompile(`^toml: line (\d+) \(last key "([^"]*)"\): (.*)$`)

// collectKeys records the dotted TOML key of every field of t (tables
// included) with the field's type.
func collectKeys(t reflect.Type, prefix toml.Key, into map[string]reflect.Type) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if name == "" || name == "-" {
			continue
		}
		key := append(prefix[:len(prefix):len(prefix)], name)
		into[key.String()] = f.Type
		if f.Type.Kind() == reflect.Struct {
			collectKeys(f.Type, key, into)
		}
		// Arrays of tables ([[tls.certificates]]): md.Keys() names their
		// keys without an index.
		if f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct {
			collectKeys(f.Type.Elem(), key, into)
		}
	}
}

// keyLine finds the line that defines key in the TOML document, or 0. The
// decoder knows key positions but does not export them; it reports them in
// errors, so decode into a throwaway struct whose only field, at key's
// path, always fails.
func keyLine(data string, key toml.Key) int {
	var t reflect.Type = reflect.TypeOf(lineProbe{})
	for i := len(key) - 1; i >= 0; i-- {
		t = reflect.StructOf([]reflect.StructField{{
			Name: "F",
			Type: t,
			Tag:  reflect.StructTag("toml:" + strconv.Quote(key[i])),
		}})
	}
	v := reflect.New(t).Interface()
	_, err := toml.Decode(data, v)
	var pe toml.ParseError
	if errors.As(err, &pe) && pe.Message == errProbe.Error() {
		return pe.Position.Line
	}
	return 0
}

var errProbe = errors.New("config: probe")

// lineProbe fails whatever it is given (see keyLine).
type lineProbe struct{}

// UnmarshalTOML implements toml.Unmarshaler.
func (lineProbe) UnmarshalTOML(any) error { return errProbe }

// resolvePaths makes every path absolute, relative ones against base (the
// config file's directory), or the working directory when base is "".
func (cfg *Config) resolvePaths(base string) error {
	paths := []*string{&cfg.DataDir, &cfg.TLS.Cert, &cfg.TLS.Key, &cfg.TLS.ACMECARoot, &cfg.DNS.ZoneFile, &cfg.Queue.RootCAFile}
	for i := range cfg.TLS.Certificates {
		paths = append(paths, &cfg.TLS.Certificates[i].Cert, &cfg.TLS.Certificates[i].Key)
	}
	for _, p := range paths {
		if *p == "" {
			continue
		}
		if !filepath.IsAbs(*p) && base != "" {
			*p = filepath.Join(base, *p)
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return fmt.Errorf("resolving %s: %w", *p, err)
		}
		*p = abs
	}
	return nil
}
